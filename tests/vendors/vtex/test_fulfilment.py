"""VTEX fulfilment against the emulator over HTTP: invoice (with start-handling), tracking on
the invoice, delivered, cancel — each applied once, refusals in VTEX's words, 5xx retryable."""

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from vendors.spec import FULFILMENT, Capability
from vendors.types import (
    ExternalRef,
    FulfilmentCancel,
    FulfilmentDelivered,
    FulfilmentInvoice,
    FulfilmentOutcome,
    FulfilmentTracking,
    InvoiceItem,
)
from vendors.vtex.adapter import VtexConnector

BRT = timezone(timedelta(hours=-3))
KEY = "35240112345678000195550010000012341000012345"


@pytest.fixture
def vtex(emulator):
    emu = emulator("vtex", rate=1000, burst=1000)
    emu.seed_catalog(["SKU-A", "SKU-B"], price=Decimal("50.00"))
    return emu


def connector(emu):
    return VtexConnector(credentials=emu.credentials, base_url=emu.url, sleep=lambda s: None)


def invoice_for(emu, order_id, number="1234", total=None):
    document = emu.orders[order_id]
    items = tuple(
        InvoiceItem(ExternalRef(seller_sku=i["refId"]), i["quantity"], Decimal(i["price"]) / 100)
        for i in document["items"]
    )
    return FulfilmentInvoice(
        number=number,
        series="1",
        access_key=KEY,
        issued_at=datetime(2026, 12, 1, 10, 30, tzinfo=BRT),
        total=Decimal(document["value"]) / 100 if total is None else total,
        items=items,
    )


TRACKING = FulfilmentTracking(
    carrier_code="correios-sedex10",
    carrier_name="Correios",
    tracking_number="BR123456789XX",
    url="https://rastreamento.correios.com.br/?objeto=BR123456789XX",
    shipped_at=datetime(2026, 12, 1, 15, 0, tzinfo=BRT),
)
DELIVERED = FulfilmentDelivered(delivered_at=datetime(2026, 12, 3, 11, 5, tzinfo=BRT))


def test_spec_declares_fulfilment():
    spec = VtexConnector.spec
    assert {
        Capability.FULFIL_INVOICE,
        Capability.FULFIL_TRACKING,
        Capability.FULFIL_DELIVERED,
        Capability.FULFIL_CANCEL,
        Capability.SHIPPING_NEEDS_INVOICE,
    } <= spec.capabilities
    assert Capability.SHIPPING_LABEL not in spec.capabilities
    assert spec.limits.for_flow(FULFILMENT).max_items_per_request == 1


def test_invoice_tracking_delivered_reach_vtex_once_each_in_order(vtex):
    order_id = vtex.add_order([("SKU-A", 2)], status="ready-for-handling")
    adapter = connector(vtex)

    invoiced = adapter.send_invoice(order_id, invoice_for(vtex, order_id))
    shipped = adapter.send_tracking(order_id, TRACKING)
    delivered = adapter.mark_delivered(order_id, DELIVERED)

    assert [r.outcome for r in (invoiced, shipped, delivered)] == [FulfilmentOutcome.ACCEPTED] * 3
    assert invoiced.receipt
    actions = vtex.fulfilment_of(order_id)
    assert [a for a, _ in actions] == ["start_handling", "invoice", "tracking", "delivered"]
    invoice = actions[1][1]
    assert invoice == {
        "number": "1234",
        "key": KEY,
        "value": vtex.orders[order_id]["value"],
        "tracking": None,
    }
    assert actions[2][1]["number"] == "BR123456789XX"
    assert actions[2][1]["courier"] == "Correios"
    assert actions[3][1]["at"] == "2026-12-03 14:05"  # UTC, as VTEX's dates
    assert vtex.orders[order_id]["status"] == "invoiced"


def test_every_call_repeated_applies_once(vtex):
    order_id = vtex.add_order([("SKU-A", 1)], status="ready-for-handling")
    adapter = connector(vtex)
    invoice = invoice_for(vtex, order_id)

    first = adapter.send_invoice(order_id, invoice)
    again = adapter.send_invoice(order_id, invoice)
    adapter.send_tracking(order_id, TRACKING)
    adapter.send_tracking(order_id, TRACKING)
    adapter.mark_delivered(order_id, DELIVERED)
    adapter.mark_delivered(order_id, DELIVERED)

    assert first.outcome == FulfilmentOutcome.ACCEPTED
    assert again.outcome == FulfilmentOutcome.ALREADY_APPLIED
    assert again.done
    assert [a for a, _ in vtex.fulfilment_of(order_id)] == [
        "start_handling",
        "invoice",
        "tracking",
        "delivered",
    ]
    assert vtex.stats["POST ^/api/oms/pvt/orders/(?P<orderId>[^/]+)/invoice$"] == 1
    assert len(vtex.orders[order_id]["packageAttachment"]["packages"]) == 1


def test_an_order_in_handling_is_invoiced_without_starting_again(vtex):
    order_id = vtex.add_order([("SKU-A", 1)], status="handling")
    result = connector(vtex).send_invoice(order_id, invoice_for(vtex, order_id))
    assert result.outcome == FulfilmentOutcome.ACCEPTED
    assert [a for a, _ in vtex.fulfilment_of(order_id)] == ["invoice"]


