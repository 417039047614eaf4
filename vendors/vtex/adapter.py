"""VTEX (platform). Wire format: shared/vendor-specs/vtex/ (official OpenAPI).

Endpoints used, each checked against the spec files named in brackets:

- verify            GET  /api/logistics/pvt/configuration/warehouses            [logistics]
- stock             PATCH /api/logistics/pvt/inventory/skus/{skuId}/warehouses/{warehouseId}
                          /quantity                                              [logistics]
- prices            PUT  https://api.vtex.com/{accountName}/pricing/prices/{itemId} [pricing]
- orders            GET  /api/orders/feed?maxlot=N, POST /api/orders/feed {"handles"},
                    POST /api/orders/feed/config, GET /api/oms/pvt/orders/{orderId} [orders]
- listings          GET  /api/catalog_system/pvt/sku/stockkeepingunitids?page=&pagesize=,
                    GET  /api/catalog_system/pvt/sku/stockkeepingunitbyid/{skuId},
                    POST /api/catalog_system/pub/sku/stockkeepingunitidsbyrefids  [catalog]
- catalog           see vendors/vtex/catalog.py                                  [catalog]
- other apps        GET  /api/vlm/appkeys                                        [license-manager]
- reference values  GET  /api/logistics/pvt/shipping-policies?page=&perPage=,
                    GET  /api/logistics/pvt/configuration/warehouses             [logistics]
- fulfilment        GET  /api/oms/pvt/orders/{orderId} (read before write),
                    POST /api/oms/pvt/orders/{orderId}/start-handling,
                    POST /api/oms/pvt/orders/{orderId}/invoice,
                    PATCH /api/oms/pvt/orders/{orderId}/invoice/{invoiceNumber},
                    PUT  /api/oms/pvt/orders/{orderId}/invoice/{invoiceNumber}/tracking,
                    POST /api/oms/pvt/orders/{orderId}/cancel                      [orders]

Dates: the orders spec documents ISO 8601 with an offset; VTEX's guides say its dates follow UTC,
so a date sent without an offset (the spec has such examples) is read as UTC. Money in orders is
in cents. Every value of an order or SKU is read through `vendors.parsing` (`self.reader`).

Two deliberate departures from shared/channel-apis.md, both because of the spec:
- Stock uses the PATCH `.../quantity` route, not `PUT .../warehouses/{warehouseId}`: the PUT
  requires `leadTime` and documents that leaving it out resets the SKU's lead time to 0, which
  would wipe a setting the merchant owns. The PATCH takes exactly {quantity, unlimitedQuantity}.
- verify() reads the warehouse list instead of `GET /api/vlm/account`: the latter needs the
  License Manager "Save account" resource (Finance full access) and an allow-listed host, far
  more than an ERP key should hold; the warehouses call needs only Logistics access, which stock
  sync needs anyway, and fails with 401/403 on wrong keys all the same.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from erpintegr.redaction import register_secret
from vendors.base import NOT_SENT, Connector
from vendors.errors import (
    AuthError,
    ConflictError,
    ConnectorError,
    InvalidVendorData,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    TransientError,
    ValidationFailedError,
)
from vendors.parsing import EAN_MAX_LENGTH, EMAIL_MAX_LENGTH, LINE_AMOUNT_DIGITS, Reader
from vendors.spec import (
    Flow,
)
from vendors.types import (
    Customer,
    ExternalRef,
    FulfilmentCancel,
    FulfilmentDelivered,
    FulfilmentInvoice,
    FulfilmentResult,
    FulfilmentTracking,
    InvalidOrder,
    NormalizedOrder,
    OrderLine,
    OrderPage,
    OtherIntegration,
    PriceUpdate,
    PushResult,
    ReferenceValue,
    RemoteListing,
    StockPage,
    StockReading,
    StockUpdate,
    unreadable_order_key,
)
from vendors.vtex.catalog import VtexCatalog
from vendors.vtex.notifications import SECRET_HEADER
from vendors.vtex.spec import SPEC

logger = logging.getLogger("vendors.vtex")

PRICING_ROOT = "https://api.vtex.com"
# VTEX account names are lowercase letters and digits; anything else could point the keys at
# another host through the URL template, so it is refused before any request.
ACCOUNT_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")

# Sent on every call (every operation in the specs lists both as required headers). Kept out
# of HttpClient's default headers on purpose: the client registers each default header value as
# a secret, and "application/json" would then be masked in every log line.
JSON_HEADERS = {"Accept": "application/json", "Content-Type": "application/json"}

FEED_MAX_LOT = 10  # orders spec: "Maximum accepted value is 10."
# orders spec, List orders: "The limit of information retrieval is 30 pages … up to 100 using
# the per_page parameter": a creation-date range holding more is split in two.
LIST_PER_PAGE = 100
LIST_PAGES_MAX = 30
LIST_SPLIT_DEPTH = 12  # halving a 30-day range 12 times leaves ~10 minutes
SKU_IDS_PAGE_SIZE = 1000  # catalog spec: "The maximum value is 1000."
# No maximum is documented for these two; small pages keep one failure cheap.
REF_IDS_PER_REQUEST = 100
SHIPPING_POLICIES_PER_PAGE = 50
# SKUs per stock-reconciliation page: VTEX reads inventory one SKU per request.
STOCK_READ_PAGE_SIZE = 10

# Order statuses an order can be in (orders spec, f_status of GET /api/oms/pvt/orders), with the
# labels the VTEX admin shows in Portuguese.
ORDER_STATUSES: tuple[tuple[str, str], ...] = (
    ("waiting-for-sellers-confirmation", "Aguardando confirmação do seller"),
    ("payment-pending", "Pagamento pendente"),
    ("payment-approved", "Pagamento aprovado"),
    ("ready-for-handling", "Pronto para o manuseio"),
    ("handling", "Preparando entrega"),
    ("invoiced", "Faturado"),
    ("canceled", "Cancelado"),
)
# Workflow statuses the feed is filtered on (the feed config's documented list has no
# waiting-for-sellers-confirmation). payment-pending is included so the ERP reserves stock as
# soon as an order exists; canceled so it releases it.
DEFAULT_FEED_STATUSES: tuple[str, ...] = (
    "payment-pending",
    "payment-approved",
    "ready-for-handling",
    "handling",
    "invoiced",
    "canceled",
)
# The header VTEX's orders hook carries to our endpoint with the channel's secret (the hook's
# `headers`, orders.json POST /api/orders/hook/config): VTEX sends the hook's headers as given.
# The header our hook carries: the one the notification endpoint checks (vtex/notifications).
ORDER_HOOK_SECRET_HEADER = SECRET_HEADER
FEED_VISIBILITY_TIMEOUT_SECONDS = 250  # spec example; a page is stored well within this
FEED_RETENTION_SECONDS = 345_600  # 4 days (spec example; the spec's maximum is 1,209,600)

_CENTS = Decimal("0.01")
# Statuses of an order VTEX no longer cancels or has canceled (read before cancel).
CANCELED_STATUSES = frozenset({"canceled", "cancel", "cancellation-requested", "request-cancel"})


class VtexConnector(VtexCatalog, Connector):
    spec = SPEC
    order_id_field = "orderId"
    data_timezone = UTC
    registers_notifications = True

    def __init__(self, *, credentials: Mapping[str, str], **kwargs: Any) -> None:
        """Raises AuthError when the credentials are incomplete or the account name is not a
        VTEX account name (nothing is sent then)."""
        credentials = {k: (v or "").strip() for k, v in dict(credentials).items()}
        account = credentials.get("account_name", "").lower()
        if not ACCOUNT_NAME_RE.match(account):
            raise AuthError(
                "The VTEX account name is missing or invalid: use the store's account as in "
                "https://{account}.vtexcommercestable.com.br (lowercase letters, digits, hyphens)."
            )
        if not credentials.get("app_key") or not credentials.get("app_token"):
            raise AuthError("VTEX needs both the app key and the app token.")
        credentials["account_name"] = account
        super().__init__(credentials=credentials, **kwargs)
        self.account_name = account
        # An overridden base URL (emulator, proxy) serves every API, pricing included.
        self.http = self.http_client(
            headers={
                "X-VTEX-API-AppKey": credentials["app_key"],
                "X-VTEX-API-AppToken": credentials["app_token"],
            },
        )

    # --- plumbing ---------------------------------------------------------------------------
    def _get(self, path: str, **kwargs) -> Any:
        return self.http.get(path, headers=JSON_HEADERS, **kwargs)

    def _post(self, path: str, **kwargs) -> Any:
        return self.http.post(path, headers=JSON_HEADERS, **kwargs)

    def _send(self, method: str, path: str, **kwargs) -> None:
        """A write whose answer body we do not need: any 2xx is success, so an unreadable body
        after the vendor did the work is not retried (the write already happened)."""
        self.http.request(method, path, headers=JSON_HEADERS, **kwargs)

    def pricing_url(self, path: str) -> str:
        """Where the Pricing API lives.

        Production: https://api.vtex.com/{accountName}/pricing/... (the pricing spec's server),
        a different host from every other API. With an overridden base URL (the emulator or a
        proxy) the same path is served there: {base_url}/{accountName}/pricing/...
        """
        root = self.base_url if self.base_url_overridden else PRICING_ROOT
        return f"{root}/{self.account_name}/pricing/{path.lstrip('/')}"

    # --- verify -------------------------------------------------------------------------------
    def verify(self) -> str:
        """One authenticated call; wrong keys raise AuthError (401) or PermissionDeniedError
        (403). The account is the host's: keys that work there belong to that account."""
        warehouses = self._get("/api/logistics/pvt/configuration/warehouses")
        if not isinstance(warehouses, list):
            raise MalformedResponseError(
                "VTEX answered the warehouse list with something that is not a list."
            )
        return self.account_name

    # --- stock --------------------------------------------------------------------------------
    def push_stock(self, items: list[StockUpdate]) -> PushResult:
        """One request per SKU × warehouse (the API has no batch write), a few open at once
        (`each_request`, the flow's `max_in_flight`).

        The warehouse is the item's stock location (de-para) or the `warehouse_id` credential.
        A 423 Locked (another write to the same SKU × warehouse within milliseconds) is retried
        by HttpClient with backoff; if it is still locked after the retries, that item alone is
        rejected with the reason and the rest of the batch goes on — the lock is about that pair,
        not the account. Item problems (404 unknown SKU/warehouse, 400) reject the item; account
        and transport failures (401, 403, 429 or 5xx after retries) raise.
        """
        result = PushResult()
        default_warehouse = self.credentials.get("warehouse_id", "")
        # Two updates for the same pair in one batch would lock each other (423); the last one
        # is the current value, so it alone is sent and its outcome applies to every key.
        pairs: dict[tuple[str, str], list[StockUpdate]] = {}
        for item in items:
            sku_id = (item.ref.sku_id or "").strip()
            warehouse = (item.location or default_warehouse).strip()
            if not sku_id.isdigit():
                result.rejected[item.key] = "No VTEX SKU id is bound to this SKU."
            elif not warehouse:
                result.rejected[item.key] = (
                    "No VTEX warehouse: map the stock location or fill the channel's "
                    "VTEX warehouse id."
                )
            elif item.quantity < 0:
                result.rejected[item.key] = f"Stock cannot be negative ({item.quantity})."
            else:
                pairs.setdefault((sku_id, warehouse), []).append(item)

        def write(pair: tuple[str, str]) -> ConnectorError | None:
            sku_id, warehouse = pair
            body = {"quantity": int(pairs[pair][-1].quantity), "unlimitedQuantity": False}
            path = f"/api/logistics/pvt/inventory/skus/{sku_id}/warehouses/{warehouse}/quantity"
            return self._write("PATCH", path, body)

        # Distinct pairs only (grouped above), so requests open at once never lock each other.
        order = list(pairs)
        for (sku_id, warehouse), error in zip(
            order, self.each_request(Flow.STOCK, order, write), strict=True
        ):
            group = pairs[(sku_id, warehouse)]
            if error is NOT_SENT:
                continue  # the run's time is up: no verdict, the items stay pending
            if error is not None and getattr(error, "status", None) == 423:
                # Locked is temporary: the engine keeps these pending for the next run.
                for item in group:
                    result.deferred[item.key] = (
                        f"VTEX kept SKU {sku_id} × warehouse {warehouse} locked (423) after "
                        f"{self.http.max_retries + 1} attempts; it stays pending for the next run."
                    )
                continue
            error_text = None if error is None else self._reason(error)
            for item in group:
                if error_text is None:
                    result.accepted.append(item.key)
                else:
                    result.rejected[item.key] = error_text
        return result

    # --- stock read back (reconciliation) --------------------------------------------------
    stock_read_page_size = STOCK_READ_PAGE_SIZE

    def read_stock(
        self,
        *,
        cursor: str | None = None,
        refs: Sequence[ExternalRef] = (),
        locations: Sequence[str] = (),
    ) -> StockPage:
        """GET /api/logistics/pvt/inventory/skus/{skuId} per SKU ("List inventory by SKU",
        logistics.json): `balance[]` holds each warehouse's `totalQuantity` (what the stock
        write sets) and `hasUnlimitedQuantity`. Compared at the mapped warehouses, or at the
        channel's `warehouse_id` where nothing is mapped; a wanted warehouse the balance does
        not list holds 0. An unknown SKU (404) gives no reading; unlimited stock gives one
        without a quantity (the push sets a limited one)."""
        wanted = list(locations) or [self.credentials.get("warehouse_id", "").strip()]
        readings: list[StockReading] = []
        for ref in refs:
            sku_id = (ref.sku_id or "").strip()
            if not sku_id.isdigit():
                continue
            try:
                data = self._get(f"/api/logistics/pvt/inventory/skus/{sku_id}")
            except NotFoundError:
                continue
            read = self.reader(f"inventory of SKU {sku_id}")
            if not isinstance(data, Mapping):
                raise MalformedResponseError(f"VTEX inventory of SKU {sku_id} is not an object.")
            found: dict[str, StockReading] = {}
            for index, row in enumerate(read.objects(data.get("balance"), "balance", default=[])):
                at = f"balance[{index}]"
                warehouse = read.code(row.get("warehouseId"), f"{at}.warehouseId")
                if warehouse not in wanted:
                    continue
                quantity, problem = None, ""
                if read.flag(
                    row.get("hasUnlimitedQuantity"), f"{at}.hasUnlimitedQuantity", default=False
                ):
                    problem = f"VTEX SKU {sku_id}: {at}.hasUnlimitedQuantity is true"
                else:
                    try:
                        quantity = read.quantity(
                            row.get("totalQuantity"), f"{at}.totalQuantity", minimum=0
                        )
                    except InvalidVendorData as exc:
                        problem = str(exc)
                found[warehouse] = StockReading(
                    ref=ExternalRef(sku_id=sku_id),
                    quantity=quantity,
                    location=warehouse if locations else "",
                    problem=problem,
                )
            for warehouse in wanted:
                readings.append(
                    found.get(warehouse)
                    or StockReading(
                        ref=ExternalRef(sku_id=sku_id),
                        quantity=0,
                        location=warehouse if locations else "",
                    )
                )
        return StockPage(readings)

    def _write(self, method: str, path: str, body: dict) -> ConnectorError | None:
        """One per-item write; return the error when it is about the item, raise otherwise."""
        try:
            self._send(method, path, json=body)
        except (AuthError, PermissionDeniedError, RateLimitedError, MalformedResponseError):
            raise
        except TransientError as exc:
            if exc.status == 423:
                return exc
            raise
        except ConnectorError as exc:  # 400, 404, 409, other 4xx: the vendor refused this item
            return exc
        return None

    @staticmethod
    def _reason(error: ConnectorError) -> str:
        # The message already holds method, URL, status and the vendor's sentence (redacted).
        return str(error)

    # --- prices -------------------------------------------------------------------------------
    def push_prices(self, items: list[PriceUpdate]) -> PushResult:
        """PUT /pricing/prices/{itemId} per SKU with {"basePrice", "listPrice"?}, a few open
        at once (`each_request`, the flow's `max_in_flight`).

        The spec's schema marks no field required; its prose asks for two of basePrice/costPrice/
        markup, yet documents that basePrice alone is accepted (cost and markup then derived).
        The ERP knows the selling price, not the merchant's cost or markup, so only basePrice
        (and listPrice when the price list has one) is sent.
        """
        result = PushResult()
        writes: list[tuple[PriceUpdate, str, dict]] = []  # (item, url, body), in item order
        for item in items:
            sku_id = (item.ref.sku_id or "").strip()
            if not sku_id.isdigit():
                result.rejected[item.key] = "No VTEX SKU id is bound to this SKU."
                continue
            if item.price is None or item.price <= 0:
                # VTEX accepts zero/negative prices and then shows the SKU as unavailable.
                result.rejected[item.key] = f"Price must be positive (got {item.price})."
                continue
            body: dict[str, float] = {"basePrice": _decimal_to_json(item.price)}
            if item.list_price is not None and item.list_price > 0:
                body["listPrice"] = _decimal_to_json(item.list_price)
            writes.append((item, self.pricing_url(f"prices/{sku_id}"), body))
        answers = self.each_request(
            Flow.PRICE, writes, lambda write: self._write("PUT", write[1], write[2])
        )
        for (item, _, _), error in zip(writes, answers, strict=True):
            if error is NOT_SENT:
                continue  # the run's time is up: no verdict, the item stays pending
            if error is None:
                result.accepted.append(item.key)
            else:
                result.rejected[item.key] = self._reason(error)
        return result

    # --- orders -------------------------------------------------------------------------------
    def on_activate(self, *, enabled_flows: set[str]) -> None:
        # The feed only queues changes raised after it exists: create it before the first
        # orders run.
        if Flow.ORDERS in enabled_flows:
            self.configure_feed()

    def configure_feed(
        self,
        *,
        statuses: Iterable[str] = DEFAULT_FEED_STATUSES,
        visibility_timeout_seconds: int = FEED_VISIBILITY_TIMEOUT_SECONDS,
        retention_seconds: int = FEED_RETENTION_SECONDS,
    ) -> None:
        """Create or update this app key's orders feed (POST /api/orders/feed/config).

        Call it on activation, before the first fetch_orders: without a configuration VTEX
        answers the feed with 404, and it only queues status changes raised after the
        configuration exists. FromWorkflow = one event per status change in `statuses`.
        Re-running it with the same values is harmless.
        """
        body = {
            "filter": {"type": "FromWorkflow", "status": list(statuses)},
            "queue": {
                "visibilityTimeoutInSeconds": int(visibility_timeout_seconds),
                "MessageRetentionPeriodInSeconds": int(retention_seconds),
            },
        }
        self._send("POST", "/api/orders/feed/config", json=body)

    # --- the orders hook (notifications) -----------------------------------------------------
    def register_order_hook(
        self,
        url: str,
        secret_header_value: str,
        statuses: Iterable[str] = DEFAULT_FEED_STATUSES,
    ) -> None:
        """Create or replace this app key's orders hook (POST /api/orders/hook/config):
        FromWorkflow on `statuses`, posting to `url` with ORDER_HOOK_SECRET_HEADER set to
        `secret_header_value`.

        VTEX pings the URL ({"hookConfig": "ping"}, with the headers) before it keeps the
        configuration and refuses it unless the URL answers 200 (developers.vtex.com/docs/
        guides/orders-feed#hook): a refusal raises ValidationFailedError saying so, without
        the URL or the secret. The hook is a hint to read sooner; the feed stays the record.
        """
        statuses = list(statuses)
        if not statuses:
            raise ValueError("the order hook needs at least one status to filter on")
        # Neither the URL's token nor the header's value may show in a log or an error.
        register_secret(secret_header_value)
        register_secret(url.rstrip("/").rsplit("/", 1)[-1])
        body = {
            "filter": {"type": "FromWorkflow", "status": statuses},
            "hook": {"url": url, "headers": {ORDER_HOOK_SECRET_HEADER: secret_header_value}},
        }
        try:
            self._send("POST", "/api/orders/hook/config", json=body)
        except ValidationFailedError as exc:
            raise ValidationFailedError(
                "VTEX refused the orders hook: "
                f"{exc} "
                "VTEX calls the notification URL when the hook is registered and keeps it only "
                "when that URL answers 200: check that this application is reachable from the "
                "internet at its public address.",
                status=exc.status,
                body=exc.body,
                request_id=exc.request_id,
                method=exc.method,
                url=exc.url,
            ) from exc

    def remove_order_hook(self) -> None:
        """Delete this app key's orders hook (DELETE /api/orders/hook/config); a hook
        already gone is fine."""
        try:
            self._send("DELETE", "/api/orders/hook/config")
        except NotFoundError:
            pass

    def register_notifications(self, url: str, secret: str) -> str:
        self.register_order_hook(url, secret, DEFAULT_FEED_STATUSES)
        return (
            "VTEX orders hook registered (it answered the ping) for the statuses: "
            + ", ".join(DEFAULT_FEED_STATUSES)
            + "."
        )

    def fetch_orders(self, cursor: str | None, limit: int) -> OrderPage:
        """Read up to min(limit, 10) feed items and the orders they point at.

        The feed is a queue, not a search: `cursor` is unused and `next_cursor` is None. Items
        read become invisible for the visibility timeout; `ack_tokens` are their handles, and
        ack() removes them once the engine stored the page. Unacknowledged items come back
        later, which re-reads an order; the engine's upsert makes that harmless. Several events
        of one order in the same lot fetch the order once; all their handles are acknowledged.
        """
        maxlot = max(1, min(int(limit), FEED_MAX_LOT))
        try:
            items = self._get("/api/orders/feed", params={"maxlot": maxlot})
        except NotFoundError as exc:
            raise NotFoundError(
                "The VTEX orders feed is not configured for this app key (404); activation "
                "configures it (VtexConnector.configure_feed).",
                status=exc.status,
                body=exc.body,
                request_id=exc.request_id,
                method=exc.method,
                url=exc.url,
            ) from None
        if items is None:
            items = []
        if not isinstance(items, list):
            raise MalformedResponseError("VTEX answered the orders feed with a non-list body.")
        orders: list[NormalizedOrder] = []
        invalid: list[InvalidOrder] = []
        tokens: list[str] = []
        seen: set[str] = set()
        read = self.reader("orders feed")
        for index, item in enumerate(items):
            if not isinstance(item, dict) or not item.get("handle") or not item.get("orderId"):
                raise MalformedResponseError(
                    f"VTEX sent a feed item without handle or orderId: {str(item)[:120]!r}"
                )
            tokens.append(str(item["handle"]))
            try:
                order_id = read.identifier(item["orderId"], f"[{index}].orderId")
            except InvalidVendorData as exc:
                # No order can be asked for with this id: kept aside, its event committed.
                invalid.append(
                    InvalidOrder(
                        external_id=unreadable_order_key(item),
                        reason=str(exc),
                        path=exc.path,
                        raw=item,
                    )
                )
                continue
            if order_id in seen:
                continue
            seen.add(order_id)
            try:
                detail = self.get_order_document(order_id)
            except NotFoundError:
                # Nothing to store for an order OMS does not know; acknowledging its event
                # keeps it from coming back every visibility timeout for four days.
                logger.warning("VTEX feed pointed at unknown order %s; acknowledging it", order_id)
                continue
            read_order = self.order_or_invalid(detail, fetched_as=order_id)
            if isinstance(read_order, InvalidOrder):
                invalid.append(read_order)
            else:
                orders.append(read_order)
        return OrderPage(
            orders=orders,
            next_cursor=None,
            has_more=len(items) >= maxlot,
            ack_tokens=tokens,
            invalid=invalid,
        )

    def recent_orders(self, since: datetime) -> Iterator[tuple[str, datetime | None]]:
        """The missed-order sweep's listing: GET /api/oms/pvt/orders with
        `f_creationDate=creationDate:[since TO now + 1 day]`, `orderBy=creationDate,asc` and
        100 per page (orders spec, List orders). The spec says not to build integrations on
        it (it is indexed ~4 minutes late): the sweep only uses it to find what the feed
        missed. creationDate never changes and new orders sort last, so paging never skips;
        a range past the 30-page limit is split in two."""
        until = datetime.now(UTC) + timedelta(days=1)
        seen: set[str] = set()
        yield from self._list_range(since.astimezone(UTC), until, seen, depth=0)

    def _list_range(
        self, low: datetime, high: datetime, seen: set[str], *, depth: int
    ) -> Iterator[tuple[str, datetime | None]]:
        stamp = "%Y-%m-%dT%H:%M:%S.000Z"
        params = {
            "f_creationDate": f"creationDate:[{low.strftime(stamp)} TO {high.strftime(stamp)}]",
            "orderBy": "creationDate,asc",
            "per_page": LIST_PER_PAGE,
        }
        read = self.reader("order list")
        page_number = 1
        while True:
            page = self._get("/api/oms/pvt/orders", params={**params, "page": page_number})
            if not isinstance(page, Mapping) or not isinstance(page.get("list"), list):
                raise MalformedResponseError("VTEX answered the order list without a list.")
            paging = read.obj(page.get("paging"), "paging")
            total = read.quantity(paging.get("total"), "paging.total", minimum=0)
            if page_number == 1 and total > LIST_PER_PAGE * LIST_PAGES_MAX:
                if depth < LIST_SPLIT_DEPTH:
                    middle = low + (high - low) / 2
                    yield from self._list_range(low, middle, seen, depth=depth + 1)
                    yield from self._list_range(middle, high, seen, depth=depth + 1)
                    return
                logger.warning(
                    "VTEX lists %s orders created in %s–%s; the sweep reads the first %s",
                    total,
                    low.isoformat(),
                    high.isoformat(),
                    LIST_PER_PAGE * LIST_PAGES_MAX,
                )
            for index, summary in enumerate(page["list"]):
                if not isinstance(summary, Mapping) or not summary.get("orderId"):
                    continue
                try:
                    order_id = read.identifier(summary["orderId"], f"list[{index}].orderId")
                except InvalidVendorData:
                    continue  # cannot be asked for by id; the feed sets it aside
                if order_id in seen:
                    continue
                seen.add(order_id)
                yield (
                    order_id,
                    _lenient_time(read, summary.get("creationDate"), f"list[{index}].creationDate"),
                )
            if not page["list"] or page_number * LIST_PER_PAGE >= total:
                return
            if page_number >= LIST_PAGES_MAX:
                return
            page_number += 1

    def ack(self, tokens: list[str]) -> None:
        """Commit feed items (POST /api/orders/feed). Committing an already committed or
        expired handle is harmless, so a retried ack never hurts."""
        handles = [t for t in dict.fromkeys(tokens) if t]
        if handles:
            self._send("POST", "/api/orders/feed", json={"handles": handles})

    def get_order_document(self, external_id: str) -> object:
        """GET /api/oms/pvt/orders/{orderId}."""
        return self._get(f"/api/oms/pvt/orders/{quote(external_id, safe='')}")

    # --- fulfilment (orders.json) -----------------------------------------------------------
    def _order_path(self, external_id: str, suffix: str = "") -> str:
        return f"/api/oms/pvt/orders/{quote(external_id, safe='')}{suffix}"

    def _fulfilment_order(self, external_id: str) -> Mapping[str, Any]:
        document = self.get_order_document(external_id)
        if not isinstance(document, Mapping):
            raise self._not_an_order(document, external_id)
        return document

    def _invoice_packages(self, order: Mapping[str, Any], external_id: str) -> list[Mapping]:
        read = self.reader(f"order {external_id}")
        attachment = read.obj(order.get("packageAttachment"), "packageAttachment", default={})
        packages = attachment.get("packages") or []
        if not isinstance(packages, list):
            raise InvalidVendorData(
                f"VTEX order {external_id}: packageAttachment.packages is not a list",
                vendor="VTEX",
                subject=f"order {external_id}",
                path="packageAttachment.packages",
            )
        return [p for p in packages if isinstance(p, Mapping)]

    def send_invoice(
        self, external_id: str, invoice: FulfilmentInvoice, *, may_have_applied: bool = True
    ) -> FulfilmentResult:
        """Read the order; skip when it already holds this invoice number (VTEX only renews
        the receipt of a repeated number, orders.json "Changing the receipt code", but the
        read also tells whether handling must start); start handling when the order is
        ready-for-handling (orders.json, Start handling order: it must be); then POST the
        invoice (orders.json, Order invoice notification: type Output, invoiceValue in cents
        as a string, issuanceDate with time, items at their unit price in cents). Tracking
        goes in send_tracking ("When the request is used for sending the invoice, this field
        should be left empty").

        A first attempt (may_have_applied False) whose lines all carry VTEX's SKU id reads
        nothing: it asks to start handling and takes VTEX's 409 OMS003 "Order status should be
        ready-for-handling to perform this action" (orders.json, Start handling order) as "no
        need", then POSTs the invoice — repeating an invoice number only renews its receipt
        (orders.json, Order invoice notification), so even a lost answer cannot invoice twice."""
        try:
            if not may_have_applied and all(line.ref.sku_id for line in invoice.items):
                return self._invoice_directly(external_id, invoice)
            order = self._fulfilment_order(external_id)
            packages = self._invoice_packages(order, external_id)
            if any(str(p.get("invoiceNumber")) == invoice.number for p in packages):
                return FulfilmentResult.already_applied(
                    f"VTEX order {external_id} already has invoice {invoice.number}."
                )
            body = self._invoice_body(external_id, order, invoice)
            if isinstance(body, str):
                return FulfilmentResult.refused(body)
            if order.get("status") == "ready-for-handling":
                self._send("POST", self._order_path(external_id, "/start-handling"))
            answer = self._post(self._order_path(external_id, "/invoice"), json=body)
        except ConnectorError as exc:
            return self.fulfilment_result(exc)
        receipt = answer.get("receipt") if isinstance(answer, Mapping) else None
        return FulfilmentResult.accepted(receipt=str(receipt or ""))

    def _invoice_directly(self, external_id: str, invoice: FulfilmentInvoice) -> FulfilmentResult:
        body = self._invoice_body(external_id, {}, invoice)
        if isinstance(body, str):
            return FulfilmentResult.refused(body)
        try:
            self._send("POST", self._order_path(external_id, "/start-handling"))
        except ConflictError:
            pass  # not ready-for-handling: handling started already (or VTEX says why below)
        answer = self._post(self._order_path(external_id, "/invoice"), json=body)
        receipt = answer.get("receipt") if isinstance(answer, Mapping) else None
        return FulfilmentResult.accepted(receipt=str(receipt or ""))

    def _invoice_body(
        self, external_id: str, order: Mapping[str, Any], invoice: FulfilmentInvoice
    ) -> dict | str:
        """The invoice body, or why it cannot be sent (a refusal before any request)."""
        value = _cents(invoice.total)
        if value is None or value <= 0:
            return f"Invoice {invoice.number}: total {invoice.total} is not an amount in cents > 0."
        by_ref: dict[str, str] = {}
        for item in order.get("items") or []:
            if isinstance(item, Mapping) and item.get("refId") is not None:
                by_ref.setdefault(str(item["refId"]), str(item.get("id")))
        items = []
        for index, line in enumerate(invoice.items):
            sku_id = line.ref.sku_id or by_ref.get(line.ref.seller_sku, "")
            price = _cents(line.unit_price)
            if not sku_id:
                return (
                    f"Invoice {invoice.number}: line {index + 1} ({line.ref.seller_sku}) is not "
                    f"an item of VTEX order {external_id}."
                )
            if price is None:
                return f"Invoice {invoice.number}: line {index + 1} price is not in cents."
            items.append({"id": sku_id, "price": price, "quantity": line.quantity})
        return {
            "type": "Output",
            "invoiceNumber": invoice.number,
            "invoiceKey": invoice.access_key,
            "invoiceValue": str(value),
            "issuanceDate": invoice.issued_at.isoformat(),
            "items": items,
        }

    def _invoice_number_of(self, external_id: str, given: str) -> str:
        """The invoice a tracking goes on: the one given, or the order's last Output invoice."""
        if given:
            return given
        packages = self._invoice_packages(self._fulfilment_order(external_id), external_id)
        numbers = [str(p["invoiceNumber"]) for p in packages if p.get("type", "Output") == "Output"]
        if not numbers:
            raise NotFoundError(f"VTEX order {external_id} has no invoice to add tracking to.")
        return numbers[-1]

    def send_tracking(
        self, external_id: str, tracking: FulfilmentTracking, *, may_have_applied: bool = True
    ) -> FulfilmentResult:
        """PATCH the invoice with the tracking (orders.json, Update order's partial invoice:
        trackingNumber, trackingUrl, courier, dispatchedDate). A PATCH of the same values is
        harmless, so no read first (unless the invoice number must be read)."""
        try:
            number = self._invoice_number_of(external_id, tracking.invoice_number)
            body = {
                "trackingNumber": tracking.tracking_number,
                "trackingUrl": tracking.url or None,
                "courier": tracking.carrier_name or tracking.carrier_code or None,
                "dispatchedDate": tracking.shipped_at.isoformat() if tracking.shipped_at else None,
            }
            path = self._order_path(external_id, f"/invoice/{quote(number, safe='')}")
            answer = self.http.json("PATCH", path, headers=JSON_HEADERS, json=body)
        except ConnectorError as exc:
            return self.fulfilment_result(exc)
        receipt = answer.get("receipt") if isinstance(answer, Mapping) else None
        return FulfilmentResult.accepted(receipt=str(receipt or ""))

    def mark_delivered(
        self, external_id: str, delivered: FulfilmentDelivered, *, may_have_applied: bool = True
    ) -> FulfilmentResult:
        """PUT the tracking status with isDelivered (orders.json, Update order tracking status:
        deliveredDate as `yyyy-mm-dd hh:mm`, UTC as VTEX's dates are). A PUT: repeatable."""
        try:
            number = self._invoice_number_of(external_id, delivered.invoice_number)
            moment = delivered.delivered_at.astimezone(UTC)
            body = {
                "isDelivered": True,
                "deliveredDate": moment.strftime("%Y-%m-%d %H:%M"),
                "events": [],
            }
            path = self._order_path(external_id, f"/invoice/{quote(number, safe='')}/tracking")
            answer = self.http.json("PUT", path, headers=JSON_HEADERS, json=body)
        except ConnectorError as exc:
            return self.fulfilment_result(exc)
        receipt = answer.get("receipt") if isinstance(answer, Mapping) else None
        return FulfilmentResult.accepted(receipt=str(receipt or ""))

    def cancel_order(
        self, external_id: str, cancel: FulfilmentCancel, *, may_have_applied: bool = True
    ) -> FulfilmentResult:
        """Read the order (its cancel call documents no idempotency) and POST cancel with the
        reason (orders.json, Cancel order) unless it is canceled already. A first attempt
        (may_have_applied False) POSTs without the read."""
        try:
            order = self._fulfilment_order(external_id) if may_have_applied else {}
            if order.get("status") in CANCELED_STATUSES:
                return FulfilmentResult.already_applied(
                    f"VTEX order {external_id} is {order.get('status')} already."
                )
            answer = self._post(
                self._order_path(external_id, "/cancel"), json={"reason": cancel.reason}
            )
        except ConnectorError as exc:
            return self.fulfilment_result(exc)
        receipt = answer.get("receipt") if isinstance(answer, Mapping) else None
        return FulfilmentResult.accepted(receipt=str(receipt or ""))

    def normalize_order(self, payload: Mapping[str, Any]) -> NormalizedOrder:
        """An OMS order document -> NormalizedOrder. Money in VTEX orders is in cents.

        Required: orderId, status, value, and each item's quantity and sellingPrice (or price).
        Optional: the "Items" total (absent is the sum of the lines), the "Shipping" total
        (absent is no shipping), the dates (absent is None).
        """
        read = self.reader("order")
        order_id = read.identifier(payload.get("orderId"), "orderId")
        read = read.about(f"order {order_id}")

        carrier_code = carrier_label = service_code = service_label = ""
        shipping_data = read.obj(payload.get("shippingData"), "shippingData", default={})
        logistics = read.objects(
            shipping_data.get("logisticsInfo"), "shippingData.logisticsInfo", default=[]
        )
        for index, info in enumerate(logistics):
            at = f"shippingData.logisticsInfo[{index}]"
            sla = read.code(info.get("selectedSla"), f"{at}.selectedSla", default="")
            if not sla:
                continue
            courier = ""
            deliveries = read.objects(info.get("deliveryIds"), f"{at}.deliveryIds", default=[])
            for number, delivery in enumerate(deliveries):
                courier = read.code(
                    delivery.get("courierName"),
                    f"{at}.deliveryIds[{number}].courierName",
                    default="",
                )
                if courier:
                    break
            carrier_code = courier or read.code(
                info.get("deliveryCompany"), f"{at}.deliveryCompany", default=""
            )
            carrier_label = carrier_code
            service_code = service_label = sla
            for number, option in enumerate(
                read.objects(info.get("slas"), f"{at}.slas", default=[])
            ):
                name = read.text(option.get("name"), f"{at}.slas[{number}].name")
                if option.get("id") == sla and name:
                    service_label = name
                    break
            break  # one shipment per order in the ERP; the first item's SLA stands for it

        payment_code = payment_label = ""
        payment_data = read.obj(payload.get("paymentData"), "paymentData", default={})
        transactions = read.objects(
            payment_data.get("transactions"), "paymentData.transactions", default=[]
        )
        for index, transaction in enumerate(transactions):
            at = f"paymentData.transactions[{index}].payments"
            payments = read.objects(transaction.get("payments"), at, default=[])
            if payments:
                payment = payments[0]
                payment_code = read.code(
                    payment.get("paymentSystemName"), f"{at}[0].paymentSystemName", default=""
                ) or read.code(payment.get("paymentSystem"), f"{at}[0].paymentSystem", default="")
                group = read.text(payment.get("group"), f"{at}[0].group")
                payment_label = f"{payment_code} ({group})" if group else payment_code
                break

        lines = []
        for index, item in enumerate(read.objects(payload.get("items"), "items", default=[])):
            at = f"items[{index}]"
            price_field = "sellingPrice" if item.get("sellingPrice") is not None else "price"
            lines.append(
                OrderLine(
                    seller_sku=read.identifier(item.get("refId"), f"{at}.refId", default=""),
                    quantity=read.quantity(item.get("quantity"), f"{at}.quantity"),
                    unit_price=read.money(
                        item.get(price_field),
                        f"{at}.{price_field}",
                        cents=True,
                        digits=LINE_AMOUNT_DIGITS,
                    ),
                    item_id=read.identifier(item.get("productId"), f"{at}.productId", default=""),
                    sku_id=read.identifier(item.get("id"), f"{at}.id", default=""),
                    title=read.text(item.get("name"), f"{at}.name"),
                )
            )

        totals: dict[str, tuple[str, Any]] = {}
        for index, entry in enumerate(read.objects(payload.get("totals"), "totals", default=[])):
            name = read.text(entry.get("id"), f"totals[{index}].id")
            totals.setdefault(name, (f"totals[{index}].value", entry.get("value")))
        items_path, items_value = totals.get("Items", ("totals[Items].value", None))
        shipping_path, shipping_value = totals.get("Shipping", ("totals[Shipping].value", None))
        items_total = read.money(items_value, items_path, cents=True, default=None)
        if items_total is None:
            lines_sum = sum((line.unit_price * line.quantity for line in lines), Decimal("0"))
            items_total = read.money(lines_sum, "items (sum of the lines)")

        profile = read.obj(payload.get("clientProfileData"), "clientProfileData", default={})
        if read.flag(profile.get("isCorporate"), "clientProfileData.isCorporate", default=False):
            name = read.text(profile.get("corporateName"), "clientProfileData.corporateName")
            document = read.text(
                profile.get("corporateDocument"), "clientProfileData.corporateDocument"
            )
        else:
            name = read.text(
                " ".join(
                    part
                    for part in (
                        read.text(profile.get("firstName"), "clientProfileData.firstName"),
                        read.text(profile.get("lastName"), "clientProfileData.lastName"),
                    )
                    if part
                ),
                "clientProfileData.firstName + lastName",
            )
            document = read.text(profile.get("document"), "clientProfileData.document")
        # The delivery address: shippingData.address (the "Address" schema of the Orders API,
        # vendor-specs/vtex/orders.json: receiverName, street, number, complement,
        # neighborhood, city, state — two letters —, postalCode "81020-235"); the phone is
        # the buyer's (clientProfileData.phone). Pickup orders carry the store's address.
        shipping = read.obj(payload.get("shippingData"), "shippingData", default={})
        address = read.obj(shipping.get("address"), "shippingData.address", default={})
        at = "shippingData.address"
        delivery = read.address(
            postal_code=(address.get("postalCode"), f"{at}.postalCode"),
            state=(address.get("state"), f"{at}.state"),
            recipient=(address.get("receiverName"), f"{at}.receiverName"),
            street=(address.get("street"), f"{at}.street"),
            number=(address.get("number"), f"{at}.number"),
            complement=(address.get("complement"), f"{at}.complement"),
            district=(address.get("neighborhood"), f"{at}.neighborhood"),
            city=(address.get("city"), f"{at}.city"),
            phone=(profile.get("phone"), "clientProfileData.phone"),
        )
        return NormalizedOrder(
            external_id=order_id,
            status_code=read.code(payload.get("status"), "status"),
            status_label=read.text(payload.get("statusDescription"), "statusDescription"),
            carrier_code=carrier_code,
            carrier_label=carrier_label,
            service_code=service_code,
            service_label=service_label,
            payment_code=payment_code,
            payment_label=payment_label,
            lines=tuple(lines),
            customer=Customer(
                name=name,
                document=re.sub(r"\D", "", document),
                email=read.text(
                    profile.get("email"), "clientProfileData.email", max_length=EMAIL_MAX_LENGTH
                ),
            ),
            delivery=delivery,
            items_total=items_total,
            shipping_total=read.money(
                shipping_value, shipping_path, cents=True, default=Decimal("0")
            ),
            total=read.money(payload.get("value"), "value", cents=True),
            placed_at=read.timestamp(payload.get("creationDate"), "creationDate", default=None),
            updated_at=read.timestamp(payload.get("lastChange"), "lastChange", default=None),
            raw=payload,
        )

    # --- listings -----------------------------------------------------------------------------
    def list_listings(self) -> Iterator[RemoteListing]:
        """Every SKU of the store: the id list in pages of 1,000, then one read per SKU
        (stockkeepingunitbyid is the one documented call that returns RefId and EAN together).
        A SKU deleted between the two calls is skipped."""
        page = 1
        while True:
            ids = self._get(
                "/api/catalog_system/pvt/sku/stockkeepingunitids",
                params={"page": page, "pagesize": SKU_IDS_PAGE_SIZE},
            )
            if ids is None:
                ids = []
            if not isinstance(ids, list):
                raise MalformedResponseError("VTEX answered the SKU id list with a non-list body.")
            page_reader = self.reader(f"SKU id list page {page}")
            for index, raw_id in enumerate(ids):
                sku_id = page_reader.identifier(raw_id, f"[{index}]")
                try:
                    sku = self._get(f"/api/catalog_system/pvt/sku/stockkeepingunitbyid/{sku_id}")
                except NotFoundError:
                    continue
                if not isinstance(sku, dict):
                    raise MalformedResponseError(f"VTEX answered SKU {sku_id} with a non-object.")
                yield _listing(self.reader(f"SKU {sku_id}"), sku, sku_id)
            if len(ids) < SKU_IDS_PAGE_SIZE:
                return
            page += 1

    def skus_by_ref_ids(self, ref_ids: Iterable[str]) -> dict[str, str]:
        """RefId -> VTEX SKU id for the RefIds that exist. Duplicates are removed before sending:
        the catalog answers 500 to a repeated RefId (spec), which would be retried in vain."""
        unique = list(dict.fromkeys(r.strip() for r in ref_ids if r and r.strip()))
        found: dict[str, str] = {}
        for start in range(0, len(unique), REF_IDS_PER_REQUEST):
            chunk = unique[start : start + REF_IDS_PER_REQUEST]
            data = self._post("/api/catalog_system/pub/sku/stockkeepingunitidsbyrefids", json=chunk)
            if data is None:
                continue
            if not isinstance(data, dict):
                raise MalformedResponseError("VTEX answered the RefId lookup with a non-object.")
            read = self.reader("RefId lookup")
            for ref_id, sku_id in data.items():
                parsed = read.identifier(sku_id, str(ref_id), default="")
                if parsed:
                    found[str(ref_id)] = parsed
        return found

    # --- activation checks --------------------------------------------------------------------
    def other_integrations(self) -> list[OtherIntegration]:
        """Active app keys of the account other than ours (GET /api/vlm/appkeys). The list
        never holds app tokens; needs the License Manager "Save user" resource (403 otherwise)."""
        keys = self._get("/api/vlm/appkeys")
        if not isinstance(keys, list):
            raise MalformedResponseError("VTEX answered the app key list with a non-list body.")
        ours = self.credentials["app_key"].lower()
        others = []
        for entry in keys:
            if not isinstance(entry, dict) or not entry.get("isActive"):
                continue
            app_key = str(entry.get("appKey") or "")
            if not app_key or app_key.lower() == ours:
                continue
            others.append(
                OtherIntegration(
                    app_id=app_key,
                    name=str(entry.get("label") or ""),
                    connected_at=str(entry.get("createdIn") or ""),
                    detail="Active VTEX app key (possibly another ERP or integration).",
                )
            )
        return others

    def reference_values(self) -> list[ReferenceValue]:
        """Carrier services from the shipping policies (carrier = policy name, which orders
        carry as deliveryIds[].courierName; service = shippingMethod, the orders' selectedSla),
        the order statuses, and warehouses as stock locations. Payment systems are not listed:
        no endpoint for them is in the specs we hold, so they come from orders as they arrive.
        The logistics spec has no carrier list route (only per-carrier ones); shipping policies
        are VTEX's carriers."""
        values: list[ReferenceValue] = []
        seen: set[tuple[str, str]] = set()
        for policy in self._shipping_policies():
            read = self.reader(f"shipping policy {policy.get('id') or '?'}")
            if not read.flag(policy.get("isActive"), "isActive", default=True):
                continue
            carrier = read.code(policy.get("name"), "name", default="")
            service = read.code(policy.get("shippingMethod"), "shippingMethod", default="")
            if not carrier or not service or (carrier, service) in seen:
                continue
            seen.add((carrier, service))
            values.append(
                ReferenceValue(
                    kind="carrier_service", code=service, label=service, parent_code=carrier
                )
            )
        values.extend(
            ReferenceValue(kind="order_status", code=code, label=label)
            for code, label in ORDER_STATUSES
        )
        warehouses = self._get("/api/logistics/pvt/configuration/warehouses")
        if not isinstance(warehouses, list):
            raise MalformedResponseError("VTEX answered the warehouse list with a non-list body.")
        read = self.reader("warehouses")
        for index, warehouse in enumerate(read.objects(warehouses, "")):
            if not read.flag(warehouse.get("isActive"), f"[{index}].isActive", default=True):
                continue
            values.append(
                ReferenceValue(
                    kind="stock_location",
                    code=read.code(warehouse.get("id"), f"[{index}].id"),
                    label=read.text(warehouse.get("name"), f"[{index}].name"),
                )
            )
        return values

    def _shipping_policies(self) -> Iterator[dict]:
        page = 1
        while True:
            data = self._get(
                "/api/logistics/pvt/shipping-policies",
                params={"page": page, "perPage": SHIPPING_POLICIES_PER_PAGE},
            )
            if not isinstance(data, dict) or not isinstance(data.get("items", []), list):
                raise MalformedResponseError("VTEX answered the shipping policies oddly.")
            read = self.reader(f"shipping policies page {page}")
            yield from read.objects(data.get("items"), "items", default=[])
            paging = read.obj(data.get("paging"), "paging", default={})
            pages = read.quantity(paging.get("pages"), "paging.pages", minimum=0, default=1)
            if page >= pages or not data.get("items"):
                return
            page += 1


