"""ANYMARKET fulfilment against the emulator over HTTP: INVOICED → PAID_WAITING_DELIVERY →
CONCLUDED (and CANCELED) by PUT /v2/orders/{id}, each applied once, transitions enforced."""

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import requests

from vendors.anymarket.adapter import AnymarketConnector
from vendors.spec import FULFILMENT, Capability
from vendors.types import (
    FulfilmentCancel,
    FulfilmentDelivered,
    FulfilmentInvoice,
    FulfilmentOutcome,
    FulfilmentTracking,
)

BRT = timezone(timedelta(hours=-3))
KEY = "35240112345678000195550010000012341000012345"
INVOICE = FulfilmentInvoice(
    number="1234",
    series="1",
    access_key=KEY,
    issued_at=datetime(2026, 12, 1, 10, 30, tzinfo=BRT),
    total=Decimal("119.80"),
)
TRACKING = FulfilmentTracking(
    carrier_code="Correios",
    tracking_number="BR123456789XX",
    url="https://rastreamento.correios.com.br/?objeto=BR123456789XX",
    shipped_at=datetime(2026, 12, 1, 15, 0, tzinfo=BRT),
    estimated_delivery=date(2026, 12, 5),
)
DELIVERED = FulfilmentDelivered(delivered_at=datetime(2026, 12, 3, 11, 5, tzinfo=BRT))


@pytest.fixture
def anymarket(emulator):
    emu = emulator("anymarket", rate=1000, burst=1000)
    emu.seed_catalog(["SKU-A"], price=Decimal("49.95"))
    return emu


def connector(emu):
    return AnymarketConnector(
        credentials=emu.credentials, base_url=emu.url + "/v2", sleep=lambda s: None
    )


def puts(emu):
    return emu.stats["PUT ^/v2/orders/(?P<order_id>[^/]+)$"]


def test_spec_declares_fulfilment():
    spec = AnymarketConnector.spec
    assert {Capability.FULFIL_INVOICE, Capability.SHIPPING_NEEDS_INVOICE} <= spec.capabilities
    limits = spec.limits.for_flow(FULFILMENT)
    assert limits.max_items_per_request == 1
    assert limits.default_batch_size <= limits.max_batch_size


def test_invoice_tracking_delivered_reach_anymarket_once_each_in_order(anymarket):
    order_id = anymarket.add_order([("SKU-A", 2)])
    adapter = connector(anymarket)

    results = [
        adapter.send_invoice(order_id, INVOICE),
        adapter.send_tracking(order_id, TRACKING),
        adapter.mark_delivered(order_id, DELIVERED),
    ]

    assert [r.outcome for r in results] == [FulfilmentOutcome.ACCEPTED] * 3
    actions = anymarket.fulfilment_of(order_id)
    assert [a for a, _ in actions] == ["invoice", "tracking", "delivered"]
    assert actions[0][1] == {
        "accessKey": KEY,
        "series": "1",
        "number": "1234",
        "date": "2026-12-01T10:30:00-03:00",
    }
    assert actions[1][1] == {
        "number": "BR123456789XX",
        "carrier": "Correios",
        "url": "https://rastreamento.correios.com.br/?objeto=BR123456789XX",
        "shippedDate": "2026-12-01T15:00:00-03:00",
        "estimateDate": "2026-12-05",
    }
    assert actions[2][1] == {"deliveredDate": "2026-12-03T11:05:00-03:00"}
    assert anymarket.orders[int(order_id)]["status"] == "CONCLUDED"
    assert puts(anymarket) == 3


def test_every_call_repeated_applies_once(anymarket):
    order_id = anymarket.add_order([("SKU-A", 1)])
    adapter = connector(anymarket)
    outcomes = []
    for call, event in (
        (adapter.send_invoice, INVOICE),
        (adapter.send_tracking, TRACKING),
        (adapter.mark_delivered, DELIVERED),
    ):
        outcomes.append((call(order_id, event).outcome, call(order_id, event).outcome))

    assert outcomes == [(FulfilmentOutcome.ACCEPTED, FulfilmentOutcome.ALREADY_APPLIED)] * 3
    assert [a for a, _ in anymarket.fulfilment_of(order_id)] == [
        "invoice",
        "tracking",
        "delivered",
    ]
    assert puts(anymarket) == 3  # the repeats only read


class AnswerLostOnFirstPut(requests.Session):
    """The vendor applies the first PUT, but its answer never arrives (a read timeout)."""

    lost = 0

    def request(self, method, url, **kwargs):
        response = super().request(method, url, **kwargs)
        if method == "PUT" and not self.lost:
            self.lost += 1
            raise requests.ReadTimeout("read timed out")
        return response


