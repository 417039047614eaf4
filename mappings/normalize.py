"""How channel codes are compared.

Vendors are inconsistent about case, accents and padding ("ECT", " ect ", "Ect"; "Cartão",
"cartao"), so every de-para key is stored and looked up in one folded form.
"""

import re
import unicodedata


def normalize_code(value: object) -> str:
    """Fold case, accents and whitespace: " Cartão  Crédito " -> "cartao credito".

    Surrounding whitespace is removed and inner runs collapse to one space, so "SEDEX  10"
    and "SEDEX 10" are one value; punctuation is kept ("me-2" is not "me2").
    """
    text = unicodedata.normalize("NFKD", "" if value is None else str(value))
    # Format characters (category Cf: zero-width space/joiner, BOM, soft hyphen, bidi marks)
    # are invisible in the admin and in vendor payloads: "ECT\u200b" must be "ECT", or a
    # de-para row that looks right never matches and a second, invisible "duplicate" fits.
    text = "".join(
        ch for ch in text if not unicodedata.combining(ch) and unicodedata.category(ch) != "Cf"
    )
    return " ".join(text.casefold().split())


_SEPARATORS = re.compile(r"[\s_\-./]+")


def loose_key(value: object) -> str:
    """A looser key for suggestions only: separators fold too ("payment-approved" ==
    "PAYMENT_APPROVED" == "payment approved"). Never used for the de-para itself."""
    return _SEPARATORS.sub(" ", normalize_code(value)).strip()


def squash(value: object) -> str:
    """No separators at all ("SEDEX 10" == "sedex10"), for comparing service names."""
    return loose_key(value).replace(" ", "")
