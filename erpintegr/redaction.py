"""Keep secrets out of logs, exception messages and stored errors.

Two layers, because either alone leaks: every credential value loaded from the database is
registered here and replaced wherever it shows up — verbatim, percent-encoded (a token echoed
in a URL or a form body) or JSON-escaped (a token echoed inside a JSON string) — and well-known
token shapes (Bearer tokens, Mercado Livre APP_USR-/TG- tokens, secret-looking parameters and
headers, `token <value>`) are masked even when the value was never registered (a token a vendor
just issued).

Order matters: **redact first, then truncate** (`redact_truncate`). A text cut before masking
holds a piece of a secret that no longer matches it; for text cut elsewhere (a vendor that
truncates its own echo), any piece of 8 or more characters from the start of a registered
secret that ends the text is masked too.
"""

from __future__ import annotations

import json
import math
import re
import threading
from urllib.parse import quote, quote_plus

MASK = "[REDACTED]"
_MIN_SECRET_LENGTH = 4
# A cut-off start of a secret this long is masked where a text ends (or is marked cut with
# an ellipsis). Shorter pieces would mask ordinary words.
MIN_PREFIX_AT_CUT = 8
ELLIPSIS = "…"

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None
_cut_pattern: re.Pattern[str] | None = None
_longest_form = 0

_SHAPES = re.compile(
    r"(?i)"
    r"(bearer\s+)[A-Za-z0-9._~+/=-]+"
    r"|\b(APP_USR|TG)-[A-Za-z0-9-]{6,}"
    r"|((?:access_token|refresh_token|client_secret|app_?token|app_?key|gumga_?token|password|"
    r"x-vtex-api-apptoken|x-vtex-api-appkey|token)[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,}]+"
    # "token abc123…" with no separator: only values that look like keys (12+ characters with
    # a digit), so "token was refused" stays readable.
    r"|(\b(?:token|apptoken|appkey|gumgatoken|secret)\s+)(?=[A-Za-z0-9._~+/=-]*\d)"
    r"[A-Za-z0-9._~+/=-]{12,}"
)


def _forms(secret: str) -> set[str]:
    """The ways a secret is echoed back: as is, percent-encoded, JSON-escaped."""
    forms = {
        secret,
        quote(secret),  # path-safe: "/" kept
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
        json.dumps(secret)[1:-1],
    }
    return {f for f in forms if len(f) >= _MIN_SECRET_LENGTH}


def _prefix_alternative(form: str) -> str:
    """Regex matching any prefix of `form` of at least MIN_PREFIX_AT_CUT characters."""
    head = re.escape(form[:MIN_PREFIX_AT_CUT])
    tail = form[MIN_PREFIX_AT_CUT:]
    nested = ""
    for char in reversed(tail):
        nested = f"(?:{re.escape(char)}{nested})?"
    return head + nested


def register_secret(value: object) -> None:
    """Remember a secret so that `redact` masks it (and its encoded forms) wherever it appears."""
    global _pattern, _cut_pattern, _longest_form
    if not isinstance(value, str) or len(value) < _MIN_SECRET_LENGTH:
        return
    with _lock:
        if value in _secrets:
            return
        _secrets.add(value)
        forms = sorted({f for s in _secrets for f in _forms(s)}, key=len, reverse=True)
        # Longest first so a secret containing another is masked whole.
        _pattern = re.compile("|".join(re.escape(f) for f in forms))
        long_forms = [f for f in forms if len(f) >= MIN_PREFIX_AT_CUT]
        _longest_form = max((len(f) for f in long_forms), default=0)
        _cut_pattern = (
            re.compile(
                "(?:" + "|".join(_prefix_alternative(f) for f in long_forms) + ")"
                rf"(?=(?:{re.escape(ELLIPSIS)}|\.\.\.)?\s*\Z)"
            )
            if long_forms
            else None
        )


def _mask_shape(match: re.Match[str]) -> str:
    if match.group(1):
        return match.group(1) + MASK
    if match.group(2):
        return match.group(2) + "-" + MASK
    if match.group(3):
        return match.group(3) + MASK
    return match.group(4) + MASK


def redact(text: object) -> str:
    """Return `text` as a string with every known secret and token shape masked."""
    result = str(text)
    pattern, cut_pattern = _pattern, _cut_pattern
    if pattern is not None:
        result = pattern.sub(MASK, result)
    if cut_pattern is not None:
        # Only the end of a text can hold a cut-off secret: search just that tail, so the
        # cost does not grow with the length of the text.
        split = max(len(result) - _longest_form - 8, 0)
        result = result[:split] + cut_pattern.sub(MASK, result[split:])
    return _SHAPES.sub(_mask_shape, result)


def redact_truncate(text: object, limit: int) -> str:
    """Redact, then cut to `limit` characters (marking the cut) — never the other way round."""
    cleaned = redact(text)
    if len(cleaned) <= limit:
        return cleaned
    cut = cleaned[: max(limit - 1, 0)]
    # The cut may split a mask or leave the start of an unregistered token shape; run the
    # masks once more on what is kept.
    return redact(cut) + ELLIPSIS


# Keys whose value is a credential wherever they appear in a document ("gumgaToken",
# "access_token", "client_secret", "X-VTEX-API-AppKey", "Authorization"…).
_SECRET_KEY = re.compile(r"(?i)token|secret|password|passwd|authorization|api_?key|app_?key")
_NUL = "\x00"


def _clean_document(value: object) -> object:
    if isinstance(value, dict):
        cleaned = {}
        for key, item in value.items():
            name = _clean_document(str(key))
            if _SECRET_KEY.search(str(key)) and isinstance(item, str | int | float):
                cleaned[name] = MASK
            else:
                cleaned[name] = _clean_document(item)
        return cleaned
    if isinstance(value, list | tuple):
        return [_clean_document(item) for item in value]
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        # NaN and Infinity are not JSON: PostgreSQL's jsonb refuses them. Kept as text, so the
        # stored document still shows what the vendor sent.
        return value if math.isfinite(value) else json.dumps(value)
    # PostgreSQL stores no NUL character, in text or in jsonb.
    return redact(value).replace(_NUL, "\ufffd")


def redact_document(value: object, *, max_chars: int) -> object:
    """A JSON-like document (a vendor's order as received) made safe to store and show.

    Every string, keys included, goes through `redact`; the value of a key that names a
    credential (token, secret, password, authorization, app key) is masked whatever it is;
    what a JSON column cannot hold on every database (NaN, Infinity, NUL characters) is written
    out as text. Bounded: when its JSON is longer than `max_chars` characters, the result is
    `{"truncated": true, "characters": <full length>, "start": "<first max_chars characters>…"}`
    instead of the document."""
    cleaned = _clean_document(value)
    text = json.dumps(cleaned, ensure_ascii=False, separators=(",", ":"), default=str)
    if len(text) <= max_chars:
        return cleaned
    return {"truncated": True, "characters": len(text), "start": redact_truncate(text, max_chars)}
