"""Issue 11 — orders against the vendors as they really behave, through run_flow and the
sandbox emulators over HTTP:

1. Mercado Livre sorts its order search by date_closed: an order paid between two pages
   moves, and offset paging skipped the order that slid into a position already read.
2. An order imported before it was paid kept total 0.00 (paid_amount) for good.
3. `invalid` is one of Mercado Livre's order statuses.
4. The hour-granular date filter brought unchanged orders (and their shipment GETs) back on
   every run.
5. ANYMARKET's feed answers fewer than 100 items: 70 pending orders took two runs.
and the missed-order sweep that catches whatever a stream still drops.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from erp.models import Order, OrderItem, OrderStatus
from mappings.models import MappingKind, UnmappedValue
from sync.models import OrderCursor, PendingChange, RunState, SyncRun
from sync.selectors import channels_health
from sync.services.connectors import build_connector
from sync.services.orders import orders_store_page
from sync.services.runs import run_flow
from tests.e2e.world import listing_fields
from tests.factories import make_sku
from tests.sync.engine import (
    active_channel,
    anymarket_catalog,
    bind,
    declared_rate,
    map_defaults,
    set_stock,
)
from vendors.anymarket.adapter import AnymarketConnector
from vendors.mercadolivre.adapter import MercadoLivreConnector
from vendors.types import Customer, NormalizedOrder, OrderLine

ML_SHIPMENTS = "GET ^/shipments/(?P<shipment_id>[^/]+)$"
ML_SEARCHES = "GET ^/orders/search$"
ML_STATUSES = [
    ("paid", OrderStatus.PAID),
    ("payment_required", OrderStatus.AWAITING_PAYMENT),
]


@pytest.fixture
def fast_ml():
    with declared_rate(MercadoLivreConnector, rate=500, burst=50):
        yield


@pytest.fixture
def ml_shop(emulator, fast_ml, db):
    em = emulator("mercadolivre", rate=500, burst=50)
    channel = active_channel("mercadolivre", em, batch_sizes={"orders": 50})
    skus = [make_sku(channel.company, code=code) for code in ("CAM-P", "CAM-M")]
    for sku, entry in zip(skus, em.seed_catalog([s.code for s in skus]), strict=True):
        bind(channel, sku, **listing_fields(entry))
    set_stock(channel.warehouses.get(), [(s, 1000) for s in skus])
    PendingChange.objects.all().delete()
    map_defaults(
        channel,
        statuses=ML_STATUSES,
        carriers=[("Correios", "510245", "Correios", "PAC")],
        payments=[("pix", "Pix")],
    )
    # The sweep has its own test; here the regular import alone must be right.
    channel.order_sweep_interval_minutes = 0
    channel.save()
    return em, channel


def run_orders(channel) -> SyncRun:
    run = run_flow(channel_id=channel.pk, flow="orders")
    assert run.state == RunState.SUCCEEDED, run.error
    return run


def run_until_drained(channel, *, most: int = 10) -> list[SyncRun]:
    runs = []
    for _ in range(most):
        runs.append(run_orders(channel))
        if runs[-1].total == 0:
            break
    return runs


# --- 1. an order that moves while paged is never skipped ------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_order_paid_between_pages_moves_in_the_sort_and_no_order_is_skipped(ml_shop):
    em, channel = ml_shop
    # 120 orders over four hours (the search filters by the hour), one page (50) per run.
    # Order 5 is not paid yet: with no date_closed it sorts by its creation date, early on.
    placed = []
    for n in range(1, 121):
        placed.append(em.add_order(status="payment_required" if n == 5 else "paid"))
        em.advance_clock(minutes=2)
    first = run_orders(channel)
    assert first.done == 50

    # Paid now: it moves to the end of the vendor's sort, and every order after its old
    # position slides up by one — order 51 into position 50, which the first page covered.
    em.set_order_status(placed[4], "paid")
    run_until_drained(channel)

    imported = dict(Order.objects.filter(channel=channel).values_list("external_id", "status"))
    assert set(imported) == set(placed), f"skipped: {sorted(set(placed) - set(imported))}"
    assert imported[placed[4]] == OrderStatus.PAID
    assert imported[placed[50]] == OrderStatus.PAID
    assert OrderItem.objects.filter(order__channel=channel).count() == 120  # never twice


# --- 2. totals from the order's amounts, revised until invoiced ------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_unpaid_order_imports_with_its_real_total_and_follows_its_payment(ml_shop):
    em, channel = ml_shop
    order_id = em.add_order([("CAM-P", 2, "375.95")], status="payment_required", shipping_cost=19.9)
    assert em.orders[order_id]["paid_amount"] == 0  # what the total was taken from

    run_orders(channel)
    order = Order.objects.get(channel=channel, external_id=order_id)
    assert (order.status, order.items_total, order.shipping_total, order.total) == (
        OrderStatus.AWAITING_PAYMENT,
        Decimal("751.90"),
        Decimal("19.90"),
        Decimal("771.80"),
    )

    em.set_order_status(order_id, "paid")
    run_orders(channel)
    order.refresh_from_db()
    assert (order.status, order.total) == (OrderStatus.PAID, Decimal("771.80"))
    assert em.orders[order_id]["paid_amount"] == 771.8  # the vendor agrees once paid


def _normalized(total: str, *, status: str, payment: str, unit: str) -> NormalizedOrder:
    return NormalizedOrder(
        external_id="ML-1",
        status_code=status,
        payment_code=payment,
        carrier_code="Correios",
        service_code="510245",
        lines=(OrderLine(seller_sku="CAM-P", quantity=2, unit_price=Decimal(unit)),),
        customer=Customer(name="Maria"),
        items_total=Decimal(unit) * 2,
        shipping_total=Decimal(total) - Decimal(unit) * 2,
        total=Decimal(total),
    )


@pytest.mark.django_db(transaction=True)
def test_a_re_read_revises_totals_prices_and_payment_until_the_order_is_invoiced(ml_shop, caplog):
    em, channel = ml_shop
    map_defaults(channel, payments=[("visa", "Visa")], statuses=[("invoiced", "invoiced")])
    # Imported as the vendor first sent it: nothing paid yet, provisional amounts.
    orders_store_page(
        channel=channel,
        orders=[_normalized("0.00", status="payment_required", payment="pix", unit="0.00")],
    )
    caplog.set_level(logging.INFO, logger="sync.orders")

    result = orders_store_page(
        channel=channel,
        orders=[_normalized("771.80", status="paid", payment="visa", unit="375.95")],
    )

    order = Order.objects.get(channel=channel, external_id="ML-1")
    assert result.revised == 1
    assert (order.status, order.items_total, order.shipping_total, order.total) == (
        OrderStatus.PAID,
        Decimal("751.90"),
        Decimal("19.90"),
        Decimal("771.80"),
    )
    assert order.payment_method.name == "Visa"
    assert [i.unit_price for i in order.items.all()] == [Decimal("375.95")]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "ML-1 revised" in logged and "total 0.00 → 771.80" in logged
    assert "items[1].unit_price 0.00 → 375.95" in logged

    # Invoiced: the ERP issued its invoice from these values; later re-reads move the
    # status only.
    orders_store_page(
        channel=channel,
        orders=[_normalized("771.80", status="invoiced", payment="visa", unit="375.95")],
    )
    orders_store_page(
        channel=channel,
        orders=[_normalized("999.00", status="invoiced", payment="pix", unit="400.00")],
    )
    order.refresh_from_db()
    assert (order.status, order.total, order.payment_method.name) == (
        OrderStatus.INVOICED,
        Decimal("771.80"),
        "Visa",
    )


# --- 3. invalid -----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_de_para_of_every_listed_status_covers_an_invalidated_order(ml_shop):
    em, channel = ml_shop
    # Support maps every status the connector lists (what the activation's de-para check
    # asks for); "invalid" must be among them, or such an order finds no de-para.
    listed = {
        v.code for v in build_connector(channel).reference_values() if v.kind == "order_status"
    }
    assert "invalid" in listed
    closed = {"cancelled", "invalid", "pending_cancel"}
    map_defaults(
        channel,
        statuses=[
            (code, OrderStatus.CANCELED if code in closed else OrderStatus.PAID)
            for code in sorted(listed - {code for code, _ in ML_STATUSES})
        ],
    )
    order_id = em.add_order([("CAM-P", 3, "10.00")])
    run_orders(channel)
    em.set_order_status(order_id, "invalid")
    run_orders(channel)

    order = Order.objects.get(channel=channel, external_id=order_id)
    assert order.status == OrderStatus.CANCELED
    assert order.items.get().reserved_warehouse is None  # its stock released
    assert not UnmappedValue.objects.filter(channel=channel, kind=MappingKind.ORDER_STATUS)


# --- 4. no unchanged order is read twice ------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_runs_re_read_no_unchanged_order_and_request_only_what_changed(ml_shop):
    em, channel = ml_shop
    em.advance_clock(minutes=4)
    for _ in range(10):  # 09:04 … 09:13, one a minute
        em.add_order()
        em.advance_clock(minutes=1)
    run_orders(channel)
    assert em.stats[ML_SHIPMENTS] == 10

    em.advance_clock(minutes=6)
    new_order = em.add_order()  # 09:20
    searches_before = em.stats[ML_SEARCHES]
    second = run_orders(channel)
    # The hour-granular filter brings all eleven back; only the new one is read.
    assert (second.done, em.stats[ML_SHIPMENTS]) == (1, 11)
    assert em.stats[ML_SEARCHES] - searches_before == 1

    third = run_orders(channel)
    assert (third.done, em.stats[ML_SHIPMENTS]) == (0, 11)
    assert Order.objects.filter(channel=channel, external_id=new_order).exists()


# --- 5. the ANYMARKET feed is read on until it is empty ---------------------------------------


@pytest.fixture
def anymarket_shop(emulator, db):
    with declared_rate(AnymarketConnector, rate=500, burst=50):
        em = emulator("anymarket", rate=500, burst=50)
        channel = active_channel("anymarket", em, batch_sizes={"orders": 500})
        skus = anymarket_catalog(em, channel, ["CAM-P", "CAM-M"], amount=1000)
        set_stock(channel.warehouses.get(), [(s, 1000) for s in skus])
        PendingChange.objects.all().delete()
        map_defaults(
            channel,
            statuses=[("PAID_WAITING_SHIP", OrderStatus.PAID)],
            carriers=[("Correios", "SEDEX", "Correios", "SEDEX")],
            payments=[("pix", "Pix")],
        )
        yield em, channel


@pytest.mark.django_db(transaction=True)
def test_seventy_pending_orders_come_in_one_run_whatever_the_feed_page(anymarket_shop):
    em, channel = anymarket_shop
    placed = [em.add_order([("CAM-P", 1, "10.00")]) for _ in range(70)]

    run = run_orders(channel)

    assert run.done == 70
    assert Order.objects.filter(channel=channel).count() == 70
    assert em.feed_backlog() == 0
    assert set(Order.objects.values_list("external_id", flat=True)) == set(placed)


# --- the missed-order sweep ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_sweep_imports_an_order_the_feed_dropped_and_alerts_the_health_page(
    anymarket_shop, admin_client
):
    em, channel = anymarket_shop
    channel.order_sweep_days, channel.order_sweep_interval_minutes = 3, 60
    channel.save()
    early = [em.add_order([("CAM-P", 1, "10.00")]) for _ in range(3)]
    run_orders(channel)  # imports them; the first sweep finds nothing missing
    cursor = OrderCursor.objects.get(channel=channel)
    assert cursor.swept_at is not None and cursor.sweep_found == 0

    kept, dropped = (em.add_order([("CAM-M", 2, "20.00")]) for _ in range(2))
    del em.feed[int(dropped)]  # the vendor's feed lost its item (say, it expired)
    OrderCursor.objects.filter(channel=channel).update(
        swept_at=timezone.now() - timedelta(minutes=61)
    )

    run = run_orders(channel)

    imported = set(Order.objects.filter(channel=channel).values_list("external_id", flat=True))
    assert imported == {*early, kept, dropped}
    assert run.detail["sweep"]["listed"] == 5 and run.detail["sweep"]["missing"] == 1
    assert run.detail["counts"]["missed_order"] == 1
    assert run.detail["issues"]["missed_order"] == [dropped]
    cursor.refresh_from_db()
    assert cursor.sweep_found == 1 and cursor.sweep_found_at is not None
    (row,) = [r for r in channels_health(company_ids=None) if r.channel.pk == channel.pk]
    assert row.missed_orders and row.attention
    assert row.verdict == "the sweep found 1 missed order"
    html = admin_client.get(reverse("sync_health")).content.decode()
    assert "1 missed order found" in html

    # Not due again for an hour: the next run only reads the feed.
    listings_before = em.stats["GET ^/v2/orders$"]
    run_orders(channel)
    assert em.stats["GET ^/v2/orders$"] == listings_before
