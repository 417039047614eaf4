"""The `fulfilment` flow against the real emulators over HTTP: the ERP invoices, ships and
delivers an order, the engine tells the channel, in order, once each."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from erp import services
from erp.models import Order
from mappings.models import MappingKind
from mappings.services import mapping_create
from sync.models import FulfilmentEvent, FulfilmentState, RunState
from sync.services import fulfilment as fulfilment_module
from sync.services.connectors import build_connector
from sync.services.runs import run_flow
from tests.factories import make_carrier_service, make_order, make_sku, nfe_access_key
from tests.sync.engine import active_channel, bind, declared_rate
from vendors.registry import get_adapter_class

SP = ZoneInfo("America/Sao_Paulo")
ISSUED = datetime(2026, 12, 3, 10, 0, tzinfo=SP)
CODE = "CAM-P"
PRICE = Decimal("59.90")
# What each vendor records for invoice, tracking and delivery (Emulator.fulfilment_of).
ACTIONS = {
    "vtex": ["start_handling", "invoice", "tracking", "delivered"],
    "anymarket": ["invoice", "tracking", "delivered"],
    "mercadolivre": ["fiscal_document", "tracking", "delivered"],
}
VENDORS = list(ACTIONS)


def nfe_xml(key: str) -> bytes:
    ns = "http://www.portalfiscal.inf.br/nfe"
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><nfeProc xmlns="{ns}"><NFe>'
        f'<infNFe Id="NFe{key}" versao="4.00"></infNFe></NFe><protNFe><infProt>'
        f"<chNFe>{key}</chNFe></infProt></protNFe></nfeProc>"
    ).encode()


class Shop:
    """One active channel on an emulator, with its carrier de-para and one SKU."""

    def __init__(self, vendor: str, emulator, *, carrier_mapping: bool = True):
        self.vendor, self.emulator = vendor, emulator
        [self.entry] = emulator.seed_catalog([CODE], price=PRICE, quantity=10)
        self.channel = active_channel(vendor, emulator, batch_sizes={"fulfilment": 100})
        self.company = self.channel.company
        self.sku = make_sku(self.company, code=CODE)
        self.service = make_carrier_service(self.company, "Correios", "SEDEX 10")
        if carrier_mapping:
            self.map_carrier()

    def map_carrier(self, code: str = "ECT", service_code: str = "40215"):
        return mapping_create(
            channel=self.channel,
            kind=MappingKind.CARRIER_SERVICE,
            parent_code=code,
            parent_label="Correios",
            code=service_code,
            target=self.service,
        )

    def place(self, *, shipping_mode: str = "custom", refs: bool = True) -> Order:
        """An order at the vendor and the same order in the ERP (as the import leaves it: with
        the fulfilment refs the adapter's normalize_order reads, unless `refs` is False — an
        order imported before erp.Order.fulfilment_refs existed)."""
        if self.vendor == "vtex":
            external = self.emulator.add_order([(CODE, 1)], status="ready-for-handling")
        elif self.vendor == "anymarket":
            external = self.emulator.add_order([(CODE, 1, str(PRICE))], status="PAID_WAITING_SHIP")
        else:
            external = self.emulator.add_order([(CODE, 1)], shipping_mode=shipping_mode)
        imported = build_connector(self.channel).fetch_order(external)
        return make_order(
            self.company,
            self.channel,
            external_id=external,
            lines=[(self.sku, 1, str(PRICE), None)],
            fulfilment_refs=dict(imported.fulfilment_refs) if refs else {},
        )

    def invoice(self, order: Order, number: int = 1234):
        key = nfe_access_key(self.company.cnpj, series=1, number=number)
        return services.order_invoice(
            order=order,
            number=number,
            series=1,
            access_key=key,
            issued_at=ISSUED,
            total=order.total,
            xml_file=ContentFile(nfe_xml(key), name="nfe.xml"),
        )

    def ship(self, order: Order):
        return services.order_ship(
            order=order,
            carrier_service=self.service,
            tracking_code="BR123456789",
            tracking_url="https://rastreamento.correios.com.br/BR123456789",
            shipped_at=ISSUED + timedelta(hours=2),
            estimated_delivery=date(2026, 12, 8),
        )

    def deliver(self, order: Order):
        return services.order_deliver(order=order, delivered_at=ISSUED + timedelta(days=3))

    def run(self):
        return run_flow(channel_id=self.channel.pk, flow="fulfilment")

    def actions(self, order: Order) -> list[str]:
        return [action for action, _data in self.emulator.fulfilment_of(order.external_id)]


@pytest.fixture(params=VENDORS)
def shop(request, emulator, db):
    vendor = request.param
    with declared_rate(get_adapter_class(vendor), rate=500, burst=50):
        yield Shop(vendor, emulator(vendor, rate=500, burst=50))


def states(order: Order) -> list[tuple[str, str]]:
    return list(
        FulfilmentEvent.objects.filter(order=order)
        .order_by("sequence")
        .values_list("kind", "state")
    )


def test_invoice_ship_deliver_reach_the_vendor_once_each_and_in_order(shop):
    order = shop.place()
    shop.invoice(order)
    shop.ship(order)
    shop.deliver(order)
    run = shop.run()
    assert run.state == RunState.SUCCEEDED, run.error
    assert shop.actions(order) == ACTIONS[shop.vendor]
    assert states(order) == [
        ("invoice", FulfilmentState.SENT),
        ("ship", FulfilmentState.SENT),
        ("deliver", FulfilmentState.SENT),
    ]
    assert run.detail["counts"]["sent"] == 3
    # Nothing left: another run sends nothing.
    again = shop.run()
    assert again.requests == 0
    assert shop.actions(order) == ACTIONS[shop.vendor]


def test_an_event_delivered_twice_is_applied_once(shop, monkeypatch):
    """A crash after the vendor call and before the state commit: the next run repeats the
    call, and the vendor ends with one invoice."""
    order = shop.place()
    shop.invoice(order)
    monkeypatch.setattr(fulfilment_module, "_settle", lambda event, **changes: False)
    shop.run()
    assert states(order) == [("invoice", FulfilmentState.PENDING)]
    monkeypatch.undo()
    run = shop.run()
    assert run.state == RunState.SUCCEEDED, run.error
    assert states(order) == [("invoice", FulfilmentState.SENT)]
    assert shop.actions(order) == ACTIONS[shop.vendor][: 2 if shop.vendor == "vtex" else 1]


def test_every_event_delivered_twice_is_applied_once(shop, monkeypatch):
    """A crash after each vendor call and before its state commit: the repeat knows the first
    attempt may have applied (attempts > 0) and reads first where the vendor's write is not
    idempotent; the vendor ends with each step once."""
    order = shop.place()
    shop.invoice(order)
    shop.ship(order)
    shop.deliver(order)
    # One event per run, so each run after a crash repeats exactly the event it crashed on.
    shop.channel.sync_settings.filter(flow="fulfilment").update(batch_size=1)
    for _ in range(3):
        with monkeypatch.context() as crash:
            crash.setattr(fulfilment_module, "_settle", lambda event, **changes: False)
            shop.run()
        assert shop.run().state == RunState.SUCCEEDED
    assert states(order) == [
        ("invoice", FulfilmentState.SENT),
        ("ship", FulfilmentState.SENT),
        ("deliver", FulfilmentState.SENT),
    ]
    assert shop.actions(order) == ACTIONS[shop.vendor]
    assert set(FulfilmentEvent.objects.filter(order=order).values_list("attempts", flat=True)) == {
        2
    }


# The requests a first attempt of each step costs: the vendor's writes and nothing else (the
# minimum the vendor allows). Mercado Livre's shipment id and logistic mode, which decide its
# calls, come from the import (erp.Order.fulfilment_refs).
FIRST_ATTEMPT_REQUESTS = {
    "vtex": ["POST start-handling", "POST invoice", "PATCH invoice", "PUT tracking"],
    "anymarket": ["PUT order", "PUT order", "PUT order"],
    "mercadolivre": [
        "POST fiscal_documents",
        "POST seller_notifications",
        "POST seller_notifications",
    ],
}


def _request_kind(vendor: str, method: str, path: str) -> str:
    last = path.rstrip("/").split("?")[0].split("/")[-1]
    if vendor == "vtex":
        name = "invoice" if "/invoice" in path and last != "tracking" else last
        return f"{method} {name}"
    if vendor == "anymarket":
        return f"{method} order"
    if path.startswith("/orders/"):
        return f"{method} order"
    if path.startswith("/shipments/") and last.isdigit():
        return f"{method} shipment"
    return f"{method} {last}"


def _fulfil_and_count(shop, orders: list[Order]) -> list[str]:
    """Invoice, ship and deliver `orders` in the ERP, run the fulfilment flow once, and
    return the kinds of request the emulator received (token calls aside)."""
    for number, order in enumerate(orders, start=1):
        shop.invoice(order, number=number)
        shop.ship(order)
        shop.deliver(order)
    entry = shop.entry
    bind(
        shop.channel,
        shop.sku,
        external_item_id=entry.item_id,
        external_variation_id=entry.variation_id,
        external_sku_id=entry.sku_id,
        seller_sku=entry.seller_sku,
    )
    start = len(shop.emulator.requests_log)
    assert shop.run().state == RunState.SUCCEEDED
    return [
        _request_kind(shop.vendor, r.method, r.path)
        for r in shop.emulator.requests_log[start:]
        if "oauth" not in r.path and "/users/me" not in r.path
    ]


def test_a_first_attempt_writes_without_reading_first(shop):
    """Read-before-write only where a previous attempt may have applied: two orders invoiced,
    shipped and delivered cost exactly the vendor's writes, nothing more."""
    orders = [shop.place(), shop.place()]
    kinds = _fulfil_and_count(shop, orders)
    assert sorted(kinds) == sorted(FIRST_ATTEMPT_REQUESTS[shop.vendor] * 2)
    for order in orders:
        assert shop.actions(order) == ACTIONS[shop.vendor]


