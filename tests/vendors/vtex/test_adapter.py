"""VtexConnector on the wire, with `responses`: exact requests, spec-valid bodies, error mapping,
retries without real sleeps, and secrets kept out of errors and logs."""

import json
import logging
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import responses
from responses import matchers

from sandbox.openapi import validate_request_body
from sync.services.connectors import build_connector
from tests.factories import make_channel
from vendors.errors import (
    AuthError,
    InvalidVendorData,
    NotFoundError,
    PermissionDeniedError,
)
from vendors.types import (
    ExternalRef,
    PriceUpdate,
    StockUpdate,
)
from vendors.vtex import adapter as vtex

APP_KEY = "vtexappkey-lojateste-QWERTY"
APP_TOKEN = "TOKENlojateste0123456789abcdefSECRETSECRETSECRET"
CREDS = {
    "account_name": "lojateste",
    "app_key": APP_KEY,
    "app_token": APP_TOKEN,
    "warehouse_id": "1_1",
}
HOST = "https://lojateste.vtexcommercestable.com.br"
PRICING = "https://api.vtex.com/lojateste/pricing"
WAREHOUSES = f"{HOST}/api/logistics/pvt/configuration/warehouses"
FEED = f"{HOST}/api/orders/feed"


def make_connector(sleeps=None, credentials=None, **channel_kwargs):
    channel = make_channel(connector="vtex", credentials=credentials or CREDS, **channel_kwargs)
    sleep = sleeps.append if sleeps is not None else _no_sleep
    return build_connector(channel, sleep=sleep)


def _no_sleep(seconds):
    raise AssertionError(f"unexpected sleep({seconds})")


def sent_json(call):
    return json.loads(call.request.body)


def calls_by_url():
    """(method, URL, JSON body) of every call, by URL: writes go out several at a time."""
    return sorted(
        ((c.request.method, c.request.url, sent_json(c)) for c in responses.calls),
        key=lambda call: call[1],
    )


def assert_vtex_headers(request):
    assert request.headers["X-VTEX-API-AppKey"] == APP_KEY
    assert request.headers["X-VTEX-API-AppToken"] == APP_TOKEN
    assert request.headers["Accept"] == "application/json"
    assert request.headers["Content-Type"] == "application/json"


def stock(key, sku_id, quantity, location=""):
    return StockUpdate(
        key=key, ref=ExternalRef(sku_id=sku_id), quantity=quantity, location=location
    )


def order_document(order_id="1400000000001-01", **overrides):
    document = {
        "orderId": order_id,
        "status": "ready-for-handling",
        "statusDescription": "Pronto para o manuseio",
        "value": 25870,
        "creationDate": "2025-11-28T09:07:00.1234567+00:00",
        "lastChange": "2025-11-28T10:00:00.0000000+00:00",
        "totals": [
            {"id": "Items", "name": "Total dos Itens", "value": 23880},
            {"id": "Discounts", "name": "Total dos Descontos", "value": 0},
            {"id": "Shipping", "name": "Total do Frete", "value": 1990},
        ],
        "items": [
            {
                "id": "1001",
                "productId": "501",
                "refId": "CAM-P",
                "name": "Camiseta P",
                "quantity": 2,
                "price": 8990,
                "sellingPrice": 7990,
                "sellerSku": "1001",
            },
            {
                "id": "1002",
                "productId": "501",
                "refId": "CAM-M",
                "name": "Camiseta M",
                "quantity": 1,
                "price": 7900,
            },
        ],
        "clientProfileData": {
            "firstName": "Ana",
            "lastName": "Souza",
            "document": "123.456.789-09",
            "email": "ana@email.com.br",
            "isCorporate": False,
        },
        "shippingData": {
            "logisticsInfo": [
                {
                    "itemIndex": 0,
                    "selectedSla": "SEDEX 10",
                    "deliveryCompany": "Correios",
                    "slas": [{"id": "PAC", "name": "PAC"}, {"id": "SEDEX 10", "name": "Sedex 10"}],
                    "deliveryIds": [{"courierId": "correios-sedex10", "courierName": "Correios"}],
                }
            ]
        },
        "paymentData": {
            "transactions": [
                {
                    "isActive": True,
                    "payments": [
                        {
                            "paymentSystem": "125",
                            "paymentSystemName": "Pix",
                            "group": "instantPayment",
                            "value": 25870,
                        }
                    ],
                }
            ]
        },
    }
    document.update(overrides)
    return document


