"""Keep secrets out of logs, exception messages and stored errors.

Two layers, because either alone leaks: every credential value loaded from the database is
registered here and replaced wherever it shows up, and well-known token shapes (Bearer
tokens, Mercado Livre APP_USR-/TG- tokens, secret-looking parameters and headers,
`token <value>`) are masked even when the value was never registered (a token a vendor just
issued).

A registered secret is found however it is echoed back: each of its characters may be
written as itself, percent-encoded (a URL, a form body; also encoded twice), JSON-escaped
(`\\/`, `\\"`, `\\u00XX`: a token inside a JSON string, quoted again in another) or as an
HTML character reference. Found whole or in part: any run of 8 or more of its first
characters is masked too, wherever it stands — a vendor that cuts its echo ("invalid token
AbCdEfGh…") and then goes on writing, or a text cut elsewhere.

Order matters: **redact first, then truncate** (`redact_truncate`). A text cut before masking
holds a piece of a secret; the piece is masked too if it is 8 characters or more, but a
shorter one would stay.
"""

from __future__ import annotations

import json
import math
import re
import threading
from html.entities import codepoint2name

MASK = "[REDACTED]"
_MIN_SECRET_LENGTH = 4
# The start of a secret this long is masked wherever it stands. Shorter pieces would mask
# ordinary words.
MIN_PREFIX_AT_CUT = 8
ELLIPSIS = "…"

_lock = threading.Lock()
_secrets: set[str] = set()
# Where a registered secret (or its start) may begin: its first characters, in any form.
_heads: re.Pattern[str] | None = None
# Per secret, per character: the patterns of every form of that character; by the character
# an echo starts with (a secret starting with a letter or digit starts with it in every form,
# any other may start escaped: those are under "").
_Spelled = tuple[tuple[re.Pattern[str], ...], ...]
_spelled_by_start: dict[str, list[_Spelled]] = {}

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

# Characters no encoder changes: percent-encoding keeps them, JSON writes them as they are.
_PLAIN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.~-")


def _hex(value: int, width: int) -> str:
    """`value` in hexadecimal, either case: 0x2f -> "2[fF]"."""
    return "".join(
        f"[{digit}{digit.lower()}]" if digit.isalpha() else digit for digit in f"{value:0{width}X}"
    )


def _char_options(char: str) -> list[str]:
    """Every way an echo writes one character of a secret, as regular expressions."""
    if char in _PLAIN:
        return [re.escape(char)]
    code = ord(char)
    utf16 = char.encode("utf-16-be")
    percent = "".join(f"%{_hex(byte, 2)}" for byte in char.encode())
    units = ["u" + _hex(int.from_bytes(utf16[i : i + 2]), 4) for i in range(0, len(utf16), 2)]
    # Each form once and twice over (a JSON string quoted in another, a URL in a query), as
    # separate options: `_longest_echo` follows every one, so "%2525" is read both ways.
    options = [
        re.escape(char),
        r"\\" + re.escape(char),  # JSON: \/ \" \\
        r"\\\\\\" + re.escape(char),
        percent,
        percent.replace("%", "%25"),
        "".join(r"\\" + unit for unit in units),  # JSON: \u002B (a surrogate pair: two)
        "".join(r"\\\\" + unit for unit in units),
        # HTML character references: &#47; &#x2F; &amp;
        f"&#0*{code};",
        f"&#[xX]0*{_hex(code, 1)};",
    ]
    if code in codepoint2name:
        options.append(f"&{codepoint2name[code]};")
    if char == "'":
        options.append("&apos;")
    if char == " ":
        options.append(r"\+")  # a form body's space
    return options


def _heads_pattern(secrets: list[str], spelled: list[list[list[str]]]) -> str:
    """One expression for where any secret's echo may start: a test of the first character
    (most places in a text fail it in one step), then the secrets grouped by their first
    character (one starting with a letter or digit starts with it in every form)."""
    by_first: dict[str, list[str]] = {}
    others: list[str] = []
    starts: set[str] = set()
    for secret, chars in zip(secrets, spelled, strict=True):
        head = chars[:MIN_PREFIX_AT_CUT]
        rest = "".join("(?:" + "|".join(options) + ")" for options in head[1:])
        starts.add(secret[0])
        if secret[0] in _PLAIN:
            by_first.setdefault(secret[0], []).append(rest)
        else:
            starts |= {"\\", "%", "&"}  # its escaped forms
            others.append("(?:" + "|".join(head[0]) + ")" + rest)
    branches = [re.escape(c) + "(?:" + "|".join(rests) + ")" for c, rests in by_first.items()]
    first = "".join(re.escape(c) for c in sorted(starts))
    return f"(?=[{first}])(?:" + "|".join(branches + others) + ")"


def register_secret(value: object) -> None:
    """Remember a secret so that `redact` masks it (and its encoded forms, and its start)
    wherever it appears."""
    global _heads, _spelled_by_start
    if not isinstance(value, str) or len(value) < _MIN_SECRET_LENGTH:
        return
    with _lock:
        if value in _secrets:
            return
        _secrets.add(value)
        secrets = sorted(_secrets)
        spelled = [[_char_options(c) for c in secret] for secret in secrets]
        _heads = re.compile(_heads_pattern(secrets, spelled))
        by_start: dict[str, list[_Spelled]] = {}
        for secret, chars in zip(secrets, spelled, strict=True):
            compiled = tuple(tuple(re.compile(option) for option in options) for options in chars)
            by_start.setdefault(secret[0] if secret[0] in _PLAIN else "", []).append(compiled)
        _spelled_by_start = by_start


def _longest_echo(chars: _Spelled, text: str, start: int) -> int:
    """Where the longest echo of one secret starting at `start` ends (its first
    MIN_PREFIX_AT_CUT characters at least, or the whole of a shorter secret); `start` when
    there is none. Every reading is followed, not the first that matches: "%25" may be a
    "%" encoded or the three characters themselves."""
    ends, best = {start}, start
    needed = min(MIN_PREFIX_AT_CUT, len(chars))
    for count, options in enumerate(chars, start=1):
        ends = {m.end() for at in ends for option in options if (m := option.match(text, at))}
        if not ends:
            break
        if count >= needed:
            best = max(ends)
    return best


def _mask_secrets(text: str) -> str:
    """Mask the longest echo of any secret at every place one starts. Longest, not the first
    that matches: two keys of one store share a long start ("vtexappkey-store-"), and
    stopping where they part would leave the rest of the second one."""
    heads, by_start = _heads, _spelled_by_start
    if heads is None:
        return text
    spans: list[list[int]] = []
    position = 0
    while (found := heads.search(text, position)) is not None:
        start = found.start()
        position = start + 1
        candidates = by_start.get(text[start], []) + by_start.get("", [])
        end = max((_longest_echo(chars, text, start) for chars in candidates), default=start)
        if end <= start:
            continue
        if spans and start <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], end)  # overlapping echoes: one mask
        else:
            spans.append([start, end])
    if not spans:
        return text
    pieces, kept = [], 0
    for start, end in spans:
        pieces += [text[kept:start], MASK]
        kept = end
    pieces.append(text[kept:])
    return "".join(pieces)


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
    return _SHAPES.sub(_mask_shape, _mask_secrets(str(text)))


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
