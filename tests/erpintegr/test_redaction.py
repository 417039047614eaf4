"""Redaction: first mask, then cut; encoded echoes and cut-off secrets are masked too."""

import json
from urllib.parse import quote

import pytest
import responses

from erpintegr.redaction import (
    MASK,
    redact,
    redact_document,
    redact_truncate,
    register_secret,
)
from vendors.errors import ValidationFailedError
from vendors.http import HttpClient

# Shaped like real keys: long, mixed, with characters that encoding changes.
SECRET = 'Zq9/pL+4mN8=vT2&xW7"kR5sJ1hG6dF3aS0'


@pytest.fixture(autouse=True)
def _registered():
    register_secret(SECRET)


def assert_no_piece_of(secret: str, text: str) -> None:
    for start in range(len(secret) - 7):
        assert secret[start : start + 8] not in text, (secret[start : start + 8], text)


def test_a_secret_cut_by_truncation_leaks_nothing():
    text = "x" * 190 + SECRET + " trailing words"
    cut = redact_truncate(text, 200)
    assert len(cut) <= 200
    assert_no_piece_of(SECRET, cut)


def test_a_cut_off_start_of_a_secret_at_the_end_of_a_text_is_masked():
    # A vendor that truncates its own echo: the text ends inside the secret.
    for kept in (8, 12, len(SECRET) - 1):
        assert redact(f"invalid key {SECRET[:kept]}") == f"invalid key {MASK}"
        assert redact(f"invalid key {SECRET[:kept]}…") == f"invalid key {MASK}…"
    # Fewer than 8 characters are not a secret's start we can tell from a word.
    assert redact(f"code {SECRET[:5]}") == f"code {SECRET[:5]}"


@pytest.mark.parametrize(
    "echo",
    [
        quote(SECRET, safe=""),  # in a URL or form body
        quote(SECRET, safe="").replace("%2F", "/"),  # partially encoded (path-safe)
        json.dumps(SECRET)[1:-1],  # inside a JSON string
    ],
    ids=["percent-encoded", "path-encoded", "json-escaped"],
)
def test_encoded_echoes_of_a_registered_secret_are_masked(echo):
    register_secret(SECRET)
    assert MASK in redact(f"refused credential {echo} for account")
    assert echo not in redact(f"refused credential {echo} for account")


@pytest.mark.parametrize(
    "echo",
    [
        SECRET.replace("/", "\\/"),  # PHP's json_encode escapes "/"
        json.dumps(SECRET)[1:-1].replace("+", "\\u002B").replace("&", "\\u0026"),  # .NET
        json.dumps(SECRET)[1:-1].replace("=", "\\u003d"),  # lower-case hex
        json.dumps(json.dumps(SECRET)[1:-1])[1:-1],  # a JSON string quoted in another
        quote(quote(SECRET, safe=""), safe=""),  # percent-encoded twice
        SECRET.replace("&", "&amp;").replace('"', "&quot;").replace("/", "&#x2F;"),  # HTML
    ],
    ids=["json-slash", "json-u-upper", "json-u-lower", "json-twice", "percent-twice", "html"],
)
def test_every_escaping_of_a_registered_secret_is_masked(echo):
    text = redact(f"refused credential {echo} for account")
    assert text == f"refused credential {MASK} for account"


def test_the_start_of_a_secret_is_masked_wherever_it_stands():
    # A vendor that cut its echo and went on writing ("… AbCdEfGh… (details)").
    for kept in (8, 12, len(SECRET) - 1):
        assert redact(f"token {SECRET[:kept]}… is invalid") == f"token {MASK}… is invalid"
        assert redact(f'{{"token":"{SECRET[:kept]}","code":401}}').count(MASK) == 1
    encoded = quote(SECRET, safe="")
    assert redact(f"bad {encoded[:20]} key") == f"bad {MASK} key"


