"""Issue 14 #1 and #5: the delivery address and the buyer's document come in with every
vendor's orders; a channel's cancellation releases stock once, or, after the ERP invoiced,
flags the order instead of changing it."""

from __future__ import annotations

import pytest

from erp.models import Order, OrderStatus, StockBalance
from sync.models import PendingChange, SyncRun
from sync.services.runs import run_flow
from tests.e2e.world import bind_catalog, make_catalog, set_stock, vendor_channel
from tests.factories import make_company, make_warehouse
from tests.sync.engine import declared_rate, map_defaults
from vendors.registry import get_adapter_class

VENDORS = ["vtex", "anymarket", "mercadolivre"]
# Each vendor's code for "canceled" and for "invoiced", mapped to the ERP's statuses.
CANCELED = {"vtex": "canceled", "anymarket": "CANCELED", "mercadolivre": "cancelled"}
INVOICED = {"vtex": "invoiced", "anymarket": "INVOICED", "mercadolivre": "invoiced"}


@pytest.fixture
def shop(emulator, db):
    def build(vendor, *, other=None):
        em = emulator(vendor, rate=500, burst=50)
        company = make_company()
        warehouse = make_warehouse(company, code=f"CD-{vendor}")
        channel = vendor_channel(
            em, company=company, warehouse=warehouse, flows=["orders", "stock"]
        )
        skus = make_catalog(company, ["CAM-P"])
        bind_catalog(channel, em, skus)
        set_stock(warehouse, [(skus[0], 10)])
        map_defaults(
            channel,
            statuses=[
                (CANCELED[vendor], OrderStatus.CANCELED),
                (INVOICED[vendor], OrderStatus.INVOICED),
            ],
        )
        return em, channel, skus[0]

    return build


def billing_requests(em, order_id):
    path = f"/orders/{order_id}/billing_info"
    return sum(1 for r in em.requests_log if r.method == "GET" and r.path == path)


def run_orders(vendor, channel):
    with declared_rate(get_adapter_class(vendor), rate=500, burst=50):
        run = run_flow(channel_id=channel.pk, flow="orders")
    assert run.state == "succeeded", run.error
    return run


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("vendor", VENDORS)
def test_an_order_arrives_with_its_delivery_address_and_the_buyer_document(vendor, shop):
    em, channel, _sku = shop(vendor)
    placed = em.add_order([("CAM-P", 1, "10.00")])

    run_orders(vendor, channel)

    order = Order.objects.get(channel=channel, external_id=placed)
    cep, city, document = em.order_destination(placed)
    assert (order.delivery_postal_code, order.delivery_city) == (cep, city)
    assert order.customer_document == document and len(document) == 11
    # Every part the warehouse prints on the label is there.
    for name in ("recipient", "street", "number", "district", "state", "phone"):
        assert getattr(order, f"delivery_{name}"), name
    assert len(order.delivery_state) == 2 and order.delivery_state.isupper()


@pytest.mark.django_db(transaction=True)
def test_mercado_livre_gives_the_document_once_paid_and_the_re_read_stores_it(shop):
    em, channel, _sku = shop("mercadolivre")
    map_defaults(channel, statuses=[("payment_required", OrderStatus.AWAITING_PAYMENT)])
    placed = em.add_order([("CAM-P", 1, "10.00")], status="payment_required")
    run_orders("mercadolivre", channel)
    billing_reads = billing_requests(em, placed)
    order = Order.objects.get(channel=channel)
    assert order.customer_document == "" and billing_reads == 0  # unpaid: not asked for

    em.set_order_status(placed, "paid")
    run_orders("mercadolivre", channel)

    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert order.customer_document == em.order_destination(placed)[2]
    assert billing_requests(em, placed) == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("vendor", VENDORS)
