"""ANYMARKET connector against its sandbox emulator on loopback: round trips, feed + ack,
batch caps, strictness, the vendor's rate limit."""

import math
from decimal import Decimal

import pytest
import requests

from sandbox.anymarket import AnymarketEmulator
from sync.services.connectors import build_connector
from tests.factories import make_channel
from vendors.anymarket.adapter import AnymarketConnector
from vendors.errors import (
    AuthError,
    PermissionDeniedError,
    RateLimitedError,
)
from vendors.ratelimit import TokenBucket
from vendors.spec import Flow
from vendors.types import (
    ExternalRef,
    PriceUpdate,
    StockUpdate,
)

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

FAST = 500.0  # requests/second for tests that are not about the rate limit


class RecordingSleep:
    def __init__(self):
        self.calls = []

    def __call__(self, seconds):
        self.calls.append(seconds)


@pytest.fixture
def emulator():
    emu = AnymarketEmulator(rate=FAST, burst=50)
    emu.start()
    yield emu
    emu.stop()


def connect(emu, token=None, **options):
    token = token or AnymarketEmulator.demo_credentials()["gumga_token"]
    channel = make_channel(
        connector="anymarket",
        credentials={"gumga_token": token},
        api_base_url=emu.url,
        environment="sandbox",
    )
    options.setdefault("sleep", RecordingSleep())
    return build_connector(channel, **options)


def stock_batches(emu):
    return emu.stats["PUT ^/v2/stocks$"]


def listing_refs(conn):
    return {listing.seller_sku: listing.ref for listing in conn.list_listings()}


# --- account -----------------------------------------------------------------------------------


def test_demo_credentials_are_clearly_fake():
    token = AnymarketEmulator.demo_credentials()["gumga_token"]
    assert "DEMO" in token and "not-a-secret" in token


def test_verify_checks_the_token_and_a_wrong_token_is_refused(emulator):
    assert connect(emulator).verify() == ""  # ANYMARKET names no account for a token
    wrong = "wrong-gumga-token-0001"
    with pytest.raises(AuthError) as exc:
        connect(emulator, token=wrong).verify()
    assert wrong not in str(exc.value)


def test_stock_location_ids_are_no_account_identity():
    # As in production: two accounts both have location 1.
    first = AnymarketEmulator(account="loja-a")
    second = AnymarketEmulator(account="loja-b")
    assert first.default_local_id == second.default_local_id