def test_two_secrets_sharing_a_long_start_are_each_masked_whole():
    first, second = "vtexappkey-shared-store-AAAA1111", "vtexappkey-shared-store-BBBB2222"
    register_secret(first)
    register_secret(second)
    assert redact(f"keys {second} and {first}.") == f"keys {MASK} and {MASK}."


def test_a_secret_that_looks_encoded_is_masked_as_written_and_encoded():
    odd = "pct%25Literal-9f8e7d6c"  # "%25" in the value itself, not an encoded "%"
    register_secret(odd)
    assert redact(f"a {odd} b") == f"a {MASK} b"
    assert redact(f"a {quote(odd, safe='')} b") == f"a {MASK} b"


def test_token_followed_by_a_value_without_separator_is_masked():
    assert redact("gumgaToken 9f8e7d6c5b4a39281706 is invalid") == (f"gumgaToken {MASK} is invalid")
    # Ordinary sentences stay readable.
    assert redact("the refresh token was refused; re-authorize") == (
        "the refresh token was refused; re-authorize"
    )


@responses.activate
def test_vendor_error_bodies_are_redacted_before_they_are_cut():
    body = json.dumps({"message": "y" * 180 + "bad token " + SECRET})
    responses.add(responses.PUT, "https://vendor.test/stocks", body=body, status=422)
    client = HttpClient(base_url="https://vendor.test", sleep=lambda s: None)
    with pytest.raises(ValidationFailedError) as caught:
        client.put("/stocks", json=[])
    assert_no_piece_of(SECRET, str(caught.value))
    assert_no_piece_of(SECRET, caught.value.body)


@pytest.mark.django_db
def test_status_reason_keeps_no_piece_of_a_secret():
    from channels.services import channel_set_status
    from tests.factories import make_channel

    channel = make_channel(connector="anymarket", credentials={"gumga_token": "tok-abc-123456"})
    channel_set_status(channel=channel, status="suspended", reason="z" * 1995 + SECRET)
    channel.refresh_from_db()
    assert len(channel.status_reason) <= 2000
    assert_no_piece_of(SECRET, channel.status_reason)


# --- documents stored as received (quarantined orders) ---------------------------------------


def test_a_document_keeps_its_shape_with_secrets_and_credential_keys_masked():
    document = {
        "id": 9001,
        "note": f"call back with {SECRET}",
        "marketplace": {"gumgaToken": "unregistered-value-1", "url": "https://x?token=abc123"},
        "items": [{"unit": 59.9, "amount": 2, "gift": False, "coupon": None}],
    }

    stored = redact_document(document, max_chars=10_000)

    assert stored["id"] == 9001
    assert stored["note"] == f"call back with {MASK}"
    assert stored["marketplace"]["gumgaToken"] == MASK  # a credential key, whatever its value
    assert stored["marketplace"]["url"] == f"https://x?token={MASK}"
    assert stored["items"] == document["items"]
    assert_no_piece_of(SECRET, json.dumps(stored))


def test_what_a_json_column_cannot_hold_everywhere_is_written_out():
    # PostgreSQL's jsonb refuses NaN, Infinity and NUL; the vendor's value stays readable.
    stored = redact_document(
        {"unit": float("nan"), "total": float("inf"), "name\x00": "A\x00B"}, max_chars=1000
    )
    assert stored == {"unit": "NaN", "total": "Infinity", "name\ufffd": "A\ufffdB"}
    json.dumps(stored, allow_nan=False)  # strict JSON


def test_a_document_past_the_bound_keeps_only_its_start_redacted():
    document = {"items": [{"title": "x" * 100} for _ in range(100)], "tail": SECRET}

    stored = redact_document(document, max_chars=500)

    assert stored["truncated"] is True
    assert stored["characters"] > 10_000
    assert len(stored["start"]) <= 500
    assert stored["start"].startswith('{"items":[{"title":"xxx')
    assert_no_piece_of(SECRET, json.dumps(stored))
