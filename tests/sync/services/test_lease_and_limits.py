from datetime import timedelta

import pytest
from django.utils import timezone

from sync.models import ChannelLease
from sync.services.lease import lease_claim
from tests.factories import make_channel
from vendors.ratelimit import TokenBucket


@pytest.mark.django_db
def test_lease_is_exclusive_until_released_or_expired():
    channel = make_channel(connector="vtex")
    first = lease_claim(channel_id=channel.pk, flow="stock")
    assert first is not None
    assert lease_claim(channel_id=channel.pk, flow="price") is None
    first.release()
    second = lease_claim(channel_id=channel.pk, flow="price")
    assert second is not None
    # A worker that died leaves an expired lease: the next claim takes it over.
    ChannelLease.objects.filter(channel=channel).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    third = lease_claim(channel_id=channel.pk, flow="orders")
    assert third is not None
    assert not second.renew()  # the dead holder cannot renew what it lost
    second.release()  # nor release someone else's lease
    assert lease_claim(channel_id=channel.pk) is None


class FakeTime:
    def __init__(self):
        self.now = 0.0
        self.slept = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def test_token_bucket_never_exceeds_the_declared_rate():
    t = FakeTime()
    bucket = TokenBucket(rate=5, burst=2, clock=t.clock, sleep=t.sleep)
    for _ in range(12):
        bucket.acquire()
    # 2 from the burst, then 10 at 5/s = 2 seconds.
    assert t.now == pytest.approx(2.0)


# How a 429 slows the bucket and how it recovers: tests/vendors/test_ratelimit.py.


def test_token_bucket_state_survives_between_runs():
    t = FakeTime()
    bucket = TokenBucket(rate=4, burst=4, clock=t.clock, sleep=t.sleep)
    for _ in range(4):
        bucket.acquire()
    tokens, rate = bucket.state()
    successor = TokenBucket(rate=4, burst=4, clock=t.clock, sleep=t.sleep)
    successor.restore(tokens=tokens, rate=rate, seconds_ago=0)
    successor.acquire()  # the burst was spent by the previous run: it must wait
    assert t.slept and t.slept[-1] == pytest.approx(0.25)


@pytest.mark.django_db
def test_a_run_left_running_by_a_dead_worker_is_marked_abandoned_by_the_next(monkeypatch):
    from channels.services import channel_set_status
    from sync.models import RunState, SyncRun
    from sync.services import runs

    channel = make_channel(
        connector="vtex",
        credentials={"account_name": "loja", "app_key": "k-abandoned", "app_token": "t-abandoned"},
    )
    channel_set_status(channel=channel, status="active")
    dead = SyncRun.objects.create(channel=channel, flow="stock")  # its worker was SIGKILLed
    ChannelLease.objects.create(
        channel=channel, holder="dead-worker", expires_at=timezone.now() - timedelta(seconds=1)
    )
    monkeypatch.setattr(runs, "_execute", lambda ctx, flow, limit: None)
    run = runs.run_flow(channel_id=channel.pk, flow="stock", connector_options={})
    dead.refresh_from_db()
    assert run.state == RunState.SUCCEEDED, run.error
    assert dead.state == RunState.FAILED and "Abandoned" in dead.error
    assert dead.finished_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_run_that_lost_its_lease_stops_instead_of_overlapping(emulator, monkeypatch):
    from sync.models import PendingChange, RunState
    from sync.services import context, push
    from tests.sync.engine import active_channel, anymarket_catalog, declared_rate, set_stock
    from vendors.anymarket.adapter import AnymarketConnector

    with declared_rate(AnymarketConnector, rate=100, burst=10):
        vendor = emulator("anymarket", rate=100, burst=10)
        channel = active_channel("anymarket", vendor)
        skus = anymarket_catalog(vendor, channel, [f"L-{i}" for i in range(3)])
        set_stock(channel.warehouses.get(), [(sku, 2) for sku in skus])
        monkeypatch.setattr(context, "CHECKPOINT_SECONDS", 0)  # checkpoint after every call
        real_send = push._send

        def stall_then_send(ctx, flow, items):
            result = real_send(ctx, flow, items)
            # Meanwhile the lease expired and another worker took the channel.
            ChannelLease.objects.filter(channel=channel).update(holder="other-worker")
            return result

        monkeypatch.setattr(push, "_send", stall_then_send)
        from sync.services.runs import run_flow

        run = run_flow(channel_id=channel.pk, flow="stock")
    assert run.state == RunState.FAILED
    assert "lost its lease" in run.error
    # What the vendor accepted before stopping was still recorded: nothing pending is lost
    # and nothing accepted is left pending.
    assert not PendingChange.objects.filter(channel=channel).exists()
    # It did not release the other worker's lease.
    assert ChannelLease.objects.get(channel=channel).holder == "other-worker"


