"""The Mercado Livre emulator is strict where the vendor is, and the connector round-trips
against it over loopback HTTP."""

import json
from decimal import Decimal

import pytest
import requests

from sandbox.mercadolivre import (
    SHIPPING_METHODS,
    MercadoLivreEmulator,
)
from sync.services.connectors import build_connector
from tests.factories import make_channel
from vendors.ratelimit import TokenBucket
from vendors.types import (
    ExternalRef,
    StockUpdate,
)

DEMO = MercadoLivreEmulator.demo_credentials()
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def emulator():
    emulator = MercadoLivreEmulator(rate=1000, burst=100)
    emulator.start()
    yield emulator
    emulator.stop()


def bearer(emulator) -> dict:
    return {"Authorization": f"Bearer {emulator.issue_access_token()}"}


def refresh(emulator, refresh_token, **overrides):
    form = {
        "grant_type": "refresh_token",
        "client_id": DEMO["client_id"],
        "client_secret": DEMO["client_secret"],
        "refresh_token": refresh_token,
        **overrides,
    }
    return requests.post(f"{emulator.url}/oauth/token", data=form, headers=FORM, timeout=5)


# --- OAuth and auth ----------------------------------------------------------------------------


def test_a_refresh_token_is_single_use(emulator):
    first = refresh(emulator, DEMO["refresh_token"])
    assert first.status_code == 200
    issued = first.json()
    assert issued["token_type"] == "Bearer" and issued["expires_in"] == 21600
    assert issued["user_id"] == int(emulator.seller_id)
    assert issued["refresh_token"] != DEMO["refresh_token"]
    assert issued["refresh_token"] == emulator.refresh_token

    again = refresh(emulator, DEMO["refresh_token"])
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    assert set(again.json()) == {"message", "error", "status", "cause"}

    assert refresh(emulator, issued["refresh_token"]).status_code == 200
    assert emulator.stats["token_calls"] == 3
    assert emulator.stats["tokens_issued"] == 2
    me = requests.get(
        f"{emulator.url}/users/me",
        headers={"Authorization": f"Bearer {issued['access_token']}"},
        timeout=5,
    )
    assert me.status_code == 200 and me.json()["id"] == int(emulator.seller_id)


def test_token_endpoint_refuses_wrong_client_secret_and_json_bodies(emulator):
    wrong = refresh(emulator, DEMO["refresh_token"], client_secret="not-the-secret")
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_client"
    as_json = requests.post(
        f"{emulator.url}/oauth/token",
        json={**DEMO, "grant_type": "refresh_token"},
        timeout=5,
    )
    assert as_json.status_code == 400 and as_json.json()["error"] == "invalid_request"
    # Neither spent the refresh token.
    assert refresh(emulator, DEMO["refresh_token"]).status_code == 200


def test_demo_mode_accepts_the_last_issued_token_once_after_a_restart(emulator):
    left_in_database = f"TG-demo-refresh-7-{emulator.seller_id}"
    assert refresh(emulator, left_in_database).status_code == 400  # strict by default

    restarted = MercadoLivreEmulator(rate=1000, burst=100)
    restarted.seed_demo(sku_codes=["CAM-P", "CAM-M"], orders=0)
    restarted.start()
    try:
        assert refresh(restarted, left_in_database).status_code == 200
        assert refresh(restarted, left_in_database).status_code == 400  # single use again
    finally:
        restarted.stop()


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer APP_USR-demo-unknown-1"}, {"Authorization": "Basic abc"}],
)
def test_api_routes_answer_401_with_the_vendor_body_without_a_valid_bearer(emulator, headers):
    response = requests.get(f"{emulator.url}/users/me", headers=headers, timeout=5)
    assert response.status_code == 401
    body = response.json()
    assert body["status"] == 401 and body["cause"] == [] and body["message"]


def test_expired_tokens_and_query_string_tokens_are_refused(emulator):
    token = emulator.issue_access_token()
    in_query = requests.get(f"{emulator.url}/users/me", params={"access_token": token}, timeout=5)
    assert in_query.status_code == 401
    emulator.expire_access_tokens()
    expired = requests.get(
        f"{emulator.url}/users/me", headers={"Authorization": f"Bearer {token}"}, timeout=5
    )
    assert expired.status_code == 401


