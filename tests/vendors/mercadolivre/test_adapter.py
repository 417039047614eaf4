"""Mercado Livre connector: exact wire format (with `responses`), error mapping, secrets, and
the single-use refresh token under concurrency (against the emulator)."""

import json
import logging
import re
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.db import connection

from channels.models import SalesChannel
from channels.services import channel_credentials
from sandbox.mercadolivre import MercadoLivreEmulator
from sync.services.connectors import build_connector
from tests.factories import make_channel
from vendors.errors import (
    AuthError,
    InvalidVendorData,
    PermissionDeniedError,
    RateLimitedError,
    TransientError,
)
from vendors.mercadolivre.adapter import MercadoLivreConnector
from vendors.types import (
    Address,
    ExternalRef,
    PriceUpdate,
    StockUpdate,
    unreadable_order_key,
)

BASE = "https://api.ml.test"
NOW = datetime(2025, 1, 10, 12, 0, tzinfo=UTC)
SELLER = "123456789"
CLIENT_ID = "5550001234567890"
CLIENT_SECRET = "unit-client-secret-value"
REFRESH = "TG-unit-refresh-1"
ACCESS = "APP_USR-unit-access-1"
NEW_ACCESS = "APP_USR-unit-access-2"
NEW_REFRESH = "TG-unit-refresh-2"

BASE_CREDENTIALS = {
    "client_id": CLIENT_ID,
    "client_secret": CLIENT_SECRET,
    "refresh_token": REFRESH,
}
SECRETS = (CLIENT_SECRET, REFRESH, ACCESS, NEW_ACCESS, NEW_REFRESH)


def valid_credentials(expires_in: timedelta = timedelta(hours=5)) -> dict:
    return {
        **BASE_CREDENTIALS,
        "access_token": ACCESS,
        "access_token_expires_at": (NOW + expires_in).isoformat(),
    }


def ml_channel(credentials: dict | None = None, **kwargs):
    return make_channel(
        connector="mercadolivre",
        credentials=credentials if credentials is not None else valid_credentials(),
        api_base_url=BASE,
        environment="sandbox",
        **kwargs,
    )


def ml_connector(channel, **options) -> MercadoLivreConnector:
    sleeps: list[float] = []
    connector = build_connector(channel, sleep=sleeps.append, **options)
    connector.clock = lambda: NOW
    connector.sleeps = sleeps
    return connector


def token_answer(access=NEW_ACCESS, refresh=NEW_REFRESH) -> dict:
    return {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": 21600,
        "scope": "offline_access read write",
        "user_id": int(SELLER),
        "refresh_token": refresh,
    }


def ml_error(status: int, message: str, error: str = "bad_request") -> dict:
    return {"message": message, "error": error, "status": status, "cause": []}


def query(call) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(call.request.url).query).items()}


def path(call) -> str:
    return urlsplit(call.request.url).path


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        # Paid orders read the buyer's billing data; by default the vendor has none for them
        # (Brazil answers it for some sales only). A test replaces it to give a document.
        mock.get(BILLING_URL, status=404, json={"message": "not found"})
        yield mock


BILLING_URL = re.compile(rf"{re.escape(BASE)}/orders/\d+/billing_info")


def me(rsps):
    rsps.get(f"{BASE}/users/me", json={"id": int(SELLER), "nickname": "LOJA", "site_id": "MLB"})


# --- OAuth -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_refresh_posts_the_form_and_stores_access_and_new_refresh_token_together(rsps):
    channel = ml_channel(BASE_CREDENTIALS)
    rsps.post(f"{BASE}/oauth/token", json=token_answer())
    me(rsps)

    assert ml_connector(channel).verify() == SELLER

    token_call, me_call = rsps.calls
    assert token_call.request.method == "POST" and path(token_call) == "/oauth/token"
    assert token_call.request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert "Authorization" not in token_call.request.headers
    assert {k: v[0] for k, v in parse_qs(token_call.request.body).items()} == {
        "grant_type": "refresh_token",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "refresh_token": REFRESH,
    }
    assert me_call.request.headers["Authorization"] == f"Bearer {NEW_ACCESS}"
    stored = channel_credentials(channel=SalesChannel.objects.get(pk=channel.pk))
    assert stored["access_token"] == NEW_ACCESS
    assert stored["refresh_token"] == NEW_REFRESH
    assert datetime.fromisoformat(stored["access_token_expires_at"]) == NOW + timedelta(hours=6)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("left", "refreshes"), [(timedelta(minutes=4), True), (timedelta(minutes=6), False)]
)
def test_token_is_refreshed_only_when_expiring_within_five_minutes(rsps, left, refreshes):
    channel = ml_channel(valid_credentials(expires_in=left))
    rsps.post(f"{BASE}/oauth/token", json=token_answer())
    me(rsps)

    ml_connector(channel).verify()

    token_calls = [c for c in rsps.calls if path(c) == "/oauth/token"]
    assert len(token_calls) == (1 if refreshes else 0)
    expected = NEW_ACCESS if refreshes else ACCESS
    assert rsps.calls[-1].request.headers["Authorization"] == f"Bearer {expected}"


@pytest.mark.django_db
def test_refused_refresh_token_raises_clear_auth_error_without_secrets(rsps, caplog):
    caplog.set_level(logging.DEBUG)
    channel = ml_channel(BASE_CREDENTIALS)
    # A vendor body that echoes what it was sent.
    rsps.post(
        f"{BASE}/oauth/token",
        status=400,
        json=ml_error(
            400,
            f"Error validating grant {REFRESH} for client {CLIENT_ID} secret {CLIENT_SECRET}",
            "invalid_grant",
        ),
    )

    with pytest.raises(AuthError) as info:
        ml_connector(channel).verify()

    error = info.value
    assert "the refresh token was refused; re-authorize the seller" in str(error)
    for secret in (REFRESH, CLIENT_SECRET):
        assert secret not in str(error)
        assert secret not in repr(error.args)
        assert secret not in error.body
        assert secret not in caplog.text
    # Nothing was issued: the stored refresh token is untouched.
    assert channel_credentials(channel=channel)["refresh_token"] == REFRESH
    assert len(rsps.calls) == 1


