"""The HTTP seam never follows a redirect: the vendor's key headers would go along."""

import pytest
import responses

from vendors.errors import RedirectRefusedError
from vendors.http import HttpClient

SECRET = "vtex-app-token-0123456789abcdef"


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
        headers={"X-VTEX-API-AppToken": SECRET},
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
    from vendors.errors import RetryPastDeadlineError

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
