"""Mercado Livre fulfilment against the emulator over HTTP: NF-e import releases the label of
drop-off / cross-docking / Places shipments; other shipments get the pack's fiscal document;
the seller's own shipments (me1, custom) take tracking and delivery; labels in PDF and ZPL."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from vendors.errors import InvalidVendorData, NotSupportedError, ValidationFailedError
from vendors.mercadolivre.adapter import MercadoLivreConnector
from vendors.spec import FULFILMENT, Capability
from vendors.types import (
    FulfilmentCancel,
    FulfilmentDelivered,
    FulfilmentInvoice,
    FulfilmentOutcome,
    FulfilmentTracking,
    LabelFormat,
)

BRT = timezone(timedelta(hours=-3))
KEY = "35241112345678000195550010000012341000012345"
NFE_XML = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<nfeProc xmlns="http://www.portalfiscal.inf.br/nfe" versao="4.00">'
    f'<NFe><infNFe Id="NFe{KEY}" versao="4.00"><ide><nNF>1234</nNF><serie>1</serie></ide>'
    "</infNFe></NFe>"
    f"<protNFe><infProt><chNFe>{KEY}</chNFe></infProt></protNFe></nfeProc>"
)


def invoice(xml=NFE_XML, key=KEY):
    return FulfilmentInvoice(
        number="1234",
        series="1",
        access_key=key,
        issued_at=datetime(2026, 12, 1, 10, 30, tzinfo=BRT),
        total=Decimal("59.90"),
        xml=xml,
    )


TRACKING = FulfilmentTracking(
    carrier_code="Correios",
    tracking_number="BR123456789XX",
    shipped_at=datetime(2026, 12, 1, 15, 0, tzinfo=BRT),
)
DELIVERED = FulfilmentDelivered(delivered_at=datetime(2026, 12, 3, 11, 5, tzinfo=BRT))


@pytest.fixture
def ml(emulator):
    emu = emulator("mercadolivre", rate=1000, burst=1000)
    emu.add_listing(seller_sku="SKU-A", price=59.9, quantity=10)
    return emu


def connector(emu):
    credentials = {
        **emu.credentials,
        "access_token": emu.issue_access_token(),
        "access_token_expires_at": (datetime.now(UTC) + timedelta(hours=5)).isoformat(),
    }
    return MercadoLivreConnector(credentials=credentials, base_url=emu.url, sleep=lambda s: None)


def shipment_of(emu, order_id):
    return emu.shipments[str(emu.orders[order_id]["shipping"]["id"])]


def test_spec_declares_fulfilment():
    spec = MercadoLivreConnector.spec
    assert {
        Capability.FULFIL_INVOICE,
        Capability.FULFIL_TRACKING,
        Capability.FULFIL_DELIVERED,
        Capability.SHIPPING_LABEL,
        Capability.SHIPPING_NEEDS_INVOICE,
    } <= spec.capabilities
    assert Capability.FULFIL_CANCEL not in spec.capabilities
    assert spec.limits.for_flow(FULFILMENT).max_items_per_request == 1


@pytest.mark.parametrize("mode", ["drop_off", "cross_docking", "xd_drop_off"])
def test_the_nfe_import_releases_the_label(ml, mode):
    order_id = ml.add_order([("SKU-A", 1)], shipping_mode=mode)
    adapter = connector(ml)
    assert shipment_of(ml, order_id)["substatus"] == "invoice_pending"
    with pytest.raises(ValidationFailedError, match="not available.*invoice_pending"):
        adapter.shipping_label(order_id)

    result = adapter.send_invoice(order_id, invoice())

    assert result.outcome == FulfilmentOutcome.ACCEPTED
    assert shipment_of(ml, order_id)["substatus"] == "ready_to_print"
    pdf = adapter.shipping_label(order_id, LabelFormat.PDF)
    assert pdf.content.startswith(b"%PDF") and pdf.content_type == "application/pdf"
    assert ml.fulfilment_of(order_id) == [
        ("invoice", {"fiscal_key": KEY}),
        ("label", {"format": "pdf"}),
    ]


def test_the_zpl_label_for_thermal_printers(ml):
    order_id = ml.add_order([("SKU-A", 1)], shipping_mode="drop_off")
    adapter = connector(ml)
    adapter.send_invoice(order_id, invoice())
    zpl = adapter.shipping_label(order_id, LabelFormat.ZPL)
    assert zpl.format == LabelFormat.ZPL
    assert zpl.content.startswith(b"^XA") and zpl.content.rstrip().endswith(b"^XZ")
    assert shipment_of(ml, order_id)["tracking_number"].encode() in zpl.content


def test_the_nfe_import_repeated_applies_once(ml):
    order_id = ml.add_order([("SKU-A", 1)], shipping_mode="drop_off")
    adapter = connector(ml)
    first = adapter.send_invoice(order_id, invoice())
    again = adapter.send_invoice(order_id, invoice())
    assert (first.outcome, again.outcome) == (
        FulfilmentOutcome.ACCEPTED,
        FulfilmentOutcome.ALREADY_APPLIED,
    )
    assert ml.fulfilment_of(order_id) == [("invoice", {"fiscal_key": KEY})]
    assert ml.stats["POST ^/shipments/(?P<shipment_id>[^/]+)/invoice_data$"] == 1


@pytest.mark.parametrize(
    ("xml", "words"),
    [
        ("<nfeProc><NFe>", "The invoice XML is not well-formed"),
        ("<nfeProc><NFe/></nfeProc>", "The invoice XML has no NF-e access key"),
    ],
)
def test_a_bad_xml_is_refused_in_mercado_livre_words(ml, xml, words):
    order_id = ml.add_order([("SKU-A", 1)], shipping_mode="drop_off")
    result = connector(ml).send_invoice(order_id, invoice(xml=xml))
    assert result.outcome == FulfilmentOutcome.REFUSED
    assert words in result.message
    assert shipment_of(ml, order_id)["substatus"] == "invoice_pending"


def test_an_invoice_without_its_xml_is_refused_before_any_write(ml):
    order_id = ml.add_order([("SKU-A", 1)], shipping_mode="drop_off")
    ml.reset_stats()
    result = connector(ml).send_invoice(order_id, invoice(xml=None))
    assert result.outcome == FulfilmentOutcome.REFUSED
    assert "needs the NF-e XML" in result.message
    assert ml.fulfilment_of(order_id) == []
    assert not any(entry.method == "POST" for entry in ml.requests_log)


@pytest.mark.parametrize("mode", ["self_service", "me1", "custom"])
def test_other_shipments_get_the_fiscal_document_on_the_pack_once(ml, mode):
    order_id = ml.add_order([("SKU-A", 1)], shipping_mode=mode)
    adapter = connector(ml)
    first = adapter.send_invoice(order_id, invoice())
    again = adapter.send_invoice(order_id, invoice())
    assert (first.outcome, again.outcome) == (
        FulfilmentOutcome.ACCEPTED,
        FulfilmentOutcome.ALREADY_APPLIED,
    )
    assert [a for a, _ in ml.fulfilment_of(order_id)] == ["fiscal_document"]


def test_an_order_in_a_pack_attaches_to_the_pack(ml):
    one = ml.add_order([("SKU-A", 1)], shipping_mode="me1", pack_id=2000000555)
    two = ml.add_order([("SKU-A", 1)], shipping_mode="me1", pack_id=2000000555)
    adapter = connector(ml)
    assert adapter.send_invoice(one, invoice()).outcome == FulfilmentOutcome.ACCEPTED
    assert adapter.send_invoice(two, invoice()).outcome == FulfilmentOutcome.ALREADY_APPLIED
    assert list(ml.fiscal_documents) == ["2000000555"]


def test_full_is_invoiced_by_mercado_livre(ml):
    order_id = ml.add_order([("SKU-A", 1)], shipping_mode="fulfillment")
    result = connector(ml).send_invoice(order_id, invoice())
    assert result.outcome == FulfilmentOutcome.NOT_NEEDED and result.done
    assert ml.fulfilment_of(order_id) == []


@pytest.mark.parametrize("mode", ["me1", "custom"])
def test_self_shipped_tracking_then_delivered_once_each(ml, mode):
    order_id = ml.add_order([("SKU-A", 1)], shipping_mode=mode)
    adapter = connector(ml)
    results = [
        adapter.send_invoice(order_id, invoice()),
        adapter.send_tracking(order_id, TRACKING),
        adapter.send_tracking(order_id, TRACKING),
        adapter.mark_delivered(order_id, DELIVERED),
        adapter.mark_delivered(order_id, DELIVERED),
    ]
    assert [r.outcome for r in results] == [
        FulfilmentOutcome.ACCEPTED,
        FulfilmentOutcome.ACCEPTED,
        FulfilmentOutcome.ALREADY_APPLIED,
        FulfilmentOutcome.ACCEPTED,
        FulfilmentOutcome.ALREADY_APPLIED,
    ]
    assert ml.fulfilment_of(order_id) == [
        ("fiscal_document", {"id": f"{order_id}-1"}),
        ("tracking", {"tracking_number": "BR123456789XX"}),
        ("delivered", {}),
    ]
    assert shipment_of(ml, order_id)["status"] == "delivered"


def test_delivered_before_shipped_is_refused_in_mercado_livre_words(ml):
    order_id = ml.add_order([("SKU-A", 1)], shipping_mode="me1")
    result = connector(ml).mark_delivered(order_id, DELIVERED)
    assert result.outcome == FulfilmentOutcome.REFUSED
    assert "cannot become delivered" in result.message


def test_mercado_envios_tracks_me2_itself(ml):
    order_id = ml.add_order([("SKU-A", 1)], shipping_mode="drop_off")
    adapter = connector(ml)
    assert adapter.send_tracking(order_id, TRACKING).outcome == FulfilmentOutcome.NOT_NEEDED
    assert adapter.mark_delivered(order_id, DELIVERED).outcome == FulfilmentOutcome.NOT_NEEDED
    with pytest.raises(NotSupportedError):
        adapter.cancel_order(order_id, FulfilmentCancel("Sem estoque"))


def test_no_label_for_self_shipped_orders(ml):
    order_id = ml.add_order([("SKU-A", 1)], shipping_mode="me1")
    with pytest.raises(NotSupportedError):
        connector(ml).shipping_label(order_id)


def test_5xx_is_retryable(ml):
    order_id = ml.add_order([("SKU-A", 1)], shipping_mode="drop_off")
    ml.set_faults(rate_5xx=1.0)
    result = connector(ml).send_invoice(order_id, invoice())
    ml.set_faults(rate_5xx=0.0)
    assert result.outcome == FulfilmentOutcome.RETRY
    assert shipment_of(ml, order_id)["substatus"] == "invoice_pending"


def test_seeded_orders_cover_every_shipping_mode(emulator):
    emu = emulator("mercadolivre", rate=1000, burst=1000)
    emu.seed_data(listings=4, orders=24)
    kinds = {(s["logistic"]["mode"], s["logistic"]["type"]) for s in emu.shipments.values()}
    assert {("me2", "drop_off"), ("me2", "cross_docking"), ("me2", "xd_drop_off")} <= kinds
    assert {("me2", "fulfillment"), ("me1", "default"), ("custom", "default")} <= kinds


def test_a_first_attempt_reads_the_shipment_once_and_confirms_a_refusal(ml):
    """may_have_applied False: the order and its shipment are read once per order by one
    adapter, then each step is one write. A document someone else attached already makes
    Mercado Livre refuse the write; one read confirms it: ALREADY_APPLIED."""
    order_id = ml.add_order([("SKU-A", 1)], shipping_mode="custom")
    adapter = connector(ml)
    start = len(ml.requests_log)
    outcomes = [
        adapter.send_invoice(order_id, invoice(), may_have_applied=False).outcome,
        adapter.send_tracking(order_id, TRACKING, may_have_applied=False).outcome,
        adapter.mark_delivered(order_id, DELIVERED, may_have_applied=False).outcome,
    ]
    assert outcomes == [FulfilmentOutcome.ACCEPTED] * 3
    methods = [r.method for r in ml.requests_log[start:] if "oauth" not in r.path]
    assert methods == ["GET", "GET", "POST", "POST", "POST"]

    fresh = connector(ml)
    again = fresh.send_invoice(order_id, invoice(), may_have_applied=False)
    assert again.outcome == FulfilmentOutcome.ALREADY_APPLIED
    actions = [a for a, _ in ml.fulfilment_of(order_id)]
    assert actions == ["fiscal_document", "tracking", "delivered"]

    drop_off = ml.add_order([("SKU-A", 1)], shipping_mode="drop_off")
    assert adapter.send_invoice(drop_off, invoice(), may_have_applied=False).done
    repeat = connector(ml).send_invoice(drop_off, invoice(), may_have_applied=False)
    assert repeat.outcome == FulfilmentOutcome.ALREADY_APPLIED
    assert [a for a, _ in ml.fulfilment_of(drop_off)] == ["invoice"]


def test_the_imported_refs_spare_a_first_attempt_the_order_and_shipment_reads(ml):
    """normalize_order keeps what the fulfilment calls decide on (shipment id, logistic mode
    and type, pack); handed back, a first attempt is the writes alone. A retry
    (may_have_applied) still reads first: the refs carry no statuses."""
    order_id = ml.add_order([("SKU-A", 1)], shipping_mode="custom", pack_id=2000012345)
    refs = connector(ml).fetch_order(order_id).fulfilment_refs
    shipment = shipment_of(ml, order_id)
    assert refs == {
        "shipment_id": str(shipment["id"]),
        "logistic_mode": "custom",
        "logistic_type": shipment["logistic"]["type"],
        "pack_id": "2000012345",
    }
    adapter = connector(ml)
    start = len(ml.requests_log)
    outcomes = [
        adapter.send_invoice(
            order_id, replace(invoice(), order_refs=refs), may_have_applied=False
        ).outcome,
        adapter.send_tracking(
            order_id, replace(TRACKING, order_refs=refs), may_have_applied=False
        ).outcome,
    ]
    assert outcomes == [FulfilmentOutcome.ACCEPTED] * 2
    sent = [(r.method, r.path) for r in ml.requests_log[start:] if "oauth" not in r.path]
    assert sent == [
        ("POST", "/packs/2000012345/fiscal_documents"),
        ("POST", f"/shipments/{shipment['id']}/seller_notifications"),
    ]

    start = len(ml.requests_log)
    retry = connector(ml).mark_delivered(
        order_id, replace(DELIVERED, order_refs=refs), may_have_applied=True
    )
    assert retry.outcome == FulfilmentOutcome.ACCEPTED
    methods = [r.method for r in ml.requests_log[start:] if "oauth" not in r.path]
    assert methods == ["GET", "GET", "POST"]  # the order and its shipment, then the write
    assert [a for a, _ in ml.fulfilment_of(order_id)] == [
        "fiscal_document",
        "tracking",
        "delivered",
    ]


def test_a_bad_pack_id_is_an_error_naming_the_field(ml):
    order_id = ml.add_order([("SKU-A", 1)], shipping_mode="custom")
    adapter = connector(ml)
    document = dict(adapter.get_order_document(order_id))
    companions = adapter.order_companions(document)
    document["pack_id"] = {"id": 1}
    with pytest.raises(InvalidVendorData) as caught:
        adapter.normalize_order(document, **companions)
    assert caught.value.path == "pack_id"
    assert "pack_id" in str(caught.value)
