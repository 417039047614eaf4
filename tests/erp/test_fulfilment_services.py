"""erp.services order_invoice / order_ship / order_deliver / order_cancel."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile

from erp import services
from erp.models import Invoice, Order, OrderStatus, Shipment, StockBalance
from erp.signals import FulfilmentKind, order_fulfilment_changed
from tests.factories import (
    VALID_CNPJS,
    make_carrier_service,
    make_company,
    make_order,
    make_sku,
    make_warehouse,
    nfe_access_key,
)

SP = ZoneInfo("America/Sao_Paulo")
ISSUED = datetime(2026, 12, 3, 10, 0, tzinfo=SP)


@pytest.fixture
def announcements():
    received = []

    def receiver(sender, signal=None, **kwargs):
        received.append(kwargs)

    order_fulfilment_changed.connect(receiver, dispatch_uid="test-fulfilment")
    yield received
    order_fulfilment_changed.disconnect(dispatch_uid="test-fulfilment")


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def setup(db):
    company = make_company()
    warehouse = make_warehouse(company)
    sku = make_sku(company, code="A")
    services.stock_set(sku=sku, warehouse=warehouse, on_hand=10)
    services.stock_reserve(sku=sku, warehouse=warehouse, quantity=2)
    order = make_order(company, lines=[(sku, 2, "50.00", warehouse)], shipping_total=0)
    return company, warehouse, sku, order


def invoice(order: Order, **overrides):
    number = overrides.pop("number", 1234)
    series = overrides.pop("series", 1)
    values = {
        "order": order,
        "number": number,
        "series": series,
        "access_key": nfe_access_key(order.company.cnpj, series=series, number=number),
        "issued_at": ISSUED,
        "total": order.total,
    }
    values.update(overrides)
    return services.order_invoice(**values)


def other_cnpj(order: Order) -> str:
    return next(cnpj for cnpj in VALID_CNPJS if cnpj != order.company.cnpj)


def messages(error: ValidationError) -> str:
    return " ".join(error.messages)


def test_invoice_records_the_nfe_sets_the_status_and_announces(setup, announcements):
    company, _wh, _sku, order = setup
    key = nfe_access_key(company.cnpj, series=1, number=1234)
    result = invoice(order, xml_file=ContentFile(f'<nfeProc><infNFe Id="NFe{key}"/></nfeProc>'))
    order.refresh_from_db()
    assert order.status == OrderStatus.INVOICED
    assert result.access_key == nfe_access_key(company.cnpj, series=1, number=1234)
    assert result.xml_file.name.endswith(f"{result.access_key}.xml")
    assert announcements == [
        {
            "company_id": company.pk,
            "order_id": order.pk,
            "kind": FulfilmentKind.INVOICE,
            "status": OrderStatus.INVOICED,
            "channel_id": None,
        }
    ]


def test_invoice_refuses_a_key_of_another_cnpj_and_stores_nothing(setup, announcements):
    _company, _wh, _sku, order = setup
    with pytest.raises(ValidationError) as error:
        invoice(order, access_key=nfe_access_key(other_cnpj(order), number=1234))
    assert "does not match the company's CNPJ" in messages(error.value)
    assert not Invoice.objects.exists()
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert announcements == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"%PDF-1.4 a DANFE", "is not an XML file"),
        (
            b"<nfeProc><chNFe>35000000000000000000000000000000000000000000</chNFe></nfeProc>",
            "does not contain the access key",
        ),
    ],
)
def test_invoice_refuses_an_xml_that_is_not_this_nfes(setup, content, message):
    _company, _wh, _sku, order = setup
    with pytest.raises(ValidationError) as error:
        invoice(order, xml_file=ContentFile(content, name="nfe.xml"))
    assert message in messages(error.value)
    assert not Invoice.objects.exists()


def test_invoice_refuses_a_second_invoice(setup):
    _company, _wh, _sku, order = setup
    invoice(order)
    with pytest.raises(ValidationError) as error:
        invoice(order, number=1235)
    assert "already has an invoice (NF-e 1234)" in messages(error.value)
    assert Invoice.objects.count() == 1


def test_invoice_refuses_a_canceled_order(setup):
    _company, _wh, _sku, order = setup
    services.order_cancel(order=order)
    with pytest.raises(ValidationError) as error:
        invoice(order)
    assert "is canceled: it cannot be invoiced" in messages(error.value)


def test_invoice_total_tolerates_one_centavo_per_line_only(setup):
    _company, _wh, _sku, order = setup  # one line, total 100.00
    with pytest.raises(ValidationError) as error:
        invoice(order, total=Decimal("100.02"))
    assert "does not match the order total (100.00)" in messages(error.value)
    assert invoice(order, total=Decimal("99.99")).total == Decimal("99.99")


def test_ship_before_invoice_is_refused_unless_the_caller_allows_it(setup, announcements):
    company, _wh, _sku, order = setup
    service = make_carrier_service(company)
    with pytest.raises(ValidationError) as error:
        services.order_ship(order=order, carrier_service=service, tracking_code="BR1")
    assert "invoice it (NF-e) before shipping" in messages(error.value)
    assert not Shipment.objects.exists()
    shipment = services.order_ship(
        order=order, carrier_service=service, tracking_code=" BR1 ", require_invoice=False
    )
    assert shipment.tracking_code == "BR1"
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED
    assert [a["kind"] for a in announcements] == [FulfilmentKind.SHIP]


def test_ship_refuses_twice_and_another_companys_carrier(setup):
    company, _wh, _sku, order = setup
    invoice(order)
    other = make_carrier_service(make_company(), carrier="Jadlog", service="Package")
    with pytest.raises(ValidationError) as error:
        services.order_ship(order=order, carrier_service=other)
    assert "belongs to another company" in messages(error.value)
    services.order_ship(order=order, carrier_service=make_carrier_service(company))
    with pytest.raises(ValidationError) as error:
        services.order_ship(order=order, carrier_service=make_carrier_service(company))
    assert "already shipped" in messages(error.value)


def test_ship_refuses_a_malformed_tracking_url(setup):
    company, _wh, _sku, order = setup
    invoice(order)
    with pytest.raises(ValidationError):
        services.order_ship(
            order=order, carrier_service=make_carrier_service(company), tracking_url="not a url"
        )
    assert not Shipment.objects.exists()


def test_deliver_needs_a_shipment_and_happens_once(setup, announcements):
    company, _wh, _sku, order = setup
    invoice(order)
    with pytest.raises(ValidationError) as error:
        services.order_deliver(order=order)
    assert "has not been shipped" in messages(error.value)
    shipped_at = datetime(2026, 12, 4, 9, 0, tzinfo=SP)
    services.order_ship(
        order=order, carrier_service=make_carrier_service(company), shipped_at=shipped_at
    )
    with pytest.raises(ValidationError) as error:
        services.order_deliver(order=order, delivered_at=shipped_at - timedelta(hours=1))
    assert "cannot be before the shipping date (04/12/2026 09:00)" in messages(error.value)
    services.order_deliver(order=order, delivered_at=shipped_at + timedelta(days=2))
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED
    with pytest.raises(ValidationError) as error:
        services.order_deliver(order=order)
    assert "already delivered" in messages(error.value)
    assert [a["kind"] for a in announcements] == [
        FulfilmentKind.INVOICE,
        FulfilmentKind.SHIP,
        FulfilmentKind.DELIVER,
    ]


def test_cancel_releases_the_reservation_exactly_once(setup, announcements):
    _company, warehouse, sku, order = setup
    assert StockBalance.objects.get(sku=sku, warehouse=warehouse).reserved == 2
    services.order_cancel(order=order)
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELED
    assert order.canceled_at is not None
    assert order.nfe_cancel_required is False
    assert StockBalance.objects.get(sku=sku, warehouse=warehouse).reserved == 0
    services.stock_reserve(sku=sku, warehouse=warehouse, quantity=3)  # another order
    with pytest.raises(ValidationError) as error:
        services.order_cancel(order=order)
    assert "already canceled" in messages(error.value)
    assert StockBalance.objects.get(sku=sku, warehouse=warehouse).reserved == 3
    assert [a["kind"] for a in announcements] == [FulfilmentKind.CANCEL]


def test_cancel_of_an_invoiced_order_needs_a_reason_and_flags_the_nfe(setup):
    _company, _wh, _sku, order = setup
    invoice(order)
    with pytest.raises(ValidationError) as error:
        services.order_cancel(order=order, reason="  ")
    assert "is invoiced: say why it is canceled" in messages(error.value)
    order.refresh_from_db()
    assert order.status == OrderStatus.INVOICED
    services.order_cancel(order=order, reason="Buyer gave up before shipping")
    order.refresh_from_db()
    assert (order.status, order.nfe_cancel_required, order.cancel_reason) == (
        OrderStatus.CANCELED,
        True,
        "Buyer gave up before shipping",
    )


def test_a_delivered_order_cannot_be_canceled(setup):
    company, _wh, _sku, order = setup
    invoice(order)
    services.order_ship(order=order, carrier_service=make_carrier_service(company))
    services.order_deliver(order=order)
    with pytest.raises(ValidationError) as error:
        services.order_cancel(order=order, reason="late")
    assert "was delivered: it cannot be canceled" in messages(error.value)
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED


def test_messages_are_translated_to_portuguese(setup):
    from django.utils import translation

    _company, _wh, _sku, order = setup
    with translation.override("pt-br"):
        with pytest.raises(ValidationError) as error:
            invoice(order, access_key=nfe_access_key(other_cnpj(order), number=1234))
        assert "não corresponde ao CNPJ da empresa" in messages(error.value)