def feed_item(handle, order_id, state="ready-for-handling"):
    return {
        "eventId": f"E-{handle}",
        "handle": handle,
        "domain": "Fulfillment",
        "state": state,
        "lastState": "payment-approved",
        "orderId": order_id,
        "lastChange": "2025-11-28T10:00:00Z",
        "currentChange": "2025-11-28T10:00:01Z",
    }


# --- verify -------------------------------------------------------------------------------


@pytest.mark.django_db
@responses.activate
def test_verify_makes_one_authenticated_call_and_returns_the_account():
    responses.get(WAREHOUSES, json=[{"id": "1_1", "name": "Principal", "isActive": True}])
    connector = make_connector()

    assert connector.verify() == "lojateste"

    assert len(responses.calls) == 1
    request = responses.calls[0].request
    assert request.method == "GET"
    assert request.url == WAREHOUSES
    assert_vtex_headers(request)


@pytest.mark.django_db
@responses.activate
@pytest.mark.parametrize(("status", "error"), [(401, AuthError), (403, PermissionDeniedError)])
def test_verify_fails_with_wrong_keys(status, error):
    responses.get(WAREHOUSES, status=status, json={"error": {"message": "Unauthorized"}})
    with pytest.raises(error):
        make_connector().verify()


@pytest.mark.django_db
@responses.activate
def test_an_account_name_that_is_not_one_is_refused_before_any_request():
    # A dotted value would send the keys to another host through the URL template. Wrong or
    # missing credentials are an AuthError for every vendor: the engine suspends the channel.
    with pytest.raises(AuthError, match="account name"):
        make_connector(credentials={**CREDS, "account_name": "evil.example.com/x"})
    assert len(responses.calls) == 0


# --- stock --------------------------------------------------------------------------------


def inventory_url(sku_id, warehouse):
    return f"{HOST}/api/logistics/pvt/inventory/skus/{sku_id}/warehouses/{warehouse}/quantity"


@pytest.mark.django_db
@responses.activate
def test_push_stock_sends_one_spec_valid_patch_per_sku_and_warehouse():
    responses.patch(inventory_url(1001, "1_1"), status=204)
    responses.patch(inventory_url(1002, "cd-extrema"), status=204)
    connector = make_connector()

    result = connector.push_stock([stock("a", "1001", 7), stock("b", "1002", 0, "cd-extrema")])

    assert sorted(result.accepted) == ["a", "b"] and result.rejected == {}
    # Writes go out several at a time (max_in_flight): compared whatever their order.
    assert calls_by_url() == [
        # credential warehouse_id as the default
        ("PATCH", inventory_url(1001, "1_1"), {"quantity": 7, "unlimitedQuantity": False}),
        # the item's own stock location
        ("PATCH", inventory_url(1002, "cd-extrema"), {"quantity": 0, "unlimitedQuantity": False}),
    ]
    template = "/api/logistics/pvt/inventory/skus/{skuId}/warehouses/{warehouseId}/quantity"
    for call in responses.calls:
        assert_vtex_headers(call.request)
        assert validate_request_body("vtex", "logistics", "PATCH", template, sent_json(call)) == []


@pytest.mark.django_db
@responses.activate
def test_push_stock_rejects_bad_items_alone_and_keeps_going():
    responses.patch(
        inventory_url(9999, "1_1"),
        status=404,
        json={"error": {"code": "ItemNotFound", "message": "SKU 9999 not found."}},
    )
    responses.patch(inventory_url(1001, "1_1"), status=204)
    connector = make_connector(credentials={**CREDS, "warehouse_id": ""})

    result = connector.push_stock(
        [
            stock("unbound", "", 1, "1_1"),
            stock("no-warehouse", "1001", 1),
            stock("unknown", "9999", 1, "1_1"),
            stock("ok", "1001", 3, "1_1"),
        ]
    )

    assert result.accepted == ["ok"]
    assert "No VTEX SKU id" in result.rejected["unbound"]
    assert "No VTEX warehouse" in result.rejected["no-warehouse"]
    assert "SKU 9999 not found" in result.rejected["unknown"]
    assert len(responses.calls) == 2  # nothing is sent for items that cannot be addressed


