"""The notification endpoint: authenticity and routing per vendor, replays, floods."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from channels.services import channel_set_status
from sync.models import NotificationHint
from sync.notifications import MAX_BODY_BYTES
from tests.factories import make_channel

ML_CREDENTIALS = {
    "client_id": "5503910054141466",
    "client_secret": "s" * 32,
    "refresh_token": "TG-notify-1",
}


@pytest.fixture
def enqueued(monkeypatch):
    """The event runs the endpoint queues (django-q2's async_task, after commit)."""
    calls = []
    monkeypatch.setattr(
        "django_q.tasks.async_task", lambda *args, **kwargs: calls.append((args, kwargs))
    )
    return calls


def active(connector, account, credentials=None):
    channel = make_channel(connector=connector, credentials=credentials, environment="sandbox")
    channel.external_account_id = account
    channel.save()
    channel_set_status(channel=channel, status="active")
    channel.refresh_from_db()
    return channel


@pytest.fixture
def ml(db):
    return active("mercadolivre", "468424240", ML_CREDENTIALS)


@pytest.fixture
def vtex(db):
    return active("vtex", "lojaexemplo")


@pytest.fixture
def anymarket(db):
    # ANYMARKET's API does not name the account (spec.identifies_account = False): any oi.
    return active("anymarket", "")


def post(client, channel_or_token, body, **headers):
    token = getattr(channel_or_token, "notification_token", channel_or_token)
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post(
        f"/notifications/{token}/", data=data, content_type="application/json", headers=headers
    )


def ml_body(resource="/orders/2195160686", topic="orders_v2", user_id=468424240, app=None):
    return {
        "resource": resource,
        "user_id": user_id,
        "topic": topic,
        "application_id": int(app or ML_CREDENTIALS["client_id"]),
        "attempts": 1,
        "sent": "2026-12-03T10:00:00.000Z",
        "received": "2026-12-03T10:00:00.000Z",
    }


def vtex_body(order_id="1468450000001-01", account="lojaexemplo"):
    return {
        "Domain": "Marketplace",
        "OrderId": order_id,
        "State": "ready-for-handling",
        "LastState": "window-to-cancel",
        "LastChange": "2026-12-03T10:00:00.000Z",
        "CurrentChange": "2026-12-03T10:00:01.000Z",
        "Origin": {"Account": account, "Key": "vtexappkey-lojaexemplo-ABC"},
    }


def hints(channel):
    return sorted(NotificationHint.objects.filter(channel=channel).values_list("kind", "resource"))


# --- Mercado Livre -------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_ml_order_notification_stores_a_hint_and_queues_one_orders_run(client, ml, enqueued):
    response = post(client, ml, ml_body())
    assert response.status_code == 200
    assert response.json() == {"outcome": "stored"}
    assert hints(ml) == [("order", "2195160686")]
    assert [args for args, _ in enqueued] == [("sync.tasks.run_event_flow", ml.pk, "orders")]
    assert ml.sync_settings.get(flow="orders").event_run_due_at is not None


@pytest.mark.django_db(transaction=True)
def test_ml_shipment_and_item_topics_and_unused_topics(client, ml, enqueued):
    assert post(client, ml, ml_body("/shipments/4411", "shipments")).status_code == 200
    assert post(client, ml, ml_body("/items/MLB1234", "items")).status_code == 200
    # questions: well-formed, not ours: 200 (ML switches a failing topic off), nothing stored
    response = post(client, ml, ml_body("/questions/55", "questions"))
    assert (response.status_code, response.json()["outcome"]) == (200, "ignored")
    assert hints(ml) == [("product", "MLB1234"), ("shipment", "4411")]
    # The item hint runs nothing by itself; the shipment one armed the orders run once.
    assert len(enqueued) == 1


@pytest.mark.django_db(transaction=True)
def test_ml_other_seller_or_other_application_is_ignored_with_200(client, ml, enqueued):
    other_seller = post(client, ml, ml_body(user_id=999))
    other_app = post(client, ml, ml_body(app="1111"))
    assert [r.status_code for r in (other_seller, other_app)] == [200, 200]
    assert {r.json()["outcome"] for r in (other_seller, other_app)} == {"ignored"}
    assert hints(ml) == [] and enqueued == []


@pytest.mark.django_db(transaction=True)
def test_ml_malformed_bodies_are_400_naming_the_field(client, ml, enqueued):
    assert post(client, ml, b"{not json").status_code == 400
    no_user = ml_body()
    del no_user["user_id"]
    response = post(client, ml, no_user)
    assert response.status_code == 400
    assert "user_id is missing" in response.json()["detail"]
    wrong_path = post(client, ml, ml_body("/items/MLB1", "orders_v2"))
    assert wrong_path.status_code == 400
    assert "resource" in wrong_path.json()["detail"]
    assert post(client, ml, [1, 2]).status_code == 400
    assert hints(ml) == [] and enqueued == []


@pytest.mark.django_db(transaction=True)
def test_unknown_token_is_404_and_only_get_is_refused(client, ml, enqueued):
    assert post(client, "x" * 43, ml_body()).status_code == 404
    assert client.get(f"/notifications/{ml.notification_token}/").status_code == 405
    assert hints(ml) == []


@pytest.mark.django_db(transaction=True)
def test_a_body_over_the_cap_is_413(client, ml, enqueued):
    big = json.dumps({**ml_body(), "padding": "x" * MAX_BODY_BYTES})
    assert post(client, ml, big).status_code == 413
    assert hints(ml) == []


@pytest.mark.django_db(transaction=True)
def test_paused_channel_answers_200_and_stores_nothing(client, ml, enqueued):
    channel_set_status(channel=ml, status="paused")
    assert post(client, ml, ml_body()).json()["outcome"] == "ignored"
    assert hints(ml) == [] and enqueued == []


# --- VTEX ----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_vtex_hook_with_the_secret_stores_the_order_hint(client, vtex, enqueued):
    response = post(client, vtex, vtex_body(), **{"X-Erpintegr-Secret": vtex.notification_secret})
    assert (response.status_code, response.json()["outcome"]) == (200, "stored")
    assert hints(vtex) == [("order", "1468450000001-01")]
    assert len(enqueued) == 1


@pytest.mark.django_db(transaction=True)
def test_vtex_wrong_or_missing_secret_is_403(client, vtex, enqueued):
    assert post(client, vtex, vtex_body(), **{"X-Erpintegr-Secret": "guess"}).status_code == 403
    assert post(client, vtex, vtex_body()).status_code == 403
    assert hints(vtex) == [] and enqueued == []


@pytest.mark.django_db(transaction=True)
def test_vtex_ping_gets_200_and_other_account_is_ignored(client, vtex, enqueued):
    ping = post(client, vtex, {"hookConfig": "ping"})
    assert (ping.status_code, ping.json()["outcome"]) == (200, "ignored")
    other = post(
        client,
        vtex,
        vtex_body(account="outraloja"),
        **{"X-Erpintegr-Secret": vtex.notification_secret},
    )
    assert (other.status_code, other.json()["outcome"]) == (200, "ignored")
    malformed = post(
        client,
        vtex,
        {"OrderId": "1-01", "State": "x"},
        **{"X-Erpintegr-Secret": vtex.notification_secret},
    )
    assert malformed.status_code == 400
    assert "Origin" in malformed.json()["detail"]
    assert hints(vtex) == [] and enqueued == []


# --- ANYMARKET -----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_anymarket_order_product_and_transmission(client, anymarket, enqueued):
    order = post(client, anymarket, {"type": "ORDER", "content": {"id": "9001", "oi": "LOJA.1"}})
    product = post(client, anymarket, {"type": "PRODUCT", "content": {"id": "77", "oi": "LOJA.1"}})
    transmission = post(
        client, anymarket, {"type": "TRANSMISSION", "content": {"id": "5", "oi": "LOJA.1"}}
    )
    assert [r.json()["outcome"] for r in (order, product, transmission)] == [
        "stored",
        "stored",
        "ignored",
    ]
    assert hints(anymarket) == [("order", "9001"), ("product", "77")]
    bad = post(client, anymarket, {"type": "ORDER", "content": {"id": "1"}})
    assert bad.status_code == 400 and "content.oi" in bad.json()["detail"]
    invoice = post(
        client, anymarket, {"type": "INBOUND_NFE", "content": {"id": "1", "oi": "LOJA.1"}}
    )
    assert (invoice.status_code, invoice.json()["outcome"]) == (200, "ignored")


@pytest.mark.django_db(transaction=True)
def test_anymarket_oi_must_match_a_known_account(client, anymarket, enqueued):
    anymarket.external_account_id = "LOJA.1"
    anymarket.save()
    other = post(client, anymarket, {"type": "ORDER", "content": {"id": "1", "oi": "LOJA.2"}})
    assert other.json()["outcome"] == "ignored"
    assert hints(anymarket) == []


# --- Replays, floods, cost -----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_replay_stores_nothing_new_and_answers_200(client, ml, enqueued):
    for _ in range(3):
        assert post(client, ml, ml_body()).status_code == 200
    assert hints(ml) == [("order", "2195160686")]
    assert len(enqueued) == 1


@pytest.mark.django_db(transaction=True)
def test_a_flood_of_1000_notifications_is_one_hint_per_resource_and_one_queued_run(
    client, ml, enqueued
):
    statuses = set()
    for n in range(1000):
        statuses.add(post(client, ml, ml_body(f"/orders/{n % 10}")).status_code)
    assert statuses == {200}
    assert NotificationHint.objects.filter(channel=ml).count() == 10
    assert len(enqueued) == 1


@pytest.mark.django_db(transaction=True)
def test_the_endpoint_costs_a_fixed_handful_of_queries(client, ml, vtex, enqueued):
    post(client, ml, ml_body("/orders/1"))  # warm caches (content types, specs)
    with CaptureQueriesContext(connection) as first:
        post(client, ml, ml_body("/orders/2"))
    with CaptureQueriesContext(connection) as replay:
        post(client, ml, ml_body("/orders/2"))
    # channel by token, client_id credential, hint insert (ignore conflicts), guard UPDATE
    assert len(statements(first)) == 4
    assert len(statements(replay)) == 4
    with CaptureQueriesContext(connection) as unknown:
        post(client, "no-such-token", ml_body())
    assert len(statements(unknown)) == 1


def statements(captured):
    """The queries, without transaction control (the insert runs in its own atomic block)."""
    return [
        q["sql"]
        for q in captured.captured_queries
        if not q["sql"].startswith(("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE"))
    ]


@pytest.mark.django_db(transaction=True)
def test_the_token_is_never_logged(client, vtex, enqueued, caplog):
    caplog.set_level("DEBUG")
    post(client, vtex, vtex_body(), **{"X-Erpintegr-Secret": "wrong"})
    post(client, vtex, b"{")
    post(client, vtex, {"OrderId": "1"}, **{"X-Erpintegr-Secret": vtex.notification_secret})
    client.get(f"/notifications/{vtex.notification_token}/")
    assert caplog.records  # the refusals are logged…
    assert vtex.notification_token not in caplog.text  # …without the token
    assert vtex.notification_secret not in caplog.text
