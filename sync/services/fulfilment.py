"""The fulfilment outbox: ERP announcements of invoice / ship / deliver / cancel become
FulfilmentEvent rows in the same transaction as the change (the receiver below), and the
`fulfilment` flow of a run sends them to the channel (`fulfilment_send`).

The payload is a snapshot of what the vendors need, taken when the change is made, so what
the channel is told is what the back office did even if the records change later.
"""

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Case, Exists, F, Max, OuterRef, When
from django.utils import timezone
from django.utils.translation import gettext

from erp.models import Invoice, Order, Shipment, Sku
from erp.signals import FulfilmentKind
from erpintegr.redaction import redact_truncate
from mappings.models import CarrierServiceMapping, Listing
from sync.models import FulfilmentEvent, FulfilmentState
from vendors.errors import AuthError, ConnectorError, NotSupportedError, PermissionDeniedError
from vendors.spec import Capability
from vendors.types import (
    ExternalRef,
    FulfilmentCancel,
    FulfilmentDelivered,
    FulfilmentInvoice,
    FulfilmentOutcome,
    FulfilmentResult,
    FulfilmentTracking,
    InvoiceItem,
)


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
        "estimated_delivery": _iso(shipment.estimated_delivery),
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


# --- sending: the `fulfilment` flow ------------------------------------------------------------
#
# A run takes the channel's pending events, per order only the lowest pending sequence whose
# predecessors are all sent (so an order's events never overtake each other: invoice before
# tracking before delivered), oldest first, up to the batch size. Each event is one adapter
# call, outside any transaction, and its new state is committed right after it with a
# conditional UPDATE: a crash between the call and the commit leaves the event pending and the
# next run repeats the call, which the adapters make harmless (the vendor's idempotent call,
# or read-before-write). Events are never deleted, so nothing is lost.

LAST_ERROR_CHARS = 2000

# States after which an order's next event may go.
DONE_STATES = (FulfilmentState.SENT, FulfilmentState.NOT_APPLICABLE)

# The capability a vendor declares for each step (vendors.spec.Capability): a step the vendor
# does not take is never called, it is settled NOT_APPLICABLE with a note.
CAPABILITY_OF = {
    FulfilmentKind.INVOICE: Capability.FULFIL_INVOICE,
    FulfilmentKind.SHIP: Capability.FULFIL_TRACKING,
    FulfilmentKind.DELIVER: Capability.FULFIL_DELIVERED,
    FulfilmentKind.CANCEL: Capability.FULFIL_CANCEL,
}


class Hold(Exception):
    """The event cannot be sent until a person adds something (a de-para row)."""


def _next_events(channel_id: int, *, limit: int, skip: set[int]) -> list[FulfilmentEvent]:
    earlier_not_sent = FulfilmentEvent.objects.filter(
        order_id=OuterRef("order_id"), sequence__lt=OuterRef("sequence")
    ).exclude(state__in=DONE_STATES)
    return list(
        FulfilmentEvent.objects.filter(channel_id=channel_id, state=FulfilmentState.PENDING)
        .exclude(pk__in=skip)
        .exclude(Exists(earlier_not_sent))
        .select_related("order")
        .order_by("id")[:limit]
    )


def reverse_carrier(channel_id: int, carrier_service_id: int) -> CarrierServiceMapping | None:
    """The channel's carrier + service code for an ERP carrier service: the carrier + service
    de-para rows read the other way (no second table). Fallback rows ("anything else") name
    no channel code and are never used. Several rows pointing at one ERP service (ECT/40215
    and ECT/04014 both → Correios / SEDEX): a row naming a service beats a carrier-wide one,
    then the oldest row wins — the order does not keep the channel code it arrived with, and
    the oldest row is the one the channel has used longest."""
    return (
        CarrierServiceMapping.objects.filter(
            channel_id=channel_id, target_id=carrier_service_id, is_fallback=False
        )
        .exclude(code="")
        .order_by(Case(When(service_code="", then=1), default=0), "created_at", "id")
        .first()
    )


