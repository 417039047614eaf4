"""Event-driven runs end to end against two ANYMARKET emulators: a sale on A, notified, is
imported within the debounce and lowers the stock on B on change; bursts are one run; a busy
channel re-queues; a lost notification is caught by the schedule; a forged one writes nothing.
"""

import json

import pytest

from erp.models import Order, StockBalance
from mappings.models import Listing
from sandbox.anymarket import AnymarketEmulator
from sync.models import NotificationHint, PendingChange, RunTrigger, SyncRun
from sync.services.events import event_run_execute
from sync.services.lease import lease_claim
from sync.services.runs import run_flow
from tests.sync.engine import (
    active_channel,
    anymarket_catalog,
    declared_rate,
    map_defaults,
    set_stock,
)
from tests.sync.services.test_orders import STATUSES
from vendors.anymarket.adapter import AnymarketConnector


@pytest.fixture
def emulators():
    with declared_rate(AnymarketConnector, rate=200, burst=20):
        started = [
            AnymarketEmulator(account=name, rate=200, burst=20) for name in ("loja-a", "loja-b")
        ]
        for emulator in started:
            emulator.start()
        yield started
        for emulator in started:
            emulator.stop()


class _Queue(list):
    drain = None


@pytest.fixture
def queue(monkeypatch):
    """django-q2's queue, held in a list: `drain()` runs what was queued like a worker would
    (the debounce's sleep skipped), including what those runs queue in turn."""
    queued = _Queue()
    monkeypatch.setattr("django_q.tasks.async_task", lambda *a, **k: queued.append(a))

    def drain(limit=20):
        runs = []
        while queued and limit:
            limit -= 1
            func, channel_id, flow = queued.pop(0)
            assert func == "sync.tasks.run_event_flow"
            run = event_run_execute(
                channel_id=channel_id, flow=flow, run_flow=run_flow, sleep=lambda s: None
            )
            if run is not None:
                runs.append(run)
        return runs

    queued.drain = drain
    return queued


@pytest.fixture
def shops(emulators, queue, db):
    """Channel A and channel B sell one ERP SKU from one warehouse; both show 10."""
    emu_a, emu_b = emulators
    a = active_channel("anymarket", emu_a, batch_sizes={"orders": 500})
    warehouse = a.warehouses.get()
    b = active_channel("anymarket", emu_b, company=a.company, warehouse=warehouse)
    (sku,) = anymarket_catalog(emu_a, a, ["CAM-P"], amount=10)
    product = emu_b.add_product("Produto", [{"partnerId": "CAM-P", "amount": 10}])
    Listing(
        channel=b,
        sku=sku,
        external_item_id=str(product["id"]),
        external_sku_id=str(emu_b.sku_ids_by_partner["CAM-P"]),
        seller_sku="CAM-P",
    ).save()
    set_stock(warehouse, [(sku, 10)])
    queue.drain()
    map_defaults(a, statuses=STATUSES, payments=[("pix", "Pix")])
    map_defaults(a, carriers=[("ECT", "SEDEX 10", "Correios", "SEDEX 10")])
    SyncRun.objects.all().delete()
    return a, b, sku


def notify(client, channel, order_id):
    return client.post(
        f"/notifications/{channel.notification_token}/",
        data=json.dumps({"type": "ORDER", "content": {"id": str(order_id), "oi": "loja-a"}}),
        content_type="application/json",
    )


