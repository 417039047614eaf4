"""Inbound orders through the de-para, against the ANYMARKET emulator (a feed with acks)."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from channels.services import channel_set_status
from erp.models import Order, OrderItem, OrderStatus, StockBalance
from mappings.models import MappingKind, UnmappedValue
from mappings.services import mapping_create
from sandbox.anymarket import AnymarketEmulator
from sync.models import HeldOrder, PendingChange, RunState
from sync.services.orders import held_orders_reprocess
from sync.services.runs import run_flow
from tests.factories import make_carrier_service, make_channel
from tests.sync.engine import (
    active_channel,
    anymarket_catalog,
    declared_rate,
    map_defaults,
    set_stock,
)
from vendors.anymarket.adapter import AnymarketConnector

STATUSES = [
    ("PENDING", OrderStatus.AWAITING_PAYMENT),
    ("PAID_WAITING_SHIP", OrderStatus.PAID),
    ("INVOICED", OrderStatus.INVOICED),
    ("CANCELED", OrderStatus.CANCELED),
]


@pytest.fixture
def anymarket():
    with declared_rate(AnymarketConnector, rate=200, burst=20):
        emulator = AnymarketEmulator(rate=200, burst=20)
        emulator.start()
        yield emulator
        emulator.stop()


def catalog(emulator, channel, codes):
    return anymarket_catalog(emulator, channel, codes, amount=10)


@pytest.fixture
def shop(anymarket, db):
    channel = active_channel("anymarket", anymarket, batch_sizes={"orders": 500})
    skus = catalog(anymarket, channel, ["CAM-P", "CAM-M"])
    set_stock(channel.warehouses.get(), [(s, 10) for s in skus])
    PendingChange.objects.all().delete()
    map_defaults(
        channel,
        statuses=STATUSES,
        carriers=[("ECT", "SEDEX 10", "Correios", "SEDEX 10")],
        payments=[("pix", "Pix")],
    )
    return channel, skus


@pytest.mark.django_db(transaction=True)
def test_order_with_ect_and_sedex_10_imports_as_correios_sedex_10_and_never_twice(anymarket, shop):
    channel, (small, medium) = shop
    placed = anymarket.add_order(
        [("CAM-P", 2, "59.90"), ("CAM-M", 1, "59.90")], carrier=("ECT", "SEDEX 10")
    )
    run = run_flow(channel_id=channel.pk, flow="orders")
    assert run.state == RunState.SUCCEEDED, run.error
    order = Order.objects.get(channel=channel)
    assert order.external_id == placed
    assert (order.carrier_service.carrier.name, order.carrier_service.name) == (
        "Correios",
        "SEDEX 10",
    )
    assert order.payment_method.name == "Pix"
    assert order.status == OrderStatus.PAID
    assert [(i.sku.code, i.quantity, i.unit_price) for i in order.items.order_by("line")] == [
        ("CAM-P", 2, Decimal("59.90")),
        ("CAM-M", 1, Decimal("59.90")),
    ]
    assert anymarket.ack_counts[int(placed)] == 1  # acknowledged after storing

    # The vendor sends the same order again (a new feed token): nothing new is created.
    anymarket.set_order_status(placed, "PAID_WAITING_SHIP")
    run_flow(channel_id=channel.pk, flow="orders")
    assert Order.objects.filter(channel=channel).count() == 1
    assert OrderItem.objects.filter(order__channel=channel).count() == 2
    assert StockBalance.objects.get(sku=small).reserved == 2  # reserved once, not twice


@pytest.mark.django_db(transaction=True)
def test_a_status_change_updates_the_order_and_a_cancel_releases_its_reservation(anymarket, shop):
    channel, (small, _medium) = shop
    placed = anymarket.add_order(
        [("CAM-P", 3, "59.90")], carrier=("ECT", "SEDEX 10"), status="PENDING"
    )
    run_flow(channel_id=channel.pk, flow="orders")
    assert StockBalance.objects.get(sku=small).reserved == 3
    assert Order.objects.get(channel=channel).status == OrderStatus.AWAITING_PAYMENT
    anymarket.set_order_status(placed, "PAID_WAITING_SHIP")
    run_flow(channel_id=channel.pk, flow="orders")
    assert Order.objects.get(channel=channel).status == OrderStatus.PAID
    # (An order the ERP already invoiced is flagged instead: test_order_contact.py.)
    anymarket.set_order_status(placed, "CANCELED")
    run_flow(channel_id=channel.pk, flow="orders")
    assert Order.objects.get(channel=channel).status == OrderStatus.CANCELED
    assert StockBalance.objects.get(sku=small).reserved == 0
    anymarket.set_order_status(placed, "CANCELED")  # again: released only once
    run_flow(channel_id=channel.pk, flow="orders")
    assert StockBalance.objects.get(sku=small).reserved == 0


@pytest.mark.django_db(transaction=True)
def test_unknown_carrier_holds_the_order_until_its_mapping_exists(
    anymarket, shop, django_capture_on_commit_callbacks, monkeypatch
):
    channel, _ = shop
    placed = anymarket.add_order([("CAM-P", 1, "59.90")], carrier=("TOTAL EXPRESS", "Expresso"))
    run = run_flow(channel_id=channel.pk, flow="orders")
    assert run.state == RunState.SUCCEEDED
    assert not Order.objects.filter(channel=channel).exists()
    held = HeldOrder.objects.get(channel=channel)
    assert held.external_id == placed
    assert held.missing == [
        {
            "kind": MappingKind.CARRIER_SERVICE,
            "code": "TOTAL EXPRESS / Expresso",
            "label": "TOTAL EXPRESS / Expresso",
        }
    ]  # exactly what is missing: status and payment are mapped
    queued = UnmappedValue.objects.get(channel=channel, kind=MappingKind.CARRIER_SERVICE)
    assert (queued.parent_code, queued.code, queued.resolved_at) == (
        "TOTAL EXPRESS",
        "Expresso",
        None,
    )
    assert anymarket.ack_counts[int(placed)] == 1  # kept here, so acknowledged

    # Support maps the carrier: the hook enqueues the reprocess task; run it as the worker would.
    enqueued = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda *a, **k: enqueued.append(a))
    with django_capture_on_commit_callbacks(execute=True):
        mapping_create(
            channel=channel,
            kind=MappingKind.CARRIER_SERVICE,
            parent_code="TOTAL EXPRESS",
            code="Expresso",
            target=make_carrier_service(channel.company, "Total Express", "Expresso"),
        )
    assert enqueued == [("sync.tasks.reprocess_held_orders", channel.pk)]
    from sync.tasks import reprocess_held_orders

    assert reprocess_held_orders(channel.pk) == {"imported": 1, "still_held": 0}
    order = Order.objects.get(channel=channel)
    assert order.carrier_service.carrier.name == "Total Express"
    held.refresh_from_db()
    assert held.resolved_at is not None
    queued.refresh_from_db()
    assert queued.resolved_at is not None
    assert held_orders_reprocess(channel_id=channel.pk) == {"imported": 0, "still_held": 0}


@pytest.mark.django_db(transaction=True)
def test_an_order_for_an_unbound_product_is_held_naming_the_sku(anymarket, shop):
    channel, _ = shop
    anymarket.add_product("Boné", [{"partnerId": "BONE-U", "amount": 1}])
    anymarket.add_order([("BONE-U", 1, "30.00")], carrier=("ECT", "SEDEX 10"))
    run_flow(channel_id=channel.pk, flow="orders")
    held = HeldOrder.objects.get(channel=channel)
    assert [m["kind"] for m in held.missing] == ["sku"]
    assert held.missing[0]["code"] == "BONE-U"


@pytest.mark.django_db(transaction=True)
def test_importing_an_order_reserves_stock_and_marks_the_sku_pending_on_the_other_channels(
    anymarket, shop
):
    channel, (_small, medium) = shop
    # Another active channel of the same company selling from the same warehouse.
    other = make_channel(
        company=channel.company,
        connector="vtex",
        credentials={"account_name": "outra", "app_key": "k-other", "app_token": "t-other"},
    )
    other.warehouses.set([channel.warehouses.get()])
    channel_set_status(channel=other, status="active")
    anymarket.add_order([("CAM-M", 4, "59.90")], carrier=("ECT", "SEDEX 10"))
    run_flow(channel_id=channel.pk, flow="orders")
    balance = StockBalance.objects.get(sku=medium)
    assert (balance.on_hand, balance.reserved) == (10, 4)
    pending = set(PendingChange.objects.values_list("channel_id", "flow", "sku_id"))
    assert (other.pk, "stock", medium.pk) in pending
    # The selling channel too: a stock run of it may have pushed the value computed before
    # this order was imported (it would show more than the ERP has until told again).
    assert (channel.pk, "stock", medium.pk) in pending


def _queries_for_page(channel, count):
    with CaptureQueriesContext(connection) as ctx:
        run = run_flow(channel_id=channel.pk, flow="orders")

    assert run.state == RunState.SUCCEEDED, run.error
    assert run.done == count
    return len(ctx.captured_queries)


@pytest.mark.django_db(transaction=True)
def test_order_page_queries_do_not_grow_with_the_number_of_orders(anymarket, shop):
    channel, _ = shop
    anymarket.add_order([("CAM-P", 1, "59.90")], carrier=("ECT", "SEDEX 10"))
    _queries_for_page(channel, 1)  # first run creates the lease and cursor rows
    for _ in range(10):
        anymarket.add_order(
            [("CAM-P", 1, "59.90"), ("CAM-M", 1, "59.90")], carrier=("ECT", "SEDEX 10")
        )
    ten = _queries_for_page(channel, 10)
    # A full feed page (the emulator answers at most 50 items at once).
    for _ in range(anymarket.feed_page_size):
        anymarket.add_order(
            [("CAM-P", 1, "59.90"), ("CAM-M", 1, "59.90")], carrier=("ECT", "SEDEX 10")
        )
    full = _queries_for_page(channel, anymarket.feed_page_size)
    assert ten == full, (ten, full)
    assert Order.objects.filter(channel=channel).count() == 11 + anymarket.feed_page_size
