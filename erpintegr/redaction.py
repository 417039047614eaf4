"""Keep secrets out of logs, exception messages and stored errors.

Two layers, because either alone leaks: every credential value loaded from the database is
registered here and replaced verbatim wherever it shows up, and well-known token shapes
(Bearer tokens, Mercado Livre APP_USR-/TG- tokens, secret-looking query parameters and
headers) are masked even when the value was never registered (a token a vendor just issued).
"""

import re
import threading

MASK = "[REDACTED]"
_MIN_SECRET_LENGTH = 4

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None

_SHAPES = re.compile(
    r"(?i)"
    r"(bearer\s+)[A-Za-z0-9._~+/=-]+"
    r"|\b(APP_USR|TG)-[A-Za-z0-9-]{6,}"
    r"|((?:access_token|refresh_token|client_secret|app_?token|app_?key|gumga_?token|password|"
    r"x-vtex-api-apptoken|x-vtex-api-appkey|token)[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,}]+"
)


def register_secret(value: object) -> None:
    """Remember a secret so that `redact` masks it wherever it appears."""
    global _pattern
    if not isinstance(value, str) or len(value) < _MIN_SECRET_LENGTH:
        return
    with _lock:
        if value in _secrets:
            return
        _secrets.add(value)
        # Longest first so a secret containing another is masked whole.
        ordered = sorted(_secrets, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(s) for s in ordered))


def _mask_shape(match: re.Match[str]) -> str:
    if match.group(1):
        return match.group(1) + MASK
    if match.group(2):
        return match.group(2) + "-" + MASK
    return match.group(3) + MASK


def redact(text: object) -> str:
    """Return `text` as a string with every known secret and token shape masked."""
    result = str(text)
    pattern = _pattern
    if pattern is not None:
        result = pattern.sub(MASK, result)
    return _SHAPES.sub(_mask_shape, result)