def test_mercado_livre_nfe_import_with_the_imported_refs_is_one_write(ml_shop):
    """A drop-off shipment: the refs name the shipment and its logistic type, so the invoice is
    the NF-e import alone; Mercado Envios ships and tracks it (no request)."""
    order = ml_shop.place(shipping_mode="drop_off")
    kinds = _fulfil_and_count(ml_shop, [order])
    assert kinds == ["POST invoice_data"]
    assert ml_shop.actions(order) == ["invoice"]


def test_a_mercado_livre_order_imported_before_the_refs_reads_its_shipment_first(ml_shop):
    """An order stored before erp.Order.fulfilment_refs existed has none: the adapter reads
    the order and its shipment (once per order per run), then writes; the result is the
    same."""
    orders = [ml_shop.place(refs=False), ml_shop.place(refs=False)]
    assert all(order.fulfilment_refs == {} for order in orders)
    kinds = _fulfil_and_count(ml_shop, orders)
    expected = ["GET order", "GET shipment", *FIRST_ATTEMPT_REQUESTS["mercadolivre"]]
    assert sorted(kinds) == sorted(expected * 2)
    for order in orders:
        assert ml_shop.actions(order) == ACTIONS["mercadolivre"]


def test_events_of_one_order_never_overtake(shop):
    """The tracking of an order waits for its invoice even when the invoice cannot go yet."""
    order = shop.place()
    shop.invoice(order)
    shop.ship(order)
    shop.emulator.set_faults(rate_5xx=1.0)
    shop.run()
    shop.emulator.set_faults(rate_5xx=0.0)
    assert shop.actions(order) == []
    event = FulfilmentEvent.objects.get(order=order, kind="invoice")
    assert event.state == FulfilmentState.PENDING and event.attempts == 1
    assert FulfilmentEvent.objects.get(order=order, kind="ship").attempts == 0
    run = shop.run()  # the 503 left it pending: the next run sends it, then the tracking
    assert run.state == RunState.SUCCEEDED, run.error
    assert shop.actions(order) == ACTIONS[shop.vendor][:-1]