def test_lease_ttl_is_bounded_whatever_the_budget():
    from sync.services.runs import lease_ttl

    assert lease_ttl(2).total_seconds() == 60
    assert lease_ttl(100).total_seconds() == 150
    assert lease_ttl(480).total_seconds() == 300


def _throttled_world(emulator, declared_rate, active_channel, anymarket_catalog, set_stock):
    """Our client may send fast, the vendor's bucket is nearly empty: a 429 whose Retry-After
    is about 100 s."""
    vendor = emulator("anymarket", rate=0.01, burst=1)
    channel = active_channel("anymarket", vendor)
    skus = anymarket_catalog(vendor, channel, ["T-1"])
    set_stock(channel.warehouses.get(), [(skus[0], 2)])
    return vendor, channel


@pytest.mark.django_db(transaction=True)
def test_a_retry_after_longer_than_the_budget_ends_the_run_instead_of_sleeping_through_it(
    emulator,
):
    from sync.models import PendingChange, RunState
    from sync.services.runs import run_flow
    from tests.sync.engine import active_channel, anymarket_catalog, declared_rate, set_stock
    from vendors.anymarket.adapter import AnymarketConnector

    slept = []
    with declared_rate(AnymarketConnector, rate=100, burst=10):
        vendor, channel = _throttled_world(
            emulator, declared_rate, active_channel, anymarket_catalog, set_stock
        )
        vendor.rate_limit.take()  # the vendor's one token is spent: the next call gets 429
        run = run_flow(
            channel_id=channel.pk,
            flow="stock",
            budget_seconds=5,
            connector_options={"sleep": slept.append},
        )
    assert run.state == RunState.FAILED
    assert "time budget" in run.error
    assert not [s for s in slept if s >= 5]  # never asleep past the budget
    assert PendingChange.objects.filter(channel=channel).count() == 1  # nothing lost


@pytest.mark.django_db(transaction=True)
def test_a_long_wait_within_the_budget_renews_the_lease_first(emulator, monkeypatch):
    from sync.services import lease as lease_module
    from sync.services.runs import run_flow
    from tests.sync.engine import active_channel, anymarket_catalog, declared_rate, set_stock
    from vendors.anymarket.adapter import AnymarketConnector

    events = []
    real_renew = lease_module.Lease.renew

    def counting_renew(self):
        events.append("renew")
        return real_renew(self)

    monkeypatch.setattr(lease_module.Lease, "renew", counting_renew)
    with declared_rate(AnymarketConnector, rate=100, burst=10):
        vendor, channel = _throttled_world(
            emulator, declared_rate, active_channel, anymarket_catalog, set_stock
        )
        vendor.rate_limit.take()

        def sleep(seconds):
            events.append(seconds)
            if seconds >= 5:
                vendor.rate_limit.tokens = vendor.rate_limit.burst  # the vendor refilled

        run_flow(
            channel_id=channel.pk,
            flow="stock",
            budget_seconds=600,
            connector_options={"sleep": sleep},
        )
    long_waits = [i for i, e in enumerate(events) if e != "renew" and e >= 5]
    assert long_waits, events
    assert all(events[i - 1] == "renew" for i in long_waits), events


def test_a_long_wait_on_a_pool_thread_never_touches_the_database():
    """Requests an adapter keeps open at once (Connector.each_request) wait on pool threads:
    their long waits must not checkpoint (database writes on a thread that is not the run's);
    the run's own thread renews the lease through `heartbeat` meanwhile."""
    import threading

    from sync.services.runs import _BudgetedWait

    class Ctx:
        def __init__(self):
            self.checkpoints = []

        def checkpoint(self, *, force=False):
            self.checkpoints.append((threading.current_thread().name, force))

    slept = []
    waits = _BudgetedWait(slept.append)
    waits.ctx = Ctx()
    pool_thread = threading.Thread(target=waits, args=(30.0,), name="vtex-price_0")
    pool_thread.start()
    pool_thread.join()
    assert slept == [30.0] and waits.ctx.checkpoints == []

    waits(30.0)  # on the run's thread: saves progress and renews first
    waits.heartbeat()
    me = threading.current_thread().name
    assert waits.ctx.checkpoints == [(me, True), (me, False)]