@pytest.mark.django_db
def test_wrong_client_secret_is_an_auth_error_naming_the_app_credentials(rsps):
    channel = ml_channel(BASE_CREDENTIALS)
    rsps.post(
        f"{BASE}/oauth/token",
        status=400,
        json=ml_error(400, "invalid client_id or client_secret", "invalid_client"),
    )
    with pytest.raises(AuthError, match="client id / client secret"):
        ml_connector(channel).verify()


@pytest.mark.django_db
def test_token_endpoint_outage_is_transient_and_not_retried_under_the_lock(rsps):
    channel = ml_channel(BASE_CREDENTIALS)
    rsps.post(f"{BASE}/oauth/token", status=503, json=ml_error(503, "unavailable"))
    connector = ml_connector(channel)

    with pytest.raises(TransientError):
        connector.verify()

    assert len(rsps.calls) == 1 and connector.sleeps == []
    assert channel_credentials(channel=channel)["refresh_token"] == REFRESH


@pytest.mark.django_db
def test_second_instance_adopts_the_token_the_first_stored_instead_of_spending_the_refresh(rsps):
    channel = ml_channel(BASE_CREDENTIALS)
    first = ml_connector(channel)
    # Built before the first refresh: holds the (about to be spent) refresh token in memory.
    second = ml_connector(SalesChannel.objects.get(pk=channel.pk))
    rsps.post(f"{BASE}/oauth/token", json=token_answer())
    me(rsps)

    first.verify()
    second.verify()

    assert [path(c) for c in rsps.calls].count("/oauth/token") == 1
    assert rsps.calls[-1].request.headers["Authorization"] == f"Bearer {NEW_ACCESS}"
    assert second.credentials["refresh_token"] == NEW_REFRESH


@pytest.mark.django_db
def test_401_refreshes_once_and_retries_the_call_once(rsps):
    channel = ml_channel()
    rsps.get(f"{BASE}/users/me", status=401, json=ml_error(401, "invalid access token"))
    rsps.post(f"{BASE}/oauth/token", json=token_answer())
    me(rsps)

    assert ml_connector(channel).verify() == SELLER

    assert [(c.request.method, path(c)) for c in rsps.calls] == [
        ("GET", "/users/me"),
        ("POST", "/oauth/token"),
        ("GET", "/users/me"),
    ]
    assert rsps.calls[0].request.headers["Authorization"] == f"Bearer {ACCESS}"
    assert rsps.calls[2].request.headers["Authorization"] == f"Bearer {NEW_ACCESS}"


@pytest.mark.django_db
def test_a_second_401_raises_and_refreshes_only_once(rsps):
    channel = ml_channel()
    rsps.get(f"{BASE}/users/me", status=401, json=ml_error(401, "invalid access token"))
    rsps.post(f"{BASE}/oauth/token", json=token_answer())

    with pytest.raises(AuthError):
        ml_connector(channel).verify()

    assert [path(c) for c in rsps.calls] == ["/users/me", "/oauth/token", "/users/me"]


@pytest.mark.django_db
def test_403_raises_permission_denied_without_refreshing(rsps):
    channel = ml_channel()
    rsps.get(f"{BASE}/users/me", status=403, json=ml_error(403, "forbidden", "forbidden"))

    with pytest.raises(PermissionDeniedError):
        ml_connector(channel).verify()

    assert [path(c) for c in rsps.calls] == ["/users/me"]


# --- stock and prices -----------------------------------------------------------------------


def stock(key, item_id, quantity, variation_id=""):
    return StockUpdate(
        key=key, ref=ExternalRef(item_id=item_id, variation_id=variation_id), quantity=quantity
    )


def price(key, item_id, amount, variation_id=""):
    return PriceUpdate(
        key=key, ref=ExternalRef(item_id=item_id, variation_id=variation_id), price=Decimal(amount)
    )


@pytest.mark.django_db
def test_push_stock_sends_one_put_per_simple_item(rsps):
    channel = ml_channel()
    rsps.put(f"{BASE}/items/MLB1", json={"id": "MLB1"})
    rsps.put(f"{BASE}/items/MLB2", json={"id": "MLB2"})

    result = ml_connector(channel).push_stock([stock(1, "MLB1", 7), stock(2, "MLB2", -3)])

    assert result.accepted == [1, 2] and result.rejected == {}
    assert [(c.request.method, path(c)) for c in rsps.calls] == [
        ("PUT", "/items/MLB1"),
        ("PUT", "/items/MLB2"),
    ]
    assert json.loads(rsps.calls[0].request.body) == {"available_quantity": 7}
    assert json.loads(rsps.calls[1].request.body) == {"available_quantity": 0}  # never negative
    headers = rsps.calls[0].request.headers
    assert headers["Authorization"] == f"Bearer {ACCESS}"
    assert headers["Content-Type"] == "application/json"


ITEM_WITH_VARIATIONS = {
    "id": "MLB9",
    "variations": [
        {"id": 1801, "available_quantity": 1, "price": 50},
        {"id": 1802, "available_quantity": 2, "price": 50},
        {"id": 1803, "available_quantity": 3, "price": 50},
    ],
}


@pytest.mark.django_db
def test_push_stock_to_variations_lists_every_variation_of_the_item_in_one_put(rsps):
    channel = ml_channel()
    rsps.get(f"{BASE}/items/MLB9", json=ITEM_WITH_VARIATIONS)
    rsps.put(f"{BASE}/items/MLB9", json={"id": "MLB9"})

    result = ml_connector(channel).push_stock(
        [
            stock("a", "MLB9", 10, "1801"),
            stock("c", "MLB9", 30, "1803"),
            stock("x", "MLB9", 5, "9999"),  # not a variation of this item
            stock("p", "MLB9", 5),  # binding without variation on an item with variations
        ]
    )

    assert sorted(result.accepted) == ["a", "c"]
    assert "does not exist" in result.rejected["x"]
    assert "needs its variation id" in result.rejected["p"]
    get_call, put_call = rsps.calls
    assert get_call.request.method == "GET" and path(get_call) == "/items/MLB9"
    assert put_call.request.method == "PUT"
    assert json.loads(put_call.request.body) == {
        "variations": [
            {"id": 1801, "available_quantity": 10},
            {"id": 1802},
            {"id": 1803, "available_quantity": 30},
        ]
    }