def test_a_missing_carrier_de_para_holds_the_event_until_it_is_added(
    emulator, db, django_capture_on_commit_callbacks
):
    with declared_rate(get_adapter_class("anymarket"), rate=500, burst=50):
        shop = Shop("anymarket", emulator("anymarket", rate=500, burst=50), carrier_mapping=False)
        order = shop.place()
        shop.invoice(order)
        shop.ship(order)
        shop.deliver(order)
        run = shop.run()
        assert run.state == RunState.PARTIAL
        assert states(order) == [
            ("invoice", FulfilmentState.SENT),
            ("ship", FulfilmentState.HELD),
            ("deliver", FulfilmentState.PENDING),
        ]
        held = FulfilmentEvent.objects.get(order=order, kind="ship")
        assert held.last_error == (
            "no de-para for Correios / SEDEX 10 on this channel: add it on the channel page"
        )
        assert "held" in FulfilmentEvent.objects.get(order=order, kind="deliver").last_error
        assert run.detail["counts"]["held_events"] == 1
        assert shop.actions(order) == ["invoice"]

        with django_capture_on_commit_callbacks(execute=True):
            shop.map_carrier()  # mapping_created puts the held event back
        assert FulfilmentEvent.objects.get(pk=held.pk).state == FulfilmentState.PENDING
        run = shop.run()
        assert run.state == RunState.SUCCEEDED, run.error
        assert shop.actions(order) == ["invoice", "tracking", "delivered"]
        tracking = shop.emulator.fulfilment_of(order.external_id)[1][1]
        assert tracking["carrier"] == "ECT"


