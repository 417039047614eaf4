"""The VTEX connector registers and removes its orders hook against the real emulator over
HTTP: VTEX pings the URL first and refuses the hook unless it answers 200; the hook then
carries the channel's secret header on every order change in the statuses asked for."""

import logging

import pytest

from sandbox.vtex import VtexEmulator
from sync.services.connectors import build_connector
from tests.factories import make_channel
from tests.sandbox.receiver import Receiver
from vendors.errors import ValidationFailedError
from vendors.mercadolivre.adapter import MercadoLivreConnector
from vendors.vtex.adapter import DEFAULT_FEED_STATUSES, ORDER_HOOK_SECRET_HEADER, VtexConnector

SECRET = "hook-secret-0123456789abcdefghijklmnop"
TOKEN_PATH = "/notifications/Zq8xTOKENtokenTOKEN0123456789/"


@pytest.fixture
def vtex():
    emulator = VtexEmulator(rate=1000, burst=100)
    emulator.notifier.delay_scale = 0.0001
    emulator.seed_catalog(["SKU-1"], quantity=5)
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def receiver():
    started = []

    def start(*args, **kwargs):
        started.append(Receiver(*args, **kwargs))
        return started[-1]

    yield start
    for instance in started:
        instance.stop()


def connect(emulator):
    channel = make_channel(
        connector="vtex",
        credentials=VtexEmulator.demo_credentials(),
        api_base_url=emulator.url,
        environment="sandbox",
    )
    return build_connector(channel, sleep=lambda seconds: None)


@pytest.mark.django_db
def test_registering_the_hook_passes_the_ping_and_the_hook_carries_the_secret(vtex, receiver):
    inbox = receiver()
    connector = connect(vtex)
    url = inbox.url(TOKEN_PATH)

    done = connector.register_notifications(url, SECRET)

    assert "ping" in done and SECRET not in done and "TOKEN" not in done
    assert inbox.bodies() == [{"hookConfig": "ping"}]
    assert inbox.received[0].path == TOKEN_PATH
    assert inbox.received[0].headers[ORDER_HOOK_SECRET_HEADER.lower()] == SECRET
    key = vtex.credentials["app_key"]
    assert vtex.hooks[key]["filter"] == {
        "type": "FromWorkflow",
        "status": list(DEFAULT_FEED_STATUSES),
    }

    order_id = vtex.add_order([("SKU-1", 1)], status="ready-for-handling")
    vtex.set_order_status(order_id, "handling")
    assert vtex.wait_notifications(10)
    hooks = inbox.bodies()[1:]
    # Sent in parallel, as a vendor does: the order of arrival is not guaranteed.
    assert sorted((b["OrderId"], b["State"]) for b in hooks) == [
        (order_id, "handling"),
        (order_id, "ready-for-handling"),
    ]
    assert all(r.headers[ORDER_HOOK_SECRET_HEADER.lower()] == SECRET for r in inbox.received)
    # One request for the registration, through the connector's client.
    assert [r.path for r in vtex.requests_log] == ["/api/orders/hook/config"]


@pytest.mark.django_db
def test_a_failed_ping_fails_the_registration_with_a_clear_error(vtex, receiver, caplog):
    inbox = receiver([503])
    connector = connect(vtex)

    with caplog.at_level(logging.DEBUG), pytest.raises(ValidationFailedError) as caught:
        connector.register_order_hook(inbox.url(TOKEN_PATH), SECRET, ["ready-for-handling"])

    message = str(caught.value)
    assert "refused the orders hook" in message and "answers 200" in message
    assert "503" in message  # VTEX's own words: what the URL answered
    assert SECRET not in message and "TOKENtoken" not in message
    assert SECRET not in caplog.text and "TOKENtoken" not in caplog.text
    assert vtex.hooks == {}


@pytest.mark.django_db
def test_an_unreachable_url_fails_the_registration(vtex):
    connector = connect(vtex)
    with pytest.raises(ValidationFailedError, match="refused the orders hook"):
        connector.register_order_hook("http://127.0.0.1:9/notifications/x/", SECRET)
    assert vtex.hooks == {}


@pytest.mark.django_db
def test_removing_the_hook_stops_the_notifications_and_is_idempotent(vtex, receiver):
    inbox = receiver()
    connector = connect(vtex)
    connector.register_order_hook(inbox.url(TOKEN_PATH), SECRET, ["ready-for-handling"])

    connector.remove_order_hook()
    connector.remove_order_hook()  # already gone: fine

    vtex.add_order([("SKU-1", 1)], status="ready-for-handling")
    assert vtex.wait_notifications(10)
    assert inbox.bodies() == [{"hookConfig": "ping"}]
    assert vtex.hooks == {}


def test_only_vtex_registers_notifications_itself():
    assert VtexConnector.registers_notifications is True
    assert MercadoLivreConnector.registers_notifications is False