@pytest.mark.django_db
def test_a_refused_put_of_several_variations_is_split_so_only_the_bad_one_is_rejected(rsps):
    channel = ml_channel()
    rsps.get(f"{BASE}/items/MLB9", json=ITEM_WITH_VARIATIONS)
    bodies = []

    def answer(request):
        body = json.loads(request.body)
        bodies.append(body)
        if any(v.get("available_quantity") == 13 for v in body["variations"]):
            return 400, {}, json.dumps(ml_error(400, "Variation 1802 is under review"))
        return 200, {}, json.dumps({"id": "MLB9"})

    rsps.add_callback(responses.PUT, f"{BASE}/items/MLB9", callback=answer)

    result = ml_connector(channel).push_stock(
        [
            stock("a", "MLB9", 10, "1801"),
            stock("b", "MLB9", 13, "1802"),
            stock("c", "MLB9", 30, "1803"),
        ]
    )

    assert sorted(result.accepted) == ["a", "c"]
    assert "under review" in result.rejected["b"]
    # Every PUT lists all variations (none deleted); the refused one is found by halves.
    assert all([v["id"] for v in b["variations"]] == [1801, 1802, 1803] for b in bodies)
    assert len(bodies) == 1 + 2 + 2  # 3 → (2 → 1 + 1) + 1


@pytest.mark.django_db
def test_push_prices_simple_and_one_price_for_every_variation(rsps):
    # "The price must be the same for each variation. Only the highest price will be seen in
    # the VIP and will also be taken into account at the time the payment is made."
    channel = ml_channel()
    rsps.put(f"{BASE}/items/MLB1", json={"id": "MLB1"})
    rsps.get(f"{BASE}/items/MLB9", json=ITEM_WITH_VARIATIONS)
    rsps.put(f"{BASE}/items/MLB9", json={"id": "MLB9"})

    result = ml_connector(channel).push_prices(
        [price(1, "MLB1", "79.90"), price(2, "MLB9", "120", "1802"), price(3, "MLB9", "99", "1803")]
    )

    assert result.accepted == [1, 2, 3]
    bodies = [json.loads(c.request.body) for c in rsps.calls if c.request.method == "PUT"]
    assert bodies == [
        {"price": 79.9},
        # The highest of the batch, on every variation (1801 is bound to no ERP SKU).
        {
            "variations": [
                {"id": 1801, "price": 120},
                {"id": 1802, "price": 120},
                {"id": 1803, "price": 120},
            ]
        },
    ]


@pytest.mark.django_db
def test_validation_and_not_found_are_rejected_per_item_with_the_vendor_message(rsps):
    channel = ml_channel()
    rsps.put(
        f"{BASE}/items/MLB1",
        status=400,
        json=ml_error(400, "Item MLB1 is closed and cannot be modified", "item.status.invalid"),
    )
    rsps.put(
        f"{BASE}/items/MLB2", status=404, json=ml_error(404, "Item MLB2 not found", "not_found")
    )
    rsps.put(f"{BASE}/items/MLB3", json={"id": "MLB3"})

    result = ml_connector(channel).push_stock(
        [stock(1, "MLB1", 1), stock(2, "MLB2", 1), stock(3, "MLB3", 1), stock(4, "", 1)]
    )

    assert result.accepted == [3]
    assert "is closed and cannot be modified" in result.rejected[1]
    assert "not found" in result.rejected[2]
    assert "no item id" in result.rejected[4]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (401, AuthError),
        (403, PermissionDeniedError),
        (429, RateLimitedError),
        (503, TransientError),
    ],
)
def test_account_and_transport_errors_propagate_from_a_push(rsps, status, error_class):
    channel = ml_channel()
    rsps.put(f"{BASE}/items/MLB1", status=status, json=ml_error(status, "nope"))
    rsps.post(f"{BASE}/oauth/token", json=token_answer())  # used by the 401 case only
    connector = ml_connector(channel)

    with pytest.raises(error_class):
        connector.push_stock([stock(1, "MLB1", 1)])

    if status in (429, 503):
        # Retried with backoff (injected sleep: no real waiting), then given up.
        assert len(connector.sleeps) == connector.http.max_retries


@pytest.mark.django_db
def test_429_is_retried_after_the_retry_after_delay(rsps):
    channel = ml_channel()
    rsps.put(
        f"{BASE}/items/MLB1",
        status=429,
        json=ml_error(429, "Too Many Requests", "too_many_requests"),
        headers={"Retry-After": "3"},
    )
    rsps.put(f"{BASE}/items/MLB1", json={"id": "MLB1"})
    connector = ml_connector(channel)

    result = connector.push_stock([stock(1, "MLB1", 4)])

    assert result.accepted == [1]
    assert connector.sleeps == [3.0]
    assert len(rsps.calls) == 2


@pytest.mark.django_db
def test_a_token_echoed_in_an_error_body_reaches_neither_result_nor_logs(rsps, caplog):
    caplog.set_level(logging.DEBUG)
    channel = ml_channel()
    rsps.put(
        f"{BASE}/items/MLB1",
        status=400,
        json=ml_error(400, f"invalid request from Bearer {ACCESS} token={ACCESS}"),
    )
    rsps.put(f"{BASE}/items/MLB2", status=500, json=ml_error(500, f"boom {ACCESS} {CLIENT_SECRET}"))

    connector = ml_connector(channel)
    result = connector.push_stock([stock(1, "MLB1", 1)])
    with pytest.raises(TransientError) as info:
        connector.push_stock([stock(2, "MLB2", 1)])

    for secret in SECRETS:
        assert secret not in result.rejected[1]
        assert secret not in str(info.value)
        assert secret not in info.value.body
        assert secret not in caplog.text
    assert "[REDACTED]" in result.rejected[1]


# --- orders -----------------------------------------------------------------------------------


def ml_order(order_id, last_updated, *, status="paid", shipment_id=44001, sku="CAM-P"):
    return {
        "id": order_id,
        "status": status,
        "date_created": "2025-01-10T08:00:00.000-03:00",
        "last_updated": last_updated,
        "total_amount": 119.8,
        "paid_amount": 139.7,
        "currency_id": "BRL",
        "order_items": [
            {
                "item": {
                    "id": "MLB9",
                    "title": "Camiseta",
                    "variation_id": 1801,
                    "seller_sku": sku,
                    "seller_custom_field": None,
                    "variation_attributes": [{"id": "SIZE", "name": "Tamanho", "value_name": "P"}],
                },
                "quantity": 2,
                "unit_price": 59.9,
            }
        ],
        "buyer": {"id": 7001, "nickname": "MARIA1", "first_name": "Maria", "last_name": "Silva"},
        "payments": [
            {
                "id": 9001,
                "payment_method_id": "visa",
                "payment_type": "credit_card",
                "status": "approved",
                "shipping_cost": 19.9,
            }
        ],
        "shipping": {"id": shipment_id},
    }


SHIPMENT = {
    "id": 44001,
    "status": "ready_to_ship",
    "tracking_method": "Correios",
    "logistic": {"mode": "me2", "type": "drop_off", "direction": "forward"},
    "lead_time": {"shipping_method": {"id": 510345, "name": "SEDEX 10", "type": "express"}},
}


SHIPMENT_WITH_DESTINATION = {
    **SHIPMENT,
    # The new format's destination ("Ship products" guide: receiver_address is now
    # destination.shipping_address).
    "destination": {
        "type": "buying_address",
        "receiver_name": "Maria Silva",
        "receiver_phone": "11 12345678",
        "shipping_address": {
            "address_line": "Avenida Brigadeiro Faria Lima 1234",
            "street_name": "Avenida Brigadeiro Faria Lima",
            "street_number": "1234",
            "comment": "Apto 5",
            "zip_code": "01452002",
            "city": {"id": "BR-SP-44", "name": "São Paulo"},
            "state": {"id": "BR-SP", "name": "São Paulo"},
            "country": {"id": "BR", "name": "Brasil"},
            "neighborhood": {"id": None, "name": "Jardim Paulistano"},
        },
    },
}
# GET /orders/{id}/billing_info with x-version: 2 ("Billing data" guide).
BILLING_V2 = {
    "site_id": "MLB",
    "buyer": {
        "cust_id": 123,
        "billing_info": {
            "name": "Maria",
            "last_name": "Silva",
            "identification": {"type": "CPF", "number": "15635614680"},
        },
    },
}


def orders_page(results, total, offset=0, limit=50):
    return {"results": results, "paging": {"total": total, "offset": offset, "limit": limit}}


@pytest.mark.django_db
def test_fetch_orders_searches_by_last_update_and_reads_each_shipment(rsps):
    channel = ml_channel()
    me(rsps)
    rsps.get(
        f"{BASE}/orders/search",
        json=orders_page([ml_order(2001, "2025-01-10T09:00:00.000-03:00")], total=1),
    )
    rsps.get(f"{BASE}/shipments/44001", json=SHIPMENT_WITH_DESTINATION)
    rsps.replace(responses.GET, BILLING_URL, json=BILLING_V2)

    page = ml_connector(channel).fetch_orders("2025-01-01T00:37:12.345-03:00", limit=500)

    search = next(c for c in rsps.calls if path(c) == "/orders/search")
    assert query(search) == {
        "seller": SELLER,
        # The vendor reads the hour only: the cursor sends whole hours, never milliseconds.
        "order.date_last_updated.from": "2025-01-01T03:00:00.000-00:00",
        "sort": "date_asc",
        "offset": "0",
        "limit": "50",  # capped at the vendor's page size
    }
    assert search.request.headers["Authorization"] == f"Bearer {ACCESS}"
    shipment = next(c for c in rsps.calls if path(c) == "/shipments/44001")
    assert shipment.request.headers["x-format-new"] == "true"
    assert page.has_more is False and page.ack_tokens == []
    (order,) = page.orders
    assert order.external_id == "2001"
    assert (order.status_code, order.status_label) == ("paid", "Paid")
    assert (order.carrier_code, order.carrier_label) == ("Correios", "Correios")
    assert (order.service_code, order.service_label) == ("510345", "SEDEX 10")
    assert (order.payment_code, order.payment_label) == ("visa", "credit_card")
    (line,) = order.lines
    assert (line.seller_sku, line.item_id, line.variation_id) == ("CAM-P", "MLB9", "1801")
    assert (line.quantity, line.unit_price) == (2, Decimal("59.9"))
    assert order.customer.name == "Maria Silva"
    assert order.items_total == Decimal("119.8")
    assert order.shipping_total == Decimal("19.9")
    assert order.total == Decimal("139.7")
    assert order.updated_at == datetime(2025, 1, 10, 12, 0, tzinfo=UTC)
    assert order.raw["shipment"]["id"] == 44001
    billing = next(c for c in rsps.calls if path(c) == "/orders/2001/billing_info")
    assert billing.request.headers["x-version"] == "2"
    assert order.customer.document == "15635614680"
    assert order.delivery == Address(
        recipient="Maria Silva",
        street="Avenida Brigadeiro Faria Lima",
        number="1234",
        complement="Apto 5",
        district="Jardim Paulistano",
        city="São Paulo",
        state="SP",
        postal_code="01452002",
        phone="11 12345678",
    )