def test_a_refusal_is_stored_shown_on_the_order_and_blocks_later_events(emulator, admin_client):
    """ANYMARKET refuses tracking without an estimated delivery date; the event keeps its
    words, the order page shows them, the delivered event waits until someone retries."""
    with declared_rate(get_adapter_class("anymarket"), rate=500, burst=50):
        shop = Shop("anymarket", emulator("anymarket", rate=500, burst=50))
        order = shop.place()
        shop.invoice(order)
        services.order_ship(order=order, carrier_service=shop.service, tracking_code="BR1")
        shop.deliver(order)
        run = shop.run()
        assert run.state == RunState.PARTIAL
        assert run.detail["counts"]["rejected"] == 1
        refused = FulfilmentEvent.objects.get(order=order, kind="ship")
        assert refused.state == FulfilmentState.REFUSED
        assert "estimateDate" in refused.last_error
        waiting = FulfilmentEvent.objects.get(order=order, kind="deliver")
        assert waiting.state == FulfilmentState.PENDING and "refused" in waiting.last_error
        page = admin_client.get(f"/admin/erp/order/{order.pk}/change/").content.decode()
        assert "estimateDate" in page
        assert shop.actions(order) == ["invoice"]

        # Fixed at the vendor's side (here: the emulator takes it now) and retried by a person.
        response = admin_client.post(
            "/admin/erp/order/",
            {"action": "retry_order_fulfilment", "_selected_action": [order.pk]},
            follow=True,
        )
        assert response.status_code == 200
        assert FulfilmentEvent.objects.get(pk=refused.pk).state == FulfilmentState.PENDING
        assert FulfilmentEvent.objects.get(pk=waiting.pk).last_error == ""


@pytest.fixture
def ml_shop(emulator, db):
    with declared_rate(get_adapter_class("mercadolivre"), rate=500, burst=50):
        yield Shop("mercadolivre", emulator("mercadolivre", rate=500, burst=50))


def test_a_step_the_vendor_does_not_take_is_not_applicable_without_a_request(ml_shop, admin_client):
    """Mercado Livre takes no cancellation from the seller (its spec lacks FULFIL_CANCEL): the
    event is settled "not applicable" with a note, no request, no refusal."""
    order = ml_shop.place()
    services.order_cancel(order=order, reason="Sem estoque")
    start = len(ml_shop.emulator.requests_log)
    run = ml_shop.run()
    assert run.state == RunState.SUCCEEDED, run.error
    event = FulfilmentEvent.objects.get(order=order)
    assert event.state == FulfilmentState.NOT_APPLICABLE
    assert "Mercado Livre does not take this step" in event.last_error
    assert event.attempts == 0 and event.sent_at is None
    assert ml_shop.emulator.requests_log[start:] == []
    assert run.detail["counts"]["not_applicable"] == 1
    page = admin_client.get(reverse("admin:erp_order_change", args=[order.pk])).content.decode()
    assert "Mercado Livre does not take this step" in page


def test_mercado_envios_shipments_track_themselves_and_later_events_still_go(ml_shop):
    """An ME2 (drop-off) order: the NF-e import goes; tracking and delivery are Mercado
    Envios' own (the seller notifies ME1 shipments only), settled not applicable for this
    order with the reason, and never block or fail the order's events."""
    order = ml_shop.emulator.add_order([(CODE, 1)], shipping_mode="drop_off")
    order = make_order(
        ml_shop.company, ml_shop.channel, external_id=order, lines=[(ml_shop.sku, 1, "59.90", None)]
    )
    ml_shop.invoice(order)
    ml_shop.ship(order)
    ml_shop.deliver(order)
    run = ml_shop.run()
    assert run.state == RunState.SUCCEEDED, run.error
    assert states(order) == [
        ("invoice", FulfilmentState.SENT),
        ("ship", FulfilmentState.NOT_APPLICABLE),
        ("deliver", FulfilmentState.NOT_APPLICABLE),
    ]
    assert ml_shop.actions(order) == ["invoice"]
    ship = FulfilmentEvent.objects.get(order=order, kind="ship")
    assert "Mercado Envios ships and tracks this order" in ship.last_error
    paths = [r.path for r in ml_shop.emulator.requests_log]
    assert not any("seller_notifications" in p for p in paths)