def test_rate_limit_answers_429_with_the_vendor_body_and_retry_after():
    emulator = MercadoLivreEmulator(rate=0.01, burst=1)
    emulator.start()
    try:
        headers = bearer(emulator)
        assert requests.get(f"{emulator.url}/users/me", headers=headers, timeout=5).ok
        limited = requests.get(f"{emulator.url}/users/me", headers=headers, timeout=5)
    finally:
        emulator.stop()
    assert limited.status_code == 429
    assert limited.json() == {
        "message": "Too Many Requests",
        "error": "too_many_requests",
        "status": 429,
        "cause": [],
    }
    assert int(limited.headers["Retry-After"]) >= 1
    assert emulator.stats["429"] == 1


# --- items ---------------------------------------------------------------------------------------


def put_item(emulator, item_id, body):
    return requests.put(
        f"{emulator.url}/items/{item_id}", json=body, headers=bearer(emulator), timeout=5
    )


def test_put_item_refuses_what_the_vendor_refuses_and_changes_nothing(emulator):
    simple = emulator.add_listing(seller_sku="S-1", quantity=5, price=10.0)
    varied = emulator.add_listing(
        variations=[
            {"seller_sku": "V-P", "quantity": 1, "combination": {"Tamanho": "P"}},
            {"seller_sku": "V-M", "quantity": 2, "combination": {"Tamanho": "M"}},
        ]
    )
    small, medium = emulator.variation_ids(varied)
    refused = [
        (simple, {"title": "x" * 61}),  # longer than the category's max_title_length
        (simple, {"title": ""}),
        (simple, {"seller_custom_field": "x"}),
        (simple, {"available_quantity": -1}),
        (simple, {"available_quantity": "3"}),
        (simple, {"price": 0}),
        (simple, {"variations": [{"id": small, "available_quantity": 1}]}),
        (varied, {"available_quantity": 3}),
        (varied, {"variations": [{"id": 999, "available_quantity": 1}, {"id": small}]}),
        (varied, {"variations": [{"id": str(small), "available_quantity": 1}, {"id": medium}]}),
        (varied, {"variations": [{"id": small}, {"id": small}]}),
        ("MLB404", {"available_quantity": 1}),
    ]
    for item_id, body in refused:
        response = put_item(emulator, item_id, body)
        assert response.status_code in (400, 404), (body, response.text)
        assert set(response.json()) == {"message", "error", "status", "cause"}
    assert emulator.stock_of("S-1") == 5 and emulator.price_of("S-1") == Decimal("10.0")
    assert (emulator.stock_of("V-P"), emulator.stock_of("V-M")) == (1, 2)
    assert emulator.deleted_variations == []

    ok = put_item(
        emulator, varied, {"variations": [{"id": small, "available_quantity": 7}, {"id": medium}]}
    )
    assert ok.status_code == 200
    assert (emulator.stock_of("V-P"), emulator.stock_of("V-M")) == (7, 2)
    assert emulator.listings[varied]["available_quantity"] == 9  # the item shows the sum


def test_a_variation_left_out_of_the_array_is_deleted_and_recorded(emulator):
    varied = emulator.add_listing(
        variations=[{"seller_sku": "A"}, {"seller_sku": "B"}, {"seller_sku": "C"}]
    )
    first, second, third = emulator.variation_ids(varied)

    response = put_item(emulator, varied, {"variations": [{"id": first, "available_quantity": 4}]})

    assert response.status_code == 200
    assert emulator.variation_ids(varied) == [first]
    assert emulator.deleted_variations == [(varied, second), (varied, third)]