# --- stock -------------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [300, 1200])
def test_stock_goes_in_as_few_requests_as_the_cap_allows(emulator, count):
    emulator.seed_data(listings=count)
    conn = connect(emulator)
    refs = listing_refs(conn)
    updates = [
        StockUpdate(key=code, ref=ref, quantity=n % 17)
        for n, (code, ref) in enumerate(refs.items())
    ]
    result = conn.push_stock(updates)
    cap = AnymarketConnector.spec.limits.for_flow(Flow.STOCK).max_items_per_request
    assert stock_batches(emulator) == math.ceil(count / cap)
    assert len(result.accepted) == count and not result.rejected
    for update in updates[:: max(count // 25, 1)]:
        assert emulator.stock_of(update.key) == update.quantity


def test_stock_per_location(emulator):
    emulator.seed_data(listings=2)
    other_local = emulator.default_local_id + 1
    conn = connect(emulator)
    ref = listing_refs(conn)["SKU-00001"]
    conn.push_stock([StockUpdate(key=1, ref=ref, quantity=9, location=str(other_local))])
    assert emulator.stock_of("SKU-00001", other_local) == 9
    assert emulator.stock_of("SKU-00001") == 9 + emulator.stock_of(
        "SKU-00001", emulator.default_local_id
    )


def test_a_batch_with_an_unknown_sku_is_refused_whole_and_the_connector_resends_the_rest(
    emulator,
):
    emulator.seed_data(listings=3)
    emulator.reset_stats()
    result = connect(emulator).push_stock(
        [
            StockUpdate(key="known", ref=ExternalRef(seller_sku="SKU-00001"), quantity=40),
            StockUpdate(key="ghost", ref=ExternalRef(seller_sku="NOT-THERE"), quantity=1),
        ]
    )
    # The vendor refuses the batch as a whole (nothing of it applied) naming the unknown SKU;
    # the connector rejects that one and sends the other again.
    assert [(r.status, r.stock_items) for r in emulator.requests_log] == [(422, 2), (200, 1)]
    assert result.accepted == ["known"]
    assert set(result.rejected) == {"ghost"}
    assert "NOT-THERE" in result.rejected["ghost"]
    assert emulator.stock_of("SKU-00001") == 40


def test_an_account_linked_to_another_erp_refuses_writes(emulator):
    emulator.seed_data(listings=1)
    emulator.mark_linked_to("ERP Concorrente")
    conn = connect(emulator)
    conn.verify()  # reads still work: the refusal comes on the first write
    with pytest.raises(PermissionDeniedError) as exc:
        conn.push_stock([StockUpdate(key=1, ref=ExternalRef(seller_sku="SKU-00001"), quantity=1)])
    assert "ERP Concorrente" in str(exc.value)
    assert exc.value.status == 403


# --- prices ------------------------------------------------------------------------------------


class StockChangesBetweenReadAndWrite(requests.Session):
    """Moves a SKU's stock on the emulator right after the connector reads that SKU, as a
    concurrent stock push (or a sale) would."""

    def __init__(self, emu):
        super().__init__()
        self.emu = emu

    def request(self, method, url, *args, **kwargs):
        response = super().request(method, url, *args, **kwargs)
        if method == "GET" and "/skus/" in url and response.ok:
            with self.emu.lock:
                self.emu.stock[response.json()["partnerId"]][self.emu.default_local_id] = 777
        return response


def test_prices_change_and_a_concurrent_stock_change_survives(emulator):
    emulator.seed_data(listings=4)
    conn = connect(emulator, session=StockChangesBetweenReadAndWrite(emulator))
    refs = listing_refs(conn)
    result = conn.push_prices(
        [
            PriceUpdate(key=code, ref=ref, price=Decimal("49.90") + n, list_price=Decimal("99"))
            for n, (code, ref) in enumerate(refs.items())
        ]
    )
    assert sorted(result.accepted) == sorted(refs)
    assert emulator.price_of("SKU-00002") == Decimal("50.9")  # sellPrice, what buyers pay
    assert emulator.skus[emulator.sku_ids_by_partner["SKU-00002"]]["price"] == Decimal("99.0")
    assert {emulator.stock_of(code) for code in refs} == {777}
    assert emulator.stats["PUT ^/v2/products/(?P<product_id>[^/]+)/skus/(?P<sku_id>[^/]+)$"] == 4


def test_price_refusals_are_per_item(emulator):
    emulator.seed_data(listings=2)
    conn = connect(emulator)
    refs = listing_refs(conn)
    # A list price below the sale price is lifted to it, so only a broken SKU is refused.
    result = conn.push_prices(
        [
            PriceUpdate(
                key="ok", ref=refs["SKU-00001"], price=Decimal("80"), list_price=Decimal(70)
            ),
            PriceUpdate(key="gone", ref=ExternalRef(item_id="1", sku_id="2"), price=Decimal(5)),
        ]
    )
    assert result.accepted == ["ok"]
    assert "não encontrado" in result.rejected["gone"]
    assert emulator.price_of("SKU-00001") == Decimal("80.0")
    assert emulator.skus[emulator.sku_ids_by_partner["SKU-00001"]]["price"] == Decimal("80.0")


# --- listings ----------------------------------------------------------------------------------


def test_listings_page_through_every_sku(emulator):
    emulator.seed_data(listings=130)
    conn = connect(emulator)
    listings = list(conn.list_listings())
    assert len(listings) == 130
    assert len({lst.seller_sku for lst in listings}) == 130
    assert all(lst.ref.item_id and lst.ref.sku_id and len(lst.ean) == 13 for lst in listings)
    assert emulator.stats["GET ^/v2/products$"] == math.ceil(65 / 50)  # 65 products, 50 a page
    found = conn.sku_by_partner_id("SKU-00077")
    assert found.ref == next(lst.ref for lst in listings if lst.seller_sku == "SKU-00077")
    assert conn.sku_by_partner_id("NOT-THERE") is None


def test_seed_data_can_use_the_erp_codes_even_awkward_ones(emulator):
    codes = ["CAMBAS-P", "CAMBAS/M", "MOCURB-ÚNICA"]
    emulator.seed_data(partner_ids=codes, orders=2)
    assert set(emulator.sku_ids_by_partner) == set(codes)
    assert len(emulator.orders) == 2
    conn = connect(emulator)
    for code in codes:
        assert conn.sku_by_partner_id(code).seller_sku == code


def test_seed_data_is_deterministic():
    one, two = AnymarketEmulator(seed=3), AnymarketEmulator(seed=3)
    one.seed_data(listings=10, orders=20)
    two.seed_data(listings=10, orders=20)
    assert one.orders == two.orders
    assert one.feed == two.feed


# --- orders ------------------------------------------------------------------------------------


def test_the_feed_is_read_page_by_page_and_nothing_is_acknowledged_twice(emulator):
    emulator.seed_data(listings=12, orders=230)
    conn = connect(emulator)
    stored = {}
    pages = 0
    while True:
        page = conn.fetch_orders(None, 40)
        pages += 1
        for order in page.orders:
            assert order.external_id not in stored, "an order came back after being stored"
            stored[order.external_id] = order
        conn.ack(page.ack_tokens)  # only after "storing"
        if not page.has_more:
            break
        assert pages < 20
    # Read on while the feed brings items: the read after the last page finds it empty.
    assert pages == math.ceil(230 / 40) + 1
    assert set(stored) == {str(order_id) for order_id in emulator.orders}
    assert emulator.feed == {}
    assert set(emulator.ack_counts.values()) == {1}
    assert len(emulator.ack_counts) == 230
    sample = stored[str(next(iter(emulator.orders)))]
    assert sample.status_code in {
        "PENDING",
        "PAID_WAITING_SHIP",
        "INVOICED",
        "PAID_WAITING_DELIVERY",
        "CONCLUDED",
        "CANCELED",
    }
    assert sample.carrier_code in {"Correios", "Jadlog", "Mercado Envios"}
    assert sample.payment_code in {"pix", "credit_card", "boleto"}
    assert sample.raw["marketPlace"] in {"MERCADO_LIVRE", "MAGAZINE_LUIZA", "AMAZON"}
    assert all(line.seller_sku.startswith("SKU-") for line in sample.lines)
    assert sample.total == sample.items_total + sample.shipping_total


def test_an_order_changed_after_reading_comes_back_instead_of_being_lost(emulator):
    emulator.seed_data(listings=2, orders=3)
    conn = connect(emulator)
    page = conn.fetch_orders(None, 10)
    changed = int(page.orders[0].external_id)
    emulator.set_order_status(changed, "CANCELED")  # new feed token before our ack
    conn.ack(page.ack_tokens)
    assert conn.ack_failures == [str(changed)]
    assert list(emulator.feed) == [changed]
    again = conn.fetch_orders(None, 10)
    assert [o.external_id for o in again.orders] == [str(changed)]
    assert again.orders[0].status_code == "CANCELED"
    conn.ack(again.ack_tokens)
    assert emulator.feed == {} and emulator.ack_counts[changed] == 1


def test_ack_before_storing_is_not_the_connectors_doing(emulator):
    # Reading twice without acknowledging delivers the same orders again: the feed only
    # moves when the engine acknowledges.
    emulator.seed_data(listings=2, orders=5)
    channel = make_channel(
        connector="anymarket",
        credentials=AnymarketEmulator.demo_credentials(),
        api_base_url=emulator.url,
        environment="sandbox",
    )
    first = build_connector(channel).fetch_orders(None, 10)
    second = build_connector(channel).fetch_orders(None, 10)  # the next run
    assert [o.external_id for o in first.orders] == [o.external_id for o in second.orders]
    assert sum(emulator.ack_counts.values()) == 0


def test_reference_values_come_from_locations_and_orders(emulator):
    emulator.seed_data(listings=6, orders=40)
    values = connect(emulator).reference_values()
    kinds = {}
    for value in values:
        kinds.setdefault(value.kind, set()).add((value.parent_code, value.code))
    assert kinds["stock_location"] == {
        ("", str(emulator.default_local_id)),
        ("", str(emulator.default_local_id + 1)),
    }
    assert len(kinds["order_status"]) == 6
    assert ("Correios", "SEDEX") in kinds["carrier_service"]
    assert {code for _, code in kinds["payment_method"]} <= {"pix", "credit_card", "boleto"}


# --- faults and rate limit ------------------------------------------------------------------


def test_injected_server_errors_are_retried(emulator):
    emulator.seed_data(listings=2)
    emulator.faults.rate_5xx = 0.3
    sleep = RecordingSleep()
    conn = connect(emulator, sleep=sleep)
    ref = ExternalRef(seller_sku="SKU-00001")
    for quantity in range(10):
        conn.push_stock([StockUpdate(key=1, ref=ref, quantity=quantity)])
    assert emulator.stats["fault 5xx"] > 0
    assert len(sleep.calls) == emulator.stats["fault 5xx"]
    assert emulator.stock_of("SKU-00001", emulator.default_local_id) == 9


def test_without_client_throttling_the_vendor_answers_429():
    # Control for the test below: the emulator's limit is real and bites a fast client.
    emu = AnymarketEmulator(rate=20, burst=5)
    emu.start()
    try:
        conn = connect(emu)  # no rate limiter; retries sleep nowhere
        try:
            for _ in range(15):
                conn.verify()
        except RateLimitedError:
            pass
        assert emu.stats["429"] > 0
    finally:
        emu.stop()


def test_a_token_bucket_at_the_vendor_rate_never_hits_429():
    emu = AnymarketEmulator(rate=40, burst=5)
    emu.start()
    try:
        emu.seed_data(listings=10)
        # Same rate as the vendor; a burst below the vendor's leaves room for jitter.
        bucket = TokenBucket(rate=40, burst=2)
        conn = connect(emu, rate_limiter=bucket)
        refs = listing_refs(conn)
        conn.push_prices([PriceUpdate(key=c, ref=r, price=Decimal("10")) for c, r in refs.items()])
        for _ in range(10):
            conn.verify()
        assert emu.stats["requests"] >= 30
        assert emu.stats["429"] == 0
    finally:
        emu.stop()


# --- emulator strictness -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def strict_emulator():
    # Shared by the checks below, none of which changes state (each is refused).
    emu = AnymarketEmulator(rate=FAST, burst=50)
    emu.seed_data(listings=2, orders=1)
    emu.start()
    yield emu
    emu.stop()


def raw(emu, method, path, token="default", **kwargs):
    headers = {}
    if token == "default":
        token = AnymarketEmulator.demo_credentials()["gumga_token"]
    if token:
        headers["gumgaToken"] = token
    return requests.request(method, f"{emu.url}{path}", headers=headers, timeout=5, **kwargs)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v2/stocks/locals"),
        ("PUT", "/v2/stocks"),
        ("GET", "/v2/products"),
        ("GET", "/v2/orders/feeds"),
        ("PUT", "/v2/orders/feeds/1"),
        ("GET", "/v2/orders/1"),
        ("GET", "/v2/skus/partnerId/X"),
    ],
)
def test_every_route_wants_the_token(strict_emulator, method, path):
    missing = raw(strict_emulator, method, path, token=None)
    assert missing.status_code == 401
    assert missing.json() == {"response": "NO_TOKEN", "operation": "geral"}
    wrong = raw(strict_emulator, method, path, token="nope-nope")
    assert wrong.status_code == 401
    assert set(wrong.json()) == {"code", "message", "details"}


