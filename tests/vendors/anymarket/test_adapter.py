"""ANYMARKET connector against mocked HTTP (`responses`): exact requests, parsing, errors."""

import json
import logging
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from sync.services.connectors import build_connector
from tests.factories import make_channel
from vendors.anymarket.adapter import AnymarketConnector
from vendors.anymarket.spec import PRODUCTION_BASE_URL, SANDBOX_BASE_URL
from vendors.errors import (
    AuthError,
    InvalidVendorData,
    PermissionDeniedError,
)
from vendors.spec import (
    Capability,
    Flow,
)
from vendors.types import (
    ExternalRef,
    PriceUpdate,
    StockUpdate,
)

TOKEN = "unit-gumga-token-7f3a9c1e5b"
BASE = SANDBOX_BASE_URL


class RecordingSleep:
    def __init__(self):
        self.calls = []

    def __call__(self, seconds):
        self.calls.append(seconds)


def connector(sleep=None, token=TOKEN, **channel_kw):
    channel = make_channel(
        connector="anymarket",
        credentials={"gumga_token": token},
        environment=channel_kw.pop("environment", "sandbox"),
        **channel_kw,
    )
    return build_connector(channel, sleep=sleep or RecordingSleep())


def sent_json(call):
    return json.loads(call.request.body)


def assert_authenticated(call):
    assert call.request.headers["gumgaToken"] == TOKEN
    assert "gumgaToken" not in call.request.url  # never as a query parameter


def stock(key, partner_id="", quantity=1, sku_id="", location=""):
    return StockUpdate(
        key=key,
        ref=ExternalRef(seller_sku=partner_id, sku_id=sku_id),
        quantity=quantity,
        location=location,
    )


ORDER = {
    "id": 9001,
    "marketPlace": "MAGAZINE_LUIZA",
    "createdAt": "2026-01-05T10:00:00Z",
    "status": "PAID_WAITING_SHIP",
    "freight": 19.9,
    "gross": 179.7,
    "total": 179.7,
    "buyer": {
        "name": "Ana Souza",
        "email": "ana@example.com",
        "document": "529.982.247-25",
        "documentNumberNormalized": "52998224725",
    },
    "payments": [
        {"method": "Cartão de Crédito", "value": 179.7, "paymentMethodNormalized": "credit_card"}
    ],
    "items": [
        {
            "product": {"id": 10, "title": "Camiseta"},
            "sku": {"id": 20, "title": "Camiseta P", "partnerId": "CAM-P"},
            "amount": 2,
            "unit": 79.9,
            "total": 159.8,
            "shippings": [
                {
                    "id": 1,
                    "shippingtype": "SEDEX",
                    "shippingCarrierNormalized": "Correios",
                    "shippingCarrierTypeNormalized": "SEDEX",
                }
            ],
        }
    ],
    "tracking": {"carrier": "Correios", "deliveryMethodName": "SEDEX"},
}


# --- declarations and base URL -------------------------------------------------------------


@pytest.mark.django_db
def test_base_url_follows_the_environment_and_an_override_gets_the_v2_prefix():
    assert connector(environment="production", token="t-1").base_url == PRODUCTION_BASE_URL
    assert connector(environment="sandbox", token="t-2").base_url == SANDBOX_BASE_URL
    emulator = "http://127.0.0.1:8703"
    assert connector(api_base_url=emulator, token="t-3").base_url == f"{emulator}/v2"
    assert connector(api_base_url=f"{emulator}/v2/", token="t-4").base_url == f"{emulator}/v2"


def test_declarations():
    assert AnymarketConnector.spec.limits.for_flow(Flow.STOCK).max_items_per_request == 500
    assert Capability.SINGLE_BACK_OFFICE in AnymarketConnector.spec.capabilities
    assert Capability.ORDER_FEED_ACK in AnymarketConnector.spec.capabilities
    assert Flow.CATALOG in AnymarketConnector.spec.limits.flows


@pytest.mark.django_db
def test_no_listing_of_other_integrations():
    assert connector().other_integrations() is None