def test_item_search_paging_rules_and_multiget_limits(emulator):
    ids = [emulator.add_listing(seller_sku=f"S-{n}") for n in range(25)]
    seller = emulator.seller_id
    search = f"{emulator.url}/users/{seller}/items/search"
    headers = bearer(emulator)

    page = requests.get(search, params={"offset": 20, "limit": 10}, headers=headers, timeout=5)
    assert page.json()["results"] == sorted(ids)[20:] and page.json()["paging"]["total"] == 25
    past_cap = requests.get(search, params={"offset": 1000}, headers=headers, timeout=5)
    assert past_cap.status_code == 400
    by_sku = requests.get(search, params={"seller_sku": "S-7"}, headers=headers, timeout=5)
    assert by_sku.json()["results"] == [ids[7]]
    other_user = requests.get(f"{emulator.url}/users/999/items/search", headers=headers, timeout=5)
    assert other_user.status_code == 403

    scanned, scroll = [], None
    while True:
        params = {"search_type": "scan", "limit": 10, **({"scroll_id": scroll} if scroll else {})}
        data = requests.get(search, params=params, headers=headers, timeout=5).json()
        if not data["results"]:
            break
        scanned += data["results"]
        scroll = data["scroll_id"]
    assert scanned == sorted(ids)

    too_many = requests.get(
        f"{emulator.url}/items", params={"ids": ",".join(ids[:21])}, headers=headers, timeout=5
    )
    assert too_many.status_code == 400
    multiget = requests.get(
        f"{emulator.url}/items", params={"ids": f"{ids[0]},MLB404"}, headers=headers, timeout=5
    ).json()
    assert [entry["code"] for entry in multiget] == [200, 404]


def test_variation_attributes_come_only_with_include_attributes_all(emulator):
    varied = emulator.add_listing(variations=[{"seller_sku": "V-1"}])
    url = f"{emulator.url}/items/{varied}"
    plain = requests.get(url, headers=bearer(emulator), timeout=5).json()
    full = requests.get(
        url, params={"include_attributes": "all"}, headers=bearer(emulator), timeout=5
    ).json()
    assert "attributes" not in plain["variations"][0]
    assert {"id": "SELLER_SKU", "name": "SKU", "value_id": None, "value_name": "V-1"} in full[
        "variations"
    ][0]["attributes"]


# --- orders and shipments ------------------------------------------------------------------------


def test_order_search_filters_by_the_hour_of_last_update_and_checks_the_seller(emulator):
    emulator.seed_data(listings=3, orders=3)  # 09:00:01-09:00:01 (BRT)
    emulator.advance_clock(hours=1, minutes=30)
    later = [emulator.add_order() for _ in range(2)]  # 10:30:02, 10:30:03
    headers = bearer(emulator)
    orders = sorted(emulator.orders.values(), key=lambda o: o["id"])
    search = f"{emulator.url}/orders/search"
    # 10:37:12.345 is read as 10:00: the vendor's date filters have hour granularity.
    params = {
        "seller": emulator.seller_id,
        "order.date_last_updated.from": "2024-11-29T10:37:12.345-03:00",
        "sort": "date_asc",
    }

    found = requests.get(search, params=params, headers=headers, timeout=5).json()

    assert [str(o["id"]) for o in found["results"]] == later
    assert found["paging"]["total"] == 2
    until = {**params, "order.date_last_updated.to": "2024-11-29T09:59:59.999-03:00"}
    del until["order.date_last_updated.from"]
    early = requests.get(search, params=until, headers=headers, timeout=5).json()
    assert [o["id"] for o in early["results"]] == [o["id"] for o in orders[:3]]
    assert (
        requests.get(search, params={"seller": "999"}, headers=headers, timeout=5).status_code
        == 403
    )
    assert (
        requests.get(search, params={**params, "limit": 52}, headers=headers, timeout=5).status_code
        == 400
    )
    shipment_id = orders[0]["shipping"]["id"]
    old_format = requests.get(f"{emulator.url}/shipments/{shipment_id}", headers=headers, timeout=5)
    assert old_format.status_code == 400
    new_format = requests.get(
        f"{emulator.url}/shipments/{shipment_id}",
        headers={**headers, "x-format-new": "true"},
        timeout=5,
    ).json()
    assert new_format["lead_time"]["shipping_method"]["id"] in {m["id"] for m in SHIPPING_METHODS}