def test_token_as_query_parameter_is_accepted_too(strict_emulator):
    token = AnymarketEmulator.demo_credentials()["gumga_token"]
    response = raw(strict_emulator, "GET", f"/v2/stocks/locals?gumgaToken={token}", token=None)
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"partnerId": "SKU-00001", "quantity": 1}, "lista"),
        ([], "vazia"),
        ([{"quantity": 1}], "partnerId ou id"),
        ([{"partnerId": "SKU-00001", "quantity": "10"}], "numérico"),
        ([{"partnerId": "SKU-00001"}], "obrigatório"),
        ([{"partnerId": "SKU-00001", "quantity": -1}], "negativo"),
        ([{"partnerId": "SKU-00001", "quantity": 1, "stockLocalId": 99}], "local de estoque"),
        ([{"partnerId": "SKU-00001", "quantity": 1}] * 501, "Máximo de 500"),
    ],
)
def test_put_stocks_is_strict(strict_emulator, body, fragment):
    response = raw(strict_emulator, "PUT", "/v2/stocks", json=body)
    assert response.status_code == 422
    assert fragment in response.json()["message"]
    assert set(response.json()) == {"code", "message", "details"}


def test_put_stocks_cap_follows_the_instance_setting(emulator):
    emulator.seed_data(listings=3)
    emulator.stock_cap = 2
    body = [{"partnerId": f"SKU-0000{n}", "quantity": 1} for n in (1, 2, 3)]
    assert raw(emulator, "PUT", "/v2/stocks", json=body).status_code == 422
    assert raw(emulator, "PUT", "/v2/stocks", json=body[:2]).status_code == 200