def _when(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"the event's {name} has no time zone: {value!r}")
    return moment


def _invoice_number(event: FulfilmentEvent) -> str:
    """The order's invoice number (VTEX tracks and delivers on the invoice): from the
    invoice event's snapshot, else from the invoice itself."""
    payload = (
        FulfilmentEvent.objects.filter(order_id=event.order_id, kind=FulfilmentKind.INVOICE)
        .values_list("payload", flat=True)
        .first()
    )
    if payload and payload.get("number"):
        return str(payload["number"])
    number = Invoice.objects.filter(order_id=event.order_id).values_list("number", flat=True)
    return str(number.first() or "")


def _build_invoice(event: FulfilmentEvent) -> FulfilmentInvoice:
    data = event.payload
    sku_ids = [line["sku_id"] for line in data.get("items", [])]
    listings = {
        listing.sku_id: listing
        for listing in Listing.objects.filter(channel_id=event.channel_id, sku_id__in=sku_ids)
    }
    codes = dict(Sku.objects.filter(pk__in=sku_ids).values_list("pk", "code"))
    items = []
    for line in data.get("items", []):
        listing = listings.get(line["sku_id"])
        # An SKU not bound on this channel is still named by its code (the seller SKU), which
        # the vendors resolve against the order's own lines.
        ref = (
            listing.external_ref
            if listing is not None
            else ExternalRef(item_id="", seller_sku=codes.get(line["sku_id"], ""))
        )
        items.append(
            InvoiceItem(
                ref=ref, quantity=int(line["quantity"]), unit_price=Decimal(line["unit_price"])
            )
        )
    xml = None
    if data.get("has_xml"):
        invoice = Invoice.objects.filter(order_id=event.order_id).first()
        if invoice is not None and invoice.xml_file:
            with invoice.xml_file.open("rb") as handle:
                xml = handle.read()
    return FulfilmentInvoice(
        number=str(data["number"]),
        series=str(data["series"]),
        access_key=data["access_key"],
        issued_at=_when(data["issued_at"], "issued_at"),
        total=Decimal(data["total"]),
        items=tuple(items),
        xml=xml,
    )


def _build_tracking(event: FulfilmentEvent) -> FulfilmentTracking:
    data = event.payload
    mapping = reverse_carrier(event.channel_id, data["carrier_service_id"])
    if mapping is None:
        raise Hold(
            gettext(
                "no de-para for %(carrier)s / %(service)s on this channel: add it on the "
                "channel page"
            )
            % {"carrier": data.get("carrier", "?"), "service": data.get("service", "?")}
        )
    estimate = data.get("estimated_delivery")
    return FulfilmentTracking(
        carrier_code=mapping.code,
        service_code=mapping.service_code,
        carrier_name=mapping.label or data.get("carrier", ""),
        tracking_number=data.get("tracking_code", ""),
        url=data.get("tracking_url", ""),
        shipped_at=_when(data.get("shipped_at"), "shipped_at"),
        estimated_delivery=date.fromisoformat(estimate) if estimate else None,
        invoice_number=_invoice_number(event),
    )


def _prepare(connector, event: FulfilmentEvent):
    """Build the vendor's type from the snapshot; returns the one adapter call to make, which
    takes `may_have_applied`. Raises Hold, or KeyError/TypeError/ValueError for a snapshot
    that cannot be built, before anything is sent."""
    external_id = event.order.external_id
    # What the import stored for the vendor's calls (erp.Order.fulfilment_refs): with it a
    # first attempt needs no read of the order; {} for an order imported before it existed.
    refs = dict(event.order.fulfilment_refs or {})
    if event.kind == FulfilmentKind.INVOICE:
        invoice = replace(_build_invoice(event), order_refs=refs)
        return lambda **kw: connector.send_invoice(external_id, invoice, **kw)
    if event.kind == FulfilmentKind.SHIP:
        tracking = replace(_build_tracking(event), order_refs=refs)
        return lambda **kw: connector.send_tracking(external_id, tracking, **kw)
    if event.kind == FulfilmentKind.DELIVER:
        delivered = FulfilmentDelivered(
            delivered_at=_when(event.payload["delivered_at"], "delivered_at"),
            invoice_number=_invoice_number(event),
            order_refs=refs,
        )
        return lambda **kw: connector.mark_delivered(external_id, delivered, **kw)
    if event.kind == FulfilmentKind.CANCEL:
        reason = event.payload.get("reason") or gettext("Canceled by the seller.")
        cancel = FulfilmentCancel(reason=reason, order_refs=refs)
        return lambda **kw: connector.cancel_order(external_id, cancel, **kw)
    raise ValueError(f"unknown fulfilment kind {event.kind!r}")


def _call(connector, event: FulfilmentEvent) -> FulfilmentResult:
    """The one adapter call of the event. The attempt is counted (committed) before the
    call: a worker killed after the call leaves `attempts` > 0, and the next attempt then
    tells the adapter that the first may have applied (it reads before writing where the
    vendor's write is not idempotent). A first attempt writes directly."""
    send = _prepare(connector, event)
    may_have_applied = event.attempts > 0
    FulfilmentEvent.objects.filter(pk=event.pk, state=FulfilmentState.PENDING).update(
        attempts=F("attempts") + 1
    )
    return send(may_have_applied=may_have_applied)


def _settle(event: FulfilmentEvent, **changes) -> bool:
    """Commit the event's new state, only if it is still pending (a person may have changed
    it meanwhile). One UPDATE, autocommitted: the call before it is never repeated once this
    returns."""
    return bool(
        FulfilmentEvent.objects.filter(pk=event.pk, state=FulfilmentState.PENDING).update(**changes)
    )


def _block_later(event: FulfilmentEvent, reason: str) -> None:
    FulfilmentEvent.objects.filter(
        order_id=event.order_id,
        sequence__gt=event.sequence,
        state=FulfilmentState.PENDING,
    ).update(last_error=reason)


def fulfilment_send(ctx, *, limit: int) -> int:
    """The `fulfilment` flow of one run (sync.services.runs._execute): send up to `limit`
    pending events. Returns how many were settled (sent, refused or held). Account errors
    (401/403) propagate: the run fails and suspends the channel, the event stays pending."""
    channel = ctx.channel
    tried: set[int] = set()
    settled = 0
    while ctx.has_time() and len(tried) < limit:
        events = _next_events(channel.pk, limit=limit - len(tried), skip=tried)
        if not events:
            break
        ctx.run.total += len(events)
        for event in events:
            if not ctx.has_time():
                break
            tried.add(event.pk)
            ctx.checkpoint()
            settled += _send_one(ctx, event)
            ctx.run.done += 1
    return settled


def _not_applicable(ctx, event: FulfilmentEvent, label: str, note: str) -> int:
    note = redact_truncate(note, LAST_ERROR_CHARS)
    _settle(event, state=FulfilmentState.NOT_APPLICABLE, last_error=note)
    ctx.note("not_applicable", f"{label}: {note}")
    return 1


