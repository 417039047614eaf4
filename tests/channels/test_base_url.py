"""Where a channel's credentials are sent is a credentials matter.

The attack: a staff user with view + change on sales channels but no
channels.change_credentials points the API base URL at a server of theirs and presses Test
connection — the connector would send the decrypted keys there."""

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse

from channels.models import AccessChange, ChannelStatus, SalesChannel
from channels.services import channel_set_status
from sync.services.connectors import build_connector
from tests.admin_forms import form_data
from tests.factories import make_channel, make_member
from vendors.errors import ConnectorError

TOKEN = "ANY-gumga-token-base-url-0123456789"


@pytest.fixture
def changer(db, client):
    """View + change sales channels, nothing about credentials."""
    user = User.objects.create_user("changer", password="pw-changer-1", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="channels",
            codename__in=["view_saleschannel", "change_saleschannel", "view_syncsetting"],
        )
    )
    client.force_login(user)
    client.user = user
    return client


def change_url(channel):
    return reverse("admin:channels_saleschannel_change", args=[channel.pk])


def sandbox_channel(emulator, **kwargs):
    vendor = emulator("anymarket", rate=1000, burst=1000)
    channel = make_channel(
        connector="anymarket",
        credentials={"gumga_token": vendor.token},
        environment="sandbox",
        api_base_url=vendor.url,
        **kwargs,
    )
    return vendor, channel


@pytest.mark.django_db
def test_without_change_credentials_the_base_url_is_read_only_and_a_post_is_ignored(
    changer, emulator
):
    vendor, channel = sandbox_channel(emulator)
    make_member(changer.user, channel.company)
    html = changer.get(change_url(channel)).content.decode()
    assert 'name="api_base_url"' not in html  # shown as text, not an input
    assert vendor.url in html
    data = form_data(html, "saleschannel_form")
    data["api_base_url"] = "http://attacker.test:9999"
    response = changer.post(change_url(channel), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    channel.refresh_from_db()
    assert channel.api_base_url == vendor.url
    # Test connection still talks to the emulator, never to the attacker's address.
    assert build_connector(channel).base_url.startswith(vendor.url)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url,allowed,error",
    [
        ("http://api.anymarket.com.br/v2", ["api.anymarket.com.br"], "must use https"),
        ("https://attacker.test/v2", [], "no override is allowed"),
        ("https://attacker.test/v2", ["proxy.loja.com.br"], "not an allowed API host"),
        ("https://evil.proxy.loja.com.br.attacker.test", ["*.proxy.loja.com.br"], "not an allowed"),
        ("https://proxy.loja.com.br/v2", ["proxy.loja.com.br"], None),
        ("https://eu.proxy.loja.com.br/v2", ["*.proxy.loja.com.br"], None),
    ],
)
def test_production_overrides_must_be_https_on_the_operators_allow_list(
    settings, url, allowed, error
):
    from django.core.exceptions import ValidationError

    settings.CHANNEL_BASE_URL_ALLOWED_HOSTS = allowed
    channel = SalesChannel(
        name="Prod", connector="anymarket", environment="production", api_base_url=url
    )
    channel.company = make_channel().company
    if error is None:
        channel.full_clean()
    else:
        with pytest.raises(ValidationError, match=error):
            channel.full_clean()


@pytest.mark.django_db
def test_sandbox_channels_may_point_at_a_loopback_emulator():
    channel = SalesChannel(
        name="Sandbox",
        connector="anymarket",
        environment="sandbox",
        api_base_url="http://127.0.0.1:8703",
        company=make_channel().company,
    )
    channel.full_clean()


@pytest.mark.django_db
def test_a_stored_override_no_longer_allowed_sends_nothing(settings):
    settings.CHANNEL_BASE_URL_ALLOWED_HOSTS = ["proxy.loja.com.br"]
    channel = make_channel(
        connector="anymarket",
        credentials={"gumga_token": TOKEN},
        api_base_url="https://proxy.loja.com.br/v2",
    )
    settings.CHANNEL_BASE_URL_ALLOWED_HOSTS = []  # the operator withdrew it
    with pytest.raises(ConnectorError, match="no override is allowed") as caught:
        build_connector(channel)
    assert TOKEN not in str(caught.value)


@pytest.mark.django_db
def test_changing_the_address_or_a_key_is_recorded_and_an_active_channel_goes_back_to_ready(
    admin_client, emulator
):
    vendor, channel = sandbox_channel(emulator)
    channel_set_status(channel=channel, status=ChannelStatus.ACTIVE)
    data = form_data(admin_client.get(change_url(channel)).content.decode(), "saleschannel_form")
    data["api_base_url"] = "http://127.0.0.1:1/other"
    data["cred__anymarket__gumga_token"] = "ANY-new-token-9876543210"
    response = admin_client.post(change_url(channel), data)
    assert response.status_code == 302, response.content.decode()[:2000]

    channel.refresh_from_db()
    assert channel.status == ChannelStatus.READY
    assert "test the connection and activate again" in channel.status_reason
    (change,) = AccessChange.objects.filter(channel=channel)
    assert change.user.username == "admin"
    assert change.credential_fields == ["gumga_token"]
    assert (change.old_host, change.new_host) == (vendor.url, "http://127.0.0.1:1")
    html = admin_client.get(change_url(channel)).content.decode()
    assert f"{vendor.url} → http://127.0.0.1:1" in html
    assert "ANY-new-token-9876543210" not in html and vendor.token not in html


@pytest.mark.django_db
def test_saving_other_fields_records_nothing_and_keeps_the_channel_active(admin_client, emulator):
    vendor, channel = sandbox_channel(emulator)
    channel_set_status(channel=channel, status=ChannelStatus.ACTIVE)
    data = form_data(admin_client.get(change_url(channel)).content.decode(), "saleschannel_form")
    data["safety_stock"] = "2"
    assert admin_client.post(change_url(channel), data).status_code == 302
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.ACTIVE
    assert not AccessChange.objects.filter(channel=channel).exists()