def test_sku_put_needs_the_whole_sku(strict_emulator):
    product = next(iter(strict_emulator.products.values()))
    path = f"/v2/products/{product['id']}/skus/{product['skus'][0]}"
    response = raw(strict_emulator, "PUT", path, json={"price": 10, "sellPrice": 9})
    assert response.status_code == 422
    assert "title" in response.json()["message"]


def test_wrong_feed_token_is_refused_and_unknown_paths_are_404(strict_emulator):
    order_id = next(iter(strict_emulator.feed))
    response = raw(strict_emulator, "PUT", f"/v2/orders/feeds/{order_id}", json={"token": "stale"})
    assert response.status_code == 422
    assert order_id in strict_emulator.feed
    assert raw(strict_emulator, "GET", "/v2/nothing-here").status_code == 404
    assert raw(strict_emulator, "DELETE", "/v2/stocks").status_code == 405


def test_stats_expose_acks(emulator):
    emulator.seed_data(listings=1, orders=2)
    conn = connect(emulator)
    conn.ack(conn.fetch_orders(None, 10).ack_tokens)
    stats = requests.get(f"{emulator.url}/__emulator__/stats", timeout=5).json()
    assert stats["feed_pending"] == 0
    assert sorted(stats["acks"].values()) == [1, 1]


def test_orders_are_listed_by_creation_date_and_the_feed_answers_fifty_at_a_time(emulator):
    emulator.seed_data(listings=2, orders=60)
    orders = list(emulator.orders.values())  # seeded seven minutes apart, oldest first
    token = AnymarketEmulator.demo_credentials()["gumga_token"]
    url = f"{emulator.url}/v2/orders"
    after = orders[57]["createdAt"]  # "…Z"
    page = requests.get(
        url, params={"createdAfter": after, "limit": 100}, headers={"gumgaToken": token}, timeout=5
    ).json()
    assert [o["id"] for o in page["content"]] == [o["id"] for o in orders[57:]]
    assert page["page"]["totalElements"] == 3
    brasilia = requests.get(
        url,
        params={"createdBefore": "2026-01-05T07:00:00-03:00"},  # 10:00 UTC: the first order
        headers={"gumgaToken": token},
        timeout=5,
    ).json()
    assert [o["id"] for o in brasilia["content"]] == [orders[0]["id"]]
    feed = requests.get(f"{url}/feeds", headers={"gumgaToken": token}, timeout=5).json()
    assert len(feed) == 50  # not documented (?): fewer than the 60 pending