@pytest.mark.django_db
@responses.activate
def test_two_updates_of_one_pair_in_a_batch_send_only_the_last():
    responses.patch(inventory_url(1001, "1_1"), status=204)
    result = make_connector().push_stock([stock("a", "1001", 5), stock("a", "1001", 4)])

    assert len(responses.calls) == 1  # a second write would lock the pair (423)
    assert sent_json(responses.calls[0])["quantity"] == 4
    assert result.accepted == ["a", "a"]


@pytest.mark.django_db
@responses.activate
def test_423_locked_is_retried_with_backoff_then_accepted():
    url = inventory_url(1001, "1_1")
    lock = "Unable to acquire lock for key: lojateste_item_logistics_1001_1_1."
    responses.patch(url, status=423, body=lock, content_type="text/plain")
    responses.patch(url, status=423, body=lock, content_type="text/plain")
    responses.patch(url, status=204)
    sleeps = []
    connector = make_connector(sleeps)

    result = connector.push_stock([stock("a", "1001", 2)])

    assert result.accepted == ["a"]
    assert len(responses.calls) == 3
    assert len(sleeps) == 2 and all(0 <= s <= connector.http.backoff_cap for s in sleeps)
    assert connector.http.retries == 2


@pytest.mark.django_db
@responses.activate
def test_a_pair_still_locked_after_the_retries_defers_that_item_only():
    responses.patch(inventory_url(1001, "1_1"), status=423, body="Unable to acquire lock")
    responses.patch(inventory_url(1002, "1_1"), status=204)
    sleeps = []
    connector = make_connector(sleeps)

    result = connector.push_stock([stock("locked", "1001", 2), stock("free", "1002", 9)])

    assert result.accepted == ["free"]
    assert result.rejected == {}
    assert "locked (423)" in result.deferred["locked"]
    assert "stays pending" in result.deferred["locked"]
    assert len(sleeps) == connector.http.max_retries
    assert len(responses.calls) == connector.http.max_retries + 2


# --- prices -------------------------------------------------------------------------------


@pytest.mark.django_db
@responses.activate
def test_push_prices_puts_one_spec_valid_body_per_sku_on_the_pricing_host():
    responses.put(f"{PRICING}/prices/1001", status=200)
    responses.put(f"{PRICING}/prices/1002", status=200)
    connector = make_connector()

    result = connector.push_prices(
        [
            PriceUpdate(
                key="a",
                ref=ExternalRef(sku_id="1001"),
                price=Decimal("79.90"),
                list_price=Decimal("99.90"),
            ),
            PriceUpdate(key="b", ref=ExternalRef(sku_id="1002"), price=Decimal("10")),
            PriceUpdate(key="zero", ref=ExternalRef(sku_id="1003"), price=Decimal("0")),
        ]
    )

    assert sorted(result.accepted) == ["a", "b"]
    assert "positive" in result.rejected["zero"]
    # Writes go out several at a time (max_in_flight): compared whatever their order.
    assert calls_by_url() == [
        ("PUT", f"{PRICING}/prices/1001", {"basePrice": 79.9, "listPrice": 99.9}),
        ("PUT", f"{PRICING}/prices/1002", {"basePrice": 10.0}),
    ]
    for call in responses.calls:
        assert_vtex_headers(call.request)
        body = sent_json(call)
        assert (
            validate_request_body("vtex", "pricing", "PUT", "/pricing/prices/{itemId}", body) == []
        )
        # Never all three of basePrice/costPrice/markup: the API fails the request then.
        assert not {"costPrice", "markup"} & set(body)


@pytest.mark.django_db
def test_pricing_follows_an_overridden_base_url():
    connector = make_connector(api_base_url="http://127.0.0.1:8123", environment="sandbox")
    assert connector.base_url == "http://127.0.0.1:8123"
    assert connector.pricing_url("prices/5") == "http://127.0.0.1:8123/lojateste/pricing/prices/5"


# --- orders -------------------------------------------------------------------------------


