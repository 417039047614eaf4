import pytest
from django.core.exceptions import ValidationError

from erp.gtin import gtin13_with_check_digit
from erp.validators import (
    format_cnpj,
    is_valid_cnpj,
    is_valid_gtin,
    normalize_sku_code,
    validate_cnpj,
    validate_gtin,
)


@pytest.mark.parametrize("cnpj", ["11.222.333/0001-81", "11222333000181", "45723174000110"])
def test_valid_cnpjs_pass(cnpj):
    assert is_valid_cnpj(cnpj)
    validate_cnpj(cnpj)


def test_cnpj_with_wrong_check_digits_is_refused_with_reason():
    with pytest.raises(ValidationError) as exc:
        validate_cnpj("11.222.333/0001-82")
    assert exc.value.code == "cnpj_check_digits"
    assert "check digits do not match" in exc.value.messages[0]


def test_cnpj_with_wrong_length_is_refused_with_reason():
    with pytest.raises(ValidationError) as exc:
        validate_cnpj("1122233300018")
    assert exc.value.messages == ["A CNPJ has 14 digits; this one has 13."]


def test_repeated_digit_cnpj_is_invalid_even_though_digits_add_up():
    assert not is_valid_cnpj("00000000000000")
    assert not is_valid_cnpj("11111111111111")


def test_format_cnpj():
    assert format_cnpj("11222333000181") == "11.222.333/0001-81"


@pytest.mark.parametrize("gtin", ["7891000315507", "96385074", "036000291452", "17891000315504"])
def test_valid_gtins(gtin):
    assert is_valid_gtin(gtin)
    validate_gtin(gtin)


def test_gtin_with_wrong_check_digit_is_refused():
    with pytest.raises(ValidationError) as exc:
        validate_gtin("7891000315508")
    assert exc.value.code == "gtin_check_digit"


def test_gtin_with_letters_or_wrong_length_is_refused():
    for bad in ["78910003155", "ABCDEFGHIJKLM"]:
        with pytest.raises(ValidationError) as exc:
            validate_gtin(bad)
        assert exc.value.code == "gtin_length"


def test_gtin13_builder_produces_valid_codes():
    assert gtin13_with_check_digit("789100031550") == "7891000315507"
    assert is_valid_gtin(gtin13_with_check_digit("789000100002"))


def test_sku_code_normalization_ignores_case_and_spaces():
    assert normalize_sku_code(" ab 12 ") == normalize_sku_code("AB12") == "AB12"