@pytest.mark.django_db
def test_an_unpaid_order_has_its_total_from_total_amount_and_the_shipping_cost(rsps):
    # Before payment Mercado Livre sends paid_amount 0 and no approved payment (issue 11: 8 of
    # 43 orders imported with total 0.00). The amounts come from total_amount and the
    # shipment's cost, which every order carries from the start.
    unpaid = ml_order(2002, "2025-01-10T09:00:00.000-03:00", status="payment_required")
    unpaid["paid_amount"] = 0
    unpaid["payments"][0].update(status="pending", shipping_cost=0)
    shipment = {**SHIPMENT, "lead_time": {**SHIPMENT["lead_time"], "cost": 19.9}}
    me(rsps)
    rsps.get(f"{BASE}/orders/search", json=orders_page([unpaid], total=1))
    rsps.get(f"{BASE}/shipments/44001", json=shipment)

    (order,) = ml_connector(ml_channel()).fetch_orders(None, limit=50).orders

    assert (order.items_total, order.shipping_total, order.total) == (
        Decimal("119.8"),
        Decimal("19.9"),
        Decimal("139.7"),
    )


@pytest.mark.django_db
def test_order_cursor_moves_by_whole_hours_and_never_re_reads_an_unchanged_order(rsps):
    channel = ml_channel()
    me(rsps)
    t1, t2 = "2025-01-09T10:00:00.000-03:00", "2025-01-09T11:20:00.000-03:00"
    first_pass = [ml_order(1, t1), ml_order(2, t2), ml_order(3, t2)]
    rsps.get(f"{BASE}/orders/search", json=orders_page(first_pass[:2], total=3, limit=2))
    rsps.get(f"{BASE}/orders/search", json=orders_page(first_pass[2:], total=3, offset=2, limit=2))
    # The next pass starts at the hour of (t2 − 5 min): 2 and 3 come back unchanged and are
    # dropped without a shipment GET; 4 is new with the very same timestamp and is delivered.
    rsps.get(
        f"{BASE}/orders/search",
        json=orders_page([ml_order(2, t2), ml_order(3, t2), ml_order(4, t2)], total=3, limit=3),
    )
    rsps.get(f"{BASE}/shipments/44001", json=SHIPMENT)
    connector = ml_connector(channel)

    page1 = connector.fetch_orders(None, limit=2)
    page2 = connector.fetch_orders(page1.next_cursor, limit=2)
    page3 = connector.fetch_orders(page2.next_cursor, limit=3)

    assert [o.external_id for o in page1.orders] == ["1", "2"] and page1.has_more
    assert [o.external_id for o in page2.orders] == ["3"] and not page2.has_more
    assert [o.external_id for o in page3.orders] == ["4"] and not page3.has_more
    searches = [query(c) for c in rsps.calls if path(c) == "/orders/search"]
    assert "order.date_last_updated.from" not in searches[0]
    assert (searches[0]["offset"], searches[1]["offset"], searches[2]["offset"]) == ("0", "2", "0")
    assert searches[1].get("order.date_last_updated.from") is None
    assert searches[2]["order.date_last_updated.from"] == "2025-01-09T14:00:00.000-00:00"
    assert len([c for c in rsps.calls if path(c) == "/shipments/44001"]) == 4  # one per order
    # Versions inside the window stay known, so the overlap re-reads none of them.
    assert set(json.loads(page3.next_cursor)["seen"]) == {"2", "3", "4"}


@pytest.mark.django_db
def test_a_pass_that_read_fewer_orders_than_the_search_counts_reads_the_window_again(rsps):
    channel = ml_channel()
    me(rsps)
    t = "2025-01-09T10:00:00.000-03:00"
    paid = "2025-01-09T10:30:00.000-03:00"
    # Page 1 holds 1 and 2. Then order 1 is paid: it moves to the end of the vendor's sort,
    # order 3 slides into position 1, already read — page 2 (offset 2) shows only 4 and 1.
    rsps.get(
        f"{BASE}/orders/search",
        json=orders_page([ml_order(1, t), ml_order(2, t)], total=4, limit=2),
    )
    rsps.get(
        f"{BASE}/orders/search",
        json=orders_page([ml_order(4, t), ml_order(1, paid)], total=4, offset=2, limit=2),
    )
    # Three distinct orders read, four counted: the pass starts over and finds 3.
    rsps.get(
        f"{BASE}/orders/search",
        json=orders_page([ml_order(2, t), ml_order(3, t)], total=4, limit=2),
    )
    rsps.get(
        f"{BASE}/orders/search",
        json=orders_page([ml_order(4, t), ml_order(1, paid)], total=4, offset=2, limit=2),
    )
    rsps.get(f"{BASE}/shipments/44001", json=SHIPMENT)
    connector = ml_connector(channel)

    pages, cursor = [], None
    for _ in range(4):
        page = connector.fetch_orders(cursor, limit=2)
        pages.append(page)
        cursor = page.next_cursor

    delivered = [(o.external_id, o.updated_at.minute) for p in pages for o in p.orders]
    assert delivered == [("1", 0), ("2", 0), ("4", 0), ("1", 30), ("3", 0)]
    assert [p.has_more for p in pages] == [True, True, True, False]
    offsets = [query(c)["offset"] for c in rsps.calls if path(c) == "/orders/search"]
    assert offsets == ["0", "2", "0", "2"]


@pytest.mark.django_db
def test_a_cursor_of_the_previous_shape_continues_from_its_hour(rsps):
    t = "2025-01-09T11:20:00.000-03:00"
    old = json.dumps(
        {
            "v": 1,
            "from": "2025-01-09T11:20:05.123-03:00",
            "offset": 40,
            "started": "2026-01-01T00:00:00+00:00",
            "newest": t,
            "seen": {"2": t},
        }
    )
    me(rsps)
    rsps.get(f"{BASE}/orders/search", json=orders_page([ml_order(2, t), ml_order(5, t)], total=2))
    rsps.get(f"{BASE}/shipments/44001", json=SHIPMENT)

    page = ml_connector(ml_channel()).fetch_orders(old, limit=50)

    search = next(query(c) for c in rsps.calls if path(c) == "/orders/search")
    assert (search["order.date_last_updated.from"], search["offset"]) == (
        "2025-01-09T14:00:00.000-00:00",
        "0",
    )
    assert [o.external_id for o in page.orders] == ["5"]  # 2 was delivered already
    assert json.loads(page.next_cursor)["v"] == 2


@pytest.mark.django_db
def test_an_order_updated_again_is_delivered_again(rsps):
    channel = ml_channel()
    me(rsps)
    t1, t2 = "2025-01-09T10:00:00.000-03:00", "2025-01-09T12:00:00.000-03:00"
    rsps.get(f"{BASE}/orders/search", json=orders_page([ml_order(1, t1)], total=1))
    rsps.get(
        f"{BASE}/orders/search",
        json=orders_page([ml_order(1, t2, status="cancelled")], total=1),
    )
    rsps.get(f"{BASE}/shipments/44001", json=SHIPMENT)
    connector = ml_connector(channel)

    first = connector.fetch_orders(None, limit=50)
    second = connector.fetch_orders(first.next_cursor, limit=50)

    assert [o.status_code for o in first.orders + second.orders] == ["paid", "cancelled"]


@pytest.mark.django_db
def test_an_invalid_order_is_read_with_its_status(rsps):
    me(rsps)
    rsps.get(
        f"{BASE}/orders/search",
        json=orders_page([ml_order(5, "2025-01-09T10:00:00.000-03:00", status="invalid")], 1),
    )
    rsps.get(f"{BASE}/shipments/44001", json=SHIPMENT)

    (order,) = ml_connector(ml_channel()).fetch_orders(None, limit=50).orders

    assert (order.status_code, order.status_label) == ("invalid", "Invalid (malicious buyer)")


@pytest.mark.django_db
def test_recent_orders_lists_by_creation_date_and_reads_a_shifted_listing_again(rsps):
    me(rsps)
    a, b, c = (
        {"id": n, "date_created": f"2025-01-0{n}T10:00:00.000-03:00", "last_updated": "x"}
        for n in (1, 2, 3)
    )
    # The first listing loses order 2 (it moved while paged): 2 distinct of 3 counted.
    rsps.get(f"{BASE}/orders/search", json=orders_page([a], total=3, limit=1))
    rsps.get(f"{BASE}/orders/search", json=orders_page([c], total=3, offset=1, limit=1))
    rsps.get(f"{BASE}/orders/search", json=orders_page([], total=3, offset=2, limit=1))
    rsps.get(f"{BASE}/orders/search", json=orders_page([a, b, c], total=3, limit=3))
    since = datetime(2025, 1, 1, 2, 30, tzinfo=UTC)

    listed = list(ml_connector(ml_channel()).recent_orders(since))

    assert [order_id for order_id, _ in listed] == ["1", "3", "2"]
    assert listed[2][1] == datetime(2025, 1, 2, 13, 0, tzinfo=UTC)
    searches = [query(c) for c in rsps.calls if path(c) == "/orders/search"]
    assert searches[0]["order.date_created.from"] == "2025-01-01T02:00:00.000-00:00"
    assert searches[0]["sort"] == "date_asc"
    assert [q["offset"] for q in searches] == ["0", "1", "2", "0"]


# --- unreadable order data (vendors/parsing.py) -------------------------------------------------


def with_line(order, **changes):
    line = {**order["order_items"][0], **changes}
    return {**order, "order_items": [line]}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("bad", "shown"),
    [
        ("12,3x", '"12,3x"'),
        (float("nan"), "NaN"),
        ({"amount": 59.9}, '{"amount": 59.9}'),
        (True, "true"),
        ("-59.90", '"-59.90"'),
    ],
)
def test_an_unreadable_unit_price_sets_the_order_aside_naming_the_field(rsps, bad, shown):
    # Before vendors/parsing.py, Mercado Livre turned these into a silent price of 0.
    channel = ml_channel()
    me(rsps)
    t = "2025-01-10T09:00:00.000-03:00"
    order = with_line(ml_order(2000012345, t), unit_price=bad)
    rsps.get(f"{BASE}/orders/search", json=orders_page([order, ml_order(2000012346, t)], total=2))
    rsps.get(f"{BASE}/shipments/44001", json=SHIPMENT)

    page = ml_connector(channel).fetch_orders(None, limit=50)

    assert [o.external_id for o in page.orders] == ["2000012346"]
    (invalid,) = page.invalid
    assert invalid.external_id == "2000012345"
    assert invalid.reason.startswith(
        "Mercado Livre order 2000012345: order_items[0].unit_price is "
    )
    assert shown in invalid.reason
    assert invalid.path == "order_items[0].unit_price"
    # The document as read, with its shipment; the cursor moved past both orders.
    assert invalid.raw["shipment"]["id"] == 44001
    assert set(json.loads(page.next_cursor)["seen"]) == {"2000012345", "2000012346"}


@pytest.mark.django_db
def test_a_result_whose_id_cannot_be_read_gets_a_stable_key_from_its_content(rsps):
    channel = ml_channel()
    me(rsps)
    t = "2025-01-10T09:00:00.000-03:00"
    long_id = ml_order("9" * 81, t)
    rsps.get(f"{BASE}/orders/search", json=orders_page([long_id, "junk", ml_order(5, t)], total=3))
    rsps.get(f"{BASE}/shipments/44001", json=SHIPMENT)

    page = ml_connector(channel).fetch_orders(None, limit=50)

    assert [o.external_id for o in page.orders] == ["5"]
    too_long, junk = page.invalid
    assert too_long.path == "id" and "longer than 80 characters" in too_long.reason
    assert too_long.external_id == unreadable_order_key(too_long.raw["order"])
    assert too_long.external_id.startswith("unreadable-") and not too_long.refetchable
    assert junk.reason == 'Mercado Livre order: the order document is "junk", not an object'
    assert len({too_long.external_id, junk.external_id}) == 2


@pytest.mark.django_db
def test_a_shipping_that_is_not_an_object_sets_the_order_aside(rsps):
    channel = ml_channel()
    me(rsps)
    order = {**ml_order(6, "2025-01-10T09:00:00.000-03:00"), "shipping": [44001]}
    rsps.get(f"{BASE}/orders/search", json=orders_page([order], total=1))

    (invalid,) = ml_connector(channel).fetch_orders(None, limit=50).invalid

    assert (invalid.external_id, invalid.path) == ("6", "shipping")


@pytest.mark.django_db
def test_fetch_order_reads_the_order_and_its_shipment_as_the_search_does(rsps):
    channel = ml_channel()
    me(rsps)
    rsps.get(f"{BASE}/orders/2001", json=ml_order(2001, "2025-01-10T09:00:00.000-03:00"))
    rsps.get(f"{BASE}/shipments/44001", json=SHIPMENT)

    order = ml_connector(channel).fetch_order("2001")

    assert order.external_id == "2001"
    assert (order.carrier_code, order.service_code) == ("Correios", "510345")
    shipment = next(c for c in rsps.calls if path(c) == "/shipments/44001")
    assert shipment.request.headers["x-format-new"] == "true"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"quantity": 2.5}, "order_items[0].quantity is 2.5, not a whole number"),
        ({"quantity": None}, "order_items[0].quantity is missing"),  # was a silent 0
        ({"quantity": 0}, "order_items[0].quantity is 0, less than 1"),
    ],
)
def test_an_unreadable_quantity_refuses_the_order(changes, message):
    channel = ml_channel()
    order = with_line(ml_order(7, "2025-01-10T09:00:00.000-03:00"), **changes)
    with pytest.raises(InvalidVendorData) as caught:
        ml_connector(channel).normalize_order(order, shipment=SHIPMENT)
    assert str(caught.value) == f"Mercado Livre order 7: {message}"


@pytest.mark.django_db
def test_normalize_order_reads_dates_aware_and_names_a_bad_shipment_field():
    connector = ml_connector(ml_channel())
    order = ml_order(8, "2025-01-10T09:00:00")  # no offset: read as UTC
    normalized = connector.normalize_order(order, shipment=None)
    assert normalized.updated_at == datetime(2025, 1, 10, 9, 0, tzinfo=UTC)
    assert normalized.placed_at == datetime(2025, 1, 10, 11, 0, tzinfo=UTC)  # -03:00
    assert (normalized.carrier_code, normalized.service_code) == ("", "")  # no shipment

    with pytest.raises(InvalidVendorData, match=r"order 8: date_created is \"ontem\""):
        connector.normalize_order({**order, "date_created": "ontem"})
    with pytest.raises(InvalidVendorData, match=r"order 8: shipment.logistic is \[\]"):
        connector.normalize_order(order, shipment={**SHIPMENT, "logistic": []})


# --- listings ---------------------------------------------------------------------------------


def ml_item(item_id, *, sku=None, legacy=None, ean=None, variations=None, status="active"):
    attributes = [{"id": "BRAND", "value_name": "Marca"}]
    if sku:
        attributes.append({"id": "SELLER_SKU", "value_name": sku})
    if ean:
        attributes.append({"id": "GTIN", "value_name": ean})
    return {
        "id": item_id,
        "title": f"Produto {item_id}",
        "status": status,
        "attributes": attributes,
        "seller_custom_field": legacy,
        "variations": variations or [],
    }


@pytest.mark.django_db
def test_list_listings_searches_the_seller_items_and_multigets_them_with_attributes(rsps):
    channel = ml_channel()
    me(rsps)
    ids = [f"MLB{n}" for n in range(1, 23)]
    rsps.get(
        f"{BASE}/users/{SELLER}/items/search",
        json={"results": ids, "paging": {"total": 22, "offset": 0, "limit": 50}},
    )
    items = [ml_item(i, sku=f"SKU-{i}", ean="7891000000015") for i in ids[:20]]
    items[1] = ml_item("MLB2", legacy="LEGACY-2", status="paused")
    items[2] = ml_item(
        "MLB3",
        variations=[
            {
                "id": 1801,
                "attribute_combinations": [{"id": "COLOR", "value_name": "Azul"}],
                "attributes": [
                    {"id": "SELLER_SKU", "value_name": "CAM-AZ"},
                    {"id": "GTIN", "value_name": "7891000000022"},
                ],
            },
            {"id": 1802, "attributes": [], "seller_custom_field": "CAM-VD"},
        ],
    )
    rsps.get(f"{BASE}/items", json=[{"code": 200, "body": item} for item in items])
    rsps.get(
        f"{BASE}/items",
        json=[
            {"code": 200, "body": ml_item("MLB21", sku="SKU-MLB21")},
            {"code": 404, "body": ml_error(404, "Item with id MLB22 not found", "not_found")},
        ],
    )

    listings = list(ml_connector(channel).list_listings())

    search = next(c for c in rsps.calls if path(c).endswith("/items/search"))
    assert query(search) == {"offset": "0", "limit": "50"}
    multigets = [query(c) for c in rsps.calls if path(c) == "/items"]
    assert [m["ids"].split(",") for m in multigets] == [ids[:20], ids[20:]]
    assert all(m["include_attributes"] == "all" for m in multigets)
    by_sku = {listing.seller_sku: listing for listing in listings}
    assert len(listings) == 21 + 1  # 19 simple + 2 variations + MLB21; MLB22 was not found
    assert by_sku["SKU-MLB1"].ean == "7891000000015" and by_sku["SKU-MLB1"].ref.item_id == "MLB1"
    assert by_sku["LEGACY-2"].active is False
    blue = by_sku["CAM-AZ"]
    assert (blue.ref.item_id, blue.ref.variation_id, blue.ean) == ("MLB3", "1801", "7891000000022")
    assert blue.title == "Produto MLB3 — Azul"
    assert by_sku["CAM-VD"].ref.variation_id == "1802"