# --- verify ------------------------------------------------------------------------------------


@responses.activate
@pytest.mark.django_db
def test_verify_checks_the_token_and_names_no_account():
    # ANYMARKET names no account for a token (SPEC.identifies_account): a stock-location id
    # is no account id — two accounts can both have location 77.
    responses.get(
        f"{BASE}/stocks/locals",
        json=[
            {"id": 812, "name": "CD Extrema", "defaultLocal": True},
            {"id": 77, "name": "Depósito", "defaultLocal": False},
        ],
    )
    assert connector().verify() == ""
    (call,) = responses.calls
    assert call.request.method == "GET"
    assert call.request.url == f"{BASE}/stocks/locals"
    assert_authenticated(call)


@responses.activate
@pytest.mark.django_db
def test_verify_with_a_wrong_token_raises_auth_error_without_the_token(caplog):
    # The vendor echoes the token back: it must not survive into the error or the logs.
    responses.get(
        f"{BASE}/stocks/locals",
        status=401,
        json={"code": "401", "message": f"Token {TOKEN} inválido", "details": TOKEN},
    )
    caplog.set_level(logging.DEBUG)
    with pytest.raises(AuthError) as exc:
        connector().verify()
    assert "inválido" in str(exc.value)
    assert TOKEN not in str(exc.value)
    assert TOKEN not in exc.value.body
    assert TOKEN not in caplog.text
    assert len(responses.calls) == 1  # 401 is never retried


# --- error mapping and retries -----------------------------------------------------------------


# The status → error table is HttpClient's, tested once in tests/vendors/test_http.py.


@responses.activate
@pytest.mark.django_db
def test_retry_after_is_honoured_with_the_injected_sleep():
    responses.get(
        f"{BASE}/stocks/locals",
        status=429,
        headers={"Retry-After": "7"},
        json={"code": "429", "message": "Too many requests"},
    )
    responses.get(f"{BASE}/stocks/locals", json=[{"id": 5, "name": "Principal"}])
    sleep = RecordingSleep()
    assert connector(sleep=sleep).verify() == ""
    assert sleep.calls == [7.0]
    assert len(responses.calls) == 2


# --- stock -------------------------------------------------------------------------------------


@responses.activate
@pytest.mark.django_db
def test_push_stock_sends_many_skus_in_one_put():
    responses.put(f"{BASE}/stocks", status=200)
    result = connector().push_stock(
        [
            stock(1, "CAM-P", 10),
            stock(2, "CAM-M", 0, location="812"),
            stock(3, sku_id="5501", quantity=4),  # bound by ANYMARKET SKU id only
            stock(4, quantity=3),  # bound to nothing: refused without a request
            stock(5, "CAM-G", 2, location="Depósito SP"),  # location not a stockLocalId
        ]
    )
    (call,) = responses.calls
    assert call.request.method == "PUT"
    assert call.request.url == f"{BASE}/stocks"
    assert_authenticated(call)
    assert sent_json(call) == [
        {"partnerId": "CAM-P", "quantity": 10},
        {"partnerId": "CAM-M", "quantity": 0, "stockLocalId": 812},
        {"id": 5501, "quantity": 4},
    ]
    assert result.accepted == [1, 2, 3]
    assert set(result.rejected) == {4, 5}
    assert "stockLocalId" in result.rejected[5]


@responses.activate
@pytest.mark.django_db
def test_push_stock_chunks_at_the_declared_cap():
    responses.put(f"{BASE}/stocks", status=200)
    items = [stock(n, f"SKU-{n}", n % 7) for n in range(1200)]
    result = connector().push_stock(items)
    assert [len(sent_json(c)) for c in responses.calls] == [500, 500, 200]
    assert sent_json(responses.calls[2])[-1] == {"partnerId": "SKU-1199", "quantity": 1199 % 7}
    assert len(result.accepted) == 1200 and not result.rejected


