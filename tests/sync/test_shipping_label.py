"""The shipping label downloaded from the order page, against the Mercado Livre emulator over
HTTP: refused with the reason until the NF-e is imported (invoice_pending), then PDF and ZPL
with a proper file name; only for users who may change the order, in their company; nothing
secret in the page; a vendor without labels says so without a request."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Permission, User
from django.contrib.messages import get_messages
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse

from channels.services import channel_credentials
from erp import services
from sync.models import ChannelLease, FulfilmentEvent, FulfilmentState
from sync.services.runs import run_flow
from tests.factories import make_company, make_member, make_order, make_sku, nfe_access_key
from tests.sync.engine import active_channel, declared_rate
from tests.sync.services.test_fulfilment_flow import nfe_xml
from vendors.registry import get_adapter_class

ISSUED = datetime(2026, 12, 3, 10, 0, tzinfo=ZoneInfo("America/Sao_Paulo"))
CODE = "CAM-P"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


class Shop:
    def __init__(self, vendor, emulator):
        self.emulator = emulator
        emulator.seed_catalog([CODE], price="59.90", quantity=10)
        self.channel = active_channel(vendor, emulator)
        self.company = self.channel.company
        self.sku = make_sku(self.company, code=CODE)

    def place(self, **kwargs):
        external = self.emulator.add_order([(CODE, 1)], **kwargs)
        return make_order(
            self.company, self.channel, external_id=external, lines=[(self.sku, 1, "59.90", None)]
        )

    def invoice_and_send(self, order):
        key = nfe_access_key(self.company.cnpj, series=1, number=1234)
        services.order_invoice(
            order=order,
            number=1234,
            series=1,
            access_key=key,
            issued_at=ISSUED,
            total=order.total,
            xml_file=ContentFile(nfe_xml(key), name="nfe.xml"),
        )
        run_flow(channel_id=self.channel.pk, flow="fulfilment")
        event = FulfilmentEvent.objects.get(order=order)
        assert event.state == FulfilmentState.SENT, event.last_error


@pytest.fixture
def ml(emulator, db):
    with declared_rate(get_adapter_class("mercadolivre"), rate=500, burst=50):
        yield Shop("mercadolivre", emulator("mercadolivre", rate=500, burst=50))


def label_url(order, kind):
    return reverse("admin:erp_order_shipping_label", args=[order.pk, kind])


def page_url(order):
    return reverse("admin:erp_order_change", args=[order.pk])


def shown_messages(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def secrets_of(channel):
    return [v for v in channel_credentials(channel=channel).values() if v and len(v) >= 8]


def test_the_label_waits_for_the_nfe_then_downloads_as_pdf_and_zpl(admin_client, ml):
    order = ml.place(shipping_mode="drop_off")
    page = admin_client.get(page_url(order)).content.decode()
    assert label_url(order, "pdf") in page and label_url(order, "zpl") in page

    refused = admin_client.get(label_url(order, "pdf"))
    assert refused.status_code == 302 and refused["Location"] == page_url(order)
    [message] = shown_messages(refused)
    assert "has not released the label yet" in message
    assert "invoice_pending" in message  # the vendor's own words
    assert ml.emulator.fulfilment_of(order.external_id) == []

    ml.invoice_and_send(order)
    pdf = admin_client.get(label_url(order, "pdf"))
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"].startswith("attachment; filename=")
    assert pdf["Content-Disposition"].endswith('.pdf"')
    assert pdf.content.startswith(b"%PDF")
    zpl = admin_client.get(label_url(order, "zpl"))
    assert zpl.status_code == 200
    assert zpl["Content-Type"].startswith("text/plain")
    assert zpl["Content-Disposition"].endswith('.zpl"')
    assert zpl.content.startswith(b"^XA")
    assert [action for action, _ in ml.emulator.fulfilment_of(order.external_id)] == [
        "invoice",
        "label",
    ]
    for response in (refused, pdf, zpl):
        body = response.content.decode("latin-1") + str(response.headers)
        assert not any(secret in body for secret in secrets_of(ml.channel))
    # Paced by the channel's limiter, whose state is left for the next caller.
    assert ChannelLease.objects.get(channel=ml.channel).limiter_saved_at is not None


def test_a_self_shipped_order_has_no_label_and_says_why(admin_client, ml):
    order = ml.place(shipping_mode="custom")
    response = admin_client.get(label_url(order, "pdf"))
    assert response.status_code == 302
    [message] = shown_messages(response)
    assert "prints no label for this order" in message


def test_an_unknown_format_is_not_found(admin_client, ml):
    order = ml.place()
    assert admin_client.get(label_url(order, "png")).status_code == 404


def test_only_users_who_may_change_the_order_in_their_company(ml):
    order = ml.place()
    viewer = User.objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_order"))
    make_member(viewer, ml.company)
    client = Client()
    client.force_login(viewer)
    assert client.get(label_url(order, "pdf")).status_code == 403
    assert label_url(order, "pdf") not in client.get(page_url(order)).content.decode()

    outsider = User.objects.create_user("outsider", password="x", is_staff=True)
    outsider.user_permissions.add(
        Permission.objects.get(codename="view_order"),
        Permission.objects.get(codename="change_order"),
    )
    make_member(outsider, make_company())
    client.force_login(outsider)
    assert client.get(label_url(order, "pdf")).status_code == 404
    assert ml.emulator.fulfilment_of(order.external_id) == []


def test_a_vendor_without_labels_says_so_without_a_request(admin_client, emulator, db):
    vtex = emulator("vtex")
    shop = Shop("vtex", vtex)
    order = shop.place(status="ready-for-handling")
    assert label_url(order, "pdf") not in admin_client.get(page_url(order)).content.decode()
    before = len(vtex.requests_log)
    response = admin_client.get(label_url(order, "pdf"))
    assert response.status_code == 302
    [message] = shown_messages(response)
    assert "does not provide shipping labels" in message
    assert len(vtex.requests_log) == before