def test_paying_an_order_moves_it_in_the_search_sort(emulator):
    # The documented sorts (date_asc / date_desc) do not say which date; the vendor orders by
    # date_closed, which an unpaid order gets only when it is paid (issue 11).
    emulator.add_listing(seller_sku="CAM-P")
    unpaid = emulator.add_order(status="payment_required")
    first, second = emulator.add_order(), emulator.add_order()
    headers = bearer(emulator)
    search = f"{emulator.url}/orders/search"

    def ids(sort=None):
        params = {"seller": emulator.seller_id, **({"sort": sort} if sort else {})}
        return [
            str(o["id"])
            for o in requests.get(search, params=params, headers=headers).json()["results"]
        ]

    assert ids("date_asc") == [unpaid, first, second]
    emulator.set_order_status(unpaid, "paid")
    assert ids("date_asc") == [first, second, unpaid]
    assert ids() == [unpaid, second, first]  # no sort: newest first, nothing to rely on
    paid = emulator.orders[unpaid]
    assert paid["date_closed"] == paid["last_updated"]
    assert paid["paid_amount"] == paid["payments"][0]["total_paid_amount"] > 0
    assert paid["payments"][0]["status"] == "approved"


def test_invalid_is_a_status_of_the_vendor(emulator):
    emulator.add_listing(seller_sku="CAM-P")
    order_id = emulator.add_order()
    emulator.set_order_status(order_id, "invalid")
    assert emulator.orders[order_id]["status"] == "invalid"
    with pytest.raises(ValueError, match="unknown Mercado Livre order status"):
        emulator.set_order_status(order_id, "fraud")


def test_seed_data_is_deterministic_and_realistic():
    first, second = MercadoLivreEmulator(seed=7), MercadoLivreEmulator(seed=7)
    for emulator in (first, second):
        emulator.seed_data(listings=12, orders=30)
    assert json.dumps(first.listings, sort_keys=True) == json.dumps(second.listings, sort_keys=True)
    assert json.dumps(first.orders, sort_keys=True) == json.dumps(second.orders, sort_keys=True)

    orders = list(first.orders.values())
    assert {o["payments"][0]["payment_method_id"] for o in orders} == {
        "pix",
        "visa",
        "master",
        "bolbradesco",
    }
    assert {o["status"] for o in orders} >= {"paid", "cancelled", "confirmed"}
    carriers = {first.shipments[str(o["shipping"]["id"])]["tracking_method"] for o in orders}
    assert carriers == {"Correios", "Jadlog", "Mercado Envios"}
    assert any(item["variations"] for item in first.listings.values())
    stamps = [o["last_updated"] for o in orders]
    assert max(stamps.count(s) for s in stamps) == 3  # same-timestamp orders are present


# --- round trip: the connector against the emulator over loopback --------------------------------


def ml_channel(emulator):
    return make_channel(
        connector="mercadolivre",
        credentials=MercadoLivreEmulator.demo_credentials(),
        api_base_url=emulator.url,
        environment="sandbox",
    )