def _send_one(ctx, event: FulfilmentEvent) -> int:
    label = f"{event.order.external_id} #{event.sequence} {event.kind}"
    vendor = ctx.channel.vendor
    if CAPABILITY_OF[event.kind] not in vendor.capabilities:
        # No request: the vendor's API has no such step (a NotSupportedError or a 4xx).
        return _not_applicable(
            ctx,
            event,
            label,
            gettext(
                "Not applicable: %(vendor)s does not take this step (%(kind)s) through its "
                "API. Do it in the channel's own panel if needed."
            )
            % {"vendor": vendor.label, "kind": event.get_kind_display()},
        )
    try:
        result = _call(ctx.connector, event)
    except Hold as hold:
        reason = redact_truncate(str(hold), LAST_ERROR_CHARS)
        if _settle(event, state=FulfilmentState.HELD, last_error=reason):
            _block_later(event, _waiting_reason(event, held=True))
        ctx.note("held_events", f"{label}: {reason}")
        return 1
    except (AuthError, PermissionDeniedError):
        raise
    except NotSupportedError as exc:
        result = FulfilmentResult.refused(str(exc), error=exc)
    except (KeyError, TypeError, ValueError) as exc:
        # A snapshot that cannot be built into the vendor's type (a field missing, a date
        # without its time zone): nothing was sent. Refused with the reason rather than
        # failing every run on it; a person fixes the record and retries.
        result = FulfilmentResult.refused(
            gettext("The event cannot be sent: %(problem)s") % {"problem": exc}
        )
    except ConnectorError as exc:
        # TransientError (the adapter gave up retrying inside the run) or any other error
        # an adapter raised instead of returning a result.
        result = FulfilmentResult.from_error(exc)
    if result.outcome == FulfilmentOutcome.NOT_NEEDED:
        return _not_applicable(
            ctx,
            event,
            label,
            gettext("Not applicable for this order: %(reason)s") % {"reason": result.message},
        )
    if result.done:
        _settle(event, state=FulfilmentState.SENT, sent_at=timezone.now(), last_error="")
        ctx.counts["sent"] = ctx.counts.get("sent", 0) + 1
        return 1
    if result.retryable:
        FulfilmentEvent.objects.filter(pk=event.pk, state=FulfilmentState.PENDING).update(
            last_error=redact_truncate(result.message, LAST_ERROR_CHARS),
        )
        ctx.note("deferred", f"{label}: {redact_truncate(result.message, 300)}")
        return 0
    reason = redact_truncate(
        result.message or gettext("refused, no reason given"), LAST_ERROR_CHARS
    )
    if _settle(event, state=FulfilmentState.REFUSED, last_error=reason):
        _block_later(event, _waiting_reason(event, held=False))
    ctx.note("rejected", f"{label}: {reason}")
    return 1


def _waiting_reason(event: FulfilmentEvent, *, held: bool) -> str:
    if held:
        return gettext(
            "Waiting: event #%(sequence)s (%(kind)s) of this order is held; it goes first."
        ) % {"sequence": event.sequence, "kind": event.get_kind_display()}
    return gettext(
        "Waiting: the channel refused event #%(sequence)s (%(kind)s) of this order; retry it "
        "once the cause is fixed."
    ) % {"sequence": event.sequence, "kind": event.get_kind_display()}


def fulfilment_retry(*, event_ids: list[int]) -> int:
    """A person retries refused or held events: they go back to pending (attempts kept), and
    the reason written on the order's later events goes away. Returns how many changed."""
    with transaction.atomic():
        events = list(
            FulfilmentEvent.objects.select_for_update()
            .filter(pk__in=event_ids, state__in=[FulfilmentState.REFUSED, FulfilmentState.HELD])
            .only("pk", "order_id", "sequence")
        )
        for event in events:
            FulfilmentEvent.objects.filter(
                order_id=event.order_id,
                sequence__gt=event.sequence,
                state=FulfilmentState.PENDING,
            ).update(last_error="")
        FulfilmentEvent.objects.filter(pk__in=[e.pk for e in events]).update(
            state=FulfilmentState.PENDING, last_error=""
        )
    return len(events)


def fulfilment_release_held(*, channel_id: int) -> int:
    """A carrier + service de-para row was added on the channel: its held events go back to
    pending (one that is still not covered is held again by the next run, without a vendor
    request)."""
    held = list(
        FulfilmentEvent.objects.filter(
            channel_id=channel_id, state=FulfilmentState.HELD
        ).values_list("pk", flat=True)
    )
    return fulfilment_retry(event_ids=held) if held else 0