def test_a_channel_cancellation_releases_the_reservation_once_and_marks_the_sku_pending(
    vendor, shop
):
    em, channel, sku = shop(vendor)
    placed = em.add_order([("CAM-P", 3, "10.00")])
    run_orders(vendor, channel)
    assert StockBalance.objects.get(sku=sku).reserved == 3
    PendingChange.objects.all().delete()

    em.set_order_status(placed, CANCELED[vendor])
    run_orders(vendor, channel)

    order = Order.objects.get(channel=channel)
    assert order.status == OrderStatus.CANCELED and order.channel_canceled_at is None
    assert StockBalance.objects.get(sku=sku).reserved == 0
    # The units are for sale again: every channel selling the SKU is told.
    assert PendingChange.objects.filter(sku=sku, flow="stock").exists()
    run_orders(vendor, channel)  # read again: released only once
    assert StockBalance.objects.get(sku=sku).reserved == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("vendor", VENDORS)
def test_an_invoiced_order_the_channel_cancels_is_flagged_not_changed(vendor, shop):
    em, channel, sku = shop(vendor)
    placed = em.add_order([("CAM-P", 2, "10.00")])
    run_orders(vendor, channel)
    order = Order.objects.get(channel=channel)
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.INVOICED)  # the ERP's NF-e

    em.set_order_status(placed, CANCELED[vendor])
    run = run_orders(vendor, channel)

    order.refresh_from_db()
    assert order.status == OrderStatus.INVOICED  # not silently canceled
    assert order.channel_canceled_at is not None
    assert StockBalance.objects.get(sku=sku).reserved == 2  # kept until the back office acts
    run = SyncRun.objects.get(pk=run.pk)
    assert run.detail["issues"]["canceled_after_invoice"] == [placed]
    flagged_at, written_at = order.channel_canceled_at, order.updated_at
    em.set_order_status(placed, CANCELED[vendor])  # the vendor touches it again: a re-read
    run = run_orders(vendor, channel)
    order.refresh_from_db()
    assert order.channel_canceled_at == flagged_at  # flagged once
    assert order.updated_at == written_at  # and not rewritten on every read
    assert "canceled_after_invoice" not in SyncRun.objects.get(pk=run.pk).detail.get("issues", {})


@pytest.mark.django_db(transaction=True)
def test_a_re_read_never_moves_an_order_back_from_what_the_erp_did(shop):
    # The back office shipped the order; the channel has not heard yet and still says paid.
    em, channel, _sku = shop("anymarket")
    placed = em.add_order([("CAM-P", 1, "10.00")])
    run_orders("anymarket", channel)
    order = Order.objects.get(channel=channel)
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.SHIPPED)

    em.set_order_status(placed, "PAID_WAITING_SHIP")  # a new version, same status
    run_orders("anymarket", channel)
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED

    em.set_order_status(placed, INVOICED["anymarket"])  # behind the ERP too
    run_orders("anymarket", channel)
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED


@pytest.mark.django_db(transaction=True)
def test_a_channel_cancellation_records_when_and_why(shop):
    em, channel, _sku = shop("vtex")
    placed = em.add_order([("CAM-P", 1, "10.00")])
    run_orders("vtex", channel)
    em.set_order_status(placed, CANCELED["vtex"])
    run_orders("vtex", channel)
    order = Order.objects.get(channel=channel)
    assert order.status == OrderStatus.CANCELED
    assert order.canceled_at is not None
    assert channel.name in order.cancel_reason


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("vendor", VENDORS)
def test_the_import_stores_what_fulfilment_needs_and_a_re_read_fills_it(vendor, shop):
    """Mercado Livre's shipment id, logistic mode and type and pack come in with the order (the
    shipment is read with it anyway), so fulfilment need not read them again. An order stored
    before the field existed gets them when it is read again; the other vendors need none."""
    em, channel, _sku = shop(vendor)
    placed = em.add_order([("CAM-P", 1, "10.00")])
    run_orders(vendor, channel)
    order = Order.objects.get(channel=channel, external_id=placed)
    if vendor != "mercadolivre":
        assert order.fulfilment_refs == {}
        return
    shipment = em.orders[placed]["shipping"]["id"]
    expected = {
        "shipment_id": str(shipment),
        "logistic_mode": "me2",
        "logistic_type": "drop_off",  # the emulator's default shipping mode
        "pack_id": "",
    }
    assert order.fulfilment_refs == expected

    Order.objects.filter(pk=order.pk).update(fulfilment_refs={})  # imported before the field
    em.set_order_status(placed, "paid")  # the vendor touches it: read again
    run_orders(vendor, channel)
    order.refresh_from_db()
    assert order.fulfilment_refs == expected
