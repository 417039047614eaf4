"""Brazilian document and barcode validators with check digits."""

from dataclasses import dataclass
from datetime import date

from django.conf import settings
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


# --- Uploaded product images ---------------------------------------------------------------
# The channels download the file: only the common web image formats (JPEG, PNG, WebP, GIF) are
# taken. The type is read from the file's first bytes (its
# "magic number"), never from the name or the browser's Content-Type, which anyone can set.
IMAGE_KINDS = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp", "gif": "image/gif"}


def image_kind(head: bytes) -> str | None:
    """The extension of the image whose first bytes are `head` (12 are enough), or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    return None


def read_head(file, size: int = 12) -> bytes:
    """The first bytes of an uploaded or stored file, leaving it at its start."""
    file.seek(0)
    head = file.read(size)
    file.seek(0)
    return head


def validate_image_file(file) -> None:
    """An image file the channels can take: JPEG, PNG, WebP or GIF, at most
    settings.PRODUCT_IMAGE_MAX_BYTES."""
    limit = settings.PRODUCT_IMAGE_MAX_BYTES
    if file.size > limit:
        raise ValidationError(
            _("The image has %(size)s MB; the largest accepted is %(limit)s MB."),
            code="image_too_big",
            params={"size": f"{file.size / 1_048_576:.1f}", "limit": f"{limit / 1_048_576:g}"},
        )
    if image_kind(read_head(file)) is None:
        raise ValidationError(
            _("This file is not a JPEG, PNG, WebP or GIF image; the channels accept only these."),
            code="image_type",
        )


# --- NF-e access key (chave de acesso) --------------------------------------------------------
# Layout and check digit from the NF-e "Manual de Orientação do Contribuinte" (MOC), Visão
# Geral, item 5.4 (Portal da NF-e, https://www.nfe.fazenda.gov.br/portal/): 44 digits,
#   cUF(2) AAMM(4) CNPJ(14) mod(2) serie(3) nNF(9) tpEmis(1) cNF(8) cDV(1);
# cDV is "módulo 11 (base 2,9)" of the first 43 digits: weights 2, 3, …, 9, 2, 3, … from the
# rightmost digit leftwards; remainder 0 or 1 gives 0, otherwise 11 − remainder. The MOC's own
# worked example 43171207364617000135550000000120141000120146 ends in cDV 6 (tests use it).

NFE_MODEL = "55"  # 55 = NF-e; 65 is NFC-e (consumer receipt), not the document of a sale shipped


def nfe_access_key_check_digit(first_43: str) -> int:
    total = sum(int(digit) * (2 + i % 8) for i, digit in enumerate(reversed(first_43)))
    remainder = total % 11
    return 0 if remainder < 2 else 11 - remainder


@dataclass(frozen=True)
class NfeAccessKey:
    """The fields inside a 44-digit access key (see the layout above)."""

    state_code: str
    year_month: str  # AAMM
    cnpj: str
    model: str
    series: int
    number: int
    emission_type: str
    random_code: str
    check_digit: int


def parse_nfe_access_key(value: str) -> NfeAccessKey:
    """Split a key already known to be 44 digits."""
    return NfeAccessKey(
        state_code=value[0:2],
        year_month=value[2:6],
        cnpj=value[6:20],
        model=value[20:22],
        series=int(value[22:25]),
        number=int(value[25:34]),
        emission_type=value[34],
        random_code=value[35:43],
        check_digit=int(value[43]),
    )


def normalize_nfe_access_key(value: str) -> str:
    """The key as printed on a DANFE has spaces every four digits: those are removed; any
    other character is left in place for the validator to refuse."""
    return "".join(str(value).split())


def validate_nfe_access_key(value: str) -> None:
    """Format and check digit only; `validate_nfe_access_key_for` also checks whose it is."""
    key = normalize_nfe_access_key(value)
    if not key.isdigit():
        raise ValidationError(
            _("The access key must have digits only (spaces are allowed between groups)."),
            code="nfe_key_not_digits",
        )
    if len(key) != 44:
        raise ValidationError(
            _("An NF-e access key has 44 digits; this one has %(count)s."),
            code="nfe_key_length",
            params={"count": len(key)},
        )
    if nfe_access_key_check_digit(key[:43]) != int(key[43]):
        raise ValidationError(
            _(
                "The access key is not valid: its check digit (the last digit) does not match. "
                "Check for a mistyped digit."
            ),
            code="nfe_key_check_digit",
        )
    if key[20:22] != NFE_MODEL:
        raise ValidationError(
            _(
                "The access key is of document model %(model)s; an order's invoice must be "
                "an NF-e (model 55)."
            ),
            code="nfe_key_model",
            params={"model": key[20:22]},
        )


def validate_nfe_access_key_for(
    value: str, *, cnpj: str, series: int, number: int, issued_on: date | None = None
) -> str:
    """Validate the key and that it is this invoice's: the company's CNPJ, the series and
    number typed, and (when given) the issue month. Returns the key as stored (digits)."""
    validate_nfe_access_key(value)
    key = normalize_nfe_access_key(value)
    parts = parse_nfe_access_key(key)
    errors = []
    if parts.cnpj != only_digits(cnpj):
        errors.append(
            ValidationError(
                _(
                    "The access key does not match the company's CNPJ: the key names CNPJ "
                    "%(key_cnpj)s, the company is %(cnpj)s."
                ),
                code="nfe_key_cnpj",
                params={"key_cnpj": format_cnpj(parts.cnpj), "cnpj": format_cnpj(cnpj)},
            )
        )
    if parts.series != series:
        errors.append(
            ValidationError(
                _("The access key is of series %(key_series)s, not %(series)s as typed."),
                code="nfe_key_series",
                params={"key_series": parts.series, "series": series},
            )
        )
    if parts.number != number:
        errors.append(
            ValidationError(
                _("The access key is of number %(key_number)s, not %(number)s as typed."),
                code="nfe_key_number",
                params={"key_number": parts.number, "number": number},
            )
        )
    if issued_on is not None and parts.year_month != issued_on.strftime("%y%m"):
        errors.append(
            ValidationError(
                _(
                    "The access key says the NF-e was issued in %(key_month)s, but the issue "
                    "date is in %(month)s."
                ),
                code="nfe_key_month",
                params={
                    "key_month": f"{parts.year_month[2:]}/20{parts.year_month[:2]}",
                    "month": issued_on.strftime("%m/%Y"),
                },
            )
        )
    if errors:
        raise ValidationError(errors)
    return key