@pytest.mark.django_db(transaction=True)
def test_a_notified_sale_on_a_is_imported_and_lowers_the_stock_on_b_on_change(
    client, emulators, queue, shops
):
    emu_a, emu_b = emulators
    a, b, sku = shops
    placed = emu_a.add_order([("CAM-P", 2, "59.90")], carrier=("ECT", "SEDEX 10"))
    assert notify(client, a, placed).status_code == 200
    assert len(queue) == 1  # the orders run of A, armed by the hint
    runs = queue.drain()
    assert Order.objects.get(channel=a).external_id == placed
    assert StockBalance.objects.get(sku=sku).reserved == 2
    # The reservation marked the SKU pending on A and B; both pushed it on change.
    assert emu_b.stock_of("CAM-P") == 8
    assert sorted((r.channel_id, r.flow, r.trigger) for r in runs) == sorted(
        [
            (a.pk, "orders", RunTrigger.EVENT),
            (a.pk, "stock", RunTrigger.EVENT),
            (b.pk, "stock", RunTrigger.EVENT),
        ]
    )
    assert not PendingChange.objects.exists()
    # The hint was consumed by the run that read it.
    assert not NotificationHint.objects.filter(processed_at__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_500_erp_changes_is_one_queued_run_per_channel(emulators, queue, shops):
    emu_a, emu_b = emulators
    a, b, sku = shops
    warehouse = a.warehouses.get()
    for n in range(500):
        set_stock(warehouse, [(sku, 500 - n)])
    assert sorted(queue) == sorted(
        [("sync.tasks.run_event_flow", a.pk, "stock"), ("sync.tasks.run_event_flow", b.pk, "stock")]
    )
    runs = queue.drain()
    assert len(runs) == 2
    assert emu_a.stock_of("CAM-P") == emu_b.stock_of("CAM-P") == 1  # the last value
    assert queue == []


@pytest.mark.django_db(transaction=True)
def test_a_busy_channel_keeps_the_event_run_queued_instead_of_running_twice(
    emulators, queue, shops
):
    a, b, sku = shops
    set_stock(a.warehouses.get(), [(sku, 7)])
    lease = lease_claim(channel_id=b.pk, flow="orders")  # a scheduled run holds B
    assert lease is not None
    runs = queue.drain(limit=4)
    assert [r.channel_id for r in runs] == [a.pk]
    # B's event run was tried, found the channel busy, and waits in the queue (no SyncRun).
    assert queue == [("sync.tasks.run_event_flow", b.pk, "stock")]
    assert not SyncRun.objects.filter(channel=b).exists()
    assert b.sync_settings.get(flow="stock").event_run_due_at is not None
    lease.release()
    assert [r.channel_id for r in queue.drain()] == [b.pk]
    assert emulators[1].stock_of("CAM-P") == 7


@pytest.mark.django_db(transaction=True)
def test_a_lost_notification_is_caught_by_the_scheduled_run(emulators, queue, shops):
    emu_a, _ = emulators
    a, _b, _sku = shops
    placed = emu_a.add_order([("CAM-P", 1, "59.90")], carrier=("ECT", "SEDEX 10"))
    # No notification arrived: nothing queued; the interval's run imports the order.
    assert queue == []
    run = run_flow(channel_id=a.pk, flow="orders", trigger=RunTrigger.SCHEDULE)
    assert run.state == "succeeded", run.error
    assert Order.objects.get(channel=a).external_id == placed


@pytest.mark.django_db(transaction=True)
def test_a_forged_notification_causes_no_erp_write(client, emulators, queue, shops):
    a, _b, sku = shops
    # An order id the vendor does not have: the run re-reads the vendor's feed, finds nothing.
    assert notify(client, a, 987654321).status_code == 200
    runs = queue.drain()
    assert [(r.flow, r.state) for r in runs] == [("orders", "succeeded")]
    assert not Order.objects.exists()
    assert StockBalance.objects.get(sku=sku).reserved == 0
    assert not PendingChange.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_anymarket_prices_keep_their_interval_and_are_not_run_on_change(emulators, queue, shops):
    from decimal import Decimal

    from erp.services import price_set

    a, b, sku = shops
    price_set(price_list=a.price_list, sku=sku, amount=Decimal("79.90"))
    assert PendingChange.objects.filter(channel=a, flow="price").exists()
    assert queue == []  # ANYMARKET prices: at most every 5 min (two requests per SKU)
