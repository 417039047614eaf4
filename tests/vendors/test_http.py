"""The HTTP seam (vendors/http.py): status codes → one error hierarchy, retries only where they
can help, Retry-After, and nothing else. Tested once here, on HttpClient, for every vendor."""

import pytest
import requests
import responses

from erpintegr.redaction import redact
from vendors.errors import (
    AuthError,
    ConflictError,
    ConnectorError,
    InvalidVendorData,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    RedirectRefusedError,
    RetryPastDeadlineError,
    TransientError,
    ValidationFailedError,
)
from vendors.http import HttpClient, error_for_status, parse_retry_after

BASE = "https://vendor.test/api"
URL = f"{BASE}/things"
MAX_RETRIES = 4  # HttpClient's default
TRIES = MAX_RETRIES + 1


def client(sleeps: list, **kwargs) -> HttpClient:
    return HttpClient(base_url=BASE, sleep=sleeps.append, random=lambda: 0.5, **kwargs)


@pytest.mark.parametrize(
    ("status", "error", "retryable"),
    [
        (400, ValidationFailedError, False),
        (401, AuthError, False),
        (403, PermissionDeniedError, False),
        (404, NotFoundError, False),
        (409, ConflictError, False),
        (413, ValidationFailedError, False),
        (422, ValidationFailedError, False),
        (423, TransientError, True),  # VTEX: the SKU × warehouse is locked for a moment
        (429, RateLimitedError, True),
        (500, TransientError, True),
        (503, TransientError, True),
    ],
)
@responses.activate
def test_each_status_maps_to_its_error_and_only_retryable_ones_are_retried(
    status, error, retryable
):
    responses.get(
        URL,
        status=status,
        json={"message": f"vendor says {status}"},
        headers={"X-Request-Id": "req-42"},
    )
    sleeps: list[float] = []
    http = client(sleeps)

    with pytest.raises(error) as caught:
        http.get("things")

    assert type(caught.value) is error
    assert error_for_status(status) is error
    exc = caught.value
    assert (exc.status, exc.retryable, exc.request_id) == (status, retryable, "req-42")
    assert (exc.method, exc.url) == ("GET", URL)
    assert f"vendor says {status}" in str(exc)  # the vendor's own sentence
    assert f"answered {status}" in str(exc)
    attempts = TRIES if retryable else 1
    assert len(responses.calls) == attempts == http.requests_sent
    assert len(sleeps) == attempts - 1 == http.retries
    assert http.rate_limited == (attempts if status == 429 else 0)


@pytest.mark.parametrize(
    "failure",
    [requests.ConnectionError("connection refused"), requests.ConnectTimeout("connect timeout")],
)
@responses.activate
def test_connection_errors_and_timeouts_are_transient_and_retried(failure):
    responses.get(URL, body=failure)
    sleeps: list[float] = []
    http = client(sleeps)

    with pytest.raises(TransientError) as caught:
        http.get("things")

    assert caught.value.status is None
    assert caught.value.retryable is True
    assert type(failure).__name__ in str(caught.value)
    assert len(responses.calls) == TRIES
    assert len(sleeps) == MAX_RETRIES


@responses.activate
def test_a_read_timeout_is_transient_and_a_later_success_wins():
    responses.get(URL, body=requests.ReadTimeout("read timed out"))
    responses.get(URL, json={"ok": True})
    sleeps: list[float] = []
    assert client(sleeps).get("things") == {"ok": True}
    assert len(sleeps) == 1


@responses.activate
def test_every_request_carries_the_timeout():
    seen = []

    class Session(requests.Session):
        def request(self, *args, **kwargs):
            seen.append(kwargs.get("timeout"))
            return super().request(*args, **kwargs)

    responses.get(URL, json=[])
    client([], session=Session(), timeout=(2.0, 9.0)).get("things")
    assert seen == [(2.0, 9.0)]


@responses.activate
def test_retry_false_gives_up_at_once():
    responses.get(URL, status=503, json={"message": "down"})
    sleeps: list[float] = []
    with pytest.raises(TransientError):
        client(sleeps).get("things", retry=False)
    assert len(responses.calls) == 1
    assert sleeps == []


@responses.activate
def test_retry_after_is_honoured():
    responses.get(URL, status=429, headers={"Retry-After": "7"}, json={"message": "slow down"})
    responses.get(URL, json={"ok": True})
    sleeps: list[float] = []
    http = client(sleeps)
    assert http.get("things") == {"ok": True}
    assert sleeps == [7.0]
    assert (http.requests_sent, http.retries, http.rate_limited) == (2, 1, 1)


