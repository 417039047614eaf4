"""Brazilian document and barcode validators with check digits."""

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.translation import gettext_lazy as _


def only_digits(value: str) -> str:
    return "".join(ch for ch in str(value) if ch.isdigit())


def _cnpj_digit(digits: str) -> int:
    weights = [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2][-len(digits) :]
    remainder = sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
    return 0 if remainder < 2 else 11 - remainder


def is_valid_cnpj(value: str) -> bool:
    digits = only_digits(value)
    if len(digits) != 14 or digits == digits[0] * 14:
        return False
    first = _cnpj_digit(digits[:12])
    second = _cnpj_digit(digits[:12] + str(first))
    return digits[12:] == f"{first}{second}"


def validate_cnpj(value: str) -> None:
    digits = only_digits(value)
    if len(digits) != 14:
        raise ValidationError(
            _("A CNPJ has 14 digits; this one has %(count)s."),
            code="cnpj_length",
            params={"count": len(digits)},
        )
    if not is_valid_cnpj(digits):
        raise ValidationError(
            _("CNPJ %(value)s is not valid: its check digits do not match."),
            code="cnpj_check_digits",
            params={"value": value},
        )


def format_cnpj(value: str) -> str:
    d = only_digits(value)
    if len(d) != 14:
        return value
    return f"{d[:2]}.{d[2:5]}.{d[5:8]}/{d[8:12]}-{d[12:]}"


def is_valid_gtin(value: str) -> bool:
    """GTIN-8, GTIN-12 (UPC), GTIN-13 (EAN) or GTIN-14, mod-10 check digit."""
    if not value.isdigit() or len(value) not in (8, 12, 13, 14):
        return False
    body, check = value[:-1], int(value[-1])
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def validate_gtin(value: str) -> None:
    if not value.isdigit() or len(value) not in (8, 12, 13, 14):
        raise ValidationError(
            _("EAN/GTIN must have 8, 12, 13 or 14 digits (got %(value)s)."),
            code="gtin_length",
            params={"value": value},
        )
    if not is_valid_gtin(value):
        raise ValidationError(
            _("EAN/GTIN %(value)s is not valid: its check digit does not match."),
            code="gtin_check_digit",
            params={"value": value},
        )


def normalize_sku_code(code: str) -> str:
    """The key that makes SKU codes case- and space-insensitive: "ab 12" == "AB12"."""
    return "".join(str(code).split()).upper()


# NCM (Nomenclatura Comum do Mercosul): 8 digits — 6 of the Harmonized System plus 2 of the
# Mercosul; the full 8-digit code is mandatory on the NF-e since Ajuste SINIEF 22/2013
# (contabilidadegemeos.com/obrigatoriedade-de-indicacao-da-ncm-contendo-8-digitos-na-nf-e-e-nfc-e,
# and the NF-e's Manual de Orientação do Contribuinte, field NCM of the item,
# moc.sped.fazenda.pr.gov.br). Dots are accepted on input ("6109.10.00") and removed.
NCM_LENGTH = 8


def normalize_ncm(value: str) -> str:
    """ "6109.10.00" -> "61091000"; anything but dots and spaces is left for the validator."""
    return "".join(str(value).replace(".", "").split())


def validate_ncm(value: str) -> None:
    text = normalize_ncm(value)
    if not text.isdigit():
        raise ValidationError(
            _("NCM %(value)s must have digits only (dots are accepted, e.g. 6109.10.00)."),
            code="ncm_digits",
            params={"value": value},
        )
    if len(text) != NCM_LENGTH:
        raise ValidationError(
            _("An NCM has 8 digits; %(value)s has %(count)s."),
            code="ncm_length",
            params={"value": value, "count": len(text)},
        )


IMAGE_URL_SCHEMES = ("http", "https")


def validate_image_url(value: str) -> None:
    """An image address the channels can download: http(s) with a host. Channels fetch the
    file themselves, so a local path or another scheme would be refused later, per product."""
    try:
        URLValidator(schemes=list(IMAGE_URL_SCHEMES))(value)
    except ValidationError:
        raise ValidationError(
            _(
                "%(value)s is not an image address the channels can download: use a full "
                "http:// or https:// URL."
            ),
            code="image_url",
            params={"value": value},
        ) from None