@pytest.mark.slow
@pytest.mark.django_db
def test_round_trip_against_the_emulator():
    # The declared rate (5/s) would make 300 pushes take a minute, so the vendor's rate and
    # our client-side bucket are both scaled by the same factor (x40). The client bucket runs
    # at the emulator's rate with half its burst: the headroom absorbs loopback latency jitter.
    # Both buckets run on real time: no fake clock could make this pass while flooding.
    scale = 40
    emulator = MercadoLivreEmulator(rate=5.0 * scale, burst=10)
    simple = [emulator.add_listing(seller_sku=f"RT-{n:03d}", quantity=1) for n in range(300)]
    emulator.seed_data(listings=6, orders=130)
    emulator.start()
    try:
        connector = build_connector(
            ml_channel(emulator), rate_limiter=TokenBucket(rate=5.0 * scale, burst=5)
        )
        assert connector.verify() == emulator.seller_id

        updates = [
            StockUpdate(key=n, ref=ExternalRef(item_id=item_id), quantity=n)
            for n, item_id in enumerate(simple)
        ]
        result = connector.push_stock(updates)
        assert len(result.accepted) == 300 and result.rejected == {}
        assert emulator.stats["PUT ^/items/(?P<item_id>[^/]+)$"] == 300
        assert emulator.stats["429"] == 0
        assert [emulator.stock_of(f"RT-{n:03d}") for n in range(300)] == list(range(300))

        varied = next(i for i, item in emulator.listings.items() if item["variations"])
        variation_ids = emulator.variation_ids(varied)
        result = connector.push_stock(
            [StockUpdate(key="v", ref=ExternalRef(varied, str(variation_ids[1])), quantity=33)]
        )
        assert result.accepted == ["v"]
        assert emulator.variation_ids(varied) == variation_ids
        variation = emulator.listings[varied]["variations"][1]
        assert variation["id"] == variation_ids[1] and variation["available_quantity"] == 33
        assert emulator.deleted_variations == []

        def read_all(cursor):
            seen = []
            while True:
                page = connector.fetch_orders(cursor, limit=50)
                seen += [o.external_id for o in page.orders]
                cursor = page.next_cursor
                if not page.has_more:
                    return seen, cursor

        first_pass, cursor = read_all(None)
        assert len(first_pass) == len(set(first_pass)) == 130
        assert set(first_pass) == set(emulator.orders)

        already_read = sorted(emulator.orders)[10]
        emulator.set_order_status(already_read, "cancelled")
        new_order = emulator.add_order()
        second_pass, cursor = read_all(cursor)
        assert sorted(second_pass) == sorted([already_read, new_order])
        third_pass, _ = read_all(cursor)
        assert third_pass == []

        listings = list(connector.list_listings())
        expected = {
            (item_id, str(v["id"]) if v else "")
            for item_id, item in emulator.listings.items()
            for v in (item["variations"] or [None])
        }
        got = [(listing.ref.item_id, listing.ref.variation_id) for listing in listings]
        assert len(got) == len(set(got)) and set(got) == expected
        assert all(listing.seller_sku for listing in listings)

        assert connector.other_integrations() == []
        emulator.add_application("7982740196824807", "Outro ERP")
        (other,) = connector.other_integrations()
        assert (other.app_id, other.name) == ("7982740196824807", "Outro ERP")

        values = connector.reference_values()
        services = {(v.parent_code, v.label) for v in values if v.kind == "carrier_service"}
        assert ("Correios", "SEDEX 10") in services and ("Jadlog", "Expresso") in services
        assert emulator.stats["token_calls"] == 1
        assert emulator.stats["429"] == 0
    finally:
        emulator.stop()


@pytest.mark.slow
@pytest.mark.django_db
def test_orders_from_the_emulator_carry_its_carrier_service_and_payment(emulator):
    emulator.seed_data(listings=4, orders=5)
    connector = build_connector(ml_channel(emulator))

    orders = connector.fetch_orders(None, limit=50).orders

    values = connector.reference_values()
    known_services = {(v.parent_code, v.code) for v in values if v.kind == "carrier_service"}
    known_payments = {v.code for v in values if v.kind == "payment_method"}
    known_statuses = {v.code for v in values if v.kind == "order_status"}
    assert len(orders) == 5
    for order in orders:
        assert (order.carrier_code, order.service_code) in known_services
        assert order.payment_code in known_payments
        assert order.status_code in known_statuses
        assert order.lines and all(line.seller_sku for line in order.lines)


@pytest.mark.slow
@pytest.mark.django_db
def test_listings_past_1000_items_are_read_in_scan_mode(emulator):
    for n in range(1005):
        emulator.add_listing(seller_sku=f"BIG-{n:04d}")
    connector = build_connector(ml_channel(emulator))

    skus = [listing.seller_sku for listing in connector.list_listings()]

    assert sorted(skus) == [f"BIG-{n:04d}" for n in range(1005)]
    scans = emulator.stats["GET ^/users/(?P<user_id>[^/]+)/items/search$"]
    assert scans == 1 + 11 + 1  # the first offset page, 11 scan pages, the empty last one
    assert emulator.stats["GET ^/items$"] == 51  # ceil(1005 / 20) multigets
