"""The emulators compute GTIN check digits on their own, and the same way as the ERP."""

import pytest

from erp.gtin import gtin13_with_check_digit
from sandbox.gtin import gtin13


@pytest.mark.parametrize(
    "body", ["789000000000", "789000100000", "789123456789", "200000050000", "000000000000"]
)
def test_the_check_digit_is_gs1s_and_the_erps(body):
    code = gtin13(body)
    digits = [int(d) for d in code]
    assert sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10 == 0
    assert code == gtin13_with_check_digit(body)


@pytest.mark.parametrize("body", ["78900000000", "7890000000000", "78900000000X"])
def test_a_body_is_twelve_digits(body):
    with pytest.raises(ValueError):
        gtin13(body)