def refusing(bad_partner_ids=(), *, cap=None, details_name=True):
    """A PUT /v2/stocks that refuses, as a whole, a batch over `cap` or holding one of
    `bad_partner_ids` (naming them in `details` unless `details_name` is False)."""
    sizes = []

    def answer(request):
        body = json.loads(request.body)
        sizes.append(len(body))
        if cap is not None and len(body) > cap:
            return 422, {}, json.dumps({"code": "422", "message": f"Máximo de {cap} itens."})
        bad = [e.get("partnerId") for e in body if e.get("partnerId") in bad_partner_ids]
        if bad:
            details = f"partnerId: {', '.join(bad)} {TOKEN}" if details_name else TOKEN
            refusal = {"code": "422", "message": "SKU inválido.", "details": details}
            return 422, {}, json.dumps(refusal)
        return 200, {}, ""

    responses.add_callback(responses.PUT, f"{BASE}/stocks", callback=answer)
    return sizes


@responses.activate
@pytest.mark.django_db
def test_a_refused_batch_rejects_only_the_skus_it_names_and_sends_the_rest_again():
    sizes = refusing({"SKU-555"})
    items = [stock(n, f"SKU-{n}", 1) for n in range(600)]
    result = connector().push_stock(items)
    assert sizes == [500, 100, 99]
    assert sorted(result.accepted) == [n for n in range(600) if n != 555]
    assert set(result.rejected) == {555}
    assert "SKU inválido" in result.rejected[555]
    assert TOKEN not in result.rejected[555]


@responses.activate
@pytest.mark.django_db
def test_a_refusal_naming_nothing_is_split_until_the_bad_sku_is_alone():
    sizes = refusing({"SKU-37"}, details_name=False)
    result = connector().push_stock([stock(n, f"SKU-{n}", 1) for n in range(64)])
    assert set(result.rejected) == {37} and len(result.accepted) == 63
    # 64 → 32+32 → 16+16 → … → 1+1: two requests per level below the first.
    assert len(sizes) == 1 + 2 * 6
    assert max(sizes[1:]) == 32


@responses.activate
@pytest.mark.django_db
def test_a_batch_larger_than_the_vendor_takes_is_split_and_the_size_learned():
    sizes = refusing(cap=200)
    adapter = connector()
    result = adapter.push_stock([stock(n, f"SKU-{n}", 1) for n in range(1000)])
    assert len(result.accepted) == 1000 and not result.rejected
    # 500 refused, its first half of 250 refused, 125s accepted: 125 is learned and used on,
    # the second half of 250 included.
    assert sizes == [500, 250] + [125] * 8
    assert adapter.learned_request_sizes == {Flow.STOCK: 125}
    assert adapter.request_size(Flow.STOCK) == 125


@pytest.mark.parametrize(("status", "error"), [(401, AuthError), (403, PermissionDeniedError)])
@responses.activate
@pytest.mark.django_db
def test_account_errors_on_stock_are_raised_not_blamed_on_items(status, error):
    responses.put(f"{BASE}/stocks", status=status, json={"code": str(status), "message": "não"})
    with pytest.raises(error):
        connector().push_stock([stock(1, "CAM-P", 1)])


# --- prices ------------------------------------------------------------------------------------


SKU_BODY = {
    "id": 20,
    "title": "Camiseta P",
    "partnerId": "CAM-P",
    "ean": "7890000000017",
    "amount": 12,
    "additionalTime": 0,
    "price": 99.9,
    "sellPrice": 89.9,
    "variations": {"Tamanho": "P"},
}


@responses.activate
@pytest.mark.django_db
def test_push_prices_reads_the_sku_and_writes_it_back_without_its_stock():
    url = f"{BASE}/products/10/skus/20"
    responses.get(url, json=SKU_BODY)
    responses.put(url, json={**SKU_BODY, "price": 119.9, "sellPrice": 79.9})
    update = PriceUpdate(
        key=7,
        ref=ExternalRef(item_id="10", sku_id="20", seller_sku="CAM-P"),
        price=Decimal("79.90"),
        list_price=Decimal("119.90"),
    )
    result = connector().push_prices([update])
    get, put = responses.calls
    assert (get.request.method, get.request.url) == ("GET", url)
    assert (put.request.method, put.request.url) == ("PUT", url)
    assert_authenticated(get)
    assert_authenticated(put)
    expected = {k: v for k, v in SKU_BODY.items() if k != "amount"}
    assert sent_json(put) == {**expected, "price": 119.9, "sellPrice": 79.9}
    assert result.accepted == [7] and not result.rejected


