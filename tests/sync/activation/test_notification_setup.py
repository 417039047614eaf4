"""VTEX lets the integration register its own orders hook: the activation does it with the
channel's notification URL and secret, and VTEX's ping and later hooks reach the real
endpoint (a live server). A hook that cannot be registered never blocks the activation; a
regenerated URL is registered again. Vendors registered by hand are not called."""

import pytest
from django.contrib.auth.models import User
from django.test import override_settings

from sandbox.vtex import VtexEmulator
from sync.activation.activate import activation_activate
from sync.activation.notification_setup import notifications_register
from sync.models import NotificationHint
from tests.sync.activation.builders import ready_channel

HOOK = "/api/orders/hook/config"


@pytest.fixture
def staff(transactional_db):
    # Not the Support group: a transactional test's flush removes the groups the
    # migrations made, and the service does not check permissions (the admin page does).
    return User.objects.create_user("support-staff", is_staff=True)


def hook_posts(emu):
    return [r for r in emu.requests_log if r.method == "POST" and r.path == HOOK]


@pytest.mark.django_db(transaction=True)
def test_activation_registers_the_vtex_orders_hook_and_its_hooks_are_stored(
    vtex, staff, live_server
):
    channel = ready_channel(vtex, "vtex")
    with override_settings(ERPINTEGR_PUBLIC_URL=live_server.url):
        outcome = activation_activate(channel=channel, user=staff)

        assert outcome.ok, outcome.message
        assert "registered now" in outcome.message
        assert channel.notification_token not in outcome.message
        hook = vtex.hooks[VtexEmulator.demo_credentials()["app_key"]]
        assert hook["hook"]["url"] == (
            f"{live_server.url}/notifications/{channel.notification_token}/"
        )
        # VTEX pinged the URL before keeping the hook (our endpoint answered 200), and now
        # posts each status change there with our secret header.
        vtex.add_sku(ref_id="CAM-P", name="Camiseta P")
        placed = vtex.add_order([("CAM-P", 1, "10.00")])
        vtex.set_order_status(placed, "ready-for-handling")
        assert vtex.wait_notifications(10)
    assert NotificationHint.objects.filter(channel=channel, resource=placed).exists()


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_url_is_told_and_does_not_block_the_activation(vtex, staff):
    channel = ready_channel(vtex, "vtex")
    # Nothing listens there: VTEX's ping fails and it refuses the hook.
    with override_settings(ERPINTEGR_PUBLIC_URL="http://127.0.0.1:9"):
        outcome = activation_activate(channel=channel, user=staff)

    assert outcome.ok, outcome.message
    assert "were not registered" in outcome.message
    assert channel.notification_token not in outcome.message
    assert channel.notification_secret not in outcome.message
    assert len(hook_posts(vtex)) == 1 and not vtex.hooks


@pytest.mark.django_db(transaction=True)
def test_without_a_public_address_nothing_is_sent_and_the_message_says_what_to_set(vtex, staff):
    channel = ready_channel(vtex, "vtex")
    with override_settings(ERPINTEGR_PUBLIC_URL=""):
        outcome = activation_activate(channel=channel, user=staff)

    assert outcome.ok and "ERPINTEGR_PUBLIC_URL" in outcome.message
    assert hook_posts(vtex) == []


@pytest.mark.django_db(transaction=True)
def test_a_vendor_registered_by_hand_is_not_called(ml, staff):
    channel = ready_channel(ml, "mercadolivre")
    outcome = activation_activate(channel=channel, user=staff)
    assert outcome.ok, outcome.message
    before = len(ml.requests_log)
    with override_settings(ERPINTEGR_PUBLIC_URL="https://erp.example.com"):
        assert notifications_register(channel=channel) == ""
    assert len(ml.requests_log) == before


@pytest.mark.django_db(transaction=True)
def test_a_regenerated_url_is_registered_again(vtex, staff, live_server, monkeypatch):
    from channels.services import channel_regenerate_notification_token
    from sync import tasks

    queued = []
    monkeypatch.setattr(
        "django_q.tasks.async_task", lambda name, *args, **kw: queued.append((name, args))
    )
    channel = ready_channel(vtex, "vtex")
    with override_settings(ERPINTEGR_PUBLIC_URL=live_server.url):
        assert activation_activate(channel=channel, user=staff).ok
        old_token = channel.notification_token
        channel_regenerate_notification_token(channel_ids=[channel.pk])
        assert queued == [("sync.tasks.register_notifications", (channel.pk,))]
        assert "registered now" in tasks.register_notifications(channel.pk)

    channel.refresh_from_db()
    hook = vtex.hooks[VtexEmulator.demo_credentials()["app_key"]]
    assert channel.notification_token != old_token
    assert hook["hook"]["url"].endswith(f"/notifications/{channel.notification_token}/")
