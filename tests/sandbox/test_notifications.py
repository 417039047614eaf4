"""The emulators send notifications the way the vendors do: the vendor's body to the callback
URL, retried on the vendor's schedule (scaled down) when the receiver fails or is slow, then
given up; the emulator's own request handling never waits for the receiver."""

import re
import threading

import pytest
import requests

from tests.sandbox.receiver import Receiver

FAST = 0.0001  # scales the vendors' retry delays (minutes) down to milliseconds
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
def receiver():
    started = []

    def start(*args, **kwargs) -> Receiver:
        instance = Receiver(*args, **kwargs)
        started.append(instance)
        return instance

    yield start
    for instance in started:
        instance.stop()


def _ml(emulator, sku="SKU-1"):
    ml = emulator("mercadolivre", rate=1000, burst=100)
    ml.seed_catalog([sku], quantity=5)
    return ml


def _of_topic(bodies, topic):
    return [b for b in bodies if b.get("topic") == topic]


# --- Mercado Livre -----------------------------------------------------------------------------


def test_mercadolivre_sends_orders_v2_with_the_vendors_body_when_an_order_is_placed(
    emulator, receiver
):
    ml = _ml(emulator)
    inbox = receiver()
    ml.set_notification_callback(inbox.url(), delay_scale=FAST)

    order_id = ml.add_order([("SKU-1", 1)])
    assert ml.wait_notifications(10)

    orders = _of_topic(inbox.bodies(), "orders_v2")
    assert len(orders) == 1
    body = orders[0]
    assert body["resource"] == f"/orders/{order_id}"
    assert body["user_id"] == int(ml.seller_id)
    assert body["application_id"] == int(ml.client_id)
    assert body["attempts"] == 1
    assert ISO_Z.match(body["sent"]) and ISO_Z.match(body["received"])
    assert set(body) == {
        "_id",
        "resource",
        "user_id",
        "topic",
        "application_id",
        "attempts",
        "sent",
        "received",
    }
    # The order's shipment was created with it: the shipments topic hears of it too.
    shipment_id = ml.orders[order_id]["shipping"]["id"]
    assert [b["resource"] for b in _of_topic(inbox.bodies(), "shipments")] == [
        f"/shipments/{shipment_id}"
    ]
    assert inbox.received[0].path == "/notifications/t0ken/"
    assert inbox.received[0].headers["content-type"] == "application/json"


def test_mercadolivre_notifies_order_changes_and_item_changes_of_subscribed_topics(
    emulator, receiver
):
    ml = _ml(emulator)
    order_id = ml.add_order([("SKU-1", 1)], status="payment_required")
    inbox = receiver()
    ml.set_notification_callback(inbox.url(), topics=["orders_v2", "items"], delay_scale=FAST)

    ml.set_order_status(order_id, "paid")
    ml.set_stock("SKU-1", 2)
    assert ml.wait_notifications(10)

    bodies = inbox.bodies()
    assert [b["resource"] for b in _of_topic(bodies, "orders_v2")] == [f"/orders/{order_id}"]
    item_id = ml.orders[order_id]["order_items"][0]["item"]["id"]
    assert [b["resource"] for b in _of_topic(bodies, "items")] == [f"/items/{item_id}"]
    assert _of_topic(bodies, "shipments") == []  # not subscribed


def test_mercadolivre_retries_a_failed_notification_and_counts_the_attempts(emulator, receiver):
    ml = _ml(emulator)
    inbox = receiver([500, 503, 200])
    ml.set_notification_callback(inbox.url(), topics=["orders_v2"], delay_scale=FAST)

    order_id = ml.add_order([("SKU-1", 1)])
    assert ml.wait_notifications(10)

    assert [b["attempts"] for b in inbox.bodies()] == [1, 2, 3]
    assert {b["resource"] for b in inbox.bodies()} == {f"/orders/{order_id}"}
    assert len({b["_id"] for b in inbox.bodies()}) == 1  # one notification, three tries
    attempts = ml.notification_attempts()
    assert [(a.attempt, a.status, a.delivered) for a in attempts] == [
        (1, 500, False),
        (2, 503, False),
        (3, 200, True),
    ]


def test_mercadolivre_counts_an_answer_after_500_ms_as_failed_and_tries_again(emulator, receiver):
    ml = _ml(emulator)
    inbox = receiver([200], stall=0.8, stall_calls={0})
    ml.set_notification_callback(inbox.url(), topics=["orders_v2"], delay_scale=FAST)

    ml.add_order([("SKU-1", 1)])
    assert ml.wait_notifications(10)

    attempts = ml.notification_attempts()
    assert [(a.attempt, a.delivered) for a in attempts] == [(1, False), (2, True)]
    assert [b["attempts"] for b in inbox.bodies()] == [1, 2]


def test_mercadolivre_gives_up_after_its_attempts_and_can_switch_the_topic_off(emulator, receiver):
    ml = _ml(emulator)
    inbox = receiver([500])
    ml.set_notification_callback(
        inbox.url(), topics=["orders_v2"], delay_scale=FAST, disable_topic_after=1
    )

    ml.add_order([("SKU-1", 1)])
    assert ml.wait_notifications(10)
    assert len(inbox.bodies()) == ml.notification_policy.attempts == 8
    assert ml.notification_settings()["disabled_topics"] == ["orders_v2"]

    ml.add_order([("SKU-1", 1)])  # the topic is off: nothing more is sent
    assert ml.wait_notifications(10)
    assert len(inbox.bodies()) == 8

    # Saving the application's settings again subscribes the topic again.
    ml.set_notification_callback(inbox.url(), topics=["orders_v2"], delay_scale=FAST)
    inbox.statuses = [200]
    ml.add_order([("SKU-1", 1)])
    assert ml.wait_notifications(10)
    assert len(inbox.bodies()) == 9


def test_placing_an_order_does_not_wait_for_the_receiver(emulator, receiver):
    ml = _ml(emulator)
    gate = threading.Event()
    inbox = receiver([200], gate=gate)
    ml.set_notification_callback(inbox.url(), topics=["orders_v2"], delay_scale=FAST)
    try:
        order_id = ml.add_order([("SKU-1", 1)])
        # The vendor's API still answers while the receiver holds the notification.
        token = ml.issue_access_token()
        answer = requests.get(
            f"{ml.url}/orders/{order_id}", headers={"Authorization": f"Bearer {token}"}, timeout=5
        )
        assert answer.status_code == 200
        assert ml.notifier.pending() == 1
        assert ml.notification_attempts() == []
    finally:
        gate.set()
    assert ml.wait_notifications(10)
    assert [a.delivered for a in ml.notification_attempts()] == [True]


def test_no_callback_no_notification(emulator, receiver):
    ml = _ml(emulator)
    ml.add_order([("SKU-1", 1)])
    assert ml.wait_notifications(10)
    assert ml.notification_attempts() == []
    assert ml.stats["notifications"] == 0