@pytest.mark.django_db
def test_a_listing_with_an_unusable_id_fails_the_scan_naming_item_and_field(rsps):
    channel = ml_channel()
    me(rsps)
    rsps.get(
        f"{BASE}/users/{SELLER}/items/search",
        json={"results": ["MLB1"], "paging": {"total": 1, "offset": 0, "limit": 50}},
    )
    variation = {"id": None, "attributes": [{"id": "SELLER_SKU", "value_name": "CAM-AZ"}]}
    rsps.get(f"{BASE}/items", json=[{"code": 200, "body": ml_item("MLB1", variations=[variation])}])
    with pytest.raises(InvalidVendorData) as caught:
        list(ml_connector(channel).list_listings())
    assert str(caught.value) == "Mercado Livre item MLB1: variations[0].id is missing"


@pytest.mark.django_db
def test_list_listings_switches_to_scan_mode_past_1000_items(rsps):
    channel = ml_channel()
    me(rsps)
    search_url = f"{BASE}/users/{SELLER}/items/search"
    rsps.get(search_url, json={"results": ["MLB1"], "paging": {"total": 1201, "offset": 0}})
    rsps.get(search_url, json={"results": ["MLB1", "MLB2"], "scroll_id": "scroll-a"})
    rsps.get(search_url, json={"results": ["MLB3"], "scroll_id": "scroll-b"})
    rsps.get(search_url, json={"results": [], "scroll_id": "scroll-c"})
    rsps.get(
        f"{BASE}/items",
        json=[{"code": 200, "body": ml_item(i, sku=i)} for i in ("MLB1", "MLB2", "MLB3")],
    )

    listings = list(ml_connector(channel).list_listings())

    assert [listing.seller_sku for listing in listings] == ["MLB1", "MLB2", "MLB3"]
    searches = [query(c) for c in rsps.calls if path(c).endswith("/items/search")]
    assert searches[1:] == [
        {"search_type": "scan", "limit": "100"},
        {"search_type": "scan", "limit": "100", "scroll_id": "scroll-a"},
        {"search_type": "scan", "limit": "100", "scroll_id": "scroll-b"},
    ]


# --- activation support ------------------------------------------------------------------------


@pytest.mark.django_db
def test_other_integrations_lists_granted_apps_except_our_own(rsps):
    channel = ml_channel()
    me(rsps)
    rsps.get(
        f"{BASE}/users/{SELLER}/applications",
        json=[
            {
                "user_id": SELLER,
                "app_id": CLIENT_ID,
                "date_created": "2024-01-01T00:00:00.000-03:00",
            },
            {
                "user_id": SELLER,
                "app_id": 7982740196824807,
                "date_created": "2024-06-01T10:00:00.000-03:00",
                "scopes": ["offline_access", "read", "write"],
            },
        ],
    )
    rsps.get(
        f"{BASE}/applications/7982740196824807", json={"id": 7982740196824807, "name": "Outro ERP"}
    )

    found = ml_connector(channel).other_integrations()

    assert [(o.app_id, o.name, o.connected_at) for o in found] == [
        ("7982740196824807", "Outro ERP", "2024-06-01T10:00:00.000-03:00")
    ]
    assert found[0].detail == "scopes: offline_access, read, write"


@pytest.mark.django_db
def test_reference_values_cover_statuses_payment_methods_and_shipping_methods(rsps):
    channel = ml_channel()
    me(rsps)
    rsps.get(
        f"{BASE}/sites/MLB/payment_methods",
        json=[{"id": "pix", "name": "Pix", "payment_type_id": "bank_transfer"}],
    )
    rsps.get(
        f"{BASE}/sites/MLB/shipping_methods",
        json=[
            {"id": 510345, "name": "SEDEX 10", "status": "active", "company_name": "Correios"},
            {"id": 1, "name": "Old", "status": "inactive", "company_name": "Correios"},
        ],
    )

    values = ml_connector(channel).reference_values()

    kinds = {(v.kind, v.code): v for v in values}
    assert {code for kind, code in kinds if kind == "order_status"} == {
        "confirmed",
        "payment_required",
        "payment_in_process",
        "partially_paid",
        "paid",
        "partially_refunded",
        "pending_cancel",
        "cancelled",
        "invalid",  # Global Selling orders guide: "invalidated as it came from a malicious buyer"
    }
    assert kinds[("payment_method", "pix")].label == "Pix"
    sedex = kinds[("carrier_service", "510345")]
    assert (sedex.label, sedex.parent_code) == ("SEDEX 10", "Correios")
    assert ("carrier_service", "1") not in kinds


# --- the single-use refresh token under real concurrency ----------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_workers_refreshing_at_once_make_exactly_one_token_call():
    emulator = MercadoLivreEmulator(rate=1000, burst=100)
    emulator.start()
    try:
        initial = MercadoLivreEmulator.demo_credentials()
        channel = make_channel(
            connector="mercadolivre",
            credentials=initial,  # no access token yet: both workers must refresh
            api_base_url=emulator.url,
            environment="sandbox",
        )
        barrier = threading.Barrier(2)
        tokens: dict[int, str] = {}
        errors: list[BaseException] = []

        def worker(n: int) -> None:
            try:
                connector = build_connector(SalesChannel.objects.get(pk=channel.pk))
                barrier.wait(timeout=10)
                connector.verify()
                tokens[n] = connector.credentials["access_token"]
            except BaseException as exc:  # noqa: BLE001 - reported by the main thread
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=worker, args=(n,)) for n in (1, 2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

        assert errors == []
        assert emulator.stats["token_calls"] == 1
        assert tokens[1] == tokens[2]
        stored = channel_credentials(channel=SalesChannel.objects.get(pk=channel.pk))
        assert stored["access_token"] == tokens[1]
        assert stored["refresh_token"] == emulator.refresh_token  # the newly issued one
        assert stored["refresh_token"] != initial["refresh_token"]
    finally:
        emulator.stop()
