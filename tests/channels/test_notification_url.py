"""The channel page: the notification URL to paste at the vendor, "on change" per flow."""

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse

from channels.models import SalesChannel
from tests.factories import make_channel, make_member


def change_url(channel):
    return reverse("admin:channels_saleschannel_change", args=[channel.pk])


@pytest.fixture
def back_office_user(db):
    """Staff with every permission on our apps except channels.change_credentials."""
    user = User.objects.create_user("backoffice", password="pw-backoffice-1", is_staff=True)
    perms = Permission.objects.filter(
        content_type__app_label__in=["channels", "erp", "mappings", "sync"]
    ).exclude(codename__in=["change_credentials", "activate_integration"])
    user.user_permissions.set(perms)
    return user


@pytest.mark.django_db
def test_the_page_shows_the_url_to_paste_and_which_flows_run_on_change(admin_client, settings):
    settings.ERPINTEGR_PUBLIC_URL = "https://erp.example.com"
    channel = make_channel(connector="mercadolivre")
    html = admin_client.get(change_url(channel)).content.decode()
    assert f"https://erp.example.com/notifications/{channel.notification_token}/" in html
    assert "On change, and every 2 min as a safety net" in html  # orders (ML notifies)
    assert "On change, and every 5 min as a safety net" in html  # stock
    assert "sends order notifications" in html
    assert channel.notification_secret not in html


@pytest.mark.django_db
def test_the_url_is_hidden_from_users_who_cannot_see_credentials(client, back_office_user):
    channel = make_channel(connector="mercadolivre")
    make_member(back_office_user, channel.company)
    client.force_login(back_office_user)
    html = client.get(change_url(channel)).content.decode()
    assert channel.notification_token not in html
    assert "On change" in html  # the schedule column is not sensitive


@pytest.mark.django_db
def test_every_channel_gets_its_own_token_and_the_action_regenerates_it(admin_client):
    one, two = make_channel(connector="vtex"), make_channel(connector="anymarket")
    assert one.notification_token != two.notification_token
    assert len(one.notification_token) >= 43  # token_urlsafe(32)
    old_token, old_secret = one.notification_token, one.notification_secret
    response = admin_client.post(
        reverse("admin:channels_saleschannel_changelist"),
        {"action": "regenerate_notification_url", "_selected_action": [one.pk]},
        follow=True,
    )
    assert "1 channel has a new notification URL" in response.content.decode()
    one.refresh_from_db()
    assert one.notification_token != old_token and one.notification_secret != old_secret
    assert SalesChannel.objects.get(pk=two.pk).notification_token == two.notification_token
    # The old URL is gone.
    assert admin_client.post(f"/notifications/{old_token}/", data={}).status_code == 404


@pytest.mark.django_db
def test_the_regenerate_action_needs_the_credentials_permission(client, back_office_user):
    channel = make_channel(connector="vtex")
    make_member(back_office_user, channel.company)
    client.force_login(back_office_user)
    token = channel.notification_token
    client.post(
        reverse("admin:channels_saleschannel_changelist"),
        {"action": "regenerate_notification_url", "_selected_action": [channel.pk]},
    )
    channel.refresh_from_db()
    assert channel.notification_token == token


@pytest.mark.django_db
def test_a_flow_the_vendor_allows_only_every_few_minutes_keeps_its_interval(admin_client):
    channel = make_channel(connector="anymarket")
    html = admin_client.get(change_url(channel)).content.decode()
    assert "ANYMARKET allows this flow at most every 5 min: not on change" in html  # prices
    assert "On change, and every 5 min as a safety net" in html  # stock
