"""The fulfilment outbox: ERP announcements of invoice / ship / deliver / cancel become
FulfilmentEvent rows, in the same transaction as the change.

Only the recording half lives here; sending the events to the vendors is the `fulfilment`
flow's job. The payload is a snapshot of what the vendors need, taken when the change is made,
so what the channel is told is what the back office did even if the records change later.
"""

from django.db.models import Max

from erp.models import Invoice, Order, Shipment
from erp.signals import FulfilmentKind
from sync.models import FulfilmentEvent


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _invoice_payload(order: Order) -> dict:
    invoice = Invoice.objects.get(order=order)
    return {
        "number": invoice.number,
        "series": invoice.series,
        "access_key": invoice.access_key,
        "issued_at": _iso(invoice.issued_at),
        "total": str(invoice.total),
        "has_xml": bool(invoice.xml_file),
        # VTEX's invoice lists the items it covers; the channel knows them by its own ids,
        # the sender translates through the bindings at send time.
        "items": [
            {"sku_id": item.sku_id, "quantity": item.quantity, "unit_price": str(item.unit_price)}
            for item in order.items.order_by("line")
        ],
    }


def _ship_payload(order: Order) -> dict:
    shipment = Shipment.objects.select_related("carrier_service__carrier").get(order=order)
    service = shipment.carrier_service
    return {
        # The id is what the reverse de-para (ERP carrier service → channel code) looks up.
        "carrier_service_id": service.pk,
        "carrier": service.carrier.name,
        "service": service.name,
        "tracking_code": shipment.tracking_code,
        "tracking_url": shipment.tracking_url,
        "shipped_at": _iso(shipment.shipped_at),
    }


def _deliver_payload(order: Order) -> dict:
    shipment = Shipment.objects.get(order=order)
    return {"delivered_at": _iso(shipment.delivered_at)}


def _cancel_payload(order: Order) -> dict:
    return {
        "reason": order.cancel_reason,
        "canceled_at": _iso(order.canceled_at),
        "nfe_cancel_required": order.nfe_cancel_required,
    }


PAYLOADS = {
    FulfilmentKind.INVOICE: _invoice_payload,
    FulfilmentKind.SHIP: _ship_payload,
    FulfilmentKind.DELIVER: _deliver_payload,
    FulfilmentKind.CANCEL: _cancel_payload,
}


def fulfilment_record_announcement(
    *,
    order_id: int,
    kind: str,
    channel_id: int | None,
    company_id: int | None = None,
    status: str | None = None,
) -> FulfilmentEvent | None:
    """Receiver of erp.signals.order_fulfilment_changed. Returns the event recorded (or the one
    already recorded for this order and kind), None for an order typed in the ERP.

    The sender holds the order row locked (select_for_update), so computing the next sequence
    as max + 1 cannot race with another event of the same order; the unique constraints are the
    database's guarantee all the same, and a conflicting insert is ignored, not raised (raising
    would roll back the ERP change that was announced)."""
    if channel_id is None:
        return None
    kind = FulfilmentKind(kind)
    existing = FulfilmentEvent.objects.filter(order_id=order_id, kind=kind).first()
    if existing is not None:
        return existing
    order = Order.objects.get(pk=order_id)
    last = FulfilmentEvent.objects.filter(order_id=order_id).aggregate(last=Max("sequence"))
    FulfilmentEvent.objects.bulk_create(
        [
            FulfilmentEvent(
                channel_id=channel_id,
                order_id=order_id,
                kind=kind,
                sequence=(last["last"] or 0) + 1,
                payload=PAYLOADS[kind](order),
            )
        ],
        ignore_conflicts=True,
    )
    return FulfilmentEvent.objects.get(order_id=order_id, kind=kind)