def test_a_put_whose_answer_was_lost_is_not_reported_refused(anymarket):
    """The retried PUT is refused by ANYMARKET as a repeated status; the adapter reads the
    order again and reports the change applied instead of refused."""
    order_id = anymarket.add_order([("SKU-A", 1)])
    adapter = AnymarketConnector(
        credentials=anymarket.credentials,
        base_url=anymarket.url + "/v2",
        sleep=lambda s: None,
        session=AnswerLostOnFirstPut(),
    )
    result = adapter.send_invoice(order_id, INVOICE)
    assert result.outcome == FulfilmentOutcome.ALREADY_APPLIED
    assert puts(anymarket) == 2
    assert [a for a, _ in anymarket.fulfilment_of(order_id)] == ["invoice"]


def test_concluded_before_invoiced_is_refused_in_anymarket_words(anymarket):
    order_id = anymarket.add_order([("SKU-A", 1)])
    result = connector(anymarket).mark_delivered(order_id, DELIVERED)
    assert result.outcome == FulfilmentOutcome.REFUSED
    assert "Não é possível alterar o status do pedido de PAID_WAITING_SHIP para CONCLUDED" in (
        result.message
    )
    assert anymarket.fulfilment_of(order_id) == []


def test_an_access_key_that_is_not_44_digits_is_refused(anymarket):
    order_id = anymarket.add_order([("SKU-A", 1)])
    bad = FulfilmentInvoice("1234", "1", "123", INVOICE.issued_at, INVOICE.total)
    result = connector(anymarket).send_invoice(order_id, bad)
    assert result.outcome == FulfilmentOutcome.REFUSED
    assert "invoice.accessKey deve ter 44 dígitos" in result.message


def test_tracking_without_the_estimate_is_refused(anymarket):
    order_id = anymarket.add_order([("SKU-A", 1)])
    adapter = connector(anymarket)
    adapter.send_invoice(order_id, INVOICE)
    no_estimate = FulfilmentTracking("Correios", "BR1", shipped_at=TRACKING.shipped_at)
    result = adapter.send_tracking(order_id, no_estimate)
    assert result.outcome == FulfilmentOutcome.REFUSED
    assert "tracking.estimateDate é obrigatório" in result.message


def test_5xx_is_retryable(anymarket):
    order_id = anymarket.add_order([("SKU-A", 1)])
    anymarket.set_faults(rate_5xx=1.0)
    result = connector(anymarket).send_invoice(order_id, INVOICE)
    anymarket.set_faults(rate_5xx=0.0)
    assert result.outcome == FulfilmentOutcome.RETRY
    assert anymarket.fulfilment_of(order_id) == []


def test_cancel_once(anymarket):
    order_id = anymarket.add_order([("SKU-A", 1)])
    adapter = connector(anymarket)
    first = adapter.cancel_order(order_id, FulfilmentCancel("Sem estoque"))
    again = adapter.cancel_order(order_id, FulfilmentCancel("Sem estoque"))
    assert (first.outcome, again.outcome) == (
        FulfilmentOutcome.ACCEPTED,
        FulfilmentOutcome.ALREADY_APPLIED,
    )
    assert anymarket.fulfilment_of(order_id) == [("cancel", {"reason": "Sem estoque"})]


def test_a_first_attempt_puts_without_reading_and_confirms_a_refusal(anymarket):
    """may_have_applied False: one PUT per step, no read. When the order has the change
    already (someone else put it there), ANYMARKET refuses the repeated status and one read
    confirms it: ALREADY_APPLIED, not refused."""
    order_id = anymarket.add_order([("SKU-A", 1)])
    adapter = connector(anymarket)
    start = len(anymarket.requests_log)
    for call, event in (
        (adapter.send_invoice, INVOICE),
        (adapter.send_tracking, TRACKING),
        (adapter.mark_delivered, DELIVERED),
    ):
        assert call(order_id, event, may_have_applied=False).outcome == FulfilmentOutcome.ACCEPTED
    assert [r.method for r in anymarket.requests_log[start:]] == ["PUT", "PUT", "PUT"]

    start = len(anymarket.requests_log)
    again = adapter.mark_delivered(order_id, DELIVERED, may_have_applied=False)
    assert again.outcome == FulfilmentOutcome.ALREADY_APPLIED
    assert [r.method for r in anymarket.requests_log[start:]] == ["PUT", "GET"]
    assert [a for a, _ in anymarket.fulfilment_of(order_id)] == [
        "invoice",
        "tracking",
        "delivered",
    ]