@pytest.mark.django_db
@responses.activate
def test_fetch_orders_reads_the_feed_then_each_order_once_and_normalizes_it():
    responses.get(
        FEED,
        match=[matchers.query_param_matcher({"maxlot": "10"})],
        json=[
            feed_item("h1", "1400000000001-01", "payment-approved"),
            feed_item("h2", "1400000000002-01"),
            feed_item("h3", "1400000000001-01"),  # a second event of the first order
        ],
    )
    responses.get(f"{HOST}/api/oms/pvt/orders/1400000000001-01", json=order_document())
    corporate = order_document(
        "1400000000002-01",
        status="invoiced",
        statusDescription="Faturado",
        clientProfileData={
            "isCorporate": True,
            "corporateName": "Loja Exemplo Ltda",
            "corporateDocument": "11.222.333/0001-81",
            "email": "c@x.com.br",
        },
    )
    responses.get(f"{HOST}/api/oms/pvt/orders/1400000000002-01", json=corporate)

    page = make_connector().fetch_orders(cursor="ignored", limit=100)

    assert [c.request.url for c in responses.calls] == [
        f"{FEED}?maxlot=10",
        f"{HOST}/api/oms/pvt/orders/1400000000001-01",
        f"{HOST}/api/oms/pvt/orders/1400000000002-01",
    ]
    for call in responses.calls:
        assert_vtex_headers(call.request)
    assert page.next_cursor is None
    assert page.has_more is False
    assert page.ack_tokens == ["h1", "h2", "h3"]
    first, second = page.orders
    assert first.external_id == "1400000000001-01"
    assert (first.status_code, first.status_label) == (
        "ready-for-handling",
        "Pronto para o manuseio",
    )
    assert (first.carrier_code, first.service_code, first.service_label) == (
        "Correios",
        "SEDEX 10",
        "Sedex 10",
    )
    assert (first.payment_code, first.payment_label) == ("Pix", "Pix (instantPayment)")
    assert [
        (ln.seller_sku, ln.sku_id, ln.item_id, ln.quantity, ln.unit_price) for ln in first.lines
    ] == [
        ("CAM-P", "1001", "501", 2, Decimal("79.90")),  # sellingPrice wins over price
        ("CAM-M", "1002", "501", 1, Decimal("79.00")),  # price when sellingPrice is absent
    ]
    assert (first.customer.name, first.customer.document) == ("Ana Souza", "12345678909")
    assert (first.items_total, first.shipping_total, first.total) == (
        Decimal("238.80"),
        Decimal("19.90"),
        Decimal("258.70"),
    )
    assert first.placed_at.isoformat().startswith("2025-11-28T09:07:00")
    assert (second.customer.name, second.customer.document) == (
        "Loja Exemplo Ltda",
        "11222333000181",
    )


def with_first_item(document, **changes):
    return {**document, "items": [{**document["items"][0], **changes}, *document["items"][1:]]}


@pytest.mark.django_db
@responses.activate
@pytest.mark.parametrize(
    ("bad", "shown"),
    [
        ("12,3x", '"12,3x"'),
        (float("nan"), "NaN"),
        ({"value": 7990}, '{"value": 7990}'),
        (False, "false"),
    ],
)
def test_an_unreadable_price_sets_the_order_aside_naming_the_field(bad, shown):
    responses.get(FEED, json=[feed_item("h1", "1400000000001-01"), feed_item("h2", "B-01")])
    responses.get(
        f"{HOST}/api/oms/pvt/orders/1400000000001-01",
        json=with_first_item(order_document(), sellingPrice=bad),
    )
    responses.get(f"{HOST}/api/oms/pvt/orders/B-01", json=order_document("B-01"))

    page = make_connector().fetch_orders(cursor=None, limit=10)

    assert [o.external_id for o in page.orders] == ["B-01"]
    (invalid,) = page.invalid
    assert invalid.external_id == "1400000000001-01"
    assert invalid.reason == (
        f"VTEX order 1400000000001-01: items[0].sellingPrice is {shown}, not an amount"
    )
    assert invalid.path == "items[0].sellingPrice"
    assert page.ack_tokens == ["h1", "h2"]  # both events are committed once the page is stored
    assert not any(c.request.method == "POST" for c in responses.calls)  # …by the engine


@pytest.mark.django_db
@responses.activate
def test_an_order_document_that_is_not_an_object_is_set_aside_under_its_feed_id():
    responses.get(FEED, json=[feed_item("h1", "A-01")])
    responses.get(f"{HOST}/api/oms/pvt/orders/A-01", json=["not", "an", "order"])

    (invalid,) = make_connector().fetch_orders(None, 10).invalid

    assert invalid.external_id == "A-01" and invalid.path == ""
    assert invalid.reason.startswith("VTEX order A-01: the order document is [")
    assert invalid.reason.endswith(", not an object")


