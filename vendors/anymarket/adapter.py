"""ANYMARKET (integrator). Wire format: shared/channel-apis.md, checked against ANYMARKET's
public API v2 page (developers.anymarket.com.br) and its public SDKs (AnyMarket/anymarket-sdk-java,
somosyampi/anymarket-php-sdk):

- every call carries the header `gumgaToken: <token>` (the API also takes it as a query
  parameter; we never do, so the token stays out of URLs and access logs);
- collections are paged with `offset`/`limit` and answer `{links, content, page:{size,
  totalElements, totalPages, number}}`;
- errors answer `{"code", "message", "details"}`; 422 is a validation error; 429 past
  5,000 requests/hour per token;
- dates carry an offset in every documented example ("2018-01-02T09:01:08-03:00"); one sent
  without an offset is read as Brasília time (America/Sao_Paulo), the zone ANYMARKET works in.

Every value of an order, SKU or location is read through `vendors.parsing` (`self.reader`).

Fulfilment: `PUT /v2/orders/{id}` with the new status and what it needs — INVOICED + invoice
{accessKey, series, number, date}; PAID_WAITING_DELIVERY + tracking {number, carrier, url,
shippedDate, estimateDate}; CONCLUDED + tracking {deliveredDate}; CANCELED + cancelDetails (field
names: AnyMarket/anymarket-sdk-java order/dto Order, InvoiceResource, TrackingResource; the data
each status needs: ANYMARKET's "Status de Vendas" training, escolademarketplace.com.br). A status
PUT is no idempotent call, so each reads the order first (GET /v2/orders/{id}) and writes only
when ANYMARKET does not have the change yet.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from erpintegr.redaction import redact_truncate
from vendors.anymarket.catalog import AnymarketCatalog
from vendors.anymarket.spec import SPEC
from vendors.base import Connector
from vendors.errors import (
    AuthError,
    ConnectorError,
    InvalidVendorData,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
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
    FulfilmentOutcome,
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

logger = logging.getLogger("vendors.anymarket")

API_PREFIX = "/v2"

# ANYMARKET's order statuses and the labels its own screens use (SDK OrderStatus enum).
ORDER_STATUSES: dict[str, str] = {
    "PENDING": "Pendente",
    "PAID_WAITING_SHIP": "Pago",
    "INVOICED": "Faturado",
    "PAID_WAITING_DELIVERY": "Enviado",
    "CONCLUDED": "Entregue",
    "CANCELED": "Cancelado",
}
# Statuses in which the order holds its invoice (read before send_invoice).
ANYMARKET_INVOICED = ("INVOICED", "PAID_WAITING_DELIVERY", "CONCLUDED")

# Page sizes for reads. The docs give a minimum of 5 and no maximum (?); 50 is the SDKs'
# default. Paging advances by what the server actually returned, so a server-side clamp
# to a smaller page is harmless.
LISTING_PAGE_SIZE = 50
ORDER_SAMPLE_SIZE = 50
# Stock rows per GET /v2/stocks page (reconciliation); the server may clamp it, the cursor
# advances by what it returned.
STOCK_READ_PAGE_SIZE = 100

# Fields of the SKU body that belong to other flows. `amount` is the SKU's stock: sending
# back the value read a moment ago would overwrite a fresher quantity pushed by the stock
# flow in between (read-modify-write race), so the price flow never sends it.
SKU_FIELDS_NOT_OURS = ("amount",)


class AnymarketConnector(AnymarketCatalog, Connector):
    spec = SPEC
    data_timezone = ZoneInfo("America/Sao_Paulo")
    back_office_probe = (
        "an empty stock write (PUT /v2/stocks []), which an account integrated with another "
        "back office is expected to refuse with 403"
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # The documented base address includes /v2; an override pointing at a host root
        # (an emulator: http://127.0.0.1:8703) gets it appended, so paths stay the vendor's.
        if not self.base_url.endswith(API_PREFIX):
            self.base_url += API_PREFIX
        token = (self.credentials.get("gumga_token") or "").strip()
        if not token:
            raise AuthError("No gumgaToken is stored for this ANYMARKET channel.")
        self.http = self.http_client(
            headers={
                "gumgaToken": token,
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
            secrets=(token,),
        )
        # Feed ids whose acknowledgement the vendor refused (stale token, gone); see ack().
        self.ack_failures: list[str] = []
        # Feed items (id:token) this connector already delivered: an item whose ack was
        # refused stays at the head of the feed, and must not be read again in the same run.
        self._delivered: set[str] = set()
        self._default_local: str | None = None

    # --- other back offices -----------------------------------------------------------------
    def probe_back_office(self) -> list[OtherIntegration] | None:
        """What can be learned about another back office on the account: the applications
        found, or None when nothing was learned.

        ANYMARKET lists no connected applications; its rule is one back office per account.
        The probe writes an empty stock list, which changes nothing: an account integrated
        with another ERP is expected to refuse it with 403 naming that ERP (how ANYMARKET
        answers that write is not documented; the emulator models it so). A 403 is evidence
        and is reported. Any other answer — 2xx, or 422 for the empty list — proves nothing
        either way, so it is None: the activation then says "not checkable through the API"
        and asks support to confirm, never "no other application"."""
        try:
            self.http.put("stocks", json=[])
        except AuthError:
            raise
        except PermissionDeniedError as exc:
            return [
                OtherIntegration(
                    app_id="back-office",
                    name=_error_message(exc.body) or "another back office",
                    detail="ANYMARKET refused a no-op stock write with 403: the account is "
                    "integrated with another back office (ANYMARKET allows only one).",
                )
            ]
        except ValidationFailedError:
            return None  # the empty list itself was refused: nothing learned
        return None

    # --- account --------------------------------------------------------------------------
    def verify(self) -> str:
        """A real authenticated call (a wrong token answers 401); returns "" because
        ANYMARKET names no account for a token (SPEC.identifies_account, which says where
        that is documented).

        The id of the account's oldest stock location used to stand in for the account, but
        location ids are not unique across accounts (two accounts both had location 1 and the
        second was refused as "the same account"); no other documented value identifies it.
        """
        self._stock_locations()
        return ""

    def other_integrations(self) -> None:
        # ANYMARKET does not list the applications connected to an account. Its rule is
        # one back office per account (Capability.SINGLE_BACK_OFFICE): activation has to
        # rely on support's typed confirmation. A write refused with 403 surfaces as
        # PermissionDeniedError carrying the vendor's message.
        return None

    # --- outbound ------------------------------------------------------------------------
    def push_stock(self, items: list[StockUpdate]) -> PushResult:
        """PUT /v2/stocks with many SKUs per request (`Connector.send_in_batches`).

        The vendor answers a batch as a whole (no per-item result is documented; a refusal is
        `{"code","message","details"}` with 422): a refused batch is no verdict on each of its
        items. The SKUs its answer names (their partnerId, as a whole word) are rejected and
        the rest sent again; an answer naming none is split until the offending SKUs are
        alone, and a size the vendor refuses is learned (send_in_batches).
        """
        result = PushResult()
        ready: list[tuple[object, dict]] = []
        for item in items:
            entry = _stock_entry(item)
            if isinstance(entry, str):
                result.rejected[item.key] = entry
            else:
                ready.append((item.key, entry))
        self.send_in_batches(
            Flow.STOCK,
            ready,
            lambda entries: self.http.put("stocks", json=entries),
            result,
            named=_named_in_refusal,
            reason=_vendor_error,
            refuses_items=_refuses_items,
        )
        return result

    def push_prices(self, items: list[PriceUpdate]) -> PushResult:
        """PUT /v2/products/{productId}/skus/{skuId}, one SKU per call: two requests per price.

        Why the read stays: ANYMARKET documents no price-only write for a SKU and no batch
        price write. Its API v2 (developers.anymarket.com.br) updates a resource with PUT on
        the resource — the SKU PUT takes the whole SKU (title, partnerId, ean, variations…),
        and a field left out is not kept — and the public SDKs do exactly this read-then-write
        for a price (somosyampi/anymarket-php-sdk `Sku::updatePrice`: find, set price,
        update). The only price endpoint apart from it is per marketplace
        (AnyMarket/anymarket-sdk-java `SkuMarketPlaceService`: POST
        /skus/{id}/updatePrice/{marketplace}), which sets one marketplace's offer, not the
        SKU's price that every marketplace derives from. So the SKU is read first and written
        back with `price` ("preço de", list price) and `sellPrice` ("preço por", what the
        buyer pays) changed, without its stock field. bench/limits.py reports the requests
        per price update of every vendor.
        """
        result = PushResult()
        for item in items:
            product_id, sku_id = item.ref.item_id, item.ref.sku_id
            if not (product_id and sku_id):
                result.rejected[item.key] = (
                    "Not bound to an ANYMARKET product/SKU id (match the listings first)."
                )
                continue
            if item.price <= 0:
                result.rejected[item.key] = "Price must be greater than zero."
                continue
            path = f"products/{quote(str(product_id), safe='')}/skus/{quote(str(sku_id), safe='')}"
            try:
                current = self.http.get(path)
                if not isinstance(current, dict):
                    raise MalformedResponseError(
                        f"GET {path} did not answer a SKU object.", method="GET", url=path
                    )
                body = {k: v for k, v in current.items() if k not in SKU_FIELDS_NOT_OURS}
                # A list price below the sale price is meaningless (and refused by
                # marketplaces): without one, the SKU shows no discount.
                list_price = item.list_price if item.list_price is not None else item.price
                body["price"] = _money(max(list_price, item.price))
                body["sellPrice"] = _money(item.price)
                self.http.put(path, json=body)
            except ConnectorError as exc:
                if not _refuses_items(exc):
                    raise
                result.rejected[item.key] = _vendor_error(exc)
            else:
                result.accepted.append(item.key)
        return result

    # --- stock read back (reconciliation) --------------------------------------------------
    stock_read_paging = "vendor"
    stock_read_page_size = STOCK_READ_PAGE_SIZE

    def read_stock(
        self,
        *,
        cursor: str | None = None,
        refs: Sequence[ExternalRef] = (),
        locations: Sequence[str] = (),
    ) -> StockPage:
        """GET /v2/stocks?idStockLocal=&offset=&limit= — the account's stock rows, one per
        SKU × stock location: `{links, content: [{stockKeepingUnit: {id, partnerId},
        stockLocal: {id}, amount, reservationAmount, availableAmount, …}], page}` (AnyMarket
        SDK StockService.getStock / StockResult / StockItem). `amount` is the quantity a stock
        write sets, so it is what is compared. The sweep reads one location after the other
        (`locations`, or the default stock location, where a write without stockLocalId
        goes), so a page never holds part of a SKU's locations; the cursor is
        "<location index>:<offset>"."""
        wanted = list(locations) or [self._default_location()]
        index_text, _, offset_text = (cursor or "0:0").partition(":")
        index, offset = int(index_text or 0), int(offset_text or 0)
        if index >= len(wanted):
            return StockPage([], None)
        location = wanted[index]
        limit = STOCK_READ_PAGE_SIZE
        page = self.http.get(
            "stocks", params={"idStockLocal": location, "offset": offset, "limit": limit}
        )
        read = self.reader(f"stock list of location {location}")
        if not isinstance(page, Mapping):
            raise MalformedResponseError("GET stocks did not answer a page object.")
        rows = read.objects(page.get("content"), "content", default=[])
        readings: list[StockReading] = []
        for n, row in enumerate(rows):
            at = f"content[{n}]"
            local = read.obj(row.get("stockLocal"), f"{at}.stockLocal")
            if read.code(local.get("id"), f"{at}.stockLocal.id") != location:
                continue
            sku = read.obj(row.get("stockKeepingUnit"), f"{at}.stockKeepingUnit")
            ref = ExternalRef(
                sku_id=read.identifier(sku.get("id"), f"{at}.stockKeepingUnit.id"),
                seller_sku=read.identifier(
                    sku.get("partnerId"), f"{at}.stockKeepingUnit.partnerId", default=""
                ),
            )
            try:
                quantity, problem = read.quantity(row.get("amount"), f"{at}.amount", minimum=0), ""
            except InvalidVendorData as exc:
                quantity, problem = None, str(exc)
            readings.append(
                StockReading(
                    ref=ref,
                    quantity=quantity,
                    location=location if locations else "",
                    problem=problem,
                )
            )
        info = read.obj(page.get("page"), "page", default={})
        total = read.quantity(info.get("totalElements"), "page.totalElements", minimum=0)
        following = offset + len(rows)
        if rows and following < total:
            next_cursor: str | None = f"{index}:{following}"
        elif index + 1 < len(wanted):
            next_cursor = f"{index + 1}:0"
        else:
            next_cursor = None
        return StockPage(readings, next_cursor)

    def _default_location(self) -> str:
        """The stock location a write without stockLocalId goes to: the one ANYMARKET flags
        `defaultLocal` ("Local Padrão", kept for API integrations that send no location —
        suporteanymarket.freshdesk.com, article 19000097631)."""
        if self._default_local is None:
            data = self.http.get("stocks/locals")
            if isinstance(data, Mapping) and isinstance(data.get("content"), list):
                data = data["content"]
            read = self.reader("stock locations")
            found = [
                read.code(loc.get("id"), f"[{index}].id")
                for index, loc in enumerate(read.objects(data, ""))
                if read.flag(loc.get("defaultLocal"), f"[{index}].defaultLocal", default=False)
            ]
            if len(found) != 1:
                raise ConnectorError(
                    f"ANYMARKET flags {len(found)} stock locations as the default one; the "
                    "stock written without a location cannot be read back. Map the stock "
                    "locations (de-para) to write and read each one."
                )
            self._default_local = found[0]
        return self._default_local

    # --- inbound -------------------------------------------------------------------------
    def fetch_orders(self, cursor: str | None, limit: int) -> OrderPage:
        """Read the order feed, then each order. Nothing is acknowledged here: the engine
        calls ack(page.ack_tokens) after the page is committed. The feed has no cursor.

        An order that cannot be read (or a feed item whose order id cannot) comes back in
        `page.invalid`, its feed item among the tokens, so one bad order never holds the feed.
        """
        feed = self.http.get("orders/feeds")
        if feed is None:
            feed = []
        if not isinstance(feed, list):
            raise MalformedResponseError("GET orders/feeds did not answer a list.")
        latest: dict[str, str] = {}
        invalid: list[InvalidOrder] = []
        unreadable_tokens: list[str] = []
        read = self.reader("order feed")
        fresh = 0
        for index, entry in enumerate(feed):
            if not isinstance(entry, Mapping) or entry.get("id") is None or not entry.get("token"):
                raise MalformedResponseError("GET orders/feeds answered an item without id/token.")
            if f"{entry['id']}:{entry['token']}" in self._delivered:
                continue  # delivered earlier in this run; its ack was refused (see ack())
            fresh += 1
            try:
                order_id = read.identifier(entry["id"], f"[{index}].id")
            except InvalidVendorData as exc:
                # No order can be asked for with this id: set the item aside and acknowledge
                # it, or it would stand at the head of the feed forever.
                invalid.append(
                    InvalidOrder(
                        external_id=unreadable_order_key(entry),
                        reason=str(exc),
                        path=exc.path,
                        raw=entry,
                    )
                )
                unreadable_tokens.append(f"{entry['id']}:{entry['token']}")
                continue
            # One entry per order; if the vendor ever repeats an id, its newest token wins.
            latest[order_id] = str(entry["token"])
        selected = list(latest.items())[: max(limit, 0)]
        orders: list[NormalizedOrder] = []
        tokens: list[str] = list(unreadable_tokens)
        for order_id, token in selected:
            try:
                raw = self.get_order_document(order_id)
            except NotFoundError:
                # The feed points at an order that no longer exists: nothing to import, and
                # acknowledging it keeps it from coming back on every run.
                logger.warning("ANYMARKET feed item %s has no order; acknowledging it.", order_id)
                tokens.append(f"{order_id}:{token}")
                continue
            read_order = self.order_or_invalid(raw, fetched_as=order_id)
            if isinstance(read_order, InvalidOrder):
                invalid.append(read_order)
            else:
                orders.append(read_order)
            tokens.append(f"{order_id}:{token}")
        # The feed answers some of the pending items, how many is not documented (?; issue 11
        # measured fewer than 100, so a "full page" test left orders for the next run). Items
        # leave the feed only when acknowledged, so read on as long as it brings items this
        # run has not delivered yet; the engine's batch and budget bound the run.
        has_more = len(selected) < len(latest) or fresh > 0
        self._delivered.update(tokens)
        return OrderPage(
            orders=orders,
            next_cursor=None,
            has_more=has_more,
            ack_tokens=tokens,
            invalid=invalid,
        )

    def recent_orders(self, since: datetime) -> Iterator[tuple[str, datetime | None]]:
        """The missed-order sweep's listing: GET /v2/orders?createdAfter=…&offset=&limit=
        (the date filter public ANYMARKET clients use; oldest first), every page. Nothing
        leaves that set while it is paged (createdAt never changes), so a listing that yields
        fewer distinct ids than `page.totalElements` is read once more."""
        params: dict[str, Any] = {
            "createdAfter": since.astimezone(self.data_timezone).isoformat(timespec="seconds"),
            "limit": ORDER_SAMPLE_SIZE,
        }
        found: set[str] = set()
        for _attempt in range(2):
            offset = total = 0
            while True:
                page = self.http.get("orders", params={**params, "offset": offset})
                if not isinstance(page, Mapping) or not isinstance(page.get("content"), list):
                    raise MalformedResponseError("GET orders did not answer a page of orders.")
                read = self.reader("order list")
                paging = read.obj(page.get("page"), "page")
                total = read.quantity(paging.get("totalElements"), "page.totalElements", minimum=0)
                for index, order in enumerate(page["content"]):
                    if not isinstance(order, Mapping) or order.get("id") is None:
                        continue
                    try:
                        order_id = read.identifier(order["id"], f"content[{index}].id")
                    except InvalidVendorData:
                        continue  # cannot be asked for by id; the feed sets it aside
                    if order_id in found:
                        continue
                    found.add(order_id)
                    yield (
                        order_id,
                        _lenient_time(read, order.get("createdAt"), f"content[{index}].createdAt"),
                    )
                offset += len(page["content"])
                if not page["content"] or offset >= total:
                    break
            if len(found) >= total:
                return

    def get_order_document(self, external_id: str) -> object:
        """GET /v2/orders/{id}."""
        return self.http.get(f"orders/{quote(external_id, safe='')}")

    # --- fulfilment ---------------------------------------------------------------------------
    def _order_state(self, external_id: str) -> tuple[str, Mapping, Mapping]:
        """(status, invoice, tracking) of the order as ANYMARKET holds it now."""
        document = self.get_order_document(external_id)
        if not isinstance(document, Mapping):
            raise self._not_an_order(document, external_id)
        read = self.reader(f"order {external_id}")
        status = read.code(document.get("status"), "status")
        invoice = read.obj(document.get("invoice"), "invoice", default={})
        tracking = read.obj(document.get("tracking"), "tracking", default={})
        return status, invoice, tracking

    def _put_status(
        self, external_id: str, body: dict, applied: Callable[[str, Mapping, Mapping], bool]
    ) -> FulfilmentResult:
        """PUT the change (any 2xx is success: the answer's body is not needed, so a garbled
        one is not retried). When ANYMARKET refuses it, read the order again: a retried PUT
        whose first attempt went through (a timeout after the write) is refused as a repeated
        status, and is then reported ALREADY_APPLIED, not refused. So a first attempt
        (may_have_applied False) writes without reading first: one PUT per step, and a read
        only when ANYMARKET says no; a retry reads first as well, so an applied change costs
        one GET and no write."""
        try:
            self.http.request("PUT", f"orders/{quote(external_id, safe='')}", json=body)
        except ConnectorError as exc:
            if exc.retryable or isinstance(exc, AuthError | PermissionDeniedError):
                raise
            if applied(*self._order_state(external_id)):
                return FulfilmentResult.already_applied(
                    f"ANYMARKET order {external_id} has this change already."
                )
            raise
        return FulfilmentResult.accepted()

    def fulfilment_result(self, exc: ConnectorError) -> FulfilmentResult:
        result = super().fulfilment_result(exc)
        if result.outcome == FulfilmentOutcome.REFUSED and exc.body:
            return FulfilmentResult.refused(_vendor_error(exc), error=exc)
        return result

    def send_invoice(
        self, external_id: str, invoice: FulfilmentInvoice, *, may_have_applied: bool = True
    ) -> FulfilmentResult:
        def applied(status: str, held: Mapping, _tracking: Mapping) -> bool:
            return status in ANYMARKET_INVOICED and str(held.get("number")) == invoice.number

        try:
            if may_have_applied and applied(*self._order_state(external_id)):
                return FulfilmentResult.already_applied(
                    f"ANYMARKET order {external_id} has invoice {invoice.number} already."
                )
            body = {
                "status": "INVOICED",
                "invoice": {
                    "accessKey": invoice.access_key,
                    "series": invoice.series,
                    "number": invoice.number,
                    "date": invoice.issued_at.isoformat(timespec="seconds"),
                },
            }
            return self._put_status(external_id, body, applied)
        except ConnectorError as exc:
            return self.fulfilment_result(exc)

    def send_tracking(
        self, external_id: str, tracking: FulfilmentTracking, *, may_have_applied: bool = True
    ) -> FulfilmentResult:
        def applied(status: str, _invoice: Mapping, held: Mapping) -> bool:
            return (
                status in ("PAID_WAITING_DELIVERY", "CONCLUDED")
                and str(held.get("number")) == tracking.tracking_number
            )

        try:
            if may_have_applied and applied(*self._order_state(external_id)):
                return FulfilmentResult.already_applied(
                    f"ANYMARKET order {external_id} has tracking {tracking.tracking_number} "
                    "already."
                )
            sent: dict[str, Any] = {
                "number": tracking.tracking_number,
                "carrier": tracking.carrier_code,
            }
            if tracking.url:
                sent["url"] = tracking.url
            if tracking.shipped_at is not None:
                sent["shippedDate"] = tracking.shipped_at.isoformat(timespec="seconds")
            if tracking.estimated_delivery is not None:
                sent["estimateDate"] = tracking.estimated_delivery.isoformat()
            return self._put_status(
                external_id, {"status": "PAID_WAITING_DELIVERY", "tracking": sent}, applied
            )
        except ConnectorError as exc:
            return self.fulfilment_result(exc)

    def mark_delivered(
        self, external_id: str, delivered: FulfilmentDelivered, *, may_have_applied: bool = True
    ) -> FulfilmentResult:
        def applied(status: str, _invoice: Mapping, _tracking: Mapping) -> bool:
            return status == "CONCLUDED"

        try:
            if may_have_applied and applied(*self._order_state(external_id)):
                return FulfilmentResult.already_applied(
                    f"ANYMARKET order {external_id} is CONCLUDED already."
                )
            moment = delivered.delivered_at.isoformat(timespec="seconds")
            body = {"status": "CONCLUDED", "tracking": {"deliveredDate": moment}}
            return self._put_status(external_id, body, applied)
        except ConnectorError as exc:
            return self.fulfilment_result(exc)

    def cancel_order(
        self, external_id: str, cancel: FulfilmentCancel, *, may_have_applied: bool = True
    ) -> FulfilmentResult:
        def applied(status: str, _invoice: Mapping, _tracking: Mapping) -> bool:
            return status == "CANCELED"

        try:
            if may_have_applied and applied(*self._order_state(external_id)):
                return FulfilmentResult.already_applied(
                    f"ANYMARKET order {external_id} is CANCELED already."
                )
            body = {"status": "CANCELED", "cancelDetails": cancel.reason}
            return self._put_status(external_id, body, applied)
        except ConnectorError as exc:
            return self.fulfilment_result(exc)

    def ack(self, tokens: list[str]) -> None:
        """PUT /v2/orders/feeds/{id} {"token": …} per item, after the orders are stored.

        A refused item (stale token because the order changed after we read it, or an item
        already gone) does not stop the others: it stays in the feed and is read again,
        which is harmless because orders are upserted. Account/transport errors raise.
        """
        for value in tokens:
            feed_id, _, token = value.partition(":")
            if not feed_id or not token:
                raise ValueError("An ANYMARKET ack token has the form '<feed id>:<token>'.")
            try:
                self.http.put(f"orders/feeds/{quote(feed_id, safe='')}", json={"token": token})
            except ConnectorError as exc:
                if not _refuses_items(exc):
                    raise
                self.ack_failures.append(feed_id)
                logger.warning(
                    "ANYMARKET refused the acknowledgement of feed item %s: %s",
                    feed_id,
                    _vendor_error(exc),
                )

    # --- listings ------------------------------------------------------------------------
    def list_listings(self) -> Iterator[RemoteListing]:
        """Every SKU of every product, paging GET /v2/products by offset/limit."""
        offset = 0
        while True:
            page = self.http.get("products", params={"offset": offset, "limit": LISTING_PAGE_SIZE})
            if not isinstance(page, Mapping) or not isinstance(page.get("content"), list):
                raise MalformedResponseError("GET products did not answer a page with content.")
            read = self.reader(f"product page at offset {offset}")
            content = read.objects(page["content"], "content")
            for index, product in enumerate(content):
                yield from self._listings_of(product, path=f"content[{index}]")
            paging = read.obj(page.get("page"), "page", default={})
            total = read.quantity(
                paging.get("totalElements"), "page.totalElements", minimum=0, default=None
            )
            offset += len(content)
            if not content or (total is not None and offset >= total):
                return
            if total is None and len(content) < LISTING_PAGE_SIZE:
                return

    def sku_by_partner_id(self, partner_id: str) -> RemoteListing | None:
        """GET /v2/skus/partnerId/{partnerId}; None when ANYMARKET has no such SKU.

        `showProduct=true` (as in ANYMARKET's Java SDK) adds the product, whose id the
        price flow needs."""
        try:
            sku = self.http.get(
                f"skus/partnerId/{quote(partner_id, safe='')}", params={"showProduct": "true"}
            )
        except NotFoundError:
            return None
        if not isinstance(sku, Mapping):
            raise MalformedResponseError("GET skus/partnerId did not answer a SKU.")
        read = self.reader(f"SKU with partnerId {partner_id}")
        product = read.obj(sku.get("product"), "product", default={})
        return self._listing(read, sku, product, sku_path="", product_path="product")

    def _listings_of(self, product: Mapping, *, path: str) -> list[RemoteListing]:
        read = self.reader("product")
        product_id = read.identifier(product.get("id"), f"{path}.id")
        read = read.about(f"product {product_id}")
        skus = read.objects(product.get("skus"), "skus", default=[])
        return [
            self._listing(read, sku, product, sku_path=f"skus[{index}]", product_path="")
            for index, sku in enumerate(skus)
        ]

    @staticmethod
    def _listing(
        read: Reader, sku: Mapping, product: Mapping, *, sku_path: str, product_path: str
    ) -> RemoteListing:
        def at(base: str, name: str) -> str:
            return f"{base}.{name}" if base else name

        partner_id = read.identifier(sku.get("partnerId"), at(sku_path, "partnerId"), default="")
        return RemoteListing(
            ref=ExternalRef(
                item_id=read.identifier(product.get("id"), at(product_path, "id"), default=""),
                sku_id=read.identifier(sku.get("id"), at(sku_path, "id")),
                seller_sku=partner_id,
            ),
            seller_sku=partner_id,
            ean=read.identifier(
                sku.get("ean"), at(sku_path, "ean"), default="", max_length=EAN_MAX_LENGTH
            ),
            title=read.text(sku.get("title"), at(sku_path, "title"))
            or read.text(product.get("title"), at(product_path, "title")),
        )

    # --- de-para ---------------------------------------------------------------------------
    def reference_values(self) -> list[ReferenceValue]:
        """Stock locations (listed by the API), the six order statuses, and the carriers,
        services and payment methods seen in a sample of recent orders: ANYMARKET has no
        endpoint that lists those, so anything not in the sample is queued as an unmapped
        value when an order first brings it."""
        values = [
            ReferenceValue("stock_location", location_id, name)
            for location_id, name in self._stock_locations()
        ]
        values += [
            ReferenceValue("order_status", code, label) for code, label in ORDER_STATUSES.items()
        ]
        page = self.http.get("orders", params={"offset": 0, "limit": ORDER_SAMPLE_SIZE})
        content = page.get("content") if isinstance(page, Mapping) else None
        seen: set[tuple[str, str, str]] = set()
        for raw in content or []:
            if not isinstance(raw, Mapping):
                continue
            # Only the de-para values are read from the sample: a bad price in some old order
            # must not keep support from seeing the carriers and payments.
            read = self.reader("order")
            read = read.about(f"order {read.identifier(raw.get('id'), 'id')}")
            order = _de_para_values(read, raw, read.objects(raw.get("items"), "items", default=[]))
            if order.service_code or order.carrier_code:
                key = ("carrier_service", order.service_code, order.carrier_code)
                if key not in seen:
                    seen.add(key)
                    values.append(
                        ReferenceValue(
                            "carrier_service",
                            order.service_code,
                            order.service_label,
                            parent_code=order.carrier_code,
                        )
                    )
            if order.payment_code:
                key = ("payment_method", order.payment_code, "")
                if key not in seen:
                    seen.add(key)
                    values.append(
                        ReferenceValue("payment_method", order.payment_code, order.payment_label)
                    )
        return values

    def _stock_locations(self) -> list[tuple[str, str]]:
        """(id, name) of every stock location, oldest (lowest id) first."""
        data = self.http.get("stocks/locals")
        if isinstance(data, Mapping) and isinstance(data.get("content"), list):
            data = data["content"]  # tolerate the paged envelope as well as a bare list
        if not isinstance(data, list) or any(
            not isinstance(loc, Mapping) or loc.get("id") is None for loc in data
        ):
            raise MalformedResponseError("GET stocks/locals did not answer a list of locations.")
        read = self.reader("stock locations")
        locations = [
            (
                read.code(loc["id"], f"[{index}].id"),
                read.text(loc.get("name"), f"[{index}].name"),
            )
            for index, loc in enumerate(data)
        ]
        return sorted(locations, key=lambda location: _sort_key(location[0]))

    # --- parsing at the edge ------------------------------------------------------------------
    def normalize_order(self, payload: Mapping[str, Any]) -> NormalizedOrder:
        """An ANYMARKET order (GET /v2/orders/{id}) as the engine sees it.

        Carrier and payment codes prefer ANYMARKET's normalized fields
        (`shippingCarrierNormalized`, `paymentMethodNormalized`): one vocabulary across every
        marketplace the account sells on, so fewer de-para rows; the raw marketplace value is
        the fallback. Which marketplace sold it (`marketPlace`) stays in `raw`.

        Required: id, status, total, and each item's amount and unit. Optional: freight (absent
        is no freight), an item's total (absent is unit × amount), the dates (absent is None).
        """
        read = self.reader("order")
        order_id = read.identifier(payload.get("id"), "id")
        read = read.about(f"order {order_id}")
        items = read.objects(payload.get("items"), "items", default=[])
        de_para = _de_para_values(read, payload, items)

        lines = []
        items_total = Decimal("0")
        for index, item in enumerate(items):
            at = f"items[{index}]"
            sku = read.obj(item.get("sku"), f"{at}.sku", default={})
            product = read.obj(item.get("product"), f"{at}.product", default={})
            quantity = read.quantity(item.get("amount"), f"{at}.amount")
            unit_price = read.money(item.get("unit"), f"{at}.unit", digits=LINE_AMOUNT_DIGITS)
            lines.append(
                OrderLine(
                    seller_sku=read.identifier(
                        sku.get("partnerId"), f"{at}.sku.partnerId", default=""
                    ),
                    quantity=quantity,
                    unit_price=unit_price,
                    item_id=read.identifier(product.get("id"), f"{at}.product.id", default=""),
                    sku_id=read.identifier(sku.get("id"), f"{at}.sku.id", default=""),
                    title=read.text(sku.get("title"), f"{at}.sku.title")
                    or read.text(product.get("title"), f"{at}.product.title"),
                )
            )
            items_total += read.money(
                item.get("total"), f"{at}.total", default=unit_price * quantity
            )

        buyer = read.obj(payload.get("buyer"), "buyer", default={})
        document = read.text(
            buyer.get("documentNumberNormalized"), "buyer.documentNumberNormalized"
        ) or read.text(buyer.get("document"), "buyer.document")
        # The delivery address: `shipping` (street, number, comment, neighborhood, city,
        # state, zipCode "10120-080"; `address` is the whole line when `street` is absent) and
        # the buyer's `phone`, as in ANYMARKET's order example
        # (developers.anymarket.com.br/en/integration_guides/sandbox/test_order).
        shipping = read.obj(payload.get("shipping"), "shipping", default={})
        status = read.code(payload.get("status"), "status")
        return NormalizedOrder(
            external_id=order_id,
            status_code=status,
            status_label=ORDER_STATUSES.get(status)
            or read.text(payload.get("marketPlaceStatus"), "marketPlaceStatus"),
            carrier_code=de_para.carrier_code,
            carrier_label=de_para.carrier_label,
            service_code=de_para.service_code,
            service_label=de_para.service_label,
            payment_code=de_para.payment_code,
            payment_label=de_para.payment_label,
            lines=tuple(lines),
            customer=Customer(
                name=read.text(buyer.get("name"), "buyer.name"),
                document="".join(ch for ch in document if ch.isdigit()),
                email=read.text(buyer.get("email"), "buyer.email", max_length=EMAIL_MAX_LENGTH),
            ),
            delivery=read.address(
                postal_code=(shipping.get("zipCode"), "shipping.zipCode"),
                state=(shipping.get("state"), "shipping.state"),
                recipient=(
                    shipping.get("receiverName") or buyer.get("name"),
                    "shipping.receiverName" if shipping.get("receiverName") else "buyer.name",
                ),
                street=(
                    shipping.get("street") or shipping.get("address"),
                    "shipping.street" if shipping.get("street") else "shipping.address",
                ),
                number=(shipping.get("number"), "shipping.number"),
                complement=(shipping.get("comment"), "shipping.comment"),
                district=(shipping.get("neighborhood"), "shipping.neighborhood"),
                city=(shipping.get("city"), "shipping.city"),
                phone=(buyer.get("phone"), "buyer.phone"),
            ),
            items_total=read.money(items_total, "items (sum of items[].total)"),
            shipping_total=read.money(payload.get("freight"), "freight", default=Decimal("0")),
            total=read.money(payload.get("total"), "total"),
            placed_at=read.timestamp(payload.get("createdAt"), "createdAt", default=None),
            updated_at=read.timestamp(payload.get("updatedAt"), "updatedAt", default=None),
            raw=dict(payload),
        )


# --- parsing helpers ------------------------------------------------------------------------


@dataclass(frozen=True)
class _DeParaValues:
    carrier_code: str
    carrier_label: str
    service_code: str
    service_label: str
    payment_code: str
    payment_label: str


def _de_para_values(read: Reader, raw: Mapping, items: list[Mapping]) -> _DeParaValues:
    """Carrier, service and payment of an order: the first item's first shipping, the largest
    payment."""
    shipping: Mapping = {}
    shipping_path = ""
    for index, item in enumerate(items):
        shippings = read.objects(item.get("shippings"), f"items[{index}].shippings", default=[])
        if shippings:
            shipping, shipping_path = shippings[0], f"items[{index}].shippings[0]"
            break
    tracking = read.obj(raw.get("tracking"), "tracking", default={})
    carrier_code = read.code(
        shipping.get("shippingCarrierNormalized"),
        f"{shipping_path}.shippingCarrierNormalized",
        default="",
    ) or read.code(tracking.get("carrier"), "tracking.carrier", default="")
    service_code = read.code(
        shipping.get("shippingtype"), f"{shipping_path}.shippingtype", default=""
    ) or read.code(tracking.get("deliveryMethodName"), "tracking.deliveryMethodName", default="")

    payments = read.objects(raw.get("payments"), "payments", default=[])
    payment: Mapping = {}
    payment_path = ""
    largest = None
    for index, candidate in enumerate(payments):
        value = read.money(candidate.get("value"), f"payments[{index}].value", default=Decimal("0"))
        if largest is None or value > largest:
            largest, payment, payment_path = value, candidate, f"payments[{index}]"
    payment_code = read.code(
        payment.get("paymentMethodNormalized"),
        f"{payment_path}.paymentMethodNormalized",
        default="",
    ) or read.code(payment.get("method"), f"{payment_path}.method", default="")
    return _DeParaValues(
        carrier_code=carrier_code,
        carrier_label=read.text(tracking.get("carrier"), "tracking.carrier") or carrier_code,
        service_code=service_code,
        service_label=read.text(tracking.get("deliveryMethodName"), "tracking.deliveryMethodName")
        or service_code,
        payment_code=payment_code,
        payment_label=read.text(payment.get("method"), f"{payment_path}.method") or payment_code,
    )


def _stock_entry(item: StockUpdate) -> dict | str:
    """One element of the PUT /v2/stocks array, or the reason it cannot be sent."""
    if item.quantity < 0:
        return "Stock quantity cannot be negative."
    if item.ref.seller_sku:
        entry: dict[str, Any] = {"partnerId": item.ref.seller_sku}
    elif str(item.ref.sku_id).isdigit():
        entry = {"id": int(item.ref.sku_id)}
    else:
        return "Not bound to an ANYMARKET SKU (no partnerId or SKU id)."
    entry["quantity"] = int(item.quantity)
    if item.location:
        if not str(item.location).isdigit():
            return (
                f"Stock location {item.location!r} is not an ANYMARKET stockLocalId; "
                "check the stock-location de-para."
            )
        entry["stockLocalId"] = int(item.location)
    return entry


def _named_in_refusal(exc: ConnectorError, chunk: list[tuple[object, dict]]) -> list[object]:
    """Keys of the entries whose partnerId the vendor's refusal mentions as a whole word (in
    its message or details). Only partnerIds (the ERP's codes) are looked for: a bare numeric
    SKU id could be any number of the sentence ("Item 3: …")."""
    try:
        data = json.loads(exc.body) if exc.body else None
    except ValueError:
        data = None
    if isinstance(data, Mapping):
        text = f"{data.get('message') or ''} {data.get('details') or ''}"
    else:
        text = exc.body or str(exc)
    words = set(re.findall(r"[^\s,;:()\[\]{}\"']+", text))
    return [key for key, entry in chunk if entry.get("partnerId") in words]


def _refuses_items(exc: ConnectorError) -> bool:
    """A 4xx about the data sent (validation, unknown SKU, conflict). Account problems
    (401/403) and anything retryable say nothing about the items, so they are raised."""
    if exc.retryable or isinstance(exc, AuthError | PermissionDeniedError):
        return False
    return exc.status is not None and 400 <= exc.status < 500


def _vendor_error(exc: ConnectorError) -> str:
    """The vendor's sentence ({"code","message","details"}), already redacted."""
    try:
        data = json.loads(exc.body) if exc.body else None
    except ValueError:
        data = None
    if isinstance(data, Mapping) and data.get("message"):
        message = str(data["message"])
        details = data.get("details")
        if details:
            message = f"{message} ({details})"
        return redact_truncate(f"{exc.status}: {message}", 500)
    return redact_truncate(exc, 500)


def _money(value: Decimal) -> float:
    # The API takes JSON numbers; two decimal places are exact enough in a float.
    return float(value.quantize(Decimal("0.01")))


def _sort_key(value: object) -> tuple[int, int, str]:
    # Ids are numbers; sort numerically, strings after.
    text = str(value)
    return (0, int(text), "") if text.isdigit() else (1, 0, text)


def _error_message(body: str) -> str:
    try:
        data = json.loads(body or "")
    except ValueError:
        return ""
    if isinstance(data, dict) and data.get("message"):
        return redact_truncate(data["message"], 300)
    return ""


Adapter = AnymarketConnector


def _lenient_time(read: Reader, value: object, path: str) -> datetime | None:
    """A listed order's creation time for the sweep, None when unreadable: the sweep then
    treats the order as settled and compares it (reading it by id reads it strictly)."""
    try:
        return read.timestamp(value, path, default=None)
    except InvalidVendorData:
        return None
