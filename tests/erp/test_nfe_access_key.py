from datetime import date

import pytest
from django.core.exceptions import ValidationError

from erp.validators import (
    nfe_access_key_check_digit,
    parse_nfe_access_key,
    validate_nfe_access_key,
    validate_nfe_access_key_for,
)
from tests.factories import nfe_access_key

# The worked example of the NF-e Manual de Orientação do Contribuinte (check digit 6).
MOC_EXAMPLE = "43171207364617000135550000000120141000120146"
CNPJ = "11222333000181"


def codes(error: ValidationError) -> set[str]:
    return {e.code for e in error.error_list}


def test_check_digit_of_the_manuals_example():
    assert nfe_access_key_check_digit(MOC_EXAMPLE[:43]) == 6
    validate_nfe_access_key(MOC_EXAMPLE)
    parts = parse_nfe_access_key(MOC_EXAMPLE)
    assert (parts.cnpj, parts.model, parts.series, parts.number) == (
        "07364617000135",
        "55",
        0,
        12014,
    )


def test_remainder_0_or_1_gives_check_digit_0():
    # 13181017921427000125650010000000309887251170 is a published NFC-e key with DV 0.
    assert nfe_access_key_check_digit("1318101792142700012565001000000030988725117") == 0


def test_a_valid_key_of_the_company_passes_and_spaces_are_removed():
    key = nfe_access_key(CNPJ, series=2, number=98765, year_month="2612")
    spaced = " ".join(key[i : i + 4] for i in range(0, 44, 4))
    assert (
        validate_nfe_access_key_for(
            spaced, cnpj=CNPJ, series=2, number=98765, issued_on=date(2026, 12, 3)
        )
        == key
    )


def test_wrong_check_digit_is_refused():
    key = nfe_access_key(CNPJ)
    wrong = key[:43] + str((int(key[43]) + 1) % 10)
    with pytest.raises(ValidationError) as error:
        validate_nfe_access_key(wrong)
    assert codes(error.value) == {"nfe_key_check_digit"}
    assert "check digit" in str(error.value)


@pytest.mark.parametrize("value", ["4317120736461700013555000000012014100012014A", "43-17"])
def test_non_digits_are_refused(value):
    with pytest.raises(ValidationError) as error:
        validate_nfe_access_key(value)
    assert codes(error.value) == {"nfe_key_not_digits"}


def test_wrong_length_names_the_count():
    with pytest.raises(ValidationError) as error:
        validate_nfe_access_key(MOC_EXAMPLE[:43])
    assert codes(error.value) == {"nfe_key_length"}
    assert "43" in error.value.messages[0]


def test_an_nfce_key_is_not_an_order_invoice():
    with pytest.raises(ValidationError) as error:
        validate_nfe_access_key(nfe_access_key(CNPJ, model="65"))
    assert codes(error.value) == {"nfe_key_model"}


def test_another_companys_cnpj_is_refused_naming_both():
    key = nfe_access_key("11444777000161")
    with pytest.raises(ValidationError) as error:
        validate_nfe_access_key_for(key, cnpj=CNPJ, series=1, number=1234)
    assert codes(error.value) == {"nfe_key_cnpj"}
    assert "11.444.777/0001-61" in error.value.messages[0]
    assert "11.222.333/0001-81" in error.value.messages[0]


def test_series_and_number_must_be_those_inside_the_key():
    key = nfe_access_key(CNPJ, series=1, number=1234)
    with pytest.raises(ValidationError) as error:
        validate_nfe_access_key_for(key, cnpj=CNPJ, series=2, number=1235)
    assert codes(error.value) == {"nfe_key_series", "nfe_key_number"}


def test_issue_month_must_be_the_keys():
    key = nfe_access_key(CNPJ, year_month="2611")
    with pytest.raises(ValidationError) as error:
        validate_nfe_access_key_for(
            key, cnpj=CNPJ, series=1, number=1234, issued_on=date(2026, 12, 1)
        )
    assert codes(error.value) == {"nfe_key_month"}
    assert "11/2026" in error.value.messages[0]