@pytest.mark.django_db
@responses.activate
def test_fetch_order_reads_the_oms_document_by_id():
    responses.get(f"{HOST}/api/oms/pvt/orders/A-01", json=order_document("A-01"))
    responses.get(
        f"{HOST}/api/oms/pvt/orders/A-01", json=with_first_item(order_document("A-01"), quantity=0)
    )
    connector = make_connector()

    assert connector.fetch_order("A-01").external_id == "A-01"
    still_bad = connector.fetch_order_or_invalid("A-01")
    assert (still_bad.external_id, still_bad.path) == ("A-01", "items[0].quantity")
    assert_vtex_headers(responses.calls[0].request)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("document", "message"),
    [
        # Was a silent quantity of 0.
        (with_first_item(order_document(), quantity=None), "items[0].quantity is missing"),
        (with_first_item(order_document(), quantity="1.5"), 'items[0].quantity is "1.5", '),
        (order_document(value="258,70"), 'value is "258,70", not an amount'),
        (order_document(creationDate="28/11/2025"), 'creationDate is "28/11/2025", not an ISO'),
        (order_document(status=None), "status is missing"),
        (order_document(items={"0": {}}), 'items is {"0": {}}, not a list'),
    ],
)
def test_normalize_order_names_each_unreadable_field(document, message):
    with pytest.raises(InvalidVendorData) as caught:
        make_connector().normalize_order(document)
    assert str(caught.value).startswith(f"VTEX order 1400000000001-01: {message}")