@pytest.mark.parametrize(
    ("header", "expected"),
    [("7", 7.0), (" 2.5 ", 2.5), ("-3", 0.0), ("", None), (None, None), ("soon", None)],
)
def test_parse_retry_after(header, expected):
    assert parse_retry_after(header) == expected


def test_parse_retry_after_accepts_an_http_date():
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past


def test_backoff_is_capped_exponential_with_jitter():
    http = HttpClient(base_url=BASE, random=lambda: 1.0, backoff_base=0.5, backoff_cap=30.0)
    assert [http.backoff(n, None) for n in range(8)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert HttpClient(base_url=BASE, random=lambda: 0.0).backoff(3, None) == 0.0  # full jitter
    assert http.backoff(0, 12.0) == 12.0  # Retry-After wins over a shorter backoff
    assert http.backoff(0, 10_000) == 120.0  # …within reason (4 × the cap)


@responses.activate
def test_a_2xx_that_is_not_json_is_malformed_and_retried():
    responses.get(URL, body="<html>oops</html>", status=200)
    sleeps: list[float] = []
    with pytest.raises(MalformedResponseError) as caught:
        client(sleeps).get("things")
    assert caught.value.retryable is True
    assert len(responses.calls) == TRIES
    assert len(sleeps) == MAX_RETRIES


@responses.activate
def test_an_empty_2xx_is_none():
    responses.put(URL, status=204)
    assert client([]).put("things", json={}) is None


@responses.activate
def test_unmapped_4xx_is_a_plain_connector_error_not_retried():
    responses.get(URL, status=418, json={"message": "teapot"})
    sleeps: list[float] = []
    with pytest.raises(ConnectorError) as caught:
        client(sleeps).get("things")
    assert type(caught.value) is ConnectorError
    assert len(responses.calls) == 1


@pytest.mark.parametrize(
    ("body", "sentence"),
    [
        ({"error": {"code": "1", "message": "VTEX sentence"}}, "VTEX sentence"),
        ({"Message": "catalog sentence"}, "catalog sentence"),
        ({"error": "invalid_grant", "error_description": "ML oauth"}, "ML oauth"),
        ({"code": "422", "message": "ANYMARKET sentence", "details": "x"}, "ANYMARKET sentence"),
    ],
)
@responses.activate
def test_the_vendor_sentence_is_found_in_each_error_shape(body, sentence):
    responses.get(URL, status=400, json=body)
    with pytest.raises(ValidationFailedError, match=sentence):
        client([]).get("things")


@responses.activate
def test_secret_headers_never_reach_the_error():
    token = "secret-token-http-seam-1234567890"
    responses.get(URL, status=401, json={"message": f"bad token {token}"})
    with pytest.raises(AuthError) as caught:
        client([], headers={"gumgaToken": token}).get("things")
    assert token not in str(caught.value)
    assert token not in caught.value.body
    assert redact(token) != token


def test_invalid_vendor_data_is_never_retryable():
    # Raised by adapters after HttpClient returned: reading the same data again cannot help,
    # so nothing that looks at `retryable` may treat it like a MalformedResponseError.
    assert InvalidVendorData.retryable is False
    assert MalformedResponseError.retryable is True
    assert not issubclass(InvalidVendorData, MalformedResponseError | TransientError)


# --- redirects and deadlines ----------------------------------------------------------------

REDIRECT_SECRET = "vtex-app-token-0123456789abcdef"


@responses.activate
def test_a_redirect_is_refused_and_no_key_header_reaches_the_other_host():
    responses.add(
        responses.GET,
        "https://vendor.test/api/x",
        status=302,
        headers={"Location": "https://attacker.test/steal?token=abc123"},
    )
    responses.add(responses.GET, "https://attacker.test/steal", body="{}")
    client = HttpClient(
        base_url="https://vendor.test",
        headers={"X-VTEX-API-AppToken": REDIRECT_SECRET},
        sleep=lambda s: None,
    )
    with pytest.raises(RedirectRefusedError) as caught:
        client.get("/api/x")
    assert [call.request.url for call in responses.calls] == ["https://vendor.test/api/x"]
    assert "https://attacker.test" in str(caught.value)
    assert "abc123" not in str(caught.value)
    assert client.requests_sent == 1  # not retried


@responses.activate
def test_a_retry_never_waits_past_the_deadline():
    responses.add(
        responses.GET, "https://vendor.test/x", status=429, headers={"Retry-After": "120"}
    )
    slept = []
    now = [1000.0]
    client = HttpClient(
        base_url="https://vendor.test",
        sleep=slept.append,
        deadline=lambda: 1010.0,
        clock=lambda: now[0],
    )
    with pytest.raises(RetryPastDeadlineError, match="time budget"):
        client.get("/x")
    assert slept == [] and len(responses.calls) == 1
