import pytest
from django_q.models import Schedule

from channels.models import ChannelStatus
from sync.models import RunState
from sync.services.runs import run_flow
from tests.sync.engine import active_channel, declared_rate
from vendors.anymarket.adapter import AnymarketConnector


@pytest.mark.django_db(transaction=True)
def test_access_revoked_by_the_vendor_suspends_the_channel_and_removes_its_schedules(emulator):
    with declared_rate(AnymarketConnector, rate=100, burst=10):
        vendor = emulator("anymarket", rate=100, burst=10)
        channel = active_channel("anymarket", vendor)
        assert Schedule.objects.filter(name__startswith=f"erpintegr:channel:{channel.pk}:").exists()
        vendor.token = "revoked-by-the-merchant"  # our token no longer opens the account
        run = run_flow(channel_id=channel.pk, flow="orders")
    assert run.state == RunState.FAILED
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.SUSPENDED
    assert "refused access (401)" in channel.status_reason
    assert "DEMO-gumga-token" not in channel.status_reason + run.error
    assert not Schedule.objects.filter(name__startswith=f"erpintegr:channel:{channel.pk}:").exists()
    # A suspended channel does not run until support reactivates it.
    assert run_flow(channel_id=channel.pk, flow="orders").state == RunState.SKIPPED


@pytest.mark.django_db(transaction=True)
def test_a_malformed_vendor_answer_fails_the_run_with_the_reason_and_loses_nothing(emulator):
    from sync.models import PendingChange
    from tests.sync.engine import bind, make_skus, set_stock

    with declared_rate(AnymarketConnector, rate=100, burst=10):
        vendor = emulator("anymarket", rate=100, burst=10)
        channel = active_channel("anymarket", vendor)
        product = vendor.add_product("X", [{"partnerId": "X-1"}])
        (sku,) = make_skus(channel.company, ["X-1"])
        bind(
            channel,
            sku,
            external_item_id=str(product["id"]),
            external_sku_id=str(vendor.sku_ids_by_partner["X-1"]),
            seller_sku="X-1",
        )
        set_stock(channel.warehouses.get(), [(sku, 3)])
        vendor.faults.rate_5xx = 1.0
        from sync.services import runs

        run = runs.run_flow(
            channel_id=channel.pk, flow="stock", connector_options={"sleep": lambda s: None}
        )
    assert run.state == RunState.FAILED
    assert "503" in run.error
    assert run.retries >= 1
    assert PendingChange.objects.filter(channel=channel).count() == 1
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.ACTIVE  # a vendor outage is not a revocation


@pytest.mark.django_db(transaction=True)
def test_a_run_that_learns_of_a_revocation_after_support_paused_the_channel_does_not_suspend_it(
    monkeypatch,
):
    """Support pauses the channel while a run waits on the vendor; the vendor then answers
    401. The channel stays Paused (support's decision), not 'suspended by the vendor'."""
    from channels.services import channel_set_status
    from sync.services import runs
    from tests.factories import make_channel
    from vendors.errors import AuthError

    channel = make_channel(connector="anymarket", credentials={"gumga_token": "tok-race-1234"})
    channel_set_status(channel=channel, status=ChannelStatus.ACTIVE)

    class PausedMeanwhile:
        def fetch_orders(self, cursor, limit):
            channel_set_status(channel=channel, status=ChannelStatus.PAUSED, reason="by support")
            raise AuthError("401 from the vendor", status=401)

        def request_stats(self):
            return {"requests": 1, "retries": 0, "rate_limited": 0}

    monkeypatch.setattr(runs, "build_connector", lambda channel, **options: PausedMeanwhile())
    run = runs.run_flow(channel_id=channel.pk, flow="orders")
    assert run.state == RunState.FAILED
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.PAUSED
    assert channel.status_reason == "by support"


@pytest.mark.django_db(transaction=True)
def test_a_run_stops_at_its_next_checkpoint_when_the_channel_is_paused(emulator):
    from channels.services import channel_set_status
    from sync.models import PendingChange
    from sync.services import runs
    from sync.services.context import RunContext
    from tests.sync.engine import bind, make_skus, set_stock

    with declared_rate(AnymarketConnector, rate=100, burst=10):
        vendor = emulator("anymarket", rate=100, burst=10)
        channel = active_channel("anymarket", vendor)
        product = vendor.add_product("X", [{"partnerId": "X-1"}])
        (sku,) = make_skus(channel.company, ["X-1"])
        bind(
            channel,
            sku,
            external_item_id=str(product["id"]),
            external_sku_id=str(vendor.sku_ids_by_partner["X-1"]),
            seller_sku="X-1",
        )
        set_stock(channel.warehouses.get(), [(sku, 3)])
        original = RunContext.checkpoint

        def pause_then_checkpoint(self, *, force=False):
            channel_set_status(channel=channel, status=ChannelStatus.PAUSED, reason="by support")
            return original(self, force=True)

        RunContext.checkpoint = pause_then_checkpoint
        try:
            run = runs.run_flow(channel_id=channel.pk, flow="stock")
        finally:
            RunContext.checkpoint = original
    assert run.state == RunState.STOPPED
    assert "paused or deactivated" in run.error
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.PAUSED
    # Nothing lost: whatever was not confirmed by the vendor is still pending.
    assert PendingChange.objects.filter(channel=channel).count() <= 1
