"""The activation's vendor calls go through the channel's rate limiter, as runs do.

The emulator enforces the vendor's rate (declared here at 20 requests/s with a burst of 4 on
both sides, so the test takes no real minutes): a client that paces itself never meets a 429.
"""

import pytest

from sandbox.anymarket import AnymarketEmulator
from sync.activation.connection import activation_test_connection
from sync.activation.preflight import activation_preflight
from tests.sync.activation.builders import ready_channel
from tests.sync.engine import declared_rate
from vendors.anymarket.adapter import AnymarketConnector

RATE, BURST = 20.0, 4


@pytest.fixture
def paced_anymarket(emulator):
    with declared_rate(AnymarketConnector, rate=RATE, burst=BURST):
        yield emulator("anymarket", rate=RATE, burst=BURST)


@pytest.mark.django_db
def test_the_preflight_paces_its_calls_with_the_channels_limiter(paced_anymarket):
    paced_anymarket.seed_data(listings=400, orders=10)  # several pages of listings
    channel = ready_channel(paced_anymarket, "anymarket")
    paced_anymarket.reset_stats()

    report = activation_preflight(channel=channel)

    assert report.match is not None and report.match.fetched == 400
    assert paced_anymarket.stats["requests"] > BURST  # more than one burst's worth
    assert paced_anymarket.stats["429"] == 0


@pytest.mark.django_db
def test_test_connections_share_the_channels_budget(paced_anymarket):
    channel = ready_channel(
        paced_anymarket, "anymarket", credentials=AnymarketEmulator.demo_credentials()
    )
    paced_anymarket.reset_stats()

    for _ in range(3 * BURST):  # support clicking "Test connection" again and again
        assert activation_test_connection(channel=channel).ok

    assert paced_anymarket.stats["429"] == 0