@responses.activate
@pytest.mark.django_db
def test_without_a_list_price_the_sku_shows_no_discount():
    url = f"{BASE}/products/10/skus/20"
    responses.get(url, json=SKU_BODY)
    responses.put(url, json=SKU_BODY)
    ref = ExternalRef(item_id="10", sku_id="20")
    connector().push_prices([PriceUpdate(key=1, ref=ref, price=Decimal("150"))])
    body = sent_json(responses.calls[1])
    assert (body["price"], body["sellPrice"]) == (150.0, 150.0)


@responses.activate
@pytest.mark.django_db
def test_price_refusals_are_per_item():
    responses.get(f"{BASE}/products/10/skus/20", status=404, json={"code": "404", "message": "x"})
    responses.get(f"{BASE}/products/11/skus/21", json=SKU_BODY)
    responses.put(
        f"{BASE}/products/11/skus/21",
        status=422,
        json={"code": "422", "message": "O preço por não pode ser maior que o preço de."},
    )
    responses.get(f"{BASE}/products/12/skus/22", json=SKU_BODY)
    responses.put(f"{BASE}/products/12/skus/22", json=SKU_BODY)
    result = connector().push_prices(
        [
            PriceUpdate(key="gone", ref=ExternalRef(item_id="10", sku_id="20"), price=Decimal(1)),
            PriceUpdate(key="bad", ref=ExternalRef(item_id="11", sku_id="21"), price=Decimal(2)),
            PriceUpdate(key="ok", ref=ExternalRef(item_id="12", sku_id="22"), price=Decimal(3)),
            PriceUpdate(key="unbound", ref=ExternalRef(seller_sku="X"), price=Decimal(4)),
        ]
    )
    assert result.accepted == ["ok"]
    assert set(result.rejected) == {"gone", "bad", "unbound"}
    assert "preço por" in result.rejected["bad"]
    assert "match the listings" in result.rejected["unbound"]
    assert len(responses.calls) == 5  # the unbound one made no request


# --- orders ------------------------------------------------------------------------------------


@responses.activate
@pytest.mark.django_db
def test_fetch_orders_reads_the_feed_then_each_order_and_acks_nothing():
    responses.get(f"{BASE}/orders/feeds", json=[{"id": 9001, "token": "tok-a"}])
    responses.get(f"{BASE}/orders/9001", json=ORDER)
    page = connector().fetch_orders(None, 50)
    feed, detail = responses.calls
    assert (feed.request.method, feed.request.url) == ("GET", f"{BASE}/orders/feeds")
    assert (detail.request.method, detail.request.url) == ("GET", f"{BASE}/orders/9001")
    assert_authenticated(feed)
    assert_authenticated(detail)
    assert page.next_cursor is None
    # The feed brought an item: read it again (after the ack) until it brings nothing new.
    assert page.has_more is True
    assert page.ack_tokens == ["9001:tok-a"]
    (order,) = page.orders
    assert order.external_id == "9001"
    assert (order.status_code, order.status_label) == ("PAID_WAITING_SHIP", "Pago")
    assert (order.carrier_code, order.service_code) == ("Correios", "SEDEX")
    assert (order.payment_code, order.payment_label) == ("credit_card", "Cartão de Crédito")
    (line,) = order.lines
    assert (line.seller_sku, line.sku_id, line.item_id) == ("CAM-P", "20", "10")
    assert (line.quantity, line.unit_price) == (2, Decimal("79.9"))
    assert order.customer.document == "52998224725"
    assert order.customer.name == "Ana Souza"
    assert (order.items_total, order.shipping_total, order.total) == (
        Decimal("159.8"),
        Decimal("19.9"),
        Decimal("179.7"),
    )
    assert order.placed_at.isoformat() == "2026-01-05T10:00:00+00:00"
    assert order.raw["marketPlace"] == "MAGAZINE_LUIZA"