def test_the_control_route_sets_the_callback_and_lists_attempts_without_the_url(emulator, receiver):
    ml = _ml(emulator)
    inbox = receiver()
    answer = requests.post(
        f"{ml.url}/__emulator__/notifications",
        json={"url": inbox.url(), "delay_scale": FAST, "topics": ["orders_v2"]},
        timeout=5,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["enabled"] is True and answer.json()["topics"] == ["orders_v2"]
    assert "t0ken" not in answer.text

    ml.add_order([("SKU-1", 1)])
    assert ml.wait_notifications(10)
    listed = requests.get(f"{ml.url}/__emulator__/notifications", timeout=5)
    assert [(a["attempt"], a["status"], a["delivered"]) for a in listed.json()["attempts"]] == [
        (1, 200, True)
    ]
    assert "t0ken" not in listed.text

    refused = requests.post(
        f"{ml.url}/__emulator__/notifications",
        json={"url": inbox.url(), "topics": ["questions"]},
        timeout=5,
    )
    assert refused.status_code == 400 and "topics" in refused.json()["message"]
    stopped = requests.post(f"{ml.url}/__emulator__/notifications", json={"url": None}, timeout=5)
    assert stopped.json()["enabled"] is False


# --- VTEX: the orders hook ---------------------------------------------------------------------


def _vtex_headers(vtex) -> dict:
    creds = vtex.credentials
    return {
        "X-VTEX-API-AppKey": creds["app_key"],
        "X-VTEX-API-AppToken": creds["app_token"],
        "Accept": "application/json",
        "Content-Type": "application/json",
    }


def _hook_config(url, statuses=("ready-for-handling",), headers=None):
    return {
        "filter": {"type": "FromWorkflow", "status": list(statuses)},
        "hook": {"url": url, "headers": headers if headers is not None else {"X-Secret": "s3"}},
    }


def _vtex(emulator):
    vtex = emulator("vtex", rate=1000, burst=100)
    vtex.seed_catalog(["SKU-1"], quantity=5)
    vtex.notifier.delay_scale = FAST
    return vtex


def test_vtex_pings_the_hook_on_registration_then_posts_filtered_status_changes(emulator, receiver):
    vtex = _vtex(emulator)
    inbox = receiver()
    answer = requests.post(
        f"{vtex.url}/api/orders/hook/config",
        json=_hook_config(inbox.url()),
        headers=_vtex_headers(vtex),
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    assert inbox.bodies() == [{"hookConfig": "ping"}]
    assert inbox.received[0].headers["x-secret"] == "s3"

    pending_id = vtex.add_order([("SKU-1", 1)], status="payment-pending")  # filtered out
    ready_id = vtex.add_order([("SKU-1", 1)], status="ready-for-handling")
    vtex.set_order_status(pending_id, "ready-for-handling")
    vtex.set_order_status(ready_id, "handling")  # filtered out
    assert vtex.wait_notifications(10)

    hooks = inbox.bodies()[1:]
    # Sent in parallel, as a vendor does: the order of arrival is not guaranteed.
    assert sorted((b["OrderId"], b["State"], b["LastState"]) for b in hooks) == sorted(
        [
            (ready_id, "ready-for-handling", "order-created"),
            (pending_id, "ready-for-handling", "payment-pending"),
        ]
    )
    for body in hooks:
        assert body["Domain"] == "Marketplace"
        assert body["Origin"] == {"Account": vtex.account_name, "Key": vtex.credentials["app_key"]}
        assert body["LastChange"] and body["CurrentChange"]
    assert all(r.headers["x-secret"] == "s3" for r in inbox.received)

    config = requests.get(
        f"{vtex.url}/api/orders/hook/config", headers=_vtex_headers(vtex), timeout=5
    )
    assert config.json()["filter"]["status"] == ["ready-for-handling"]

    deleted = requests.delete(
        f"{vtex.url}/api/orders/hook/config", headers=_vtex_headers(vtex), timeout=5
    )
    assert deleted.status_code == 200
    vtex.add_order([("SKU-1", 1)], status="ready-for-handling")
    assert vtex.wait_notifications(10)
    assert len(inbox.bodies()) == 3


def test_vtex_refuses_the_hook_when_the_ping_fails(emulator, receiver):
    vtex = _vtex(emulator)
    inbox = receiver([401])
    answer = requests.post(
        f"{vtex.url}/api/orders/hook/config",
        json=_hook_config(inbox.url()),
        headers=_vtex_headers(vtex),
        timeout=10,
    )
    assert answer.status_code == 400
    assert "ping" in answer.json()["error"]["message"]
    assert "401" in answer.json()["error"]["message"]
    assert inbox.bodies() == [{"hookConfig": "ping"}]
    missing = requests.get(
        f"{vtex.url}/api/orders/hook/config", headers=_vtex_headers(vtex), timeout=5
    )
    assert missing.status_code == 404
    vtex.add_order([("SKU-1", 1)], status="ready-for-handling")
    assert vtex.wait_notifications(10)
    assert len(inbox.bodies()) == 1


@pytest.mark.parametrize(
    "broken",
    [
        {"filter": {"type": "FromWorkflow", "status": ["ready-for-handling"]}},  # no hook
        {"filter": {"type": "Everything"}, "hook": {"url": "http://x/", "headers": {}}},
        {
            "filter": {"type": "FromWorkflow", "status": []},
            "hook": {"url": "http://x/", "headers": {}},
        },
        {
            "filter": {"type": "FromWorkflow", "status": ["nope"]},
            "hook": {"url": "http://x/", "headers": {}},
        },
        {
            "filter": {"type": "FromOrders", "expression": "value > 1"},
            "hook": {"url": "http://x/", "headers": {}},
        },
        {"filter": {"type": "FromWorkflow", "status": ["handling"]}, "hook": {"url": "http://x/"}},
        {
            "filter": {"type": "FromWorkflow", "status": ["handling"]},
            "hook": {"url": "ftp://x/", "headers": {}},
        },
    ],
)
def test_vtex_validates_the_hook_configuration(emulator, receiver, broken):
    vtex = _vtex(emulator)
    answer = requests.post(
        f"{vtex.url}/api/orders/hook/config",
        json=broken,
        headers=_vtex_headers(vtex),
        timeout=10,
    )
    assert answer.status_code == 400, answer.text
    assert vtex.stats["hook pings"] == 0


def test_vtex_retries_the_hook_then_gives_up(emulator, receiver):
    vtex = _vtex(emulator)
    inbox = receiver([500, 200])
    vtex.set_notification_callback(inbox.url(), statuses=["ready-for-handling"], delay_scale=FAST)
    vtex.add_order([("SKU-1", 1)], status="ready-for-handling")
    assert vtex.wait_notifications(10)
    assert [(a.attempt, a.delivered) for a in vtex.notification_attempts()] == [
        (1, False),
        (2, True),
    ]

    inbox.statuses = [500]
    vtex.notifier.clear()
    vtex.add_order([("SKU-1", 1)], status="ready-for-handling")
    assert vtex.wait_notifications(10)
    assert len(vtex.notification_attempts()) == vtex.notification_policy.attempts == 5


# --- ANYMARKET ---------------------------------------------------------------------------------


def _anymarket(emulator):
    am = emulator("anymarket", rate=1000, burst=100)
    am.seed_catalog(["SKU-1"], quantity=5)
    return am


def test_anymarket_posts_order_notifications_with_the_accounts_oi(emulator, receiver):
    am = _anymarket(emulator)
    inbox = receiver([201])  # 200 or 201 is a success
    am.set_notification_callback(inbox.url(), delay_scale=FAST)

    order_id = am.add_order([("SKU-1", 1)])
    am.set_order_status(order_id, "PAID_WAITING_SHIP")
    assert am.wait_notifications(10)

    expected = {"type": "ORDER", "content": {"id": order_id, "oi": am.oi}}
    assert inbox.bodies() == [expected, expected]
    assert am.oi.endswith(".")
    assert [a.delivered for a in am.notification_attempts()] == [True, True]


def test_anymarket_tries_three_times_then_leaves_the_order_in_the_feed(emulator, receiver):
    am = _anymarket(emulator)
    inbox = receiver([500])
    am.set_notification_callback(inbox.url(), delay_scale=FAST)

    am.add_order([("SKU-1", 1)])
    assert am.wait_notifications(10)

    assert len(inbox.bodies()) == 3
    assert [a.attempt for a in am.notification_attempts()] == [1, 2, 3]
    assert am.notification_settings()["given_up"] == {"ORDER": 1}
    assert am.feed_backlog() == 1  # the feed still has it for the connector to read


def test_anymarket_posts_a_product_notification_when_a_sku_changes(emulator, receiver):
    am = _anymarket(emulator)
    inbox = receiver()
    am.set_notification_callback(inbox.url(), delay_scale=FAST)
    sku_id = am.sku_ids_by_partner["SKU-1"]
    product_id = am.skus[sku_id]["productId"]

    answer = requests.put(
        f"{am.url}/v2/products/{product_id}/skus/{sku_id}",
        json={"title": "Camiseta", "partnerId": "SKU-1", "price": 120, "sellPrice": 99},
        headers={"gumgaToken": am.token},
        timeout=5,
    )
    assert answer.status_code == 200, answer.text
    assert am.wait_notifications(10)
    assert inbox.bodies() == [{"type": "PRODUCT", "content": {"id": str(product_id), "oi": am.oi}}]


# --- the control, the same for every vendor -----------------------------------------------------


@pytest.mark.parametrize("vendor", ["mercadolivre", "vtex", "anymarket"])
def test_the_notification_control_refuses_what_it_cannot_do(emulator, vendor):
    instance = emulator(vendor)
    with pytest.raises(ValueError, match="http"):
        instance.set_notification_callback("ftp://example.com/x")
    with pytest.raises(ValueError, match="unknown notification option"):
        instance.set_notification_callback("http://127.0.0.1:9/x", colour="blue")
    with pytest.raises(ValueError, match="delay_scale"):
        instance.set_notification_callback("http://127.0.0.1:9/x", delay_scale=-1)
    assert instance.notification_settings()["enabled"] is False
    missing = requests.post(f"{instance.url}/__emulator__/notifications", json={}, timeout=5)
    assert missing.status_code == 400 and "url" in missing.json()["message"]