def test_refusals_come_back_in_vtex_words(vtex):
    order_id = vtex.add_order([("SKU-A", 1)], status="canceled")
    result = connector(vtex).send_invoice(order_id, invoice_for(vtex, order_id))

    assert result.outcome == FulfilmentOutcome.REFUSED
    assert not result.retryable
    assert "Order status should be handling to perform this action" in result.message
    assert vtex.fulfilment_of(order_id) == []


def test_an_invoice_above_the_order_value_is_refused(vtex):
    order_id = vtex.add_order([("SKU-A", 1)], status="handling")
    too_much = invoice_for(vtex, order_id, total=Decimal("9999.00"))
    result = connector(vtex).send_invoice(order_id, too_much)
    assert result.outcome == FulfilmentOutcome.REFUSED
    assert "exceeds the order's value" in result.message


def test_a_line_that_is_not_in_the_order_is_refused_before_any_request(vtex):
    order_id = vtex.add_order([("SKU-A", 1)], status="handling")
    invoice = invoice_for(vtex, order_id)
    stray = FulfilmentInvoice(
        **{
            **invoice.__dict__,
            "items": (InvoiceItem(ExternalRef(seller_sku="NOPE"), 1, Decimal("1")),),
        }
    )
    vtex.reset_stats()
    result = connector(vtex).send_invoice(order_id, stray)
    assert result.outcome == FulfilmentOutcome.REFUSED
    assert "NOPE" in result.message
    assert vtex.stats["requests"] == 1  # the read; no write


def test_tracking_before_the_invoice_is_refused(vtex):
    order_id = vtex.add_order([("SKU-A", 1)], status="handling")
    result = connector(vtex).send_tracking(order_id, TRACKING)
    assert result.outcome == FulfilmentOutcome.REFUSED
    assert "has no invoice" in result.message


def test_5xx_is_retryable(vtex):
    order_id = vtex.add_order([("SKU-A", 1)], status="handling")
    vtex.set_faults(rate_5xx=1.0)
    result = connector(vtex).send_invoice(order_id, invoice_for(vtex, order_id))
    assert result.outcome == FulfilmentOutcome.RETRY
    assert result.retryable and not result.done
    vtex.set_faults(rate_5xx=0.0)
    assert vtex.fulfilment_of(order_id) == []


def test_cancel_once_and_never_an_invoiced_order(vtex):
    open_order = vtex.add_order([("SKU-A", 1)], status="ready-for-handling")
    adapter = connector(vtex)
    first = adapter.cancel_order(open_order, FulfilmentCancel("Sem estoque"))
    again = adapter.cancel_order(open_order, FulfilmentCancel("Sem estoque"))
    assert first.outcome == FulfilmentOutcome.ACCEPTED
    assert again.outcome == FulfilmentOutcome.ALREADY_APPLIED
    assert vtex.fulfilment_of(open_order) == [("cancel", {"reason": "Sem estoque"})]

    invoiced = vtex.add_order([("SKU-A", 1)], status="handling")
    adapter.send_invoice(invoiced, invoice_for(vtex, invoiced))
    refused = adapter.cancel_order(invoiced, FulfilmentCancel("Sem estoque"))
    assert refused.outcome == FulfilmentOutcome.REFUSED
    assert "cannot be canceled" in refused.message


def test_issuance_date_keeps_its_offset():
    invoice = FulfilmentInvoice("1", "1", KEY, datetime(2026, 1, 1, tzinfo=UTC), Decimal("1"))
    assert invoice.issued_at.utcoffset() == timedelta(0)
    with pytest.raises(ValueError, match="aware"):
        FulfilmentInvoice("1", "1", KEY, datetime(2026, 1, 1), Decimal("1"))


def test_a_first_attempt_writes_without_reading_the_order(vtex):
    """may_have_applied False and every line names its VTEX SKU id: start handling, invoice,
    tracking, delivered — four requests, no read. An order already in handling answers 409
    OMS003 to start handling, which is taken as "no need"."""
    adapter = connector(vtex)
    for status, actions in (
        ("ready-for-handling", ["start_handling", "invoice", "tracking", "delivered"]),
        ("handling", ["invoice", "tracking", "delivered"]),
    ):
        order_id = vtex.add_order([("SKU-A", 1)], status=status)
        document = vtex.orders[order_id]
        invoice = invoice_for(vtex, order_id)
        invoice = dataclasses.replace(
            invoice,
            items=tuple(
                dataclasses.replace(line, ref=ExternalRef(sku_id=str(item["id"])))
                for line, item in zip(invoice.items, document["items"], strict=True)
            ),
        )
        # The flow passes the invoice number (from the invoice event) with both.
        tracking = dataclasses.replace(TRACKING, invoice_number=invoice.number)
        delivered = dataclasses.replace(DELIVERED, invoice_number=invoice.number)
        start = len(vtex.requests_log)
        outcomes = [
            adapter.send_invoice(order_id, invoice, may_have_applied=False).outcome,
            adapter.send_tracking(order_id, tracking, may_have_applied=False).outcome,
            adapter.mark_delivered(order_id, delivered, may_have_applied=False).outcome,
        ]
        assert outcomes == [FulfilmentOutcome.ACCEPTED] * 3
        assert [a for a, _ in vtex.fulfilment_of(order_id)] == actions
        assert [r.method for r in vtex.requests_log[start:]] == [
            "POST",
            "POST",
            "PATCH",
            "PUT",
        ]
