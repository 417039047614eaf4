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
