"""The order page: invoice, ship, deliver and cancel forms, and what the page shows."""

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from erp.models import Invoice, OrderStatus, Shipment
from sync.models import FulfilmentEvent, FulfilmentState
from tests.factories import (
    VALID_CNPJS,
    make_carrier_service,
    make_channel,
    make_company,
    make_member,
    make_order,
    make_sku,
    nfe_access_key,
)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def order(db):
    company = make_company()
    return make_order(
        company,
        make_channel(company),
        external_id="V-9",
        lines=[(make_sku(company), 1, "80.00", None)],
    )


def step_url(order, step):
    return reverse("admin:erp_order_fulfilment", args=[order.pk, step])


def invoice_data(order, **overrides):
    data = {
        "number": "501",
        "series": "1",
        "access_key": nfe_access_key(order.company.cnpj, series=1, number=501),
        "issued_at": "2026-12-03 10:00",
        "total": "80.00",
    }
    data.update(overrides)
    return data


def test_a_bad_key_is_refused_with_the_message_and_nothing_is_stored(admin_client, order):
    other = next(cnpj for cnpj in VALID_CNPJS if cnpj != order.company.cnpj)
    response = admin_client.post(
        step_url(order, "invoice"),
        invoice_data(order, access_key=nfe_access_key(other, series=1, number=501)),
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "does not match the company&#x27;s CNPJ" in html
    assert "Nothing was saved" in html
    assert not Invoice.objects.exists()
    assert not FulfilmentEvent.objects.exists()
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


def test_a_mistyped_digit_is_refused_on_the_key_field(admin_client, order):
    key = nfe_access_key(order.company.cnpj, series=1, number=501)
    typo = key[:10] + str((int(key[10]) + 1) % 10) + key[11:]
    response = admin_client.post(step_url(order, "invoice"), invoice_data(order, access_key=typo))
    html = response.content.decode()
    assert "field-access_key errors" in html
    assert "check digit" in html
    assert not Invoice.objects.exists()


def test_invoice_then_ship_from_the_order_page(admin_client, order):
    page = admin_client.get(reverse("admin:erp_order_change", args=[order.pk])).content.decode()
    assert step_url(order, "invoice") in page
    assert step_url(order, "deliver") not in page
    response = admin_client.post(step_url(order, "invoice"), invoice_data(order))
    assert response.status_code == 302
    assert Invoice.objects.get(order=order).number == 501
    service = make_carrier_service(order.company)
    response = admin_client.post(
        step_url(order, "ship"),
        {
            "carrier_service": service.pk,
            "tracking_code": "BR999",
            "tracking_url": "https://rastreio.example/BR999",
            "require_invoice": "on",
        },
    )
    assert response.status_code == 302
    assert Shipment.objects.get(order=order).tracking_code == "BR999"
    page = admin_client.get(response["Location"]).content.decode()
    assert "marked as shipped" in page
    assert "BR999" in page
    assert step_url(order, "deliver") in page
    assert list(FulfilmentEvent.objects.filter(order=order).values_list("kind", flat=True)) == [
        "invoice",
        "ship",
    ]


def test_cancel_of_an_invoiced_order_without_reason_is_refused_on_the_field(admin_client, order):
    admin_client.post(step_url(order, "invoice"), invoice_data(order))
    response = admin_client.post(step_url(order, "cancel"), {"reason": ""})
    assert "field-reason errors" in response.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.INVOICED
    admin_client.post(step_url(order, "cancel"), {"reason": "Buyer regret"})
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELED
    page = admin_client.get(reverse("admin:erp_order_change", args=[order.pk])).content.decode()
    assert "The NF-e must be canceled in the ERP." in page


def test_the_order_page_shows_the_events_and_the_channels_refusal(admin_client, order):
    admin_client.post(step_url(order, "invoice"), invoice_data(order))
    FulfilmentEvent.objects.filter(order=order).update(
        state=FulfilmentState.REFUSED, attempts=1, last_error="Invoice value differs from order"
    )
    page = admin_client.get(reverse("admin:erp_order_change", args=[order.pk])).content.decode()
    assert "Refused by the channel" in page
    assert "Invoice value differs from order" in page
    assert order.invoice.access_key in page


def test_the_order_page_costs_the_same_queries_with_more_events(admin_client, order):
    from erp import services

    url = reverse("admin:erp_order_change", args=[order.pk])
    admin_client.post(step_url(order, "invoice"), invoice_data(order))
    admin_client.get(url)  # shows the success message once
    with CaptureQueriesContext(connection) as one_event:
        admin_client.get(url)
    services.order_ship(order=order, carrier_service=make_carrier_service(order.company))
    services.order_deliver(order=order)
    with CaptureQueriesContext(connection) as three_events:
        admin_client.get(url)
    assert FulfilmentEvent.objects.filter(order=order).count() == 3
    assert len(three_events) == len(one_event)


def test_another_companys_user_gets_404_and_the_deliver_action_works(db, order):
    user = User.objects.create_user("clerk", password="pw", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_order", "change_order"])
    )
    make_member(user, make_company())
    client = Client()
    client.force_login(user)
    assert client.get(step_url(order, "invoice")).status_code == 404
    assert client.post(step_url(order, "cancel"), {"reason": "x"}).status_code == 404
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID

    make_member(user, order.company)
    assert client.get(step_url(order, "ship")).status_code == 200
    from erp import services

    services.order_ship(
        order=order, carrier_service=make_carrier_service(order.company), require_invoice=False
    )
    response = client.post(
        reverse("admin:erp_order_changelist"),
        {"action": "deliver_selected", "_selected_action": [order.pk]},
        follow=True,
    )
    assert "1 orders marked as delivered." in response.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED
