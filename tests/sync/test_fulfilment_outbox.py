"""ERP fulfilment announcements become FulfilmentEvent rows in the same transaction."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction

from erp import services
from erp.models import Invoice
from erp.signals import FulfilmentKind, order_fulfilment_changed
from sync.models import FulfilmentEvent, FulfilmentState
from tests.factories import (
    make_carrier_service,
    make_channel,
    make_company,
    make_order,
    make_sku,
    make_warehouse,
    nfe_access_key,
)

ISSUED = datetime(2026, 12, 3, 10, 0, tzinfo=ZoneInfo("America/Sao_Paulo"))


@pytest.fixture
def order(db):
    company = make_company()
    channel = make_channel(company)
    sku = make_sku(company, code="A")
    return make_order(
        company, channel, external_id="V-1", lines=[(sku, 2, "50.00", make_warehouse(company))]
    )


def invoice(order):
    return services.order_invoice(
        order=order,
        number=77,
        series=3,
        access_key=nfe_access_key(order.company.cnpj, series=3, number=77),
        issued_at=ISSUED,
        total=order.total,
    )


def test_each_change_of_a_channel_order_becomes_one_event_in_order(order):
    invoice(order)
    service = make_carrier_service(order.company)
    services.order_ship(order=order, carrier_service=service, tracking_code="BR123")
    services.order_deliver(order=order)
    events = list(FulfilmentEvent.objects.filter(order=order).order_by("sequence"))
    assert [(e.sequence, e.kind, e.state, e.channel_id) for e in events] == [
        (1, FulfilmentKind.INVOICE, FulfilmentState.PENDING, order.channel_id),
        (2, FulfilmentKind.SHIP, FulfilmentState.PENDING, order.channel_id),
        (3, FulfilmentKind.DELIVER, FulfilmentState.PENDING, order.channel_id),
    ]
    assert events[0].payload["access_key"] == nfe_access_key(
        order.company.cnpj, series=3, number=77
    )
    assert events[0].payload["total"] == "100.00"
    assert events[0].payload["items"] == [
        {"sku_id": order.items.get().sku_id, "quantity": 2, "unit_price": "50.00"}
    ]
    assert events[1].payload["carrier_service_id"] == service.pk
    assert events[1].payload["tracking_code"] == "BR123"
    assert events[2].payload["delivered_at"]


def test_cancel_event_carries_the_reason_and_the_nfe_flag(order):
    invoice(order)
    services.order_cancel(order=order, reason="Out of stock")
    event = FulfilmentEvent.objects.get(order=order, kind=FulfilmentKind.CANCEL)
    assert event.sequence == 2
    assert event.payload["reason"] == "Out of stock"
    assert event.payload["nfe_cancel_required"] is True


def test_rollback_of_the_erp_change_leaves_no_event(order):
    with pytest.raises(RuntimeError), transaction.atomic():
        invoice(order)
        assert FulfilmentEvent.objects.filter(order=order).count() == 1
        raise RuntimeError("the caller's transaction fails after the invoice")
    assert not FulfilmentEvent.objects.exists()
    assert not Invoice.objects.exists()


def test_a_duplicate_announcement_is_harmless(order):
    invoice(order)
    for _ in range(2):
        order_fulfilment_changed.send(
            sender=type(order),
            company_id=order.company_id,
            order_id=order.pk,
            kind=FulfilmentKind.INVOICE,
            status=order.status,
            channel_id=order.channel_id,
        )
    assert FulfilmentEvent.objects.filter(order=order).count() == 1


def test_an_order_typed_in_the_erp_gets_no_event(db):
    company = make_company()
    order = make_order(company, None, lines=[(make_sku(company), 1, "10.00", None)])
    invoice(order)
    services.order_cancel(order=order, reason="typo")
    assert not FulfilmentEvent.objects.exists()