def _listing(read: Reader, sku: Mapping, sku_id: str) -> RemoteListing:
    alternate = read.obj(sku.get("AlternateIds"), "AlternateIds", default={})
    ref_id = read.identifier(alternate.get("RefId"), "AlternateIds.RefId", default="")
    return RemoteListing(
        ref=ExternalRef(
            sku_id=read.identifier(sku.get("Id"), "Id", default=sku_id),
            item_id=read.identifier(sku.get("ProductId"), "ProductId", default=""),
            seller_sku=ref_id,
        ),
        seller_sku=ref_id,
        ean=read.identifier(
            alternate.get("Ean"), "AlternateIds.Ean", default="", max_length=EAN_MAX_LENGTH
        ),
        title=read.text(sku.get("NameComplete"), "NameComplete")
        or read.text(sku.get("SkuName"), "SkuName"),
        active=read.flag(sku.get("IsActive"), "IsActive", default=True),
    )


def _cents(amount: Decimal) -> int | None:
    """An amount in whole cents, or None when it has fractions of a cent."""
    cents = Decimal(amount) * 100
    return int(cents) if cents == cents.to_integral_value() else None


def _decimal_to_json(value: Decimal) -> float:
    # requests' JSON encoder cannot write Decimal; two places is what the price list holds.
    return float(Decimal(value).quantize(_CENTS))


Adapter = VtexConnector


def _lenient_time(read: Reader, value: object, path: str) -> datetime | None:
    """A listed order's creation time for the sweep, None when unreadable: the sweep then
    treats the order as settled and compares it (reading it by id reads it strictly)."""
    try:
        return read.timestamp(value, path, default=None)
    except InvalidVendorData:
        return None
