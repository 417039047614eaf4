"""CSV cells that a spreadsheet would run as a formula (CSV injection).

Vendor titles and de-para codes are typed by whoever runs a store; a cell starting with one of
these characters is a formula in Excel/LibreOffice/Sheets ("=HYPERLINK(...)", "+cmd|..."), so
exports prefix it with an apostrophe (OWASP's advice), and imports of our own files take it off
again so an export/import round trip keeps every code as it was.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def escape_formula(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def unescape_formula(text: str) -> str:
    if text.startswith("'") and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text
