"""The activation's admin side: permission, buttons, pages, changelist actions."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Group, Permission, User
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from channels.models import ActivationAction, ActivationRecord, ChannelStatus, SalesChannel
from mappings.models import Listing, MappingKind
from sandbox.vtex import VtexEmulator
from tests.factories import make_channel, make_company, make_member, make_sku
from tests.sync.activation.builders import SELLER, add_fallbacks, ready_channel

CHANGELIST = "admin:channels_saleschannel_changelist"


def url(name: str, channel) -> str:
    return reverse(f"admin:channels_saleschannel_{name}", args=[channel.pk])


@pytest.fixture
def back_office_client(client, db):
    """Staff with every permission on our apps except the activation."""
    user = User.objects.create_user("backoffice", password="pw-backoffice-1", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label__in=["channels", "erp", "mappings", "sync"]
        ).exclude(codename="activate_integration")
    )
    client.force_login(user)
    client.user = user  # tests make it a member of their channel's company
    return client


@pytest.fixture
def support_client(client, db):
    user = User.objects.create_user("support", password="pw-support-1", is_staff=True)
    user.groups.add(Group.objects.get(name="Support"))
    client.force_login(user)
    client.user = user
    return client


def action_names(response) -> set[str]:
    return {name for name, _label in response.context["action_form"].fields["action"].choices}


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- permission -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_without_the_permission_no_action_no_button_and_403_on_every_url(back_office_client):
    channel = make_channel(connector="vtex")
    make_member(back_office_client.user, channel.company)
    response = back_office_client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    assert "activate_integration" not in action_names(response)
    assert "deactivate_integration" not in action_names(response)

    page = back_office_client.get(url("change", channel))
    tools = dict(page.context["channel_tools"])
    assert "Test connection" in tools  # any user who can change the channel
    assert "Activate…" not in tools

    for name in ("activate", "deactivate", "activation_report"):
        assert back_office_client.get(url(name, channel)).status_code == 403, name
        assert back_office_client.post(url(name, channel)).status_code == 403, name
    response = back_office_client.post(
        reverse(CHANGELIST),
        {"action": "activate_integration", ACTION_CHECKBOX_NAME: [channel.pk], "post": "yes"},
    )
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.DRAFT


@pytest.mark.django_db
def test_support_sees_the_actions_and_buttons(support_client):
    channel = make_channel(connector="vtex")
    response = support_client.get(reverse(CHANGELIST))
    assert {"activate_integration", "deactivate_integration"} <= action_names(response)
    tools = dict(support_client.get(url("change", channel)).context["channel_tools"])
    assert tools["Activate…"] == url("activate", channel)
    assert tools["Test connection"] == url("test_connection", channel)
    assert "Deactivate…" not in tools


# --- test connection --------------------------------------------------------------------------


@pytest.mark.django_db
def test_test_connection_button(ml, back_office_client):
    channel = ready_channel(ml, "mercadolivre")
    make_member(back_office_client.user, channel.company)
    assert back_office_client.get(url("test_connection", channel)).status_code == 200

    response = back_office_client.post(url("test_connection", channel))

    assert response.status_code == 302
    assert response["Location"] == url("change", channel)
    assert "Connected to Mercado Livre: account 123456789." in texts(response)
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.READY


# --- the confirmation page --------------------------------------------------------------------


@pytest.mark.django_db
def test_confirmation_page_lists_checks_and_activates_on_confirm(ml, support_client):
    channel = ready_channel(ml, "mercadolivre")
    make_sku(channel.company, code="A-1")
    ml.add_listing(seller_sku="A-1")

    page = support_client.get(url("activate", channel))

    assert page.status_code == 200
    html = page.content.decode()
    for title in ("Credentials complete", "No other ERP connected", "De-para complete"):
        assert title in html
    assert 'value="Activate" >' in html or 'value="Activate">' in html  # enabled
    assert "Previous ERP" not in html  # Mercado Livre lists the apps: nothing to type

    response = support_client.post(url("activate", channel))

    assert response.status_code == 302, texts(response)
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.ACTIVE
    assert Listing.objects.filter(channel=channel).count() == 1
    record = ActivationRecord.objects.get(channel=channel)
    assert record.user == support_client.user
    tools = dict(support_client.get(url("change", channel)).context["channel_tools"])
    assert "Deactivate…" in tools and "Activate…" not in tools


@pytest.mark.django_db
def test_blocked_confirmation_page_disables_the_button(ml, support_client):
    channel = ready_channel(ml, "mercadolivre", de_para=False)
    add_fallbacks(channel, [MappingKind.PAYMENT_METHOD, MappingKind.ORDER_STATUS])

    page = support_client.get(url("activate", channel))

    html = page.content.decode()
    assert 'value="Activate" disabled' in html
    assert "Jadlog" in html
    response = support_client.post(url("activate", channel))
    assert response.status_code == 200  # the page again, with the reason
    assert any("De-para complete" in m for m in texts(response))
    channel.refresh_from_db()
    assert channel.status != ChannelStatus.ACTIVE


@pytest.mark.django_db
def test_typed_confirmation_is_asked_and_recorded(vtex, support_client):
    vtex.app_keys[VtexEmulator.demo_credentials()["app_key"]].license_manager = False
    channel = ready_channel(vtex, "vtex")
    html = support_client.get(url("activate", channel)).content.decode()
    assert "Previous ERP on this store" in html
    assert 'value="Activate" >' in html or 'value="Activate">' in html

    # Naming an ERP without confirming it is disconnected is refused by the form.
    response = support_client.post(url("activate", channel), {"previous_erp": "Bling"})
    assert response.status_code == 200
    assert "Tick this to confirm" in response.content.decode()

    response = support_client.post(
        url("activate", channel), {"previous_erp": "Bling", "disconnected": "on"}
    )
    assert response.status_code == 302, texts(response)
    record = ActivationRecord.objects.get(channel=channel)
    assert record.confirmation == "Previous ERP: Bling — confirmed disconnected from this store."


@pytest.mark.django_db
def test_deactivate_page(ml, support_client):
    channel = ready_channel(ml, "mercadolivre")
    assert support_client.post(url("activate", channel)).status_code == 302
    assert support_client.get(url("deactivate", channel)).status_code == 200
    response = support_client.post(url("deactivate", channel))
    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.PAUSED
    assert ActivationRecord.objects.filter(
        channel=channel, action=ActivationAction.DEACTIVATE
    ).exists()


@pytest.mark.django_db
def test_csv_report_download(ml, support_client):
    channel = ready_channel(ml, "mercadolivre")
    ml.add_listing(seller_sku="ONLY-ON-ML")
    response = support_client.get(url("activation_report", channel))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "ONLY-ON-ML" in response.content.decode()


@pytest.mark.django_db
def test_the_account_conflict_names_another_companys_channel_only_to_who_sees_it(
    ml, client, support_user
):
    """The same vendor account active on another company's channel blocks for everyone; a
    company user holding the activation permission is not told which channel it is."""
    channel = ready_channel(ml, "mercadolivre")
    other = make_channel(make_company(), connector="mercadolivre", name="Loja antiga")
    SalesChannel.objects.filter(pk=other.pk).update(
        status=ChannelStatus.ACTIVE, external_account_id=SELLER
    )
    user = User.objects.create_user("company-support", password="pw-company-1", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="channels"))
    make_member(user, channel.company)
    client.force_login(user)
    selected = {"action": "activate_integration", ACTION_CHECKBOX_NAME: [channel.pk]}

    for page in (client.get(url("activate", channel)), client.post(reverse(CHANGELIST), selected)):
        html = page.content.decode()
        assert "already integrated through another active channel" in html
        assert "An active channel of another company" in html
        assert "Loja antiga" not in html

    client.force_login(support_user)
    assert "Loja antiga" in client.get(url("activate", channel)).content.decode()
    channel.refresh_from_db()
    assert channel.status != ChannelStatus.ACTIVE


# --- changelist actions ------------------------------------------------------------------------


@pytest.mark.django_db
def test_activating_several_channels_reports_each_outcome(ml, vtex, support_client):
    good = ready_channel(ml, "mercadolivre")
    blocked = ready_channel(vtex, "vtex", de_para=False)  # nothing mapped
    selected = {"action": "activate_integration", ACTION_CHECKBOX_NAME: [good.pk, blocked.pk]}

    page = support_client.post(reverse(CHANGELIST), selected)
    assert page.status_code == 200
    html = page.content.decode()
    assert str(good) in html and str(blocked) in html
    assert "A check blocks this channel" in html

    response = support_client.post(reverse(CHANGELIST), {**selected, "post": "yes"})

    assert response.status_code == 302
    messages = texts(response)
    assert any(m.startswith(f"“{good}” is active on account") for m in messages)
    assert any(m.startswith(f"“{blocked}” was not activated") for m in messages)
    good.refresh_from_db()
    blocked.refresh_from_db()
    assert good.status == ChannelStatus.ACTIVE
    assert blocked.status != ChannelStatus.ACTIVE

    response = support_client.post(
        reverse(CHANGELIST),
        {"action": "deactivate_integration", ACTION_CHECKBOX_NAME: [good.pk, blocked.pk]},
    )
    messages = texts(response)
    assert any(m.startswith(f"“{good}” is paused") for m in messages)
    assert any(m.startswith(f"“{blocked}” is not active") for m in messages)


# --- the audit trail ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_activation_records_are_read_only_with_constant_queries(admin_client):
    company = make_company()

    def add_records(n):
        for _ in range(n):
            channel = make_channel(company, connector="vtex")
            ActivationRecord.objects.create(
                channel=channel,
                action=ActivationAction.ACTIVATE,
                account_id="loja",
                checks=[{"key": "data", "title": "Data", "status": "warn", "message": "m"}],
            )

    changelist = reverse("admin:channels_activationrecord_changelist")
    add_records(2)
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get(changelist).status_code == 200
    add_records(8)
    with CaptureQueriesContext(connection) as many:
        assert admin_client.get(changelist).status_code == 200
    # The channel filter lists channels in one query whatever their number.
    assert len(many) == len(few)
    record = ActivationRecord.objects.first()
    page = admin_client.get(reverse("admin:channels_activationrecord_change", args=[record.pk]))
    assert page.status_code == 200
    assert "<strong>Data</strong> [warn] m" in page.content.decode()
    assert admin_client.get(reverse("admin:channels_activationrecord_add")).status_code == 403


@pytest.mark.django_db
def test_support_sees_what_the_channel_page_shows_but_cannot_change_de_para(client):
    from channels.services import channel_set_status
    from mappings.models import OrderStatusMapping
    from mappings.services import mapping_create
    from tests.factories import make_channel as build_channel

    channel = build_channel(connector="anymarket")
    channel_set_status(channel=channel, status="active")
    mapping_create(channel=channel, kind="order_status", code="PAID_WAITING_SHIP", target="paid")
    user = User.objects.create_user("suporte", password="pw-support-1", is_staff=True)
    user.groups.add(Group.objects.get(name="Support"))
    client.force_login(user)
    html = client.get(reverse("admin:channels_saleschannel_change", args=[channel.pk])).content
    html = html.decode()
    assert "PAID_WAITING_SHIP" in html  # the de-para inline is visible
    assert "how often and how much each flow syncs" in html  # the sync settings inline
    assert client.get(reverse("admin:sync_syncrun_changelist")).status_code == 200
    assert client.get(reverse("admin:sync_heldorder_changelist")).status_code == 200
    assert not user.has_perm("mappings.change_orderstatusmapping")
    assert OrderStatusMapping.objects.filter(channel=channel).count() == 1
