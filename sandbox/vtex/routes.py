"""VTEX's APIs as the connector uses them: the routes, the vendor's validation and its
state (SKUs, inventory, prices, orders and their feed). Demo data and credentials:
`fixtures.py`.

Speaks the official wire format (vendor-specs/vtex/, VTEX's OpenAPI files): both auth headers
on every route (401 when missing or wrong, 403 when the key lacks the License Manager
resource), exact paths and methods (404/405 otherwise), request bodies checked against the
OpenAPI schemas in strict mode (400 with a VTEX error body), 423 Locked on bursts of writes to
one SKU × warehouse, the account rate limit (429 + Retry-After) and the base class's fault
injection. Every rule is written from VTEX's documentation, never from the connector's
declarations: a connector that misreads a rule meets the vendor's, not its own.

Simplifications, on purpose:
- The orders feed keeps the events raised before an app key configured its feed and delivers
  them once it does (VTEX delivers only later events), so seeded demo orders show up after
  activation. `replay_before_config=False` gives VTEX's behaviour. Retention is not enforced.
- One rate-limit bucket for the whole account (VTEX limits per API and route).
- Catalog errors use the catalog's {"Message": ...} body, everything else OMS's
  {"error": {"code", "message", "exception"}}.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import re
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sandbox import openapi
from sandbox.notify import RetryPolicy, post_json
from sandbox.people import cpf, place
from sandbox.server import (
    DEFAULT_PRICE,
    BadRequest,
    Emulator,
    Faults,
    HttpError,
    OrderLine,
    Request,
    Response,
    parse_order_line,
)
from sandbox.vtex.catalog import VtexCatalogRoutes

SPEC_NAMES = ("catalog", "license-manager", "logistics", "orders", "pricing")
INVENTORY_PATH = "/api/logistics/pvt/inventory/skus/{skuId}/warehouses/{warehouseId}"
INVENTORY_BY_SKU_PATH = "/api/logistics/pvt/inventory/skus/{skuId}"
PRICE_PATH = "/pricing/prices/{itemId}"

# pricing.json, "Rate limits per route": PUT and POST 2,000 per minute (33 per second) with
# 500 burst credits that refill at the same rate. The emulator applies the strictest documented
# API limit to the whole account (Catalog: 45,000/min; OMS: 6,000/min).
REQUESTS_PER_MINUTE = 2000
BURST_CREDITS = 500
# orders.json, GET /api/orders/feed: "maxlot … Maximum accepted value is 10".
FEED_MAXLOT = 10
# orders.json, POST /api/orders/feed/config: the retention "maximum value is 1209600".
FEED_MAX_RETENTION_SECONDS = 1_209_600
# orders.json, List orders: "The limit of information retrieval is 30 pages, the default
# number of orders per page is 15 and it is possible to configure it up to 100".
LIST_PAGES_MAX = 30
LIST_PER_PAGE_DEFAULT = 15
LIST_PER_PAGE_MAX = 100
_CREATION_RANGE = re.compile(r"^creationDate:\[(?P<low>\S+) TO (?P<high>\S+)\]$")
# catalog.json, GET …/stockkeepingunitids: "pagesize … The maximum value is 1000".
SKU_IDS_PAGE_MAX = 1000
_INVENTORY_WRITE = re.compile(
    r"^/api/logistics/pvt/inventory/skus/[^/]+/warehouses/[^/]+(?P<quantity>/quantity)?$"
)
# shared/channel-apis.md: bursts of writes to one SKU × warehouse answer 423 Locked. VTEX does
# not publish the window; half a second and one write are the emulator's reading of it.
LOCK_WINDOW_SECONDS = 0.5
LOCK_MAX_WRITES = 1

# The orders hook (orders.json, POST /api/orders/hook/config, HookConfigurationRequest; the
# guide developers.vtex.com/docs/guides/orders-feed#hook): a filter (FromWorkflow with a status
# list, or FromOrders with a JSONata expression and disableSingleFire) and the hook's url and
# headers. On registration VTEX POSTs {"hookConfig": "ping"} to the url with those headers and
# the configuration is refused unless the endpoint answers 200. Then each order change that
# passes the filter is POSTed to the url with the headers, in the HookConfiguration body
# (Domain, OrderId, State, LastState, LastChange, CurrentChange, Origin {Account, Key}).
# VTEX does not publish the hook's timeout nor its retry schedule (?): the emulator waits 5 s
# for the answer and tries 5 times, 1, 5, 15 and 30 minutes apart; the feed is the way to
# catch up, as the guide recommends it for integrations that cannot lose events.
HOOK_PING = {"hookConfig": "ping"}
# orders.json's Headers schema lists its example's property, "key", as required: an artifact of
# the example (the hook's headers are whatever the endpoint needs, e.g. its own secret header;
# HookFilter's and Hook's real requirements are checked in full).
HOOK_SPEC_ARTIFACTS = ("$.hook.headers: required property 'key' is missing",)
HOOK_TIMEOUT_SECONDS = 5.0
HOOK_POLICY = RetryPolicy(attempts=5, delays=(60, 300, 900, 1800), timeout=HOOK_TIMEOUT_SECONDS)
# The Domain of the hook's body: the contract with our receiver (issue 16) names the
# marketplace's orders; VTEX's own example shows "Fulfillment" for a seller's.
HOOK_DOMAIN = "Marketplace"

# The main workflow statuses (orders.json, List orders: f_status) with the description the
# OMS shows in Portuguese.
ORDER_STATUSES = {
    "waiting-for-sellers-confirmation": "Aguardando confirmação do seller",
    "payment-pending": "Pagamento pendente",
    "payment-approved": "Pagamento aprovado",
    "ready-for-handling": "Pronto para o manuseio",
    "handling": "Preparando entrega",
    "invoiced": "Faturado",
    "canceled": "Cancelado",
}
# Every status a feed can filter on (orders.json, POST /api/orders/feed/config: "Status
# available to filter"): an order can pass through all of them.
WORKFLOW_STATUSES = frozenset(
    {
        *ORDER_STATUSES,
        "order-created",
        "on-order-completed",
        "on-order-completed-ffm",
        "waiting-for-order-authorization",
        "approve-payment",
        "request-cancel",
        "waiting-for-seller-decision",
        "waiting-ffmt-authorization",
        "waiting-for-authorization",
        "waiting-for-manual-authorization",
        "authorize-fulfillment",
        "order-create-error",
        "order-creation-error",
        "window-to-cancel",
        "window-to-change-seller",
        "waiting-for-mkt-authorization",
        "waiting-seller-handling",
        "start-handling",
        "invoice-after-cancellation-deny",
        "order-accepted",
        "invoice",
        "replaced",
        "cancellation-requested",
        "cancel",
    }
)

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

INVOICE_TRACKING_PATH = "/api/oms/pvt/orders/{orderId}/invoice/{invoiceNumber}/tracking"
# orders.json, Order invoice notification: "invoiceValue … in cents … Must be greater than 0. Do
# not use any decimal separator" (a string in the schema).
_CENTS = re.compile(r"^[0-9]+$")
# orders.json, Update order tracking status: "The `deliveredDate` format is `yyyy-mm-dd hh:mm`".
_DELIVERED_DATE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$")
# Statuses an Output invoice is taken in: after start-handling ("Handling shipping occurs …
# shortly after the seller starts handling the items. At this point, VTEX must receive the
# order's invoice details", help.vtex.com/troubleshooting/the-order-doesnt-progress-after-the-
# status-handling-shipping), and while partially invoiced.
INVOICEABLE_STATUSES = ("handling", "invoice")


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
    # Catalog data (sandbox/vtex/catalog.py): packaged dimensions (cm) and weight (g), files,
    # (FieldId, FieldValueId) specifications.
    height: float | None = None
    width: float | None = None
    length: float | None = None
    weight: float | None = None
    manufacturer_code: str = ""
    images: list[dict] = field(default_factory=list)
    specs: list[tuple[int, int]] = field(default_factory=list)


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


class VtexApi(VtexCatalogRoutes, Emulator):
    """The vendor's side; `fixtures.VtexEmulator` adds demo credentials and data. The account
    is the VTEX account name (the store's host)."""

    vendor = "vtex"
    demo_account = "lojademo"
    order_statuses = tuple(ORDER_STATUSES)
    rate = REQUESTS_PER_MINUTE / 60
    burst = BURST_CREDITS
    notification_policy = HOOK_POLICY

    def __init__(
        self,
        *,
        account: str | None = None,
        credentials: dict | None = None,
        rate: float | None = None,
        burst: int | None = None,
        faults: Faults | None = None,
        seed: int = 1,
        strict: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
        lock_window_seconds: float = LOCK_WINDOW_SECONDS,
        lock_max_writes: int = LOCK_MAX_WRITES,
        replay_before_config: bool = True,
    ) -> None:
        """`strict`: check request bodies and the Accept/Content-Type headers against the
        OpenAPI specs; None = on when the spec files are found. `lock_max_writes` writes to
        one SKU × warehouse within `lock_window_seconds` are accepted; the next gets 423."""
        credentials = dict(credentials or self.demo_credentials(account))
        self.account_name = credentials.get("account_name") or account or self.demo_account
        self._credentials = credentials
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
        self.sku_ids_by_ref: dict[str, int] = {}
        self.products: dict[int, dict] = {}  # created through the Catalog API
        self.warehouses: dict[str, dict] = {
            wid: {"id": wid, "name": name, "isActive": True} for wid, name in WAREHOUSES
        }
        self.default_warehouse = WAREHOUSES[0][0]
        self.inventory: dict[tuple[str, str], dict] = {}
        self.prices: dict[int, dict] = {}
        self.orders: dict[str, dict] = {}
        self.events: list[FeedEvent] = []
        self.feeds: dict[str, Feed] = {}
        self.hooks: dict[str, dict] = {}  # app key -> its hook configuration
        self.handles: dict[str, tuple[str, str]] = {}  # handle -> (app key, event id)
        self.commits_per_handle: Counter[str] = Counter()
        self.commits_per_event: Counter[str] = Counter()
        self.deliveries_per_order: Counter[str] = Counter()
        self._pair_writes: dict[tuple[str, str], deque[float]] = {}
        self._next_sku_id = 1001
        self._next_product_id = 501
        self._order_serial = 0
        super().__init__(
            account=self.account_name, rate=rate, burst=burst, faults=faults, seed=seed
        )
        self.add_app_key(credentials["app_key"], credentials["app_token"], label="ERP (erpintegr)")

    # --- vendor state ---------------------------------------------------------------------------
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
            self.sku_ids_by_ref[ref_id] = sku_id
            return sku

    def _sku_of(self, seller_sku: str) -> Sku:
        sku_id = self.sku_ids_by_ref.get(seller_sku)
        if sku_id is None:
            raise KeyError(f"no SKU has the RefId {seller_sku!r}")
        return self.skus[sku_id]

    def feed_queue(self, app_key: str | None = None) -> list[FeedEvent]:
        feed = self.feeds.get(app_key or self._credentials["app_key"])
        return [] if feed is None else list(feed.queue)

    # --- the control interface ----------------------------------------------------------------
    @property
    def credentials(self) -> dict[str, str]:
        return dict(self._credentials)

    def secrets(self) -> set[str]:
        with self.lock:
            return {v for k in self.app_keys.values() for v in (k.app_key, k.app_token)}

    def stock_of(self, seller_sku: str, location: str | int | None = None) -> int:
        """Quantity at warehouse `location`, or the sum over the warehouses."""
        with self.lock:
            sku_id = str(self._sku_of(seller_sku).id)
            warehouses = self.warehouses if location is None else [str(location)]
            return sum(
                self.inventory.get((sku_id, warehouse), {}).get("quantity", 0)
                for warehouse in warehouses
            )

    def set_stock(self, seller_sku: str, quantity: int, location: str | None = None) -> None:
        """Set the stock at the default warehouse (or at warehouse `location`), as a sale or
        an edit in the VTEX admin does."""
        with self.lock:
            sku_id = str(self._sku_of(seller_sku).id)
            record = self.inventory.setdefault(
                (sku_id, location or self.default_warehouse),
                {"quantity": 0, "unlimitedQuantity": False, "leadTime": "00:00:00"},
            )
            record["quantity"] = int(quantity)

    def price_of(self, seller_sku: str) -> Decimal | None:
        """The base price (fixed prices per trade policy are not emulated)."""
        with self.lock:
            record = self.prices.get(self._sku_of(seller_sku).id)
            return None if record is None else Decimal(str(record["basePrice"]))

    def add_order(
        self,
        lines: Sequence[OrderLine] | None = None,
        *,
        status: str | None = None,
        carrier: tuple[str, str] | None = None,
        payment: str | None = None,
        customer: tuple[str, str] = ("Ana", "Souza"),
        shipping_cents: int = 1590,
        order_id: str | None = None,
    ) -> str:
        """`carrier` is (courier, SLA), default ("Correios", "SEDEX 10"); `payment` a
        paymentSystemName, default "Pix". Queues a feed event for the order's status and
        returns its id ("1400000000001-01")."""
        with self.lock:
            if lines is None:
                if not self.skus:
                    raise ValueError("add a SKU first, or pass lines")
                lines = [(self.skus[min(self.skus)].ref_id, 1)]
            items = []
            for line in lines:
                seller_sku, quantity, unit = parse_order_line(line)
                sku = self._sku_of(seller_sku)
                if unit is None:
                    record = self.prices.get(sku.id)
                    unit = Decimal(str(record["basePrice"])) if record else DEFAULT_PRICE
                items.append((sku.id, quantity, int(unit * 100)))
            return self._place_order(
                items=items,
                status=status or "ready-for-handling",
                courier=carrier or ("Correios", "SEDEX 10"),
                payment=payment or "Pix",
                customer=customer,
                shipping_cents=shipping_cents,
                order_id=order_id,
            )

    def _place_order(
        self,
        *,
        items: list[tuple[int, int, int]],
        status: str,
        courier: tuple[str, str],
        payment: str,
        customer: tuple[str, str],
        shipping_cents: int,
        order_id: str | None = None,
    ) -> str:
        """An order of (sku id, quantity, unit selling price in cents) items."""
        if status not in WORKFLOW_STATUSES:
            raise ValueError(f"unknown VTEX workflow status {status!r}")
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
        if status not in WORKFLOW_STATUSES:
            raise ValueError(f"unknown VTEX workflow status {status!r}")
        with self.lock:
            order = self.orders[order_id]
            previous = order["status"]
            self._order_serial += 1
            now = self._timestamp(self._order_serial)
            order.update(
                status=status,
                statusDescription=ORDER_STATUSES.get(status, status),
                lastChange=now,
            )
            self._raise_event(order_id, status, previous, now)

    def order_ids(self) -> list[str]:
        with self.lock:
            return list(self.orders)

    def order_lines(self, order_id: str) -> list[tuple[str, int]]:
        with self.lock:
            return [(item["refId"], item["quantity"]) for item in self.orders[order_id]["items"]]

    def order_destination(self, order_id: str) -> tuple[str, str, str]:
        with self.lock:
            order = self.orders[order_id]
            address = order["shippingData"]["address"]
            return (
                re.sub(r"\D", "", address["postalCode"]),
                address["city"],
                re.sub(r"\D", "", order["clientProfileData"]["document"]),
            )

    def feed_backlog(self) -> int:
        """Events waiting in our app key's feed (delivered or not) for a commit."""
        with self.lock:
            return len(self.feed_queue())

    def stock_items_in(self, request: Request) -> int:
        match = _INVENTORY_WRITE.match(request.path)
        if match is None:
            return 0
        quantity_only = match.group("quantity") is not None
        return int(request.method == ("PATCH" if quantity_only else "PUT"))

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
        r("GET", INVENTORY_BY_SKU_PATH, self.h_inventory_by_sku)
        r("PUT", INVENTORY_PATH, self.h_inventory_put)
        r("PATCH", INVENTORY_PATH + "/quantity", self.h_inventory_patch)
        r("GET", "/{accountName}" + PRICE_PATH, self.h_price_get)
        r("PUT", "/{accountName}" + PRICE_PATH, self.h_price_put)
        r("GET", "/api/orders/feed/config", self.h_feed_config_get)
        r("POST", "/api/orders/feed/config", self.h_feed_config_post)
        r("GET", "/api/orders/feed", self.h_feed_get)
        r("POST", "/api/orders/feed", self.h_feed_commit)
        r("GET", "/api/orders/hook/config", self.h_hook_config_get)
        r("POST", "/api/orders/hook/config", self.h_hook_config_post)
        r("DELETE", "/api/orders/hook/config", self.h_hook_config_delete)
        r("GET", "/api/oms/pvt/orders", self.h_orders_list)
        r("GET", "/api/oms/pvt/orders/{orderId}", self.h_order)
        r("POST", "/api/oms/pvt/orders/{orderId}/start-handling", self.h_start_handling)
        r("POST", "/api/oms/pvt/orders/{orderId}/invoice", self.h_invoice)
        r("PATCH", "/api/oms/pvt/orders/{orderId}/invoice/{invoiceNumber}", self.h_invoice_patch)
        r("PUT", INVOICE_TRACKING_PATH, self.h_invoice_tracking)
        r("POST", "/api/oms/pvt/orders/{orderId}/cancel", self.h_cancel)
        r("GET", "/api/catalog_system/pvt/sku/stockkeepingunitids", self.h_sku_ids)
        r("GET", "/api/catalog_system/pvt/sku/stockkeepingunitbyid/{skuId}", self.h_sku)
        r("POST", "/api/catalog_system/pub/sku/stockkeepingunitidsbyrefids", self.h_sku_refids)
        self.setup_catalog_routes()

    def _body(
        self, request: Request, spec: str, method: str, path: str, *, ignore: tuple[str, ...] = ()
    ) -> Any:
        content_type = request.header("Content-Type") or ""
        if self.strict and not content_type.startswith("application/json"):
            raise HttpError(415, f"Content-Type must be application/json, got {content_type!r}.")
        body = request.json()
        if self.strict:
            errors = openapi.validate_request_body("vtex", spec, method, path, body)
            errors = [e for e in errors if e not in ignore]
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

    def h_inventory_by_sku(self, request: Request) -> Response:
        """logistics.json, "List inventory by SKU" (InventoryBySku): `{skuId, balance: [{
        warehouseId, warehouseName, totalQuantity, reservedQuantity, hasUnlimitedQuantity,
        timeToRefill, dateOfSupplyUtc, leadTime}]}`, a balance row per warehouse holding an
        inventory record of the SKU. No reservation is modelled (reservedQuantity 0)."""
        sku_id = request.params["skuId"]
        if not sku_id.isdigit() or int(sku_id) not in self.skus:
            raise HttpError(404, f"SKU {sku_id} not found.", code="ItemNotFound")
        balance = [
            {
                "warehouseId": warehouse,
                "warehouseName": self.warehouses[warehouse]["name"],
                "totalQuantity": record["quantity"],
                "reservedQuantity": 0,
                "hasUnlimitedQuantity": record["unlimitedQuantity"],
                "timeToRefill": None,
                "dateOfSupplyUtc": None,
                "leadTime": record["leadTime"],
            }
            for (record_sku, warehouse), record in sorted(self.inventory.items())
            if record_sku == sku_id
        ]
        return Response(200, {"skuId": sku_id, "balance": balance})

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
        if not isinstance(retention, int) or not 0 < retention <= FEED_MAX_RETENTION_SECONDS:
            raise BadRequest(
                f"queue.MessageRetentionPeriodInSeconds must be 1..{FEED_MAX_RETENTION_SECONDS}."
            )
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

    # --- orders hook ----------------------------------------------------------------------------
    def h_hook_config_get(self, request: Request) -> Response:
        hook = self.hooks.get(request.params["_app_key"])
        if hook is None:
            raise HttpError(404, "Hook configuration not found for this app key.", code="404")
        return Response(200, hook)

    def h_hook_config_delete(self, request: Request) -> Response:
        if self.hooks.pop(request.params["_app_key"], None) is None:
            raise HttpError(404, "Hook configuration not found for this app key.", code="404")
        return Response(200, None)

    def h_hook_config_post(self, request: Request) -> Response:
        body = self._body(
            request, "orders", "POST", "/api/orders/hook/config", ignore=HOOK_SPEC_ARTIFACTS
        )
        config = self._check_hook_config(body)
        # VTEX pings the endpoint before it keeps the configuration (HOOK_PING above). The
        # ping is part of this request, as at VTEX: the seller waits for it.
        status, error = post_json(
            config["hook"]["url"],
            HOOK_PING,
            config["hook"]["headers"],
            timeout=HOOK_TIMEOUT_SECONDS,
        )
        self.stats["hook pings"] += 1
        if error:
            raise BadRequest(
                "The hook endpoint did not answer the ping with 200 "
                f"({'status ' + str(status) if status is not None else error}); "
                "the hook configuration was not saved.",
                code="HookPingFailed",
            )
        self.hooks[request.params["_app_key"]] = config
        return Response(200, config)

    @staticmethod
    def _check_hook_config(body: Any) -> dict:
        """The configuration as VTEX's schema has it (HookConfigurationRequest, HookFilter,
        Hook), checked whether or not strict mode validated it already."""
        if not isinstance(body, dict):
            raise BadRequest("The body must be a JSON object.")
        filt, hook = body.get("filter"), body.get("hook")
        if not isinstance(filt, dict) or not isinstance(hook, dict):
            raise BadRequest("filter and hook are required objects.")
        kind = filt.get("type")
        if kind == "FromWorkflow":
            statuses = filt.get("status")
            if not isinstance(statuses, list) or not statuses:
                raise BadRequest("filter.status must list at least one status for FromWorkflow.")
            unknown = [s for s in statuses if s not in WORKFLOW_STATUSES]
            if unknown:
                raise BadRequest(f"filter.status has unknown statuses: {unknown}.")
        elif kind == "FromOrders":
            if not isinstance(filt.get("expression"), str) or not filt["expression"].strip():
                raise BadRequest("filter.expression is required for FromOrders.")
            if not isinstance(filt.get("disableSingleFire"), bool):
                raise BadRequest("filter.disableSingleFire (boolean) is required for FromOrders.")
        else:
            raise BadRequest("filter.type must be FromWorkflow or FromOrders.")
        url, headers = hook.get("url"), hook.get("headers")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise BadRequest("hook.url must be an http(s) URL.")
        if not isinstance(headers, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
        ):
            raise BadRequest("hook.headers must be an object of string values.")
        return {"filter": dict(filt), "hook": {"url": url, "headers": dict(headers)}}

    def configure_notifications(
        self,
        url: str | None,
        *,
        statuses: Sequence[str] | None = None,
        headers: dict[str, str] | None = None,
        **options: Any,
    ) -> dict:
        """Our app key's hook as if registered (no ping): FromWorkflow on `statuses`
        (default: every main status), the hook's `headers`. None removes it."""
        super().configure_notifications(url, **options)
        key = self._credentials["app_key"]
        if url is None:
            self.hooks.pop(key, None)
        else:
            self.hooks[key] = self._check_hook_config(
                {
                    "filter": {"type": "FromWorkflow", "status": list(statuses or ORDER_STATUSES)},
                    "hook": {"url": url, "headers": dict(headers or {})},
                }
            )
        return self.notification_options()

    def notification_options(self) -> dict:
        """The hooks registered, by app key: their filters (the url and headers, which
        carry the receiver's secrets, are left out)."""
        return {"hooks": {key: hook["filter"] for key, hook in self.hooks.items()}}

    def _send_hooks(self, event: FeedEvent) -> None:
        for app_key, hook in self.hooks.items():
            if not self._matches(hook, event):
                continue
            body = {
                "Domain": HOOK_DOMAIN,
                "OrderId": event.order_id,
                "State": event.state,
                "LastState": event.last_state,
                "LastChange": event.last_change,
                "CurrentChange": event.current_change,
                "Origin": {"Account": self.account_name, "Key": app_key},
            }
            self.notify(
                body, topic=event.state, url=hook["hook"]["url"], headers=hook["hook"]["headers"]
            )

    def h_feed_get(self, request: Request) -> Response:
        raw = request.q("maxlot")
        if raw is None or not raw.isdigit() or not 1 <= int(raw) <= FEED_MAXLOT:
            raise BadRequest(f"maxlot is required and must be 1..{FEED_MAXLOT}, got {raw!r}.")
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

    def h_orders_list(self, request: Request) -> Response:
        """orders.json, List orders: `f_creationDate=creationDate:[<from> TO <to>]` (ISO
        timestamps, both inclusive), `orderBy=<field>,<asc|desc>`, `page` ("restricted to the
        limit of 30 pages") and `per_page` ("the default value is 15 and it goes up to 100").
        The answer lists summaries, never `items` ("since October 3rd, 2018, this endpoint
        does not return the items property")."""
        try:
            page = int(request.q("page") or 1)
            per_page = int(request.q("per_page") or LIST_PER_PAGE_DEFAULT)
        except ValueError:
            raise HttpError(400, "page and per_page must be numbers.", code="OMS001") from None
        if not 1 <= page <= LIST_PAGES_MAX:
            raise HttpError(400, f"page must be between 1 and {LIST_PAGES_MAX}.", code="OMS001")
        if not 1 <= per_page <= LIST_PER_PAGE_MAX:
            raise HttpError(
                400, f"per_page must be between 1 and {LIST_PER_PAGE_MAX}.", code="OMS001"
            )
        orders = list(self.orders.values())
        created_filter = request.q("f_creationDate")
        if created_filter:
            match = _CREATION_RANGE.match(created_filter.strip())
            if match is None:
                raise HttpError(
                    400,
                    "f_creationDate must read creationDate:[<from> TO <to>].",
                    code="OMS001",
                )
            low, high = (_parse_vtex_time(match.group(g)) for g in ("low", "high"))
            orders = [o for o in orders if low <= _parse_vtex_time(o["creationDate"]) <= high]
        field, _, direction = (request.q("orderBy") or "creationDate,desc").partition(",")
        if field not in ("creationDate", "orderId") or direction not in ("asc", "desc"):
            raise HttpError(400, f"Unsupported orderBy {field},{direction}.", code="OMS001")
        orders.sort(
            key=lambda o: (
                _parse_vtex_time(o["creationDate"]) if field == "creationDate" else o["orderId"]
            ),
            reverse=direction == "desc",
        )
        chunk = orders[(page - 1) * per_page : page * per_page]
        summaries = [
            {
                "orderId": o["orderId"],
                "creationDate": o["creationDate"],
                "clientName": " ".join(
                    (o["clientProfileData"]["firstName"], o["clientProfileData"]["lastName"])
                ),
                "items": None,
                "totalValue": o["value"],
                "status": o["status"],
                "statusDescription": o["statusDescription"],
                "sequence": o["sequence"],
                "salesChannel": o["salesChannel"],
                "origin": o["origin"],
                "currencyCode": "BRL",
            }
            for o in chunk
        ]
        return Response(
            200,
            {
                "list": summaries,
                "facets": [],
                "paging": {
                    "total": len(orders),
                    "pages": max(1, -(-len(orders) // per_page)),
                    "currentPage": page,
                    "perPage": per_page,
                },
                "stats": {"stats": {}},
            },
        )

    def h_order(self, request: Request) -> Response:
        order = self.orders.get(request.params["orderId"])
        if order is None:
            raise HttpError(404, f"Order {request.params['orderId']} not found.", code="OMS003")
        return Response(200, order)

    # --- fulfilment (orders.json) ---------------------------------------------------------------
    def _order_of(self, request: Request) -> dict:
        order = self.orders.get(request.params["orderId"])
        if order is None:
            raise HttpError(404, f"Order {request.params['orderId']} not found.", code="OMS003")
        return order

    def _receipt(self, order_id: str) -> dict:
        self._order_serial += 1
        digest = hashlib.sha1(f"{order_id}:{self._order_serial}".encode()).hexdigest()
        return {"date": self._timestamp(self._order_serial), "orderId": order_id, "receipt": digest}

    @staticmethod
    def _packages(order: dict) -> list[dict]:
        attachment = order.get("packageAttachment") or {}
        return attachment.get("packages") or []

    def h_start_handling(self, request: Request) -> Response:
        """orders.json, Start handling order: 204; 409 OMS003 "Order status should be
        ready-for-handling to perform this action" otherwise (the spec's example)."""
        order = self._order_of(request)
        if request.body:
            raise BadRequest("Start handling takes no request body.")
        if order["status"] != "ready-for-handling":
            raise HttpError(
                409,
                "Order status should be ready-for-handling to perform this action",
                code="OMS003",
            )
        self.set_order_status(order["orderId"], "handling")
        self.record_fulfilment(order["orderId"], "start_handling")
        return Response(204)

    def h_invoice(self, request: Request) -> Response:
        """orders.json, Order invoice notification. The body is checked against the spec, and
        then as the description says: invoiceValue in cents without a separator and greater
        than 0; items are SKUs of the order at their unit price in cents; "every time this
        endpoint is called using the same invoiceNumber, a new receipt code is generated … you
        cannot change other information, only the receipt code"; "once an order is invoiced,
        its status cannot be changed"; the status turns invoiced when the invoices reach the
        order's value (help.vtex.com, Invoicing an order)."""
        order = self._order_of(request)
        body = self._body(request, "orders", "POST", "/api/oms/pvt/orders/{orderId}/invoice")
        if not isinstance(body, dict):
            raise BadRequest("The invoice must be a JSON object.")
        number = body.get("invoiceNumber")
        if not isinstance(number, str) or not number.strip():
            raise BadRequest("invoiceNumber is required.")
        value = body.get("invoiceValue")
        if not isinstance(value, str) or not _CENTS.match(value) or int(value) <= 0:
            raise BadRequest(
                f"invoiceValue must be the amount in cents without a decimal separator and "
                f"greater than 0, got {value!r}."
            )
        try:
            issued = _parse_vtex_time(str(body.get("issuanceDate")))
        except ValueError:
            raise BadRequest(
                f"issuanceDate must be a date and time, got {body.get('issuanceDate')!r}."
            ) from None
        skus = {item["id"]: item for item in order["items"]}
        lines = []
        for index, item in enumerate(body.get("items") or []):
            sku = skus.get(str(item.get("id")))
            if sku is None:
                raise BadRequest(
                    f"items[{index}].id {item.get('id')!r} is not an item of the order."
                )
            if not 1 <= item["quantity"] <= sku["quantity"]:
                raise BadRequest(
                    f"items[{index}].quantity {item['quantity']} is not between 1 and the "
                    f"{sku['quantity']} ordered."
                )
            if item["price"] < 0:
                raise BadRequest(f"items[{index}].price must not be negative.")
            lines.append({"itemIndex": order["items"].index(sku), **item})
        existing = next((p for p in self._packages(order) if p["invoiceNumber"] == number), None)
        if existing is not None:
            self.stats["invoice repeated"] += 1
            return Response(200, self._receipt(order["orderId"]))
        kind = body["type"]
        if kind == "Output":
            if order["status"] not in INVOICEABLE_STATUSES:
                raise HttpError(
                    409,
                    f"Order status should be handling to perform this action (it is "
                    f"{order['status']}).",
                    code="OMS003",
                )
            invoiced = sum(
                p["invoiceValue"] for p in self._packages(order) if p["type"] == "Output"
            )
            if invoiced + int(value) > order["value"]:
                raise BadRequest(
                    f"invoiceValue {value} exceeds the order's value not yet invoiced "
                    f"({order['value'] - invoiced})."
                )
        elif order["status"] != "invoiced":
            raise BadRequest("An Input (return) invoice needs the order to be invoiced first.")
        package = {
            "items": lines,
            "courier": body.get("courier") or None,
            "invoiceNumber": number,
            "invoiceValue": int(value),
            "invoiceUrl": body.get("invoiceUrl"),
            "issuanceDate": issued.isoformat(),
            "trackingNumber": body.get("trackingNumber") or None,
            "invoiceKey": body.get("invoiceKey"),
            "trackingUrl": body.get("trackingUrl") or None,
            "embeddedInvoice": body.get("embeddedInvoice") or "",
            "type": kind,
            "courierStatus": None,
        }
        order.setdefault("packageAttachment", {}).setdefault("packages", []).append(package)
        self.record_fulfilment(
            order["orderId"],
            "invoice" if kind == "Output" else "return_invoice",
            number=number,
            key=body.get("invoiceKey"),
            value=int(value),
            tracking=package["trackingNumber"],
        )
        if kind == "Output":
            invoiced = sum(
                p["invoiceValue"] for p in self._packages(order) if p["type"] == "Output"
            )
            if invoiced >= order["value"]:
                self.set_order_status(order["orderId"], "invoiced")
            elif order["status"] != "invoice":
                self.set_order_status(order["orderId"], "invoice")
        return Response(200, self._receipt(order["orderId"]))

    def _package_of(self, order: dict, request: Request) -> dict:
        number = request.params["invoiceNumber"]
        package = next((p for p in self._packages(order) if p["invoiceNumber"] == number), None)
        if package is None:
            raise HttpError(404, f"Invoice {number} not found in order {order['orderId']}.")
        return package

    def h_invoice_patch(self, request: Request) -> Response:
        """orders.json, Update order's partial invoice (send tracking number): trackingNumber,
        trackingUrl, courier and dispatchedDate required (the last three nullable)."""
        order = self._order_of(request)
        package = self._package_of(order, request)
        body = self._body(
            request, "orders", "PATCH", "/api/oms/pvt/orders/{orderId}/invoice/{invoiceNumber}"
        )
        if not isinstance(body.get("trackingNumber"), str) or not body["trackingNumber"].strip():
            raise BadRequest("trackingNumber is required.")
        if body.get("dispatchedDate") is not None:
            try:
                _parse_vtex_time(body["dispatchedDate"])
            except ValueError:
                raise BadRequest(
                    f"dispatchedDate must be a date and time, got {body['dispatchedDate']!r}."
                ) from None
        changed = {
            key: body[key]
            for key in ("trackingNumber", "trackingUrl", "courier", "dispatchedDate")
            if package.get(key) != body[key]
        }
        if changed:
            package.update(changed)
            self.record_fulfilment(
                order["orderId"],
                "tracking",
                invoice=package["invoiceNumber"],
                number=package["trackingNumber"],
                courier=package["courier"],
                url=package["trackingUrl"],
            )
        return Response(200, self._receipt(order["orderId"]))

    def h_invoice_tracking(self, request: Request) -> Response:
        """orders.json, Update order tracking status: "sends a tracking event to an order that
        already has a tracking number registered to its invoice"; isDelivered, deliveredDate
        (`yyyy-mm-dd hh:mm`) and events required."""
        order = self._order_of(request)
        package = self._package_of(order, request)
        body = self._body(request, "orders", "PUT", INVOICE_TRACKING_PATH)
        if not package.get("trackingNumber"):
            raise BadRequest(
                f"Invoice {package['invoiceNumber']} has no tracking number; send it with the "
                "partial invoice update first."
            )
        delivered_date = body.get("deliveredDate")
        if delivered_date is not None and not _DELIVERED_DATE.match(str(delivered_date)):
            raise BadRequest(
                f"deliveredDate must be in the format yyyy-mm-dd hh:mm, got {delivered_date!r}."
            )
        if body["isDelivered"] and not delivered_date:
            raise BadRequest("deliveredDate is required when isDelivered is true.")
        status = package.get("courierStatus") or {"finished": False, "data": []}
        status["data"] = status.get("data", []) + list(body["events"])
        package["courierStatus"] = status
        if body["isDelivered"] and not status.get("finished"):
            status.update(finished=True, status="delivered", deliveredDate=delivered_date)
            self.record_fulfilment(
                order["orderId"], "delivered", invoice=package["invoiceNumber"], at=delivered_date
            )
        return Response(200, self._receipt(order["orderId"]))

    def h_cancel(self, request: Request) -> Response:
        """orders.json, Cancel order: orders invoiced, partially invoiced (400) or incomplete
        cannot be canceled."""
        order = self._order_of(request)
        body = self._body(request, "orders", "POST", "/api/oms/pvt/orders/{orderId}/cancel")
        if order["status"] == "invoiced" or self._packages(order):
            raise BadRequest(
                f"Order {order['orderId']} is invoiced (fully or partially) and cannot be "
                "canceled; send a return (Input) invoice instead."
            )
        if order["status"] != "canceled":
            self.set_order_status(order["orderId"], "canceled")
            self.record_fulfilment(order["orderId"], "cancel", reason=body.get("reason") or "")
        return Response(200, self._receipt(order["orderId"]))

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
        if page < 1 or not 1 <= size <= SKU_IDS_PAGE_MAX:
            raise self._catalog_error(400, f"page must be >= 1 and pagesize 1..{SKU_IDS_PAGE_MAX}.")
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
                **self.sku_context(sku),
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
        self._send_hooks(event)

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
                            "warehouseId": self.default_warehouse,
                        }
                    ],
                }
            )
        items_total = sum(q * c for _, q, c in items)
        first, last = customer
        serial = self._order_serial
        place_ = place(serial)
        return {
            "orderId": order_id,
            "sequence": str(500000 + serial),
            "status": status,
            "statusDescription": ORDER_STATUSES.get(status, status),
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
                "phone": f"+55{place_.phone}",
                "isCorporate": False,
            },
            # The "Address" schema of the Orders API (vendor-specs/vtex/orders.json): postal
            # code as VTEX stores it ("81020-235"), state as two letters.
            "shippingData": {
                "address": {
                    "addressType": "residential",
                    "receiverName": f"{first} {last}",
                    "addressId": f"A{serial:06d}",
                    "postalCode": f"{place_.cep[:5]}-{place_.cep[5:]}",
                    "city": place_.city,
                    "state": place_.state,
                    "country": "BRA",
                    "street": place_.street,
                    "number": place_.number,
                    "neighborhood": place_.district,
                    "complement": place_.complement or None,
                    "reference": None,
                },
                "logisticsInfo": logistics,
            },
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
    s = cpf(serial)
    return f"{s[:3]}.{s[3:6]}.{s[6:9]}-{s[9:]}"


def _parse_vtex_time(value: str) -> datetime:
    """An OMS timestamp ("2019-02-04T10:29:11.0000000+00:00", "2022-01-01T02:00:00.000Z")."""
    text = value.strip().replace("Z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:  # seven fractional digits are more than fromisoformat takes
        digits = "".join(ch for ch in rest if ch.isdigit())
        zone = rest[len(digits) :]
        text = f"{head}.{digits[:6].ljust(6, '0')}{zone}"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise HttpError(400, f"Invalid date {value!r}.", code="OMS001") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
