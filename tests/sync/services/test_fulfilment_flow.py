"""The `fulfilment` flow against the real emulators over HTTP: the ERP invoices, ships and
delivers an order, the engine tells the channel, in order, once each."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.files.base import ContentFile

from erp import services
from erp.models import Order
from mappings.models import MappingKind
from mappings.services import mapping_create
from sync.models import FulfilmentEvent, FulfilmentState, RunState
from sync.services import fulfilment as fulfilment_module
from sync.services.runs import run_flow
from tests.factories import make_carrier_service, make_order, make_sku, nfe_access_key
from tests.sync.engine import active_channel, declared_rate
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
        emulator.seed_catalog([CODE], price=PRICE, quantity=10)
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

    def place(self) -> Order:
        """An order at the vendor and the same order in the ERP (as the import leaves it)."""
        if self.vendor == "vtex":
            external = self.emulator.add_order([(CODE, 1)], status="ready-for-handling")
        elif self.vendor == "anymarket":
            external = self.emulator.add_order([(CODE, 1, str(PRICE))], status="PAID_WAITING_SHIP")
        else:
            external = self.emulator.add_order([(CODE, 1)], shipping_mode="custom")
        return make_order(
            self.company,
            self.channel,
            external_id=external,
            lines=[(self.sku, 1, str(PRICE), None)],
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