@pytest.mark.django_db
def test_normalize_order_dates_are_aware_and_offset_less_ones_are_utc():
    order = make_connector().normalize_order(
        order_document(creationDate="2019-12-11T17:02:34", lastChange="2019-12-11T18:00:00Z")
    )
    assert order.placed_at == datetime(2019, 12, 11, 17, 2, 34, tzinfo=UTC)
    assert order.updated_at == datetime(2019, 12, 11, 18, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_without_an_items_total_the_lines_are_summed_and_without_shipping_it_is_zero():
    connector = make_connector()
    order = connector.normalize_order(order_document(totals=[]))
    assert (order.items_total, order.shipping_total) == (Decimal("238.80"), Decimal("0"))
    zero = connector.normalize_order(order_document(totals=[{"id": "Items", "value": 0}]))
    assert zero.items_total == Decimal("0")  # a total of zero is a value, not an absence


@pytest.mark.django_db
@responses.activate
def test_a_full_lot_says_there_may_be_more_and_maxlot_follows_the_limit():
    responses.get(
        FEED,
        match=[matchers.query_param_matcher({"maxlot": "2"})],
        json=[feed_item("h1", "A-01"), feed_item("h2", "B-01")],
    )
    responses.get(f"{HOST}/api/oms/pvt/orders/A-01", json=order_document("A-01"))
    responses.get(f"{HOST}/api/oms/pvt/orders/B-01", json=order_document("B-01"))

    page = make_connector().fetch_orders(None, 2)

    assert page.has_more is True
    assert [o.external_id for o in page.orders] == ["A-01", "B-01"]


@pytest.mark.django_db
@responses.activate
def test_an_unconfigured_feed_says_so():
    responses.get(FEED, status=404, body="")
    with pytest.raises(NotFoundError, match="not configured"):
        make_connector().fetch_orders(None, 10)


@pytest.mark.django_db
@responses.activate
def test_ack_commits_the_handles_with_a_spec_valid_body():
    responses.post(FEED, status=200)
    connector = make_connector()

    connector.ack(["h1", "h2", "h1", ""])
    connector.ack([])

    assert len(responses.calls) == 1
    call = responses.calls[0]
    assert (call.request.method, call.request.url) == ("POST", FEED)
    assert_vtex_headers(call.request)
    assert sent_json(call) == {"handles": ["h1", "h2"]}
    assert (
        validate_request_body("vtex", "orders", "POST", "/api/orders/feed", sent_json(call)) == []
    )


@pytest.mark.django_db
@responses.activate
def test_configure_feed_posts_a_spec_valid_workflow_filter():
    responses.post(f"{FEED}/config", status=200)
    make_connector().configure_feed()

    body = sent_json(responses.calls[0])
    assert body["filter"] == {"type": "FromWorkflow", "status": list(vtex.DEFAULT_FEED_STATUSES)}
    assert body["queue"]["MessageRetentionPeriodInSeconds"] <= 1_209_600
    assert validate_request_body("vtex", "orders", "POST", "/api/orders/feed/config", body) == []


# --- listings -----------------------------------------------------------------------------


def sku_detail(sku_id, ref_id, ean):
    return {
        "Id": sku_id,
        "ProductId": 500 + sku_id,
        "NameComplete": f"Produto {sku_id}",
        "SkuName": f"SKU {sku_id}",
        "IsActive": True,
        "AlternateIds": {"Ean": ean, "RefId": ref_id},
    }


@pytest.mark.django_db
@responses.activate
def test_list_listings_pages_the_sku_ids_and_reads_each_sku(monkeypatch):
    monkeypatch.setattr(vtex, "SKU_IDS_PAGE_SIZE", 2)
    ids_url = f"{HOST}/api/catalog_system/pvt/sku/stockkeepingunitids"
    responses.get(
        ids_url, match=[matchers.query_param_matcher({"page": "1", "pagesize": "2"})], json=[1, 2]
    )
    responses.get(
        ids_url, match=[matchers.query_param_matcher({"page": "2", "pagesize": "2"})], json=[3]
    )
    by_id = f"{HOST}/api/catalog_system/pvt/sku/stockkeepingunitbyid"
    responses.get(f"{by_id}/1", json=sku_detail(1, "REF-1", "7890000000017"))
    responses.get(f"{by_id}/2", status=404, json={"Message": "SKU not found."})  # deleted meanwhile
    responses.get(f"{by_id}/3", json=sku_detail(3, "REF-3", ""))

    listings = list(make_connector().list_listings())

    assert [
        (x.ref.sku_id, x.ref.item_id, x.ref.seller_sku, x.seller_sku, x.ean, x.title)
        for x in listings
    ] == [
        ("1", "501", "REF-1", "REF-1", "7890000000017", "Produto 1"),
        ("3", "503", "REF-3", "REF-3", "", "Produto 3"),
    ]
    assert len(responses.calls) == 5


@pytest.mark.django_db
@responses.activate
def test_a_sku_flag_that_is_not_a_boolean_fails_the_scan_naming_sku_and_field():
    # bool("false") is True: such a SKU used to be listed as active.
    ids_url = f"{HOST}/api/catalog_system/pvt/sku/stockkeepingunitids"
    responses.get(ids_url, json=[7])
    responses.get(
        f"{HOST}/api/catalog_system/pvt/sku/stockkeepingunitbyid/7",
        json={**sku_detail(7, "REF-7", ""), "IsActive": "false"},
    )
    with pytest.raises(InvalidVendorData) as caught:
        list(make_connector().list_listings())
    assert str(caught.value) == 'VTEX SKU 7: IsActive is "false", not true or false'


def test_the_declared_page_sizes_stay_within_the_spec():
    assert vtex.SKU_IDS_PAGE_SIZE == 1000
    assert vtex.FEED_MAX_LOT == 10
    assert (
        vtex.VtexConnector.spec.limits.for_flow("orders").max_items_per_request == vtex.FEED_MAX_LOT
    )


@pytest.mark.django_db
@responses.activate
def test_skus_by_ref_ids_sends_each_ref_id_once():
    url = f"{HOST}/api/catalog_system/pub/sku/stockkeepingunitidsbyrefids"
    responses.post(url, json={"CAM-P": "1001", "GONE": None})

    found = make_connector().skus_by_ref_ids(["CAM-P", "GONE", "CAM-P", " "])

    assert found == {"CAM-P": "1001"}
    body = sent_json(responses.calls[0])
    assert body == ["CAM-P", "GONE"]  # a repeated RefId makes VTEX answer 500
    template = "/api/catalog_system/pub/sku/stockkeepingunitidsbyrefids"
    assert validate_request_body("vtex", "catalog", "POST", template, body) == []


# --- activation checks --------------------------------------------------------------------


@pytest.mark.django_db
@responses.activate
def test_other_integrations_lists_active_keys_other_than_ours():
    responses.get(
        f"{HOST}/api/vlm/appkeys",
        json=[
            {
                "id": "1",
                "appKey": APP_KEY.upper(),
                "label": "erpintegr",
                "createdIn": "2024-01-01",
                "isActive": True,
            },
            {
                "id": "2",
                "appKey": "vtexappkey-lojateste-BLING",
                "label": "Bling ERP",
                "createdIn": "2023-05-02T10:00:00Z",
                "isActive": True,
            },
            {
                "id": "3",
                "appKey": "vtexappkey-lojateste-OLD",
                "label": "Old",
                "createdIn": "2020-01-01",
                "isActive": False,
            },
        ],
    )

    others = make_connector().other_integrations()

    assert [(o.app_id, o.name, o.connected_at) for o in others] == [
        ("vtexappkey-lojateste-BLING", "Bling ERP", "2023-05-02T10:00:00Z")
    ]
    assert APP_TOKEN not in repr(others) and APP_KEY not in repr(others)
    assert responses.calls[0].request.url == f"{HOST}/api/vlm/appkeys"


@pytest.mark.django_db
@responses.activate
def test_reference_values_come_from_shipping_policies_statuses_and_warehouses():
    policies = f"{HOST}/api/logistics/pvt/shipping-policies"
    responses.get(
        policies,
        match=[matchers.query_param_matcher({"page": "1", "perPage": "50"})],
        json={
            "items": [
                {"id": "c1", "name": "Correios", "shippingMethod": "SEDEX 10", "isActive": True},
                {"id": "c2", "name": "Correios", "shippingMethod": "PAC", "isActive": False},
            ],
            "paging": {"page": 1, "perPage": 50, "total": 3, "pages": 2},
        },
    )
    responses.get(
        policies,
        match=[matchers.query_param_matcher({"page": "2", "perPage": "50"})],
        json={
            "items": [
                {"id": "l1", "name": "Loggi", "shippingMethod": "Expressa", "isActive": True},
            ],
            "paging": {"page": 2, "perPage": 50, "total": 3, "pages": 2},
        },
    )
    responses.get(
        WAREHOUSES,
        json=[
            {"id": "1_1", "name": "Principal", "isActive": True},
            {"id": "old", "name": "Fechado", "isActive": False},
        ],
    )

    values = make_connector().reference_values()

    by_kind = {}
    for value in values:
        by_kind.setdefault(value.kind, []).append((value.parent_code, value.code))
    assert by_kind["carrier_service"] == [("Correios", "SEDEX 10"), ("Loggi", "Expressa")]
    assert [code for _, code in by_kind["order_status"]] == [c for c, _ in vtex.ORDER_STATUSES]
    assert by_kind["stock_location"] == [("", "1_1")]
    assert "payment_method" not in by_kind  # no payment-system route in the specs


# --- errors, retries, secrets -------------------------------------------------------------


# The status → error table is HttpClient's, tested once in tests/vendors/test_http.py.


@pytest.mark.django_db
@responses.activate
def test_429_waits_for_retry_after_then_succeeds():
    responses.get(
        WAREHOUSES,
        status=429,
        headers={"Retry-After": "7"},
        json={"error": {"message": "Too Many Requests"}},
    )
    responses.get(WAREHOUSES, json=[])
    sleeps = []
    connector = make_connector(sleeps)

    assert connector.verify() == "lojateste"
    assert sleeps == [7.0]
    assert connector.http.rate_limited == 1


@pytest.mark.django_db
@responses.activate
def test_secrets_never_reach_errors_results_or_logs_even_when_echoed(caplog):
    caplog.set_level(logging.DEBUG)
    echo = {
        "error": {
            "message": f"Invalid credentials appKey={APP_KEY} appToken={APP_TOKEN}",
            "exception": f"X-VTEX-API-AppToken: {APP_TOKEN}",
        }
    }
    responses.get(WAREHOUSES, status=401, json=echo)
    responses.patch(
        inventory_url(1001, "1_1"),
        status=400,
        json={"error": {"message": f"bad request from {APP_KEY}/{APP_TOKEN}"}},
    )
    connector = make_connector([])

    with pytest.raises(AuthError) as caught:
        connector.verify()
    result = connector.push_stock([stock("a", "1001", 1)])

    texts = [
        str(caught.value),
        repr(caught.value.args),
        caught.value.body,
        caught.value.url,
        result.rejected["a"],
        caplog.text,
    ]
    assert "bad request from" in result.rejected["a"]  # the vendor's sentence is kept...
    for text in texts:
        assert APP_TOKEN not in text  # ...its secrets are not
        assert APP_KEY not in text
