"""VTEX emulator: the routes VtexConnector uses, on loopback, with state.

Speaks the official wire format (shared/vendor-specs/vtex/): both auth headers on every route
(401 when missing or wrong, 403 when the key lacks the License Manager resource), exact paths
and methods (404/405 otherwise), request bodies checked against the OpenAPI schemas in strict
mode (400 with a VTEX error body), 423 Locked on bursts of writes to one SKU × warehouse, the
account rate limit (429 + Retry-After) and the base class's fault injection.

Simplifications, on purpose:
- The orders feed keeps the events raised before an app key configured its feed and delivers
  them once it does (VTEX delivers only later events), so seeded demo orders show up after
  activation. `replay_before_config=False` gives VTEX's behaviour. Retention is not enforced.
- One rate-limit bucket for the whole account (VTEX limits per API).
- Catalog errors use the catalog's {"Message": ...} body, everything else OMS's
  {"error": {"code", "message", "exception"}}.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from erp.gtin import gtin13_with_check_digit
from sandbox import openapi
from sandbox.server import (
    BadRequest,
    Emulator,
    Faults,
    HttpError,
    Request,
    Response,
)
from vendors.vtex.adapter import (
    DEFAULT_FEED_STATUSES,
    FEED_RETENTION_SECONDS,
    FEED_VISIBILITY_TIMEOUT_SECONDS,
    ORDER_STATUSES,
    VtexConnector,
)

SPEC_NAMES = ("catalog", "license-manager", "logistics", "orders", "pricing")
INVENTORY_PATH = "/api/logistics/pvt/inventory/skus/{skuId}/warehouses/{warehouseId}"
PRICE_PATH = "/pricing/prices/{itemId}"
STATUS_LABELS = dict(ORDER_STATUSES)

# (courier = shipping policy name, SLA = shippingMethod): the same SLA name under two couriers
# is what makes carrier + service de-para necessary.
SHIPPING_POLICIES = (
    ("correios-sedex10", "Correios", "SEDEX 10"),
    ("correios-pac", "Correios", "PAC"),
    ("jadlog-expressa", "Jadlog", "Expressa"),
    ("loggi-expressa", "Loggi", "Expressa"),
)
# (paymentSystemName, paymentSystem id, group) as VTEX numbers them.
PAYMENT_SYSTEMS = (
    ("Pix", "125", "instantPayment"),
    ("Visa", "2", "creditCard"),
    ("Mastercard", "4", "creditCard"),
    ("Boleto Bancário", "6", "bankInvoice"),
)
WAREHOUSES = (("1_1", "Estoque principal"), ("cd-extrema", "CD Extrema"))
PRODUCTS = (
    ("Camiseta Básica Algodão", ("P", "M", "G")),
    ("Tênis Corrida Leve", ("39", "40", "41", "42")),
    ("Caneca Térmica 500 ml", ("Preta", "Inox")),
    ("Mochila Urbana 20 L", ("Cinza",)),
    ("Fone Bluetooth Esportivo", ("Preto", "Branco")),
)
CUSTOMERS = (
    ("Ana", "Souza"),
    ("Bruno", "Lima"),
    ("Carla", "Ferreira"),
    ("Diego", "Almeida"),
    ("Elisa", "Rocha"),
)


@dataclass
class AppKey:
    id: str
    app_key: str
    app_token: str
    label: str
    created_in: str
    active: bool = True
    license_manager: bool = True  # holds the "Save user" resource the app key list needs


@dataclass
class Sku:
    id: int
    product_id: int
    ref_id: str
    ean: str
    name: str
    product_name: str = ""
    active: bool = True


@dataclass
class FeedEvent:
    event_id: str
    order_id: str
    state: str
    last_state: str
    last_change: str
    current_change: str
    domain: str = "Fulfillment"
    visible_at: float = 0.0
    deliveries: int = 0


@dataclass
class Feed:
    config: dict
    queue: list[FeedEvent] = field(default_factory=list)


class VtexEmulator(Emulator):
    vendor = "vtex"
    rate = VtexConnector.spec.limits.requests_per_second
    burst = VtexConnector.spec.limits.burst

    def __init__(
        self,
        *,
        credentials: dict | None = None,
        account_name: str = "lojademo",
        rate: float | None = None,
        burst: int | None = None,
        faults: Faults | None = None,
        seed: int = 1,
        strict: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
        lock_window_seconds: float = 0.5,
        lock_max_writes: int = 1,
        replay_before_config: bool = True,
    ) -> None:
        """`strict`: check request bodies and the Accept/Content-Type headers against the
        OpenAPI specs; None = on when the spec files are found. `lock_max_writes` writes to
        one SKU × warehouse within `lock_window_seconds` are accepted; the next gets 423."""
        credentials = dict(credentials or self.demo_credentials(account_name))
        self.account_name = credentials.get("account_name") or account_name
        self.credentials = credentials
        if strict is None:
            strict = openapi.specs_available("vtex", SPEC_NAMES)
        elif strict:
            for name in SPEC_NAMES:
                openapi.load_spec("vtex", name)  # fail now, loudly, if a spec is missing
        self.strict = strict
        self.clock = clock
        self.lock_window_seconds = lock_window_seconds
        self.lock_max_writes = lock_max_writes
        self.replay_before_config = replay_before_config
        self.data_random = random.Random(seed)  # data and handles; faults use self.random
        self.app_keys: dict[str, AppKey] = {}
        self.skus: dict[int, Sku] = {}
        self.warehouses: dict[str, dict] = {
            wid: {"id": wid, "name": name, "isActive": True} for wid, name in WAREHOUSES
        }
        self.inventory: dict[tuple[str, str], dict] = {}
        self.prices: dict[int, dict] = {}
        self.orders: dict[str, dict] = {}
        self.events: list[FeedEvent] = []
        self.feeds: dict[str, Feed] = {}
        self.handles: dict[str, tuple[str, str]] = {}  # handle -> (app key, event id)
        self.commits_per_handle: Counter[str] = Counter()
        self.commits_per_event: Counter[str] = Counter()
        self.deliveries_per_order: Counter[str] = Counter()
        self._pair_writes: dict[tuple[str, str], deque[float]] = {}
        self._next_sku_id = 1001
        self._next_product_id = 501
        self._order_serial = 0
        super().__init__(rate=rate, burst=burst, faults=faults, seed=seed)
        self.add_app_key(credentials["app_key"], credentials["app_token"], label="ERP (erpintegr)")

    # --- demo data ----------------------------------------------------------------------------
    @classmethod
    def demo_credentials(cls, account_name: str = "lojademo") -> dict:
        return {
            "account_name": account_name,
            "app_key": f"vtexappkey-{account_name}-DEMO",
            "app_token": "DEMOTOKEN-not-a-secret-emulator-only-0000000000000000",
            "warehouse_id": WAREHOUSES[0][0],
        }

    def add_app_key(
        self,
        app_key: str,
        app_token: str,
        *,
        label: str = "",
        active: bool = True,
        license_manager: bool = True,
    ) -> AppKey:
        """Register an app key (ours, or another ERP's to exercise the activation check)."""
        with self.lock:
            n = len(self.app_keys) + 1
            record = AppKey(
                id=f"{n:08x}-0000-4000-8000-{n:012x}",
                app_key=app_key,
                app_token=app_token,
                label=label or app_key,
                created_in=f"2024-0{min(n, 9)}-15T12:00:00.0000000Z",
                active=active,
                license_manager=license_manager,
            )
            self.app_keys[app_key] = record
            return record

    def add_sku(
        self,
        *,
        ref_id: str,
        name: str = "",
        ean: str = "",
        sku_id: int | None = None,
        product_id: int | None = None,
        product_name: str = "",
        active: bool = True,
    ) -> Sku:
        with self.lock:
            if sku_id is None:
                sku_id = self._next_sku_id
            self._next_sku_id = max(self._next_sku_id, sku_id + 1)
            if product_id is None:
                product_id = self._next_product_id
                self._next_product_id += 1
            sku = Sku(
                id=sku_id,
                product_id=product_id,
                ref_id=ref_id,
                ean=ean,
                name=name or ref_id,
                product_name=product_name or name or ref_id,
                active=active,
            )
            self.skus[sku_id] = sku
            return sku

    def add_order(
        self,
        *,
        items: list[tuple[int, int, int]],
        status: str = "ready-for-handling",
        courier: tuple[str, str] = ("Correios", "SEDEX 10"),
        payment: str = "Pix",
        customer: tuple[str, str] = ("Ana", "Souza"),
        shipping_cents: int = 1590,
        order_id: str | None = None,
    ) -> str:
        """Create an order; `items` are (sku id, quantity, unit selling price in cents).
        Queues a feed event for its status. Returns the order id ("1400000000001-01")."""
        with self.lock:
            self._order_serial += 1
            order_id = order_id or f"{1400000000000 + self._order_serial:013d}-01"
            if order_id in self.orders:
                raise ValueError(f"order {order_id} exists")
            created = self._timestamp(self._order_serial)
            self.orders[order_id] = self._order_document(
                order_id, items, status, courier, payment, customer, shipping_cents, created
            )
            self._raise_event(order_id, status, "order-created", created)
            return order_id

    def set_order_status(self, order_id: str, status: str) -> None:
        with self.lock:
            order = self.orders[order_id]
            previous = order["status"]
            self._order_serial += 1
            now = self._timestamp(self._order_serial)
            order.update(
                status=status, statusDescription=STATUS_LABELS.get(status, status), lastChange=now
            )
            self._raise_event(order_id, status, previous, now)

    def seed_data(self, *, listings: int = 0, orders: int = 0) -> dict:
        """Deterministic, realistic data: `listings` SKUs (RefId "VT-00001"…, valid EAN-13,
        stock and price set) and `orders` orders over them with couriers, SLAs, payment
        systems and statuses as a Brazilian store has them."""
        rng = self.data_random
        created_skus = []
        with self.lock:
            for n in range(listings):
                product, variations = PRODUCTS[n % len(PRODUCTS)]
                variation = variations[(n // len(PRODUCTS)) % len(variations)]
                serial = len(self.skus) + 1
                sku = self.add_sku(
                    ref_id=f"VT-{serial:05d}",
                    name=f"{product} {variation}",
                    product_name=product,
                    ean=gtin13_with_check_digit(f"789{serial:09d}"),
                )
                self.inventory[(str(sku.id), WAREHOUSES[0][0])] = {
                    "quantity": rng.randint(0, 50),
                    "unlimitedQuantity": False,
                    "leadTime": "00:00:00",
                }
                base = rng.randint(1990, 49990)
                self.prices[sku.id] = self._price_record(sku.id, {"basePrice": base / 100})
                created_skus.append(sku.id)
            if orders and not self.skus:
                self.seed_data(listings=5)
            sku_ids = sorted(self.skus)
            created_orders = []
            for _ in range(orders):
                lines = [
                    (rng.choice(sku_ids), rng.randint(1, 3), rng.randint(1990, 29990))
                    for _ in range(rng.randint(1, 3))
                ]
                _, courier, sla = rng.choice(SHIPPING_POLICIES)
                created_orders.append(
                    self.add_order(
                        items=lines,
                        status=rng.choice(
                            ["payment-pending", "payment-approved", "ready-for-handling"]
                        ),
                        courier=(courier, sla),
                        payment=rng.choice(PAYMENT_SYSTEMS)[0],
                        customer=rng.choice(CUSTOMERS),
                        shipping_cents=rng.choice([0, 1290, 1990, 2990]),
                    )
                )
        return {"skus": created_skus, "orders": created_orders}

    def seed_demo(self, *, sku_codes: list[str], orders: int = 20) -> None:
        """The demo catalog ("PREFIX-VARIANT" codes from `sync.demo`) as VTEX SKUs: RefId = the
        ERP code, one product per prefix, EANs as `sync.demo` gives the ERP's SKUs; then
        `orders` orders. Our app key's feed starts configured: the demo database outlives the
        emulator process, so an activation done before a restart must still find its feed."""
        groups: dict[str, list[str]] = {}
        for code in sku_codes:
            groups.setdefault(code.rsplit("-", 1)[0], []).append(code)
        with self.lock:
            for index, codes in enumerate(groups.values()):
                product = PRODUCTS[index % len(PRODUCTS)][0]
                product_id = self._next_product_id
                self._next_product_id += 1
                for position, code in enumerate(codes):
                    sku = self.add_sku(
                        ref_id=code,
                        name=f"{product} {code.rsplit('-', 1)[-1]}",
                        product_name=product,
                        product_id=product_id,
                        ean=gtin13_with_check_digit(f"789{index:04d}{position:05d}"),
                    )
                    self.inventory[(str(sku.id), WAREHOUSES[0][0])] = {
                        "quantity": 5 + position,
                        "unlimitedQuantity": False,
                        "leadTime": "00:00:00",
                    }
            self.feeds.setdefault(
                self.credentials["app_key"],
                Feed(
                    config={
                        "filter": {"type": "FromWorkflow", "status": list(DEFAULT_FEED_STATUSES)},
                        "queue": {
                            "visibilityTimeoutInSeconds": FEED_VISIBILITY_TIMEOUT_SECONDS,
                            "MessageRetentionPeriodInSeconds": FEED_RETENTION_SECONDS,
                        },
                    }
                ),
            )
            if orders:
                self.seed_data(orders=orders)

    # --- what tests read ----------------------------------------------------------------------
    def inventory_of(self, sku_id: int | str, warehouse_id: str) -> int | None:
        record = self.inventory.get((str(sku_id), warehouse_id))
        return None if record is None else record["quantity"]

    def price_of(self, sku_id: int | str) -> dict | None:
        return self.prices.get(int(sku_id))

    def feed_queue(self, app_key: str | None = None) -> list[FeedEvent]:
        feed = self.feeds.get(app_key or self.credentials["app_key"])
        return [] if feed is None else list(feed.queue)

    def extra_stats(self) -> dict:
        return {
            "account": self.account_name,
            "skus": len(self.skus),
            "orders": len(self.orders),
            "feed": {key: {"queued": len(feed.queue)} for key, feed in self.feeds.items()},
            "commits": sum(self.commits_per_handle.values()),
            "max_commits_per_handle": max(self.commits_per_handle.values(), default=0),
        }

    # --- protocol -----------------------------------------------------------------------------
    def error_body(self, status: int, message: str, code: str = "") -> Any:
        return {"error": {"code": code or str(status), "message": message, "exception": None}}

    def authenticate(self, request: Request) -> None:
        key = request.header("X-VTEX-API-AppKey")
        token = request.header("X-VTEX-API-AppToken")
        if not key or not token:
            raise HttpError(
                401,
                "Unauthorized: X-VTEX-API-AppKey and X-VTEX-API-AppToken headers are required.",
                code="401",
            )
        record = self.app_keys.get(key)
        # Same answer for an unknown key and a wrong token: nothing to probe with.
        if (
            record is None
            or not record.active
            or not hmac.compare_digest(record.app_token.encode(), token.encode())
        ):
            raise HttpError(401, "Unauthorized: invalid app key or app token.", code="401")
        if request.path.startswith("/api/vlm/") and not record.license_manager:
            raise HttpError(
                403,
                "Forbidden: the app key has no License Manager resource for this operation.",
                code="403",
            )
        request.params["_app_key"] = key
        if self.strict:
            for name in ("Accept", "Content-Type"):
                if not request.header(name):
                    raise BadRequest(f"Missing required header {name} (application/json).")

    def setup_routes(self) -> None:
        r = self.route
        r("GET", "/api/vlm/account", self.h_account)
        r("GET", "/api/vlm/appkeys", self.h_appkeys)
        r("GET", "/api/logistics/pvt/configuration/warehouses", self.h_warehouses)
        r("GET", "/api/logistics/pvt/shipping-policies", self.h_shipping_policies)
        r("PUT", INVENTORY_PATH, self.h_inventory_put)
        r("PATCH", INVENTORY_PATH + "/quantity", self.h_inventory_patch)
        r("GET", "/{accountName}" + PRICE_PATH, self.h_price_get)
        r("PUT", "/{accountName}" + PRICE_PATH, self.h_price_put)
        r("GET", "/api/orders/feed/config", self.h_feed_config_get)
        r("POST", "/api/orders/feed/config", self.h_feed_config_post)
        r("GET", "/api/orders/feed", self.h_feed_get)
        r("POST", "/api/orders/feed", self.h_feed_commit)
        r("GET", "/api/oms/pvt/orders/{orderId}", self.h_order)
        r("GET", "/api/catalog_system/pvt/sku/stockkeepingunitids", self.h_sku_ids)
        r("GET", "/api/catalog_system/pvt/sku/stockkeepingunitbyid/{skuId}", self.h_sku)
        r("POST", "/api/catalog_system/pub/sku/stockkeepingunitidsbyrefids", self.h_sku_refids)

    def _body(self, request: Request, spec: str, method: str, path: str) -> Any:
        content_type = request.header("Content-Type") or ""
        if self.strict and not content_type.startswith("application/json"):
            raise HttpError(415, f"Content-Type must be application/json, got {content_type!r}.")
        body = request.json()
        if self.strict:
            errors = openapi.validate_request_body("vtex", spec, method, path, body)
            if errors:
                raise BadRequest("Request body does not match the API schema: " + "; ".join(errors))
        return body

    # --- license manager ------------------------------------------------------------------------
    def h_account(self, request: Request) -> Response:
        return Response(
            200,
            {
                "id": "0a1b2c3d",
                "accountName": self.account_name,
                "name": self.account_name,
                "tradingName": self.account_name,
                "isActive": True,
                "isOperating": False,
            },
        )

    def h_appkeys(self, request: Request) -> Response:
        return Response(
            200,
            [
                {
                    "id": k.id,
                    "appKey": k.app_key,
                    "label": k.label,
                    "createdIn": k.created_in,
                    "isActive": k.active,
                }
                for k in self.app_keys.values()
            ],
        )

    # --- logistics ------------------------------------------------------------------------------
    def h_warehouses(self, request: Request) -> Response:
        return Response(
            200,
            [
                {
                    **w,
                    "warehouseDocks": [{"dockId": "1_1_1", "time": "1.00:00:00", "cost": 0.0}],
                    "pickupPointIds": [],
                    "priority": 0,
                }
                for w in self.warehouses.values()
            ],
        )

    def h_shipping_policies(self, request: Request) -> Response:
        page = _positive_int(request.q("page", "1"), "page")
        per_page = _positive_int(request.q("perPage", "15"), "perPage")
        policies = [
            {"id": pid, "name": name, "shippingMethod": sla, "isActive": True}
            for pid, name, sla in SHIPPING_POLICIES
        ]
        start = (page - 1) * per_page
        pages = max(1, -(-len(policies) // per_page))
        return Response(
            200,
            {
                "items": policies[start : start + per_page],
                "paging": {
                    "page": page,
                    "perPage": per_page,
                    "total": len(policies),
                    "pages": pages,
                },
            },
        )

    def _inventory_target(self, request: Request) -> tuple[str, str]:
        sku_id, warehouse = request.params["skuId"], request.params["warehouseId"]
        if not sku_id.isdigit() or int(sku_id) not in self.skus:
            raise HttpError(404, f"SKU {sku_id} not found.", code="ItemNotFound")
        if warehouse not in self.warehouses:
            raise HttpError(404, f"Warehouse {warehouse} not found.", code="WarehouseNotFound")
        return sku_id, warehouse

    def _take_lock(self, sku_id: str, warehouse: str) -> None:
        now = self.clock()
        writes = self._pair_writes.setdefault((sku_id, warehouse), deque())
        while writes and now - writes[0] >= self.lock_window_seconds:
            writes.popleft()
        if len(writes) >= self.lock_max_writes:
            self.stats["423 locked"] += 1
            message = (
                f"Unable to acquire lock for key: "
                f"{self.account_name}_item_logistics_{sku_id}_{warehouse}."
            )
            raise HttpError(423, message, body=message)
        writes.append(now)

    def h_inventory_put(self, request: Request) -> Response:
        body = self._body(request, "logistics", "PUT", INVENTORY_PATH)
        sku_id, warehouse = self._inventory_target(request)
        self._check_inventory_body(body)
        self._take_lock(sku_id, warehouse)
        # The PUT replaces the record: a missing leadTime resets it to zero (spec).
        self.inventory[(sku_id, warehouse)] = {
            "quantity": int(body.get("quantity") or 0),
            "unlimitedQuantity": bool(body.get("unlimitedQuantity")),
            "leadTime": body.get("leadTime") or "00:00:00",
        }
        return Response(200, True)

    def h_inventory_patch(self, request: Request) -> Response:
        path = INVENTORY_PATH + "/quantity"
        body = self._body(request, "logistics", "PATCH", path)
        sku_id, warehouse = self._inventory_target(request)
        self._check_inventory_body(body)
        if "quantity" not in body or "unlimitedQuantity" not in body:
            raise BadRequest("quantity and unlimitedQuantity are required.")
        self._take_lock(sku_id, warehouse)
        record = self.inventory.setdefault(
            (sku_id, warehouse), {"quantity": 0, "unlimitedQuantity": False, "leadTime": "00:00:00"}
        )
        record.update(quantity=body["quantity"], unlimitedQuantity=body["unlimitedQuantity"])
        return Response(204, None)

    @staticmethod
    def _check_inventory_body(body: Any) -> None:
        if not isinstance(body, dict):
            raise BadRequest("The body must be a JSON object.")
        quantity = body.get("quantity", 0)
        if quantity is not None and (
            not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 0
        ):
            raise BadRequest(f"quantity must be a non-negative integer, got {quantity!r}.")

    # --- pricing --------------------------------------------------------------------------------
    def _price_sku(self, request: Request) -> int:
        if request.params["accountName"] != self.account_name:
            raise HttpError(
                403,
                "Forbidden: these credentials are not valid for account "
                f"{request.params['accountName']}.",
                code="403",
            )
        item_id = request.params["itemId"]
        if not item_id.isdigit():
            raise BadRequest(f"itemId must be an integer, got {item_id!r}.")
        if int(item_id) not in self.skus:
            raise HttpError(404, f"SKU {item_id} not found.", code="NotFound")
        return int(item_id)

    def h_price_get(self, request: Request) -> Response:
        sku_id = self._price_sku(request)
        if sku_id not in self.prices:
            raise HttpError(404, f"No price for SKU {sku_id}.", code="NotFound")
        return Response(200, self.prices[sku_id])

    def h_price_put(self, request: Request) -> Response:
        body = self._body(request, "pricing", "PUT", PRICE_PATH)
        sku_id = self._price_sku(request)
        if not isinstance(body, dict):
            raise BadRequest("The body must be a JSON object.")
        given = {k for k in ("basePrice", "costPrice", "markup") if body.get(k) is not None}
        if given == {"basePrice", "costPrice", "markup"}:
            raise BadRequest("Send at most two of basePrice, costPrice and markup, not all three.")
        if "basePrice" not in given and given != {"costPrice", "markup"}:
            raise BadRequest("Send basePrice, or costPrice together with markup.")
        for name in ("basePrice", "costPrice", "listPrice"):
            value = body.get(name)
            if value is not None and (
                not isinstance(value, int | float) or isinstance(value, bool)
            ):
                raise BadRequest(f"{name} must be a number.")
        self.prices[sku_id] = self._price_record(sku_id, body)
        return Response(200, None)

    @staticmethod
    def _price_record(sku_id: int, body: dict) -> dict:
        base, cost, markup = body.get("basePrice"), body.get("costPrice"), body.get("markup")
        if base is None:
            base = round(cost * (1 + markup / 100), 2)
        elif cost is None:
            cost = round(base / (1 + markup / 100), 2) if markup is not None else base
        markup = round((base / cost - 1) * 100) if cost else 0
        # A PUT replaces every fixed price with the ones sent (spec warning).
        return {
            "itemId": str(sku_id),
            "listPrice": body.get("listPrice"),
            "costPrice": cost,
            "markup": markup,
            "basePrice": base,
            "fixedPrices": body.get("fixedPrices") or [],
        }

    # --- orders feed ----------------------------------------------------------------------------
    def h_feed_config_get(self, request: Request) -> Response:
        feed = self.feeds.get(request.params["_app_key"])
        if feed is None:
            raise HttpError(404, "Feed configuration not found for this app key.", code="404")
        return Response(
            200,
            {
                **feed.config,
                "quantity": len(feed.queue),
                "approximateAgeOfOldestMessageInSeconds": 0,
            },
        )

    def h_feed_config_post(self, request: Request) -> Response:
        body = self._body(request, "orders", "POST", "/api/orders/feed/config")
        if not isinstance(body, dict):
            raise BadRequest("The body must be a JSON object.")
        filt, queue = body.get("filter") or {}, body.get("queue") or {}
        if filt.get("type") not in ("FromWorkflow", "FromOrders"):
            raise BadRequest("filter.type must be FromWorkflow or FromOrders.")
        if filt["type"] == "FromWorkflow" and not filt.get("status"):
            raise BadRequest("filter.status must list at least one status for FromWorkflow.")
        retention = queue.get("MessageRetentionPeriodInSeconds")
        if not isinstance(retention, int) or not 0 < retention <= 1_209_600:
            raise BadRequest("queue.MessageRetentionPeriodInSeconds must be 1..1209600.")
        timeout = queue.get("visibilityTimeoutInSeconds")
        if not isinstance(timeout, int) or timeout < 0:
            raise BadRequest("queue.visibilityTimeoutInSeconds must be a non-negative integer.")
        key = request.params["_app_key"]
        feed = self.feeds.get(key)
        if feed is None:
            feed = self.feeds[key] = Feed(config=body)
            if self.replay_before_config:
                feed.queue.extend(self._copy(e) for e in self.events if self._matches(body, e))
        else:
            feed.config = body
        return Response(200, None)

    def h_feed_get(self, request: Request) -> Response:
        raw = request.q("maxlot")
        if raw is None or not raw.isdigit() or not 1 <= int(raw) <= 10:
            raise BadRequest(f"maxlot is required and must be 1..10, got {raw!r}.")
        feed = self.feeds.get(request.params["_app_key"])
        if feed is None:
            raise HttpError(404, "Feed configuration not found for this app key.", code="404")
        now = self.clock()
        timeout = feed.config["queue"]["visibilityTimeoutInSeconds"]
        lot = [e for e in feed.queue if e.visible_at <= now][: int(raw)]
        items = []
        for event in lot:
            event.visible_at = now + timeout
            event.deliveries += 1
            handle = f"AQEB{self.data_random.getrandbits(192):048x}"
            self.handles[handle] = (request.params["_app_key"], event.event_id)
            self.deliveries_per_order[event.order_id] += 1
            items.append(
                {
                    "eventId": event.event_id,
                    "handle": handle,
                    "domain": event.domain,
                    "state": event.state,
                    "lastState": event.last_state,
                    "orderId": event.order_id,
                    "lastChange": event.last_change,
                    "currentChange": event.current_change,
                }
            )
        return Response(200, items)

    def h_feed_commit(self, request: Request) -> Response:
        body = self._body(request, "orders", "POST", "/api/orders/feed")
        handles = body.get("handles") if isinstance(body, dict) else None
        if not isinstance(handles, list) or not all(isinstance(h, str) for h in handles):
            raise BadRequest("handles must be an array of strings.")
        for handle in handles:
            self.commits_per_handle[handle] += 1
            owner = self.handles.get(handle)
            if owner is None:
                continue  # unknown or expired handle: harmless, as on VTEX
            feed = self.feeds.get(owner[0])
            if feed is None:
                continue
            before = len(feed.queue)
            feed.queue = [e for e in feed.queue if e.event_id != owner[1]]
            if len(feed.queue) < before:
                self.commits_per_event[owner[1]] += 1
        return Response(200, None)

    def h_order(self, request: Request) -> Response:
        order = self.orders.get(request.params["orderId"])
        if order is None:
            raise HttpError(404, f"Order {request.params['orderId']} not found.", code="OMS003")
        return Response(200, order)

    # --- catalog --------------------------------------------------------------------------------
    @staticmethod
    def _catalog_error(status: int, message: str) -> HttpError:
        return HttpError(status, message, body={"Message": message})

    def h_sku_ids(self, request: Request) -> Response:
        try:
            page = int(request.q("page") or "")
            size = int(request.q("pagesize") or "")
        except ValueError:
            raise self._catalog_error(400, "page and pagesize are required integers.") from None
        if page < 1 or not 1 <= size <= 1000:
            raise self._catalog_error(400, "page must be >= 1 and pagesize 1..1000.")
        ids = sorted(self.skus)
        return Response(200, ids[(page - 1) * size : page * size])

    def h_sku(self, request: Request) -> Response:
        raw = request.params["skuId"]
        sku = self.skus.get(int(raw)) if raw.isdigit() else None
        if sku is None:
            raise self._catalog_error(404, "SKU not found.")
        return Response(
            200,
            {
                "Id": sku.id,
                "ProductId": sku.product_id,
                "NameComplete": sku.name,
                "ProductName": sku.product_name,
                "SkuName": sku.name,
                "IsActive": sku.active,
                "ProductRefId": "",
                "AlternateIds": {"Ean": sku.ean, "RefId": sku.ref_id},
                "AlternateIdValues": [v for v in (sku.ean, sku.ref_id) if v],
                "MeasurementUnit": "un",
                "UnitMultiplier": 1.0,
                "IsKit": False,
            },
        )

    def h_sku_refids(self, request: Request) -> Response:
        body = self._body(
            request, "catalog", "POST", "/api/catalog_system/pub/sku/stockkeepingunitidsbyrefids"
        )
        if not isinstance(body, list):
            raise self._catalog_error(400, "The body must be an array of RefIds.")
        if len(set(body)) != len(body):
            # Documented: a repeated RefId makes the catalog fail with 500.
            raise self._catalog_error(500, "An item with the same key has already been added.")
        by_ref = {s.ref_id: str(s.id) for s in self.skus.values()}
        return Response(200, {ref: by_ref.get(ref) for ref in body})

    # --- helpers --------------------------------------------------------------------------------
    def _raise_event(self, order_id: str, state: str, last_state: str, when: str) -> None:
        event_id = (
            hashlib.md5(  # noqa: S324 - an identifier, not security
                f"{order_id}:{state}:{len(self.events)}".encode()
            )
            .hexdigest()
            .upper()
        )
        event = FeedEvent(event_id, order_id, state, last_state, when, when)
        self.events.append(event)
        for feed in self.feeds.values():
            if self._matches(feed.config, event):
                feed.queue.append(self._copy(event))

    @staticmethod
    def _matches(config: dict, event: FeedEvent) -> bool:
        filt = config.get("filter") or {}
        if filt.get("type") == "FromWorkflow":
            return event.state in (filt.get("status") or [])
        return True  # FromOrders: JSONata is not emulated; every change is delivered

    @staticmethod
    def _copy(event: FeedEvent) -> FeedEvent:
        return FeedEvent(
            event.event_id,
            event.order_id,
            event.state,
            event.last_state,
            event.last_change,
            event.current_change,
            event.domain,
        )

    @staticmethod
    def _timestamp(serial: int) -> str:
        moment = datetime(2025, 11, 28, 9, 0, tzinfo=UTC) + timedelta(minutes=7 * serial)
        return moment.isoformat().replace("+00:00", ".0000000+00:00")

    def _order_document(
        self, order_id, items, status, courier, payment, customer, shipping_cents, created
    ) -> dict:
        courier_name, sla = courier
        policy_id = next((p for p, n, s in SHIPPING_POLICIES if (n, s) == courier), "custom")
        pay_name, pay_id, pay_group = next(
            (p for p in PAYMENT_SYSTEMS if p[0] == payment), (payment, "0", "custom")
        )
        lines, logistics = [], []
        for index, (sku_id, quantity, cents) in enumerate(items):
            sku = self.skus.get(sku_id) or Sku(sku_id, 0, "", "", f"SKU {sku_id}")
            lines.append(
                {
                    "uniqueId": f"{order_id}-{index}",
                    "id": str(sku.id),
                    "productId": str(sku.product_id),
                    "ean": sku.ean,
                    "quantity": quantity,
                    "seller": "1",
                    "name": sku.name,
                    "refId": sku.ref_id,
                    "price": cents,
                    "listPrice": cents,
                    "sellingPrice": cents,
                    "sellerSku": str(sku.id),
                }
            )
            logistics.append(
                {
                    "itemIndex": index,
                    "selectedSla": sla,
                    "deliveryCompany": courier_name,
                    "price": shipping_cents if index == 0 else 0,
                    "shippingEstimate": "3bd",
                    "slas": [
                        {"id": sla, "name": sla, "shippingEstimate": "3bd", "price": shipping_cents}
                    ],
                    "deliveryIds": [
                        {
                            "courierId": policy_id,
                            "courierName": courier_name,
                            "dockId": "1_1_1",
                            "quantity": quantity,
                            "warehouseId": WAREHOUSES[0][0],
                        }
                    ],
                }
            )
        items_total = sum(q * c for _, q, c in items)
        first, last = customer
        serial = self._order_serial
        return {
            "orderId": order_id,
            "sequence": str(500000 + serial),
            "status": status,
            "statusDescription": STATUS_LABELS.get(status, status),
            "value": items_total + shipping_cents,
            "creationDate": created,
            "lastChange": created,
            "origin": "Marketplace",
            "salesChannel": "1",
            "totals": [
                {"id": "Items", "name": "Total dos Itens", "value": items_total},
                {"id": "Discounts", "name": "Total dos Descontos", "value": 0},
                {"id": "Shipping", "name": "Total do Frete", "value": shipping_cents},
                {"id": "Tax", "name": "Total da Taxa", "value": 0},
            ],
            "items": lines,
            "clientProfileData": {
                "email": f"{first.lower()}.{last.lower()}@email.com.br",
                "firstName": first,
                "lastName": last,
                "documentType": "cpf",
                "document": _cpf(serial),
                "phone": "+5511999990000",
                "isCorporate": False,
            },
            "shippingData": {"logisticsInfo": logistics},
            "paymentData": {
                "transactions": [
                    {
                        "isActive": True,
                        "transactionId": f"T{serial:08d}",
                        "payments": [
                            {
                                "id": f"P{serial:08d}",
                                "paymentSystem": pay_id,
                                "paymentSystemName": pay_name,
                                "group": pay_group,
                                "value": items_total + shipping_cents,
                                "installments": 1,
                            }
                        ],
                    }
                ]
            },
        }


def _positive_int(raw: str | None, name: str) -> int:
    if raw is None or not raw.isdigit() or int(raw) < 1:
        raise BadRequest(f"{name} must be a positive integer, got {raw!r}.")
    return int(raw)


def _cpf(serial: int) -> str:
    """A CPF with valid check digits, formatted as VTEX stores it."""
    base = [int(d) for d in f"{(123456789 + serial * 7919) % 10**9:09d}"]
    for length in (9, 10):
        total = sum(d * (length + 1 - i) for i, d in enumerate(base[:length]))
        base.append((total * 10 % 11) % 10)
    s = "".join(map(str, base))
    return f"{s[:3]}.{s[3:6]}.{s[6:9]}-{s[9:]}"