@responses.activate
@pytest.mark.django_db
def test_fetch_orders_takes_at_most_limit_and_says_there_is_more():
    responses.get(f"{BASE}/orders/feeds", json=[{"id": n, "token": f"t{n}"} for n in (1, 2, 3)])
    for n in (1, 2):
        responses.get(f"{BASE}/orders/{n}", json={**ORDER, "id": n})
    page = connector().fetch_orders(None, 2)
    assert [o.external_id for o in page.orders] == ["1", "2"]
    assert page.ack_tokens == ["1:t1", "2:t2"]
    assert page.has_more is True
    assert len(responses.calls) == 3


@responses.activate
@pytest.mark.django_db
def test_the_feed_is_read_on_until_it_brings_nothing_this_run_has_not_delivered():
    # A feed page smaller than anything the connector could call "full" (issue 11: 70
    # pending orders took two runs): reading on depends on items, not on a page size.
    responses.get(f"{BASE}/orders/feeds", json=[{"id": 1, "token": "t1"}])
    responses.get(f"{BASE}/orders/1", json={**ORDER, "id": 1})
    # The item's ack was refused (say, a stale token): it is still at the head of the feed.
    responses.get(f"{BASE}/orders/feeds", json=[{"id": 1, "token": "t1"}])
    responses.get(f"{BASE}/orders/feeds", json=[])
    adapter = connector()

    first = adapter.fetch_orders(None, 50)
    second = adapter.fetch_orders(None, 50)

    assert [o.external_id for o in first.orders] == ["1"] and first.has_more is True
    # Already delivered in this run: not fetched again, and no reason to read on.
    assert second.orders == [] and second.ack_tokens == [] and second.has_more is False
    assert [c.request.url for c in responses.calls] == [
        f"{BASE}/orders/feeds",
        f"{BASE}/orders/1",
        f"{BASE}/orders/feeds",
    ]


@responses.activate
@pytest.mark.django_db
def test_recent_orders_lists_by_creation_date_for_the_sweep():
    responses.get(
        f"{BASE}/orders",
        json={
            "content": [
                {"id": 1, "createdAt": "2026-01-05T10:00:00Z"},
                {"id": 2, "createdAt": "2026-01-05T10:07:00-03:00"},
            ],
            "page": {"size": 2, "totalElements": 3, "totalPages": 2, "number": 0},
        },
    )
    responses.get(
        f"{BASE}/orders",
        json={
            "content": [{"id": 3, "createdAt": "2026-01-05T10:14:00Z"}],
            "page": {"size": 2, "totalElements": 3, "totalPages": 2, "number": 1},
        },
    )
    since = datetime(2026, 1, 2, 13, 0, tzinfo=UTC)

    listed = list(connector().recent_orders(since))

    assert [order_id for order_id, _ in listed] == ["1", "2", "3"]
    assert listed[1][1] == datetime(2026, 1, 5, 13, 7, tzinfo=UTC)
    first, second = (parse_qs(urlsplit(c.request.url).query) for c in responses.calls)
    assert first["createdAfter"] == ["2026-01-02T10:00:00-03:00"]  # Brasília time
    assert (first["offset"], second["offset"]) == (["0"], ["2"])


@responses.activate
@pytest.mark.django_db
def test_fallbacks_when_normalized_fields_are_missing():
    raw = {
        **ORDER,
        "status": "CANCELED",
        "items": [{**ORDER["items"][0], "shippings": []}],
        "payments": [{"method": "Boleto", "value": 10}],
        "tracking": {"carrier": "Jadlog", "deliveryMethodName": ".Package"},
    }
    responses.get(f"{BASE}/orders/feeds", json=[{"id": 1, "token": "t"}])
    responses.get(f"{BASE}/orders/1", json=raw)
    (order,) = connector().fetch_orders(None, 10).orders
    assert (order.carrier_code, order.service_code) == ("Jadlog", ".Package")
    assert order.payment_code == "Boleto"
    assert order.status_label == "Cancelado"


def with_item(order, **changes):
    return {**order, "items": [{**order["items"][0], **changes}]}


@responses.activate
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("bad", "shown"),
    [
        ("12,3x", '"12,3x"'),
        (float("nan"), "NaN"),
        ({"value": 79.9}, '{"value": 79.9}'),
        (True, "true"),
    ],
)
def test_an_unreadable_unit_price_sets_the_order_aside_naming_the_field(bad, shown):
    responses.get(
        f"{BASE}/orders/feeds", json=[{"id": 9001, "token": "tok-a"}, {"id": 9002, "token": "b"}]
    )
    responses.get(f"{BASE}/orders/9001", json=with_item(ORDER, unit=bad))
    responses.get(f"{BASE}/orders/9002", json={**ORDER, "id": 9002})

    page = connector().fetch_orders(None, 50)

    # The page goes on: the good order is read, the bad one travels beside it.
    assert [o.external_id for o in page.orders] == ["9002"]
    (invalid,) = page.invalid
    assert invalid.external_id == "9001"
    assert invalid.reason == f"ANYMARKET order 9001: items[0].unit is {shown}, not an amount"
    assert invalid.path == "items[0].unit"
    assert invalid.raw["items"][0]["amount"] == 2  # the document as received
    # Both feed items are to be acknowledged (after the engine stores the page).
    assert page.ack_tokens == ["9001:tok-a", "9002:b"]
    assert [c.request.method for c in responses.calls] == ["GET", "GET", "GET"]


@responses.activate
@pytest.mark.django_db
def test_an_order_whose_id_cannot_be_read_is_keyed_by_the_feed_item():
    responses.get(f"{BASE}/orders/feeds", json=[{"id": 9001, "token": "tok-a"}])
    responses.get(f"{BASE}/orders/9001", json={**ORDER, "id": "9" * 81})

    (invalid,) = connector().fetch_orders(None, 50).invalid

    assert invalid.external_id == "9001"  # what we asked for, and can ask for again
    assert invalid.path == "id"
    assert "longer than 80 characters" in invalid.reason


@responses.activate
@pytest.mark.django_db
def test_a_feed_item_whose_id_cannot_be_read_is_set_aside_and_acknowledged():
    long_id = "1" * 81
    responses.get(
        f"{BASE}/orders/feeds",
        json=[{"id": long_id, "token": "tok-x"}, {"id": 9001, "token": "tok-a"}],
    )
    responses.get(f"{BASE}/orders/9001", json=ORDER)

    page = connector().fetch_orders(None, 50)

    assert [o.external_id for o in page.orders] == ["9001"]
    (invalid,) = page.invalid
    assert invalid.external_id.startswith("unreadable-") and not invalid.refetchable
    assert invalid.path == "[0].id"
    assert page.ack_tokens == [f"{long_id}:tok-x", "9001:tok-a"]


@responses.activate
@pytest.mark.django_db
def test_fetch_order_reads_one_order_by_id_and_raises_while_it_is_unreadable():
    responses.get(f"{BASE}/orders/9001", json=ORDER)
    responses.get(f"{BASE}/orders/9001", json=with_item(ORDER, amount=0))
    anymarket = connector()

    assert anymarket.fetch_order("9001").external_id == "9001"
    with pytest.raises(InvalidVendorData, match=r"items\[0\].amount is 0, less than 1"):
        anymarket.fetch_order("9001")
    assert [c.request.url for c in responses.calls] == [f"{BASE}/orders/9001"] * 2
    assert_authenticated(responses.calls[0])


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("order", "message"),
    [
        # int(Decimal("2.5")) used to make it 2.
        (with_item(ORDER, amount=2.5), "items[0].amount is 2.5, not a whole number"),
        (with_item(ORDER, amount=None), "items[0].amount is missing"),
        ({**ORDER, "total": None}, "total is missing"),  # was a silent 0
        ({**ORDER, "freight": "19,90"}, 'freight is "19,90", not an amount'),
        ({**ORDER, "createdAt": "05/01/2026"}, 'createdAt is "05/01/2026", not an ISO'),
        ({**ORDER, "items": [ORDER["items"][0], "x"]}, 'items[1] is "x", not an object'),
        (
            {**ORDER, "payments": [{"method": "Pix", "value": "dez"}]},
            'payments[0].value is "dez", not an amount',
        ),
        (
            with_item(ORDER, sku={"id": 20, "partnerId": "P" * 81}),
            "items[0].sku.partnerId is",
        ),
    ],
)
def test_normalize_order_names_each_unreadable_field(order, message):
    with pytest.raises(InvalidVendorData) as caught:
        connector().normalize_order(order)
    assert str(caught.value).startswith(f"ANYMARKET order 9001: {message}")


@pytest.mark.django_db
def test_an_order_without_an_id_is_refused_before_anything_else():
    with pytest.raises(InvalidVendorData, match="^ANYMARKET order: id is missing$"):
        connector().normalize_order({**ORDER, "id": None})


@pytest.mark.django_db
def test_dates_are_aware_and_an_offset_less_one_is_brasilia_time():
    order = connector().normalize_order(
        {**ORDER, "createdAt": "2026-01-05T07:00:00", "updatedAt": "2026-01-05T08:00:00-03:00"}
    )
    assert order.placed_at == datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    assert order.updated_at == datetime(2026, 1, 5, 11, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_without_an_item_total_the_line_is_unit_times_amount_and_without_freight_zero():
    order = connector().normalize_order(
        {**with_item(ORDER, total=None), "freight": None, "total": "159.80"}
    )
    assert (order.items_total, order.shipping_total, order.total) == (
        Decimal("159.80"),
        Decimal("0"),
        Decimal("159.80"),
    )


@responses.activate
@pytest.mark.django_db
def test_ack_puts_each_token_and_a_stale_one_does_not_stop_the_rest(caplog):
    responses.put(f"{BASE}/orders/feeds/1", status=200)
    responses.put(
        f"{BASE}/orders/feeds/2",
        status=422,
        json={"code": "422", "message": "Token inválido para o item do feed."},
    )
    responses.put(f"{BASE}/orders/feeds/3", status=200)
    conn = connector()
    conn.ack(["1:tok-1", "2:tok-2", "3:tok-3"])
    assert [(c.request.method, c.request.url) for c in responses.calls] == [
        ("PUT", f"{BASE}/orders/feeds/1"),
        ("PUT", f"{BASE}/orders/feeds/2"),
        ("PUT", f"{BASE}/orders/feeds/3"),
    ]
    assert [sent_json(c) for c in responses.calls] == [
        {"token": "tok-1"},
        {"token": "tok-2"},
        {"token": "tok-3"},
    ]
    assert_authenticated(responses.calls[0])
    assert conn.ack_failures == ["2"]
    assert "tok-2" not in caplog.text


@responses.activate
@pytest.mark.django_db
def test_ack_raises_account_errors():
    responses.put(f"{BASE}/orders/feeds/1", status=401, json={"code": "401", "message": "x"})
    with pytest.raises(AuthError):
        connector().ack(["1:tok"])


# --- listings ----------------------------------------------------------------------------------


def products_page(content, total):
    return {"links": [], "content": content, "page": {"size": 50, "totalElements": total}}


@responses.activate
@pytest.mark.django_db
def test_list_listings_pages_products_and_yields_each_sku():
    first = [
        {"id": n, "title": f"Produto {n}", "skus": [{"id": n * 10, "partnerId": f"P{n}"}]}
        for n in range(50)
    ]
    second = [
        {
            "id": 50,
            "title": "Camiseta",
            "skus": [
                {"id": 501, "partnerId": "CAM-P", "ean": "7890000000017", "title": "Camiseta P"},
                {"id": 502, "partnerId": "CAM-M", "ean": "7890000000024"},
            ],
        }
    ]
    responses.get(f"{BASE}/products", json=products_page(first, 51))
    responses.get(f"{BASE}/products", json=products_page(second, 51))
    listings = list(connector().list_listings())
    assert [c.request.params for c in responses.calls] == [
        {"offset": "0", "limit": "50"},
        {"offset": "50", "limit": "50"},
    ]
    assert_authenticated(responses.calls[0])
    assert len(listings) == 52
    camiseta_p = listings[50]
    assert camiseta_p.ref == ExternalRef(item_id="50", sku_id="501", seller_sku="CAM-P")
    assert (camiseta_p.seller_sku, camiseta_p.ean, camiseta_p.title) == (
        "CAM-P",
        "7890000000017",
        "Camiseta P",
    )
    assert listings[51].title == "Camiseta"  # the product's title when the SKU has none


@responses.activate
@pytest.mark.django_db
def test_sku_by_partner_id():
    responses.get(
        f"{BASE}/skus/partnerId/CAM%2FP%201",
        json={"id": 20, "partnerId": "CAM/P 1", "product": {"id": 10, "title": "Camiseta"}},
    )
    responses.get(f"{BASE}/skus/partnerId/NOPE", status=404, json={"code": "404", "message": "x"})
    conn = connector()
    found = conn.sku_by_partner_id("CAM/P 1")
    assert found.ref == ExternalRef(item_id="10", sku_id="20", seller_sku="CAM/P 1")
    assert responses.calls[0].request.params == {"showProduct": "true"}
    assert conn.sku_by_partner_id("NOPE") is None


# --- reference values --------------------------------------------------------------------------


@responses.activate
@pytest.mark.django_db
def test_reference_values_lists_locations_statuses_and_what_orders_show():
    responses.get(
        f"{BASE}/stocks/locals",
        json=[{"id": 812, "name": "CD Extrema"}, {"id": 77, "name": "Depósito"}],
    )
    responses.get(
        f"{BASE}/orders",
        json={"links": [], "content": [ORDER, ORDER], "page": {"totalElements": 2}},
    )
    values = connector().reference_values()
    by_kind = {}
    for value in values:
        by_kind.setdefault(value.kind, []).append(value)
    assert [(v.code, v.label) for v in by_kind["stock_location"]] == [
        ("77", "Depósito"),
        ("812", "CD Extrema"),
    ]
    assert [v.code for v in by_kind["order_status"]] == [
        "PENDING",
        "PAID_WAITING_SHIP",
        "INVOICED",
        "PAID_WAITING_DELIVERY",
        "CONCLUDED",
        "CANCELED",
    ]
    assert [(v.code, v.parent_code) for v in by_kind["carrier_service"]] == [("SEDEX", "Correios")]
    assert [(v.code, v.label) for v in by_kind["payment_method"]] == [
        ("credit_card", "Cartão de Crédito")
    ]
    assert responses.calls[1].request.params == {"offset": "0", "limit": "50"}


@responses.activate
@pytest.mark.django_db
def test_a_bad_price_in_a_sample_order_does_not_hide_its_carrier_and_payment():
    # The sample is read for de-para values only: a price support cannot fix must not keep
    # the carriers and payments from the activation page.
    responses.get(f"{BASE}/stocks/locals", json=[{"id": 77, "name": "Depósito"}])
    responses.get(
        f"{BASE}/orders",
        json={"content": [with_item(ORDER, unit="12,3x")], "page": {"totalElements": 1}},
    )
    values = connector().reference_values()
    assert ("carrier_service", "SEDEX", "Correios") in {
        (v.kind, v.code, v.parent_code) for v in values
    }


@responses.activate
@pytest.mark.django_db
def test_a_sku_without_id_fails_the_listing_scan_naming_product_and_field():
    products = [{"id": 50, "title": "Camiseta", "skus": [{"partnerId": "CAM-P"}]}]
    responses.get(f"{BASE}/products", json=products_page(products, 1))
    with pytest.raises(InvalidVendorData) as caught:
        list(connector().list_listings())
    assert str(caught.value) == "ANYMARKET product 50: skus[0].id is missing"
