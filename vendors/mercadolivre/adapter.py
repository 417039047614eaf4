"""Mercado Livre (marketplace). Wire format: shared/channel-apis.md.

What this connector relies on (checked against the vendor's public documentation):
- OAuth2: `POST /oauth/token` form-encoded with grant_type=refresh_token; every refresh returns
  a new access token (6 h) and a NEW refresh token — the old one is spent. Errors come as
  `{"message", "error": "invalid_grant" | "invalid_client" | …, "status", "cause"}`.
- `Authorization: Bearer <access token>` on every call.
- `PUT /items/{id}` takes one item per request; for an item with variations every variation
  must be listed by id in `variations[]` or Mercado Livre deletes it.
- `GET /users/{id}/items/search` pages with offset/limit up to 1000 results; beyond that only
  `search_type=scan` + `scroll_id` works. Multiget `GET /items?ids=` takes up to 20 ids and
  answers `[{"code": 200, "body": {...}}, …]`; variation attributes (their SELLER_SKU) come
  only with `include_attributes=all`.
- `GET /orders/search?seller=&order.date_last_updated.from=&sort=date_asc&offset=&limit=`
  ("Sales" guide, developers.mercadolivre.com.br/en_us/manage-sales: search, filters
  order.date_last_updated / date_created / date_closed .from / .to, sorts date_asc and
  date_desc). The date filters read the date and the hour only, and the sort is not a
  stable creation-date order (issue 11): see _OrderCursor. `GET /shipments/{id}` with the
  header `x-format-new: true`.
- `GET /users/{id}/applications` lists the apps the seller authorized.
- Fulfilment, by the shipment's logistic mode and type (GET /shipments/{id}, x-format-new):
  drop_off / xd_drop_off / xd_same_day / cross_docking import the NF-e XML with
  `POST /shipments/{id}/invoice_data?siteId=MLB` — "o processo que altera o status do envio,
  destrancando o substatus invoice_pending e permitindo a geração da etiqueta"
  (developers.mercadolivre.com.br/importar-nota-fiscal); other shipments attach the document
  to the pack, `POST /packs/{pack_id}/fiscal_documents` multipart `fiscal_document`, the order
  id when pack_id is null, one document per pack (developers.mercadolivre.com.br/
  anexar-nota-fiscal; developers.mercadolibre.com.ar/en_us/upload-invoices); Full
  (fulfillment) is invoiced by Mercado Livre. The seller's own shipments take status and
  tracking with `POST /shipments/{id}/seller_notifications` {status: shipped | delivered,
  substatus: null, tracking_number with shipped as the guide's example sends it}
  (developers.mercadolivre.com.br/status-de-pedidos-rastreamento;
  developers.mercadolibre.com.ar/en_us/me1-order-states). The guide names ME1; custom
  shipments (developers.mercadolibre.com.co/en_us/manage-project-apps/custom-shipping) are
  sent the same call, which no page confirms (?). Mercado Envios tracks ME2 itself. Labels:
  `GET /shipment_labels?shipment_ids=&response_type=pdf|zpl2` once released ("Print shipping
  labels" and "Zebra thermal printer", developers.mercadolibre.co.cr/en_us/mercadoenvios-mode-2);
  a ZPL answer is read whether it comes as a ZIP or as the text itself. What decides the
  call (the shipment id, logistic mode and type, the pack) is read at import from the
  shipment companion and handed back as `order_refs` (`_known_shipping`): a first attempt is
  the write alone; a retry, or an order imported without refs, reads the order and shipment.
- Dates carry an offset ("2015-07-01T00:00:00.000-04:00"); one without (not documented) is read
  as UTC, the zone of the cursor's own dates.

Every value of an order, item or reference list is read through `vendors.parsing`
(`self.reader`); the OAuth answer is not (see `_request_token`).
"""

from __future__ import annotations

import io
import json
import logging
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import requests
from urllib3 import encode_multipart_formdata

from erpintegr.redaction import register_secret
from vendors.base import Connector
from vendors.errors import (
    AuthError,
    ConnectorError,
    InvalidVendorData,
    MalformedResponseError,
    NotFoundError,
    NotSupportedError,
    PermissionDeniedError,
    ValidationFailedError,
)
from vendors.mercadolivre.catalog import MercadoLivreCatalog
from vendors.mercadolivre.spec import SPEC
from vendors.parsing import (
    EAN_MAX_LENGTH,
    ID_MAX_LENGTH,
    LINE_AMOUNT_DIGITS,
    Reader,
    Unparseable,
    parse_timestamp,
)
from vendors.spec import (
    Flow,
)
from vendors.types import (
    Customer,
    ExternalRef,
    FulfilmentDelivered,
    FulfilmentInvoice,
    FulfilmentResult,
    FulfilmentTracking,
    InvalidOrder,
    LabelFormat,
    NormalizedOrder,
    OrderLine,
    OrderPage,
    OtherIntegration,
    PriceUpdate,
    PushResult,
    ReferenceLists,
    ReferenceValue,
    RemoteListing,
    ShippingLabel,
    StockPage,
    StockReading,
    StockUpdate,
    UnreadReference,
)

logger = logging.getLogger("vendors.mercadolivre")


# Refresh a little before the vendor's expiry so a token never dies in the middle of a run.
TOKEN_REFRESH_MARGIN = timedelta(minutes=5)
DEFAULT_TOKEN_LIFETIME = 21600  # seconds; the vendor's documented expires_in
ORDERS_PAGE_MAX = 50  # vendor page size for /orders/search
ITEMS_SEARCH_PAGE = 50  # offset mode of /users/{id}/items/search
ITEMS_SCAN_PAGE = 100  # scan mode accepts up to 100 per call
ITEMS_OFFSET_CAP = 1000  # offset paging stops here; scan mode beyond
MULTIGET_MAX = 20  # ids per GET /items?ids=
# The order cursor (see _OrderCursor). Mercado Livre's date filters read the date and the hour
# only (issue 11, measured), so `from` is always a whole hour. The next pass starts this much
# before the newest update seen when the pass began, rounded down to the hour: an update that
# reached the vendor's search index late (or a clock difference) still falls inside it.
ORDER_INDEX_MARGIN = timedelta(minutes=5)
# A pass that still reads fewer orders than the search says it holds (orders moved while it
# paged) starts over at most this many times; then `from` stays where it is for the next
# pass, but never further back than ORDER_WINDOW_MAX before the newest update: older gaps are
# the missed-order sweep's (sync.services.sweep).
ORDER_PASS_RESTARTS = 3
ORDER_WINDOW_MAX = timedelta(hours=24)
CURSOR_SEEN_MAX = 20_000  # bounds the cursor's size; an evicted entry can only cause a re-read
# The missed-order sweep lists orders by creation date; a listing that read fewer orders than
# the search counts (one moved in the sort while it was paged) is read again this many times.
SWEEP_LIST_RETRIES = 2
# When a site list cannot be read, the values of recent orders stand in for it: this many
# orders (one search page), each with its shipment (one request each).
REFERENCE_ORDER_SAMPLE = 20
# Fulfilment (see the module docstring): the site invoices are imported for, the logistic types
# whose label waits for the NF-e, and the modes the seller ships (and tracks) itself.
SITE_ID = "MLB"
NFE_IMPORT_TYPES = frozenset({"drop_off", "xd_drop_off", "xd_same_day", "cross_docking"})
SELLER_SHIPPED_MODES = frozenset({"me1", "custom"})

# The order statuses of the "Sales" guide (developers.mercadolivre.com.br/en_us/manage-sales,
# "Order status"), plus `invalid`, documented in the Global Selling orders guide
# (developers.mercadolibre.com.ar/devsite/manage-sales-global-selling): "The order was
# invalidated as it came from a malicious buyer."
ORDER_STATUSES: tuple[tuple[str, str], ...] = (
    ("confirmed", "Confirmed"),
    ("payment_required", "Payment required"),
    ("payment_in_process", "Payment in process"),
    ("partially_paid", "Partially paid"),
    ("paid", "Paid"),
    ("partially_refunded", "Partially refunded"),
    ("pending_cancel", "Pending cancellation"),
    ("cancelled", "Cancelled"),
    ("invalid", "Invalid (malicious buyer)"),
)
_STATUS_LABELS = dict(ORDER_STATUSES)

JSON_HEADERS = {"Accept": "application/json"}
FORM_HEADERS = {"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"}


class MercadoLivreConnector(MercadoLivreCatalog, Connector):
    spec = SPEC
    data_timezone = UTC

    # Injectable clock (tests freeze it); aware UTC datetimes.
    clock: Callable[[], datetime] = staticmethod(lambda: datetime.now(UTC))

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Static headers are passed per request, never as client headers: HttpClient registers
        # every client header value as a secret, and "application/json" is not one.
        self.http = self.http_client(
            secrets=[
                self.credentials.get(name, "")
                for name in ("client_secret", "refresh_token", "access_token")
            ]
        )
        self._user: dict | None = None
        self._seller: str = ""
        # Per order, what this adapter (one per run) last read of it for fulfilment: the pack
        # and the shipment's id and logistic, which do not change. A first attempt of a later
        # event of the same order reuses them instead of reading the order and the shipment
        # again; statuses in it are stale and never decide a first attempt.
        self._shipping_seen: dict[str, tuple[Mapping, Mapping | None]] = {}

    # --- OAuth ------------------------------------------------------------------------------
    def _expiring(self, expires_at: str | None) -> bool:
        moment = _parse_datetime(expires_at)
        if moment is None:
            return True
        return moment - self.clock() <= TOKEN_REFRESH_MARGIN

    def _access_token(self) -> str:
        token = self.credentials.get("access_token") or ""
        if token and not self._expiring(self.credentials.get("access_token_expires_at")):
            return token
        return self._refresh(stale_token=token or None)

    def _refresh(self, *, stale_token: str | None) -> str:
        """A valid access token, refreshing it at most once across every worker.

        `stale_token` is the token this instance holds and considers unusable (expiring, or
        refused with 401); a different, still valid token stored by another worker is adopted
        instead of spending the refresh token again.
        """
        if self.store is None:
            raise ConnectorError(
                "Save the channel before connecting to Mercado Livre: its refresh token is "
                "single-use and the new one must be stored."
            )
        # The one justified exception to "no HTTP inside a transaction": the refresh token is
        # single-use, so reading it, spending it and storing its successor must be one atomic
        # step under the store's lock (the channel's row lock). Otherwise two workers spend the
        # same token and the loser locks the seller out until someone re-authorizes. The lock
        # covers one short call that happens every few hours (tokens last 6 h).
        outcome: dict[str, Any] = {}

        def step(stored: dict[str, str]) -> dict[str, str] | None:
            token = stored.get("access_token") or ""
            if (
                token
                and token != stale_token
                and not self._expiring(stored.get("access_token_expires_at"))
            ):
                # Another worker refreshed while we waited for the lock: use its token.
                outcome["access"] = token
                return None
            refresh_token = stored.get("refresh_token") or ""
            client_id = stored.get("client_id") or self.credentials.get("client_id") or ""
            client_secret = (
                stored.get("client_secret") or self.credentials.get("client_secret") or ""
            )
            if not (refresh_token and client_id and client_secret):
                raise AuthError(
                    "Mercado Livre needs the app's client id, client secret and the seller's "
                    "refresh token; complete the channel's authentication."
                )
            payload = self._request_token(
                client_id=client_id, client_secret=client_secret, refresh_token=refresh_token
            )
            expires_at = (self.clock() + timedelta(seconds=payload["expires_in"])).astimezone(UTC)
            outcome["access"] = payload["access_token"]
            outcome["payload"] = payload
            return {
                "access_token": payload["access_token"],
                "access_token_expires_at": expires_at.isoformat(),
                # Stored in the same step as the access token: once the vendor has answered,
                # the old refresh token is dead and this one is the only way back.
                "refresh_token": payload.get("refresh_token") or "",
            }

        stored = self.store.update_locked(step)
        self.credentials.update({k: v for k, v in stored.items() if v})
        payload = outcome.get("payload")
        if payload is None:
            return outcome["access"]
        if payload.get("user_id"):
            self._seller = str(payload["user_id"])
        logger.info("Mercado Livre access token refreshed for %s", self.store.name)
        return outcome["access"]

    def _request_token(self, *, client_id: str, client_secret: str, refresh_token: str) -> dict:
        register_secret(client_secret)
        register_secret(refresh_token)
        form = {
            "grant_type": "refresh_token",
            "client_id": client_id,
            "client_secret": client_secret,
            "refresh_token": refresh_token,
        }
        try:
            # No automatic retries here: this runs under the channel lock (on SQLite, the whole
            # database's write lock), so it must end after one request timeout. A transient
            # failure fails this run; the next scheduled run refreshes.
            data = self.http.post(
                "/oauth/token",
                data=form,
                headers=FORM_HEADERS,
                retry=False,
                timeout=self.spec.locked_call_timeout,
            )
        except (ValidationFailedError, AuthError, PermissionDeniedError, NotFoundError) as exc:
            code = _oauth_error_code(exc.body)
            if code == "invalid_grant":
                message = (
                    "Mercado Livre: the refresh token was refused; re-authorize the seller "
                    "(it was revoked, expired or already used)."
                )
            elif code == "invalid_client":
                message = (
                    "Mercado Livre refused the app credentials (client id / client secret); "
                    "check them on the channel."
                )
            else:
                message = f"Mercado Livre refused the token refresh: {exc}"
            raise AuthError(
                message, status=exc.status, body=exc.body, method="POST", url=exc.url
            ) from None
        if not isinstance(data, dict) or not isinstance(data.get("access_token"), str):
            raise MalformedResponseError(
                "Mercado Livre's token answer has no access_token.",
                method="POST",
                url="/oauth/token",
            )
        # Register before anything can log or raise with them.
        register_secret(data["access_token"])
        if isinstance(data.get("refresh_token"), str):
            register_secret(data["refresh_token"])
        else:
            logger.warning(
                "Mercado Livre returned no refresh token (the app may lack offline_access); "
                "the next refresh will need a new authorization."
            )
        # Documented lifetime is 6 h; a missing or silly value must not make every call refresh.
        expires_in = _int(data.get("expires_in"), 0)
        data["expires_in"] = expires_in if expires_in > 0 else DEFAULT_TOKEN_LIFETIME
        return data

    # --- API calls ------------------------------------------------------------------------
    def _api(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        token = self._access_token()
        try:
            return self.http.json(
                method, path, params=params, json=json, headers=_auth(token, headers)
            )
        except AuthError as exc:
            if exc.status != 401:
                raise
            logger.info(
                "Mercado Livre answered 401 to %s %s; refreshing the token once", method, path
            )
        token = self._refresh(stale_token=token)
        # A second 401 (or a 403) propagates: the engine suspends the channel.
        return self.http.json(method, path, params=params, json=json, headers=_auth(token, headers))

    def _me(self) -> dict:
        if self._user is None:
            data = self._api("GET", "/users/me")
            if not isinstance(data, dict) or not data.get("id"):
                raise MalformedResponseError(
                    "Mercado Livre's /users/me has no id.", url="/users/me"
                )
            self._user = data
            self._seller = str(data["id"])
        return self._user

    def _seller_id(self) -> str:
        if not self._seller:
            self._me()
        return self._seller

    def verify(self) -> str:
        self._user = None
        return str(self._me()["id"])

    # --- stock and prices -----------------------------------------------------------------
    def push_stock(self, items: list[StockUpdate]) -> PushResult:
        return self._push(items, "available_quantity", lambda u: max(int(u.quantity), 0))

    def push_prices(self, items: list[PriceUpdate]) -> PushResult:
        """One price per item, sent to every variation of it.

        "The price must be the same for each variation. Only the highest price will be seen
        in the VIP and will also be taken into account at the time the payment is made."
        (developers.mercadolivre.com.br/variacoes, "Considerações"). The engine already
        gives every bound variation of an item the same price (the highest ERP price,
        Capability.ONE_PRICE_PER_ITEM); should a batch still carry several, the highest is
        sent, as the vendor would charge it anyway. Variations bound to no ERP SKU get it too.

        list_price is not sent: Mercado Livre derives the struck-through price from
        promotions, not from a field of the item.
        """
        return self._push(items, "price", lambda u: _json_number(u.price), one_value_per_item=True)

    def _push(
        self,
        items,
        field: str,
        value_of: Callable[[Any], Any],
        *,
        one_value_per_item: bool = False,
    ) -> PushResult:
        result = PushResult()
        groups: dict[str, list] = {}
        for update in items:
            if not update.ref.item_id:
                result.rejected[update.key] = "The SKU's Mercado Livre binding has no item id."
                continue
            groups.setdefault(update.ref.item_id, []).append(update)
        for item_id, updates in groups.items():
            with_variation = [u for u in updates if u.ref.variation_id]
            plain = [u for u in updates if not u.ref.variation_id]
            if with_variation:
                for update in plain:
                    result.rejected[update.key] = (
                        f"Item {item_id} has variations: the SKU's binding needs its variation id."
                    )
                self._push_variations(
                    item_id, with_variation, field, value_of, result, one_value_per_item
                )
            else:
                # Several bindings on one plain item: the last value wins (the highest, for a
                # one-per-item value); all share the result.
                value = (
                    max(value_of(u) for u in plain) if one_value_per_item else value_of(plain[-1])
                )
                body = {field: value}
                self._put_item(item_id, body, [u.key for u in plain], result)
        return result

    def _push_variations(
        self, item_id, updates, field, value_of, result: PushResult, one_value_per_item: bool
    ) -> None:
        # The item is read right before the PUT rather than trusting variation ids kept from
        # the last listing scan: a variation added on Mercado Livre since then would be left
        # out of the array and deleted. One extra GET per item with variations is the price.
        try:
            item = self._api("GET", f"/items/{item_id}", params={"attributes": "id,variations"})
        except (ValidationFailedError, NotFoundError) as exc:
            for update in updates:
                result.rejected[update.key] = str(exc)
            return
        variations = item.get("variations") if isinstance(item, dict) else None
        if not isinstance(variations, list):
            raise MalformedResponseError(
                f"Mercado Livre's item {item_id} has no readable variations list.",
                url=f"/items/{item_id}",
            )
        if not variations:
            for update in updates:
                result.rejected[update.key] = (
                    f"Item {item_id} has no variations on Mercado Livre; the SKU's binding "
                    f"names variation {update.ref.variation_id}."
                )
            return
        known = {str(v.get("id")): v.get("id") for v in variations}
        values: dict[str, Any] = {}
        entries: list[tuple[Any, str]] = []  # (key, variation id)
        for update in updates:
            variation_id = str(update.ref.variation_id)
            if variation_id not in known:
                result.rejected[update.key] = (
                    f"Variation {variation_id} does not exist in item {item_id} on Mercado Livre."
                )
                continue
            values[variation_id] = value_of(update)
            entries.append((update.key, variation_id))
        if not entries:
            return

        def body_for(variation_ids) -> dict:
            # Every variation listed by id (one left out would be deleted); values only for
            # those being written.
            wanted = set(variation_ids)
            return {
                "variations": [
                    {"id": raw_id, field: values[vid]} if vid in wanted else {"id": raw_id}
                    for vid, raw_id in known.items()
                ]
            }

        if one_value_per_item:
            # The same value on every variation, those with no ERP binding included: the
            # request is the item's one price, so a refusal is the item's verdict.
            values = dict.fromkeys(known, max(values.values()))
            self._put_item(item_id, body_for(known), [key for key, _ in entries], result)
            return
        # Several variations in one PUT: a 400 refusing the whole is split like any batch
        # (Connector.send_in_batches), so one bad variation does not sink its siblings.
        path = f"/items/{item_id}"
        try:
            self.send_in_batches(
                Flow.STOCK if field == "available_quantity" else Flow.PRICE,
                entries,
                lambda variation_ids: self._api("PUT", path, json=body_for(variation_ids)),
                result,
                refuses_items=lambda exc: isinstance(exc, ValidationFailedError),
                size=len(entries),
            )
        except NotFoundError as exc:  # the item itself is gone: every variation's verdict
            answered = set(result.accepted) | set(result.rejected)
            for key, _ in entries:
                if key not in answered:
                    result.rejected[key] = str(exc)

    def _put_item(self, item_id: str, body: dict, keys: list, result: PushResult) -> None:
        try:
            self._api("PUT", f"/items/{item_id}", json=body)
        except (ValidationFailedError, NotFoundError) as exc:
            for key in keys:
                result.rejected[key] = str(exc)
        else:
            result.accepted.extend(keys)

    # --- stock read back (reconciliation) --------------------------------------------------
    stock_read_page_size = MULTIGET_MAX

    def read_stock(
        self,
        *,
        cursor: str | None = None,
        refs: Sequence[ExternalRef] = (),
        locations: Sequence[str] = (),
    ) -> StockPage:
        """Multiget `GET /items?ids=A,B,…&attributes=id,available_quantity,variations` (at
        most 20 ids a request; answers `[{"code": 200, "body": item}, …]`): an item's
        `available_quantity`, or each variation's. An item the vendor does not return
        (404 in its slot) gives no reading. Mercado Livre keeps no stock location."""
        item_ids = list(dict.fromkeys(ref.item_id for ref in refs if ref.item_id))
        readings: list[StockReading] = []
        for start in range(0, len(item_ids), MULTIGET_MAX):
            chunk = item_ids[start : start + MULTIGET_MAX]
            data = self._api(
                "GET",
                "/items",
                params={"ids": ",".join(chunk), "attributes": "id,available_quantity,variations"},
            )
            read = self.reader("items multiget")
            for index, entry in enumerate(read.objects(data, "")):
                if entry.get("code") != 200:
                    continue
                item = read.obj(entry.get("body"), f"[{index}].body")
                item_id = read.identifier(item.get("id"), f"[{index}].body.id")
                variations = read.objects(
                    item.get("variations"), f"[{index}].body.variations", default=[]
                )
                places = (
                    [
                        (
                            ExternalRef(
                                item_id=item_id,
                                variation_id=read.identifier(
                                    v.get("id"), f"[{index}].body.variations[{n}].id"
                                ),
                            ),
                            v.get("available_quantity"),
                            f"[{index}].body.variations[{n}].available_quantity",
                        )
                        for n, v in enumerate(variations)
                    ]
                    if variations
                    else [
                        (
                            ExternalRef(item_id=item_id),
                            item.get("available_quantity"),
                            f"[{index}].body.available_quantity",
                        )
                    ]
                )
                for ref, value, path in places:
                    try:
                        quantity, problem = read.quantity(value, path, minimum=0), ""
                    except InvalidVendorData as exc:
                        quantity, problem = None, str(exc)
                    readings.append(StockReading(ref=ref, quantity=quantity, problem=problem))
        return StockPage(readings)

    # --- orders ---------------------------------------------------------------------------
    def fetch_orders(self, cursor: str | None, limit: int) -> OrderPage:
        """One page of GET /orders/search on the cursor's window (see _OrderCursor).

        `sort=date_asc` is sent explicitly (the documented sorts are date_asc and date_desc;
        which date they sort on is not documented, so nothing here relies on a stable order).
        An order whose version (id + last_updated) was already delivered is not read again:
        no shipment GET, no page entry."""
        state = _OrderCursor.load(cursor)
        page_size = max(1, min(int(limit or ORDERS_PAGE_MAX), ORDERS_PAGE_MAX))
        params: dict[str, Any] = {
            "seller": self._seller_id(),
            "sort": "date_asc",
            "offset": state.offset,
            "limit": page_size,
        }
        if state.date_from is not None:
            params["order.date_last_updated.from"] = _format_vendor_datetime(
                _from_millis(state.date_from)
            )
        data = self._api("GET", "/orders/search", params=params)
        if not isinstance(data, dict) or not isinstance(data.get("results"), list):
            raise MalformedResponseError(
                "Mercado Livre's /orders/search answer has no results list.", url="/orders/search"
            )
        results = data["results"]
        total = _paging_total(self.reader("order search"), data)
        orders: list[NormalizedOrder] = []
        invalid: list[InvalidOrder] = []
        versions = [_version_of(raw) for raw in results]
        state.begin_page([moment for _id, moment in versions if moment is not None])
        for raw, (order_id, moment) in zip(results, versions, strict=True):
            if not state.note(order_id, moment):
                continue  # this version of the order was already delivered
            # A result that is not an order, or has no id, still comes back as an
            # InvalidOrder (keyed by its content): the offset moves past it either way.
            read_order = self.order_or_invalid(raw)
            if isinstance(read_order, InvalidOrder):
                invalid.append(read_order)
            else:
                orders.append(read_order)
        has_more = state.end_page(read=len(results), total=total)
        return OrderPage(
            orders=orders, next_cursor=state.dump(), has_more=has_more, invalid=invalid
        )

    def recent_orders(self, since: datetime) -> Iterator[tuple[str, datetime | None]]:
        """The missed-order sweep's listing: the orders created since `since` (read to the
        hour), paged by offset. Nothing ever leaves that set (date_created never
        changes), so a listing that yields fewer distinct ids than the search counts means an
        order moved in the sort while it was paged: it is read again, up to
        SWEEP_LIST_RETRIES times. Ids come out once each."""
        params: dict[str, Any] = {
            "seller": self._seller_id(),
            "sort": "date_asc",
            "order.date_created.from": _format_vendor_datetime(_hour_floor(since)),
            "limit": ORDERS_PAGE_MAX,
        }
        found: set[str] = set()
        for _attempt in range(1 + SWEEP_LIST_RETRIES):
            offset = total = 0
            while True:
                data = self._api("GET", "/orders/search", params={**params, "offset": offset})
                if not isinstance(data, dict) or not isinstance(data.get("results"), list):
                    raise MalformedResponseError(
                        "Mercado Livre's /orders/search answer has no results list.",
                        url="/orders/search",
                    )
                total = _paging_total(self.reader("order search"), data)
                for index, raw in enumerate(data["results"]):
                    order_id = _listed_id(self.reader("order search"), raw, index)
                    if order_id is not None and order_id not in found:
                        found.add(order_id)
                        yield order_id, _parse_datetime(raw.get("date_created"))
                offset += len(data["results"])
                if not data["results"] or offset >= total:
                    break
            if len(found) >= total:
                return

    def get_order_document(self, external_id: str) -> object:
        """GET /orders/{id}: the same document /orders/search returns for it."""
        return self._api("GET", f"/orders/{quote(external_id, safe='')}")

    def order_companions(self, document: Mapping[str, Any]) -> dict[str, Any]:
        return {"shipment": self._shipment(document), "billing": self._billing(document)}

    def _billing(self, order: Mapping[str, Any]) -> dict | None:
        """The buyer's CPF/CNPJ, which the order itself does not carry: GET
        /orders/{id}/billing_info with `x-version: 2` ("Billing data" guide,
        developers.mercadolibre.com.bo/en_us/introduction-services/billing-data: v2 answers
        `buyer.billing_info.identification {type, number}`; the previous version is being
        removed for MLB). Read for paid orders only — the document is what the NF-e needs,
        and nothing is invoiced before payment —, so an unpaid order costs no extra request.
        Brazil returns billing data for some sales only (fulfillment, cross docking, official
        stores…, same guide): a 404 is "no document", not an error."""
        if order.get("status") != "paid" or order.get("id") in (None, ""):
            return None
        try:
            data = self._api(
                "GET",
                f"/orders/{quote(str(order['id']), safe='')}/billing_info",
                headers={"x-version": "2"},
            )
        except NotFoundError:
            return None
        return data if isinstance(data, dict) else None

    def _shipment(self, order: Mapping[str, Any]) -> dict | None:
        read = self.reader("order").about(f"order {order.get('id')}")
        shipping = read.obj(order.get("shipping"), "shipping", default={})
        shipment_id = read.identifier(shipping.get("id"), "shipping.id", default="")
        if not shipment_id:
            return None  # "a combinar" orders have no Mercado Envios shipment
        try:
            data = self._api(
                "GET",
                f"/shipments/{quote(shipment_id, safe='')}",
                headers={"x-format-new": "true"},
            )
        except NotFoundError:
            # Permanent: raising would block every later order behind this one. The order is
            # imported without carrier, which the de-para step holds for a person to look at.
            logger.warning(
                "Mercado Livre shipment %s of order %s not found", shipment_id, order.get("id")
            )
            return None
        return data if isinstance(data, dict) else None

    # --- fulfilment -----------------------------------------------------------------------
    def _api_raw(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """`_api` for bodies and answers that are not JSON (an XML, a file, a label)."""
        token = self._access_token()
        try:
            return self.http.request(
                method, path, params=params, data=data, headers=_auth(token, headers)
            )
        except AuthError as exc:
            if exc.status != 401:
                raise
        token = self._refresh(stale_token=token)
        return self.http.request(
            method, path, params=params, data=data, headers=_auth(token, headers)
        )

    def _fulfilment_shipment(
        self, external_id: str, *, fresh: bool = True, refs: Mapping[str, str] | None = None
    ) -> tuple[Mapping, Mapping | None]:
        """The order and its shipment (None: no Mercado Envios shipment). `fresh` False (a
        first attempt): what the import stored (`refs`), else what this adapter read of the
        order before, when it did (ids and logistic only, no request); else both are read."""
        if not fresh:
            known = _known_shipping(external_id, refs or {})
            if known is not None:
                return known
            if external_id in self._shipping_seen:
                return self._shipping_seen[external_id]
        order = self.get_order_document(external_id)
        if not isinstance(order, Mapping):
            raise self._not_an_order(order, external_id)
        shipment = self._shipment(order)
        self._shipping_seen[external_id] = (
            {"id": order.get("id"), "pack_id": order.get("pack_id")},
            None
            if shipment is None
            else {
                "id": shipment.get("id"),
                "logistic": shipment.get("logistic"),
                "status": shipment.get("status"),
                "substatus": shipment.get("substatus"),
            },
        )
        return order, shipment

    def _logistic(self, shipment: Mapping | None, external_id: str) -> tuple[str, str]:
        if shipment is None:
            return "", ""
        read = self.reader(f"order {external_id}")
        logistic = read.obj(shipment.get("logistic"), "shipment.logistic", default={})
        mode = read.code(logistic.get("mode"), "shipment.logistic.mode", default="")
        kind = read.code(logistic.get("type"), "shipment.logistic.type", default="")
        return mode, kind

    def send_invoice(
        self, external_id: str, invoice: FulfilmentInvoice, *, may_have_applied: bool = True
    ) -> FulfilmentResult:
        """NF-e import for the shipments that wait for it, the pack's fiscal document for the
        others, nothing for Full. Neither write is documented as idempotent (one import per
        shipment, one document per pack): a retry (may_have_applied) reads what the shipment
        or the pack holds first; a first attempt writes, and when Mercado Livre refuses it,
        reads whether the document is there already (then ALREADY_APPLIED)."""
        try:
            order, shipment = self._fulfilment_shipment(
                external_id, fresh=may_have_applied, refs=invoice.order_refs
            )
            mode, kind = self._logistic(shipment, external_id)
            if kind == "fulfillment":
                return FulfilmentResult.not_needed(
                    "Mercado Livre issues the invoice of Full (fulfillment) shipments itself."
                )
            xml = invoice.xml_bytes
            if not xml:
                return FulfilmentResult.refused(
                    f"Mercado Livre needs the NF-e XML of invoice {invoice.number} "
                    f"({kind or mode or 'no shipment'}); the invoice has none."
                )
            if shipment is not None and kind in NFE_IMPORT_TYPES:
                return self._import_nfe(shipment, invoice, xml, check_first=may_have_applied)
            return self._attach_fiscal_document(
                external_id, order, invoice, xml, check_first=may_have_applied
            )
        except ConnectorError as exc:
            return self.fulfilment_result(exc)

    def _import_nfe(
        self, shipment: Mapping, invoice: FulfilmentInvoice, xml: bytes, *, check_first: bool
    ) -> FulfilmentResult:
        path = f"/shipments/{quote(str(shipment.get('id')), safe='')}/invoice_data"
        params = {"siteId": SITE_ID}
        applied = FulfilmentResult.already_applied(
            f"Mercado Livre shipment {shipment.get('id')} has NF-e {invoice.access_key} already."
        )

        def held() -> bool:
            try:
                data = self._api("GET", path, params=params)
            except NotFoundError:
                return False
            return isinstance(data, Mapping) and data.get("fiscal_key") == invoice.access_key

        if check_first and shipment.get("substatus") != "invoice_pending" and held():
            return applied
        try:
            self._api_raw(
                "POST", path, params=params, data=xml, headers={"Content-Type": "application/xml"}
            )
        except ConnectorError as exc:
            if not _confirmable(exc) or check_first or not held():
                raise
            return applied
        return FulfilmentResult.accepted(
            message=f"NF-e imported into shipment {shipment.get('id')}: the label is released."
        )

    def _attach_fiscal_document(
        self,
        external_id: str,
        order: Mapping,
        invoice: FulfilmentInvoice,
        xml: bytes,
        *,
        check_first: bool,
    ) -> FulfilmentResult:
        read = self.reader(f"order {external_id}")
        pack = read.identifier(order.get("pack_id"), "pack_id", default="") or external_id
        path = f"/packs/{quote(pack, safe='')}/fiscal_documents"
        applied = FulfilmentResult.already_applied(
            f"Mercado Livre pack {pack} has its fiscal document already."
        )

        def held() -> bool:
            data = self._api("GET", path)
            return bool(data.get("fiscal_documents") if isinstance(data, Mapping) else None)

        if check_first and held():
            return applied
        body, content_type = encode_multipart_formdata(
            {"fiscal_document": (f"NFe{invoice.access_key}.xml", xml, "application/xml")}
        )
        try:
            self._api_raw("POST", path, data=body, headers={"Content-Type": content_type})
        except ConnectorError as exc:
            if not _confirmable(exc) or check_first or not held():
                raise
            return applied
        return FulfilmentResult.accepted(message=f"Fiscal document attached to pack {pack}.")

    def _seller_notification(
        self,
        external_id: str,
        status: str,
        body: dict,
        done: Callable[[Mapping], bool],
        *,
        check_first: bool,
        refs: Mapping[str, str],
    ) -> FulfilmentResult:
        _order, shipment = self._fulfilment_shipment(external_id, fresh=check_first, refs=refs)
        mode, kind = self._logistic(shipment, external_id)
        if shipment is None or mode not in SELLER_SHIPPED_MODES:
            return FulfilmentResult.not_needed(
                f"Mercado Envios ships and tracks this order ({mode or 'no shipment'} "
                f"{kind}) itself."
            )
        applied = FulfilmentResult.already_applied(
            f"Mercado Livre shipment {shipment.get('id')} is {status} already."
        )
        if check_first and done(shipment):
            return applied
        path = f"/shipments/{quote(str(shipment.get('id')), safe='')}/seller_notifications"
        try:
            self._api("POST", path, json={"status": status, "substatus": None, **body})
        except ConnectorError as exc:
            if not _confirmable(exc) or check_first:
                raise
            _order, now = self._fulfilment_shipment(external_id)
            if now is None or not done(now):
                raise
            return applied
        return FulfilmentResult.accepted()

    def send_tracking(
        self, external_id: str, tracking: FulfilmentTracking, *, may_have_applied: bool = True
    ) -> FulfilmentResult:
        """For shipments the seller ships (me1, custom): `shipped` with the tracking number."""
        try:
            return self._seller_notification(
                external_id,
                "shipped",
                {"tracking_number": tracking.tracking_number},
                lambda s: (
                    s.get("status") in ("shipped", "delivered")
                    and s.get("tracking_number") == tracking.tracking_number
                ),
                check_first=may_have_applied,
                refs=tracking.order_refs,
            )
        except ConnectorError as exc:
            return self.fulfilment_result(exc)

    def mark_delivered(
        self, external_id: str, delivered: FulfilmentDelivered, *, may_have_applied: bool = True
    ) -> FulfilmentResult:
        """For shipments the seller ships (me1, custom): `delivered`."""
        try:
            return self._seller_notification(
                external_id,
                "delivered",
                {},
                lambda s: s.get("status") == "delivered",
                check_first=may_have_applied,
                refs=delivered.order_refs,
            )
        except ConnectorError as exc:
            return self.fulfilment_result(exc)

    def shipping_label(
        self, external_id: str, label_format: LabelFormat = LabelFormat.PDF
    ) -> ShippingLabel:
        """The ME2 label as PDF, or ZPL for thermal printers (unzipped when it comes zipped).
        Mercado Livre refuses it (a ConnectorError with its words) until it is released."""
        _order, shipment = self._fulfilment_shipment(external_id)
        mode, _kind = self._logistic(shipment, external_id)
        if shipment is None or mode != "me2":
            raise NotSupportedError(
                f"Mercado Livre prints no label for order {external_id} ({mode or 'no shipment'})."
            )
        shipment_id = str(shipment.get("id"))
        response = self._api_raw(
            "GET",
            "/shipment_labels",
            params={
                "shipment_ids": shipment_id,
                "response_type": "pdf" if label_format == LabelFormat.PDF else "zpl2",
            },
        )
        content = response.content
        if label_format == LabelFormat.PDF:
            return ShippingLabel(
                LabelFormat.PDF, content, "application/pdf", f"etiqueta-{shipment_id}.pdf"
            )
        if content.startswith(b"PK"):
            try:
                with zipfile.ZipFile(io.BytesIO(content)) as archive:
                    content = b"".join(archive.read(name) for name in archive.namelist())
            except zipfile.BadZipFile:
                raise MalformedResponseError(
                    f"Mercado Livre's ZPL label of shipment {shipment_id} is a broken ZIP."
                ) from None
        return ShippingLabel(
            LabelFormat.ZPL, content, "text/plain; charset=utf-8", f"etiqueta-{shipment_id}.zpl"
        )

    def normalize_order(
        self,
        payload: Mapping[str, Any],
        *,
        shipment: Mapping[str, Any] | None = None,
        billing: Mapping[str, Any] | None = None,
    ) -> NormalizedOrder:
        """An order of /orders/search, with its shipment (GET /shipments/{id}, read apart; None
        for orders without one), as the engine sees it.

        Required: id, status, total_amount, and each line's quantity and unit_price. Optional:
        the shipping cost (absent is none), the dates (absent is None). Field paths of the
        shipment start with `shipment.`.

        Totals come from the amounts the order always carries, never from `paid_amount`, which
        is 0 until the buyer pays (issue 11: 8 of 43 orders imported with total 0.00): the
        items are `total_amount` ("Sales" guide, developers.mercadolivre.com.br/en_us/
        manage-sales), the shipping is what the buyer pays for the shipment — the new-format
        shipment's `lead_time.cost` ("cost: final shipping cost, free shipping could apply";
        developers.mercadolibre.com.ar/devsite/manage-shipments and the shipping-cost
        calculator's field list), else the `shipping_cost` of the order's approved payments —
        and the total is their sum, which is what the "Shopping cart orders" guide calls
        total_amount_with_shipping (developers.mercadolivre.com.br/en_us/
        shopping-cart-order-handling) and what `paid_amount` becomes once paid.
        """
        read = self.reader("order")
        order_id = read.identifier(payload.get("id"), "id")
        read = read.about(f"order {order_id}")
        lines = []
        entries = read.objects(payload.get("order_items"), "order_items", default=[])
        for index, entry in enumerate(entries):
            at = f"order_items[{index}]"
            item = read.obj(entry.get("item"), f"{at}.item", default={})
            seller_sku = (
                read.identifier(item.get("seller_sku"), f"{at}.item.seller_sku", default="")
                or read.identifier(
                    item.get("seller_custom_field"), f"{at}.item.seller_custom_field", default=""
                )
                or _attribute(
                    read,
                    item.get("variation_attributes"),
                    "SELLER_SKU",
                    f"{at}.item.variation_attributes",
                )
            )
            lines.append(
                OrderLine(
                    seller_sku=seller_sku,
                    quantity=read.quantity(entry.get("quantity"), f"{at}.quantity"),
                    unit_price=read.money(
                        entry.get("unit_price"), f"{at}.unit_price", digits=LINE_AMOUNT_DIGITS
                    ),
                    item_id=read.identifier(item.get("id"), f"{at}.item.id", default=""),
                    variation_id=read.identifier(
                        item.get("variation_id"), f"{at}.item.variation_id", default=""
                    ),
                    title=read.text(item.get("title"), f"{at}.item.title"),
                )
            )
        payments = read.objects(payload.get("payments"), "payments", default=[])
        approved = [index for index, p in enumerate(payments) if p.get("status") == "approved"]
        chosen = approved[0] if approved else (0 if payments else None)
        payment = payments[chosen] if chosen is not None else {}
        shipment = read.obj(shipment, "shipment", default={})
        lead_time = read.obj(shipment.get("lead_time"), "shipment.lead_time", default={})
        method = read.obj(
            lead_time.get("shipping_method"), "shipment.lead_time.shipping_method", default={}
        )
        logistic = read.obj(shipment.get("logistic"), "shipment.logistic", default={})
        carrier = read.code(
            shipment.get("tracking_method"), "shipment.tracking_method", default=""
        ) or read.code(logistic.get("mode"), "shipment.logistic.mode", default="")
        logistic_type = read.code(logistic.get("type"), "shipment.logistic.type", default="")
        fulfilment_refs = self._fulfilment_refs(read, payload, shipment, logistic, logistic_type)
        buyer = read.obj(payload.get("buyer"), "buyer", default={})
        name = " ".join(
            part
            for part in (
                read.text(buyer.get("first_name"), "buyer.first_name"),
                read.text(buyer.get("last_name"), "buyer.last_name"),
            )
            if part
        )
        name = read.text(name, "buyer.first_name + last_name") or read.text(
            buyer.get("nickname"), "buyer.nickname"
        )
        items_total = read.money(payload.get("total_amount"), "total_amount")
        if lead_time.get("cost") not in (None, ""):
            shipping_total = read.money(lead_time["cost"], "shipment.lead_time.cost")
            shipping_path = "shipment.lead_time.cost"
        else:
            shipping_total = sum(
                (
                    read.money(
                        payments[index].get("shipping_cost"),
                        f"payments[{index}].shipping_cost",
                        default=Decimal("0"),
                    )
                    for index in approved
                ),
                Decimal("0"),
            )
            shipping_path = "payments (sum of shipping_cost)"
        status = read.code(payload.get("status"), "status")
        # The delivery address is the shipment's `destination` (new format; "receiver_address
        # is now equivalent to destination.shipping_address", "Ship products" guide,
        # developers.mercadolibre.com.ar/devsite/manage-shipments): receiver_name and
        # receiver_phone, then street_name, street_number, comment, neighborhood.name,
        # city.name, state.id ("BR-SP"), zip_code.
        destination = read.obj(shipment.get("destination"), "shipment.destination", default={})
        at = "shipment.destination.shipping_address"
        place = read.obj(destination.get("shipping_address"), at, default={})
        if not place and shipment.get("receiver_address") is not None:
            at = "shipment.receiver_address"
            place = read.obj(shipment.get("receiver_address"), at)
        city = read.obj(place.get("city"), f"{at}.city", default={})
        state = read.obj(place.get("state"), f"{at}.state", default={})
        district = read.obj(place.get("neighborhood"), f"{at}.neighborhood", default={})
        state_value, state_path = state.get("id"), f"{at}.state.id"
        if not str(state_value or "").upper().startswith("BR-"):
            state_value, state_path = state.get("name"), f"{at}.state.name"
        delivery = read.address(
            postal_code=(place.get("zip_code"), f"{at}.zip_code"),
            state=(state_value, state_path),
            recipient=(
                destination.get("receiver_name") or place.get("receiver_name"),
                "shipment.destination.receiver_name",
            ),
            street=(place.get("street_name"), f"{at}.street_name"),
            number=(place.get("street_number"), f"{at}.street_number"),
            complement=(place.get("comment"), f"{at}.comment"),
            district=(district.get("name"), f"{at}.neighborhood.name"),
            city=(city.get("name"), f"{at}.city.name"),
            phone=(
                destination.get("receiver_phone") or place.get("receiver_phone"),
                "shipment.destination.receiver_phone",
            ),
        )
        billing = read.obj(billing, "billing_info", default={})
        billing_buyer = read.obj(billing.get("buyer"), "billing_info.buyer", default={})
        billing_info = read.obj(
            billing_buyer.get("billing_info"), "billing_info.buyer.billing_info", default={}
        )
        identification = read.obj(
            billing_info.get("identification"),
            "billing_info.buyer.billing_info.identification",
            default={},
        )
        document = read.text(
            identification.get("number"), "billing_info.buyer.billing_info.identification.number"
        )
        return NormalizedOrder(
            external_id=order_id,
            status_code=status,
            status_label=_STATUS_LABELS.get(status, status),
            carrier_code=carrier,
            carrier_label=carrier,
            service_code=read.code(
                method.get("id"), "shipment.lead_time.shipping_method.id", default=""
            )
            or logistic_type,
            service_label=read.text(method.get("name"), "shipment.lead_time.shipping_method.name")
            or logistic_type,
            payment_code=read.code(
                payment.get("payment_method_id"),
                f"payments[{chosen}].payment_method_id",
                default="",
            ),
            payment_label=read.text(
                payment.get("payment_type"), f"payments[{chosen}].payment_type"
            ),
            lines=tuple(lines),
            # Mercado Livre masks the buyer's e-mail; the CPF/CNPJ comes from billing_info.
            customer=Customer(name=name, document="".join(ch for ch in document if ch.isdigit())),
            delivery=delivery,
            items_total=items_total,
            shipping_total=read.money(shipping_total, shipping_path),
            total=read.money(items_total + shipping_total, "total_amount + shipping"),
            placed_at=read.timestamp(payload.get("date_created"), "date_created", default=None),
            updated_at=read.timestamp(payload.get("last_updated"), "last_updated", default=None),
            fulfilment_refs=fulfilment_refs,
            raw={"order": payload, "shipment": shipment or None, "billing": billing or None},
        )

    def _fulfilment_refs(
        self, read, payload: Mapping, shipment: Mapping, logistic: Mapping, logistic_type: str
    ) -> dict[str, str]:
        """What the fulfilment calls decide on (see `_known_shipping`): the shipment's id and
        logistic mode and type (which call sends the invoice, whether the seller sends the
        tracking) and the order's pack. {} when the order names a shipment that could not be
        read (a 404 at import): fulfilment then reads it, as for orders imported before."""
        shipping = read.obj(payload.get("shipping"), "shipping", default={})
        named = read.identifier(shipping.get("id"), "shipping.id", default="")
        shipment_id = read.identifier(shipment.get("id"), "shipment.id", default="")
        if named and not shipment_id:
            return {}
        return {
            "shipment_id": shipment_id,
            "logistic_mode": read.code(logistic.get("mode"), "shipment.logistic.mode", default=""),
            "logistic_type": logistic_type,
            "pack_id": read.identifier(payload.get("pack_id"), "pack_id", default=""),
        }

    # --- listings -------------------------------------------------------------------------
    def list_listings(self) -> Iterator[RemoteListing]:
        path = f"/users/{self._seller_id()}/items/search"
        pending: list[str] = []
        page = self._api("GET", path, params={"offset": 0, "limit": ITEMS_SEARCH_PAGE})
        ids = self._id_list(page)
        total = _paging_total(self.reader("item search"), page)
        if total <= ITEMS_OFFSET_CAP:
            offset = 0
            while True:
                pending.extend(ids)
                while len(pending) >= MULTIGET_MAX:
                    yield from self._multiget(pending[:MULTIGET_MAX])
                    del pending[:MULTIGET_MAX]
                offset += len(ids)
                if not ids or offset >= total:
                    break
                page = self._api("GET", path, params={"offset": offset, "limit": ITEMS_SEARCH_PAGE})
                ids = self._id_list(page)
        else:
            # Offset paging cannot go past 1000; scan mode restarts from the first item, so
            # the first page above is simply not used.
            scroll_id = None
            while True:
                params: dict[str, Any] = {"search_type": "scan", "limit": ITEMS_SCAN_PAGE}
                if scroll_id:
                    params["scroll_id"] = scroll_id
                page = self._api("GET", path, params=params)
                ids = self._id_list(page)
                if not ids:
                    break
                pending.extend(ids)
                while len(pending) >= MULTIGET_MAX:
                    yield from self._multiget(pending[:MULTIGET_MAX])
                    del pending[:MULTIGET_MAX]
                scroll_id = page.get("scroll_id")
                if not scroll_id:
                    break
        if pending:
            yield from self._multiget(pending)

    def _multiget(self, ids: list[str]) -> Iterator[RemoteListing]:
        data = self._api(
            "GET", "/items", params={"ids": ",".join(ids), "include_attributes": "all"}
        )
        if not isinstance(data, list):
            raise MalformedResponseError(
                "Mercado Livre's multiget answer is not a list.", url="/items"
            )
        for entry in data:
            body = entry.get("body") if isinstance(entry, dict) else None
            if (
                not isinstance(entry, dict)
                or entry.get("code") != 200
                or not isinstance(body, dict)
            ):
                logger.warning(
                    "Mercado Livre multiget skipped an item: code %s",
                    entry.get("code") if isinstance(entry, dict) else "?",
                )
                continue
            yield from self._listings_of(body)

    def _id_list(self, page: object) -> list[str]:
        if not isinstance(page, dict) or not isinstance(page.get("results"), list):
            raise MalformedResponseError(
                "Mercado Livre's item search answer has no results list.",
                url="/users/{id}/items/search",
            )
        read = self.reader("item search")
        return [
            read.identifier(item_id, f"results[{index}]")
            for index, item_id in enumerate(page["results"])
            if item_id
        ]

    def _listings_of(self, item: Mapping[str, Any]) -> list[RemoteListing]:
        read = self.reader("item")
        item_id = read.identifier(item.get("id"), "id")
        read = read.about(f"item {item_id}")
        title = read.text(item.get("title"), "title")
        active = read.code(item.get("status"), "status", default="active") == "active"
        attributes = item.get("attributes")
        variations = read.objects(item.get("variations"), "variations", default=[])
        if not variations:
            seller_sku = _attribute(read, attributes, "SELLER_SKU", "attributes") or (
                read.identifier(item.get("seller_custom_field"), "seller_custom_field", default="")
            )
            return [
                RemoteListing(
                    ref=ExternalRef(item_id=item_id, seller_sku=seller_sku),
                    seller_sku=seller_sku,
                    ean=_attribute(read, attributes, "GTIN", "attributes"),
                    title=title,
                    active=active,
                )
            ]
        listings = []
        for index, variation in enumerate(variations):
            at = f"variations[{index}]"
            own = variation.get("attributes")
            seller_sku = _attribute(read, own, "SELLER_SKU", f"{at}.attributes") or (
                read.identifier(
                    variation.get("seller_custom_field"), f"{at}.seller_custom_field", default=""
                )
            )
            combinations = read.objects(
                variation.get("attribute_combinations"), f"{at}.attribute_combinations", default=[]
            )
            combination = " / ".join(
                value
                for number, c in enumerate(combinations)
                if (
                    value := read.text(
                        c.get("value_name"), f"{at}.attribute_combinations[{number}].value_name"
                    )
                )
            )
            listings.append(
                RemoteListing(
                    ref=ExternalRef(
                        item_id=item_id,
                        variation_id=read.identifier(variation.get("id"), f"{at}.id"),
                        seller_sku=seller_sku,
                    ),
                    seller_sku=seller_sku,
                    ean=_attribute(read, own, "GTIN", f"{at}.attributes"),
                    title=read.text(f"{title} — {combination}" if combination else title, "title"),
                    active=active,
                )
            )
        return listings

    # --- activation support ---------------------------------------------------------------
    def other_integrations(self) -> list[OtherIntegration]:
        apps = self._api("GET", f"/users/{self._seller_id()}/applications")
        if not isinstance(apps, list):
            raise MalformedResponseError(
                "Mercado Livre's applications answer is not a list.", url="/users/{id}/applications"
            )
        own = str(self.credentials.get("client_id") or "").strip()
        found = []
        for app in apps:
            if not isinstance(app, dict):
                continue
            app_id = str(app.get("app_id") or "").strip()
            if not app_id or app_id == own:
                continue
            scopes = app.get("scopes") or []
            found.append(
                OtherIntegration(
                    app_id=app_id,
                    name=self._application_name(app_id),
                    connected_at=str(app.get("date_created") or ""),
                    detail="scopes: " + ", ".join(str(s) for s in scopes) if scopes else "",
                )
            )
        return found

    def _application_name(self, app_id: str) -> str:
        try:
            data = self._api("GET", f"/applications/{app_id}")
        except (NotFoundError, PermissionDeniedError):
            return ""  # the name is a courtesy; the app id is what support acts on
        return str(data.get("name") or "") if isinstance(data, dict) else ""

    def reference_values(self) -> list[ReferenceValue]:
        return self.reference_lists().values

    def reference_lists(self) -> ReferenceLists:
        """The order statuses, and the site's payment and shipping methods
        (`GET /sites/{site}/payment_methods`, `/shipping_methods`: public lists served apart
        from the seller's data).

        A list that cannot be read is reported in `unread` with the reason instead of failing
        the whole read — it says nothing about the seller's account — and the values of that
        kind seen in the seller's recent orders are added, so the de-para is still checked
        against what this seller's orders really carry. An auth error still raises."""
        values = [ReferenceValue("order_status", code, label) for code, label in ORDER_STATUSES]
        site = self.reader("user").code(self._me().get("site_id"), "site_id", default="MLB")
        unread: list[UnreadReference] = []
        for kind, path, parse in (
            ("payment_method", f"/sites/{site}/payment_methods", self._payment_methods),
            ("carrier_service", f"/sites/{site}/shipping_methods", self._shipping_methods),
        ):
            try:
                values += parse(site, self._api("GET", path))
            except (AuthError, PermissionDeniedError):
                raise
            except ConnectorError as exc:
                logger.warning("Mercado Livre: could not read %s: %s", path, exc)
                unread.append(UnreadReference(kind, f"GET {path}", str(exc)))
        if unread:
            values += self._values_seen_in_orders({gap.kind for gap in unread})
        return ReferenceLists(values=values, unread=unread)

    def _payment_methods(self, site: str, data: object) -> list[ReferenceValue]:
        read = self.reader(f"site {site} payment methods")
        return [
            ReferenceValue(
                "payment_method",
                read.code(method["id"], f"[{index}].id"),
                read.text(method.get("name"), f"[{index}].name"),
            )
            for index, method in enumerate(_list_of(data, f"/sites/{site}/payment_methods"))
            if isinstance(method, dict) and method.get("id")
        ]

    def _shipping_methods(self, site: str, data: object) -> list[ReferenceValue]:
        # Orders carry the shipping method id (service) and the shipment's tracking_method
        # (carrier); the site's shipping methods list both, company_name being the carrier.
        read = self.reader(f"site {site} shipping methods")
        values = []
        for index, method in enumerate(_list_of(data, f"/sites/{site}/shipping_methods")):
            if not isinstance(method, dict) or not method.get("id"):
                continue
            if method.get("status") not in (None, "active"):
                continue
            values.append(
                ReferenceValue(
                    "carrier_service",
                    read.code(method["id"], f"[{index}].id"),
                    read.text(method.get("name"), f"[{index}].name"),
                    parent_code=read.code(
                        method.get("company_name"), f"[{index}].company_name", default=""
                    ),
                )
            )
        return values

    def _values_seen_in_orders(self, kinds: set[str]) -> list[ReferenceValue]:
        """The `kinds` values of the seller's most recent orders (read as the order import
        reads them; an order that cannot be read is skipped)."""
        data = self._api(
            "GET",
            "/orders/search",
            params={
                "seller": self._seller_id(),
                "sort": "date_desc",
                "offset": 0,
                "limit": REFERENCE_ORDER_SAMPLE,
            },
        )
        results = data.get("results") if isinstance(data, dict) else None
        seen: dict[tuple[str, str, str], ReferenceValue] = {}
        for raw in results if isinstance(results, list) else []:
            order = self.order_or_invalid(raw)
            if isinstance(order, InvalidOrder):
                continue
            if "payment_method" in kinds and order.payment_code:
                value = ReferenceValue("payment_method", order.payment_code, order.payment_label)
                seen.setdefault((value.kind, value.code, ""), value)
            if "carrier_service" in kinds and (order.carrier_code or order.service_code):
                value = ReferenceValue(
                    "carrier_service",
                    order.service_code,
                    order.service_label,
                    parent_code=order.carrier_code,
                )
                seen.setdefault((value.kind, value.code, value.parent_code), value)
        return list(seen.values())


# --- the order cursor ------------------------------------------------------------------------


class _OrderCursor:
    """Where order reading stands, serialised as JSON into the engine's opaque cursor.

    Mercado Livre's order search filters on `order.date_last_updated.from` (read to the hour)
    and pages by offset over an order it does not promise to keep: the documented sorts are
    date_asc / date_desc and the vendor sorts on date_closed, which an unpaid order gets only
    when it is paid — so an order can move while we page, and the order that slides into a
    position already read is skipped by plain offset paging (issue 11).

    A *pass* pages one window `[from, now)` (`from` a whole hour) by offset. The window only
    ever gains members (last_updated grows), so a pass that read as many distinct orders as
    the search counts at its last page read every one of them; one that read fewer (an order
    moved behind the offset) starts over from offset 0 — cheaply: `seen` (order id ->
    last_updated already delivered) drops every version already delivered, so a re-read page
    costs its search request only, no shipment GET, and the engine's upsert makes any repeat
    harmless anyway. A clean pass moves `from` to the newest update known when it began, minus
    ORDER_INDEX_MARGIN, rounded down to the hour: everything updated since is in the next
    window (the overlap). Entries of `seen` are dropped only once they fall before `from`,
    where the vendor can no longer return them — so no unchanged order is read twice.

    The cursor also accepts a bare ISO datetime (start from that hour) and the previous JSON
    shape (v1), which it continues from its `from`.
    """

    VERSION = 2

    def __init__(self) -> None:
        self.date_from: int | None = None  # epoch milliseconds, a whole hour
        self.offset = 0
        self.pass_no = 0
        self.restarts = 0
        self.pass_start: int | None = None  # newest update known when the pass began (ms)
        self.newest: int | None = None  # newest update ever delivered (ms)
        self.unkeyed = 0  # results of this pass without a readable id
        self.seen: dict[str, list[int]] = {}  # order id -> [last_updated ms, pass number]

    @classmethod
    def load(cls, cursor: str | None) -> _OrderCursor:
        state = cls()
        text = (cursor or "").strip()
        if text.startswith("{"):
            try:
                data = json.loads(text)
                if data.get("v") == cls.VERSION:
                    state.date_from = _int_or_none(data.get("from"))
                    state.offset = int(data.get("offset") or 0)
                    state.pass_no = int(data.get("pass") or 0)
                    state.restarts = int(data.get("restarts") or 0)
                    state.pass_start = _int_or_none(data.get("pass_start"))
                    state.newest = _int_or_none(data.get("newest"))
                    state.unkeyed = int(data.get("unkeyed") or 0)
                    state.seen = {
                        str(k): [int(v[0]), int(v[1])] for k, v in (data.get("seen") or {}).items()
                    }
                else:  # v1: continue from its window, reading it anew
                    moment = _parse_datetime(data.get("from"))
                    state.date_from = None if moment is None else _hour_millis(moment)
                    state.seen = {
                        str(k): [_millis(m), 0]
                        for k, v in (data.get("seen") or {}).items()
                        if (m := _parse_datetime(v)) is not None
                    }
            except (ValueError, TypeError, AttributeError, IndexError) as exc:
                raise ValueError(f"Unreadable Mercado Livre order cursor: {exc}") from None
        elif text:
            moment = _parse_datetime(text)
            if moment is None:
                raise ValueError(f"Unreadable Mercado Livre order cursor: {text[:40]!r}")
            state.date_from = _hour_millis(moment)
        return state

    def begin_page(self, moments: list[int]) -> None:
        if self.offset == 0:
            # A new pass (or a restart): the proxy for "the vendor's now when it began" is the
            # newest update known, and on its first page the newest update the page shows —
            # both no later than the vendor's clock was when the pass started.
            self.pass_no += 1
            self.unkeyed = 0
            self.pass_start = max([m for m in (self.newest, *moments) if m is not None] or [None])

    def note(self, order_id: str | None, moment: int | None) -> bool:
        """Record that this pass read an order version; False when it was delivered before."""
        if order_id is None:
            self.unkeyed += 1
            return True
        known = self.seen.get(order_id)
        delivered_before = known is not None and moment is not None and known[0] == moment
        if moment is not None:
            self.seen[order_id] = [moment, self.pass_no]
            if self.newest is None or moment > self.newest:
                self.newest = moment
        elif known is not None:
            known[1] = self.pass_no
        return not delivered_before

    def end_page(self, *, read: int, total: int) -> bool:
        """After a page: True while the pass has more to read (or starts over)."""
        next_offset = self.offset + read
        if read and next_offset < total:
            self.offset = next_offset
            return True
        read_in_pass = self.unkeyed + sum(1 for v in self.seen.values() if v[1] == self.pass_no)
        self.offset = 0
        if read_in_pass < total and self.restarts < ORDER_PASS_RESTARTS:
            # An order moved behind the offset while this pass paged: read the window again.
            self.restarts += 1
            return True
        if read_in_pass >= total and self.pass_start is not None:
            bound = _hour_millis(_from_millis(self.pass_start) - ORDER_INDEX_MARGIN)
            self.date_from = bound if self.date_from is None else max(self.date_from, bound)
        elif self.newest is not None and self.date_from is not None:
            # Still not read whole after the restarts: keep the window, within bounds.
            floor = _hour_millis(_from_millis(self.newest) - ORDER_WINDOW_MAX)
            self.date_from = max(self.date_from, floor)
        self.restarts = 0
        return False

    def _prune(self) -> None:
        # An entry before `from` can never come back: the vendor no longer returns it. Newer
        # ones stay, or the overlap would re-read (and re-GET the shipment of) every order.
        if self.date_from is not None:
            self.seen = {k: v for k, v in self.seen.items() if v[0] >= self.date_from}
        if len(self.seen) > CURSOR_SEEN_MAX:
            newest_first = sorted(self.seen.items(), key=lambda kv: kv[1][0], reverse=True)
            self.seen = dict(newest_first[:CURSOR_SEEN_MAX])

    def dump(self) -> str:
        self._prune()
        return json.dumps(
            {
                "v": self.VERSION,
                "from": self.date_from,
                "offset": self.offset,
                "pass": self.pass_no,
                "restarts": self.restarts,
                "pass_start": self.pass_start,
                "newest": self.newest,
                "unkeyed": self.unkeyed,
                "seen": self.seen,
            },
            separators=(",", ":"),
            sort_keys=True,
        )


def _version_of(raw: object) -> tuple[str | None, int | None]:
    """(id, last_updated in ms) of a search result, None where unreadable: the cursor's
    bookkeeping only (normalize_order reads the same values strictly)."""
    if not isinstance(raw, Mapping) or raw.get("id") in (None, ""):
        return None, None
    moment = _parse_datetime(raw.get("last_updated"))
    return str(raw["id"]), None if moment is None else _millis(moment)


def _listed_id(read: Reader, raw: object, index: int) -> str | None:
    """The id of a listed order, or None when it cannot be read (the regular import sets such
    an order aside; the sweep cannot ask for it by id)."""
    if not isinstance(raw, Mapping):
        return None
    try:
        return read.identifier(raw.get("id"), f"results[{index}].id")
    except InvalidVendorData:
        return None


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _from_millis(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def _hour_floor(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _hour_millis(moment: datetime) -> int:
    return _millis(_hour_floor(moment.astimezone(UTC)))


def _int_or_none(value: object) -> int | None:
    return None if value in (None, "") else int(value)  # type: ignore[arg-type]


def _confirmable(exc: ConnectorError) -> bool:
    """A refusal worth one read to see whether the change is there already (a first attempt
    that meets a document or status someone else put there): not a transient error, not an
    account error."""
    return not exc.retryable and not isinstance(exc, AuthError | PermissionDeniedError)


# --- parsing helpers ---------------------------------------------------------------------------


def _list_of(data: object, path: str) -> list:
    if data is None:
        return []
    if not isinstance(data, list):
        raise MalformedResponseError(f"Mercado Livre's {path} answer is not a list.", url=path)
    return data


def _known_shipping(
    external_id: str, refs: Mapping[str, str]
) -> tuple[Mapping, Mapping | None] | None:
    """The order and its shipment as far as a first attempt's write needs them (the pack, the
    shipment id, its logistic mode and type), from the refs the import stored
    (`normalize_order` → erp.Order.fulfilment_refs): no request. The logistic decides the call
    (module docstring: NF-e import for drop_off / xd_drop_off / xd_same_day / cross_docking,
    developers.mercadolivre.com.br/importar-nota-fiscal; the pack's fiscal document
    otherwise, developers.mercadolivre.com.br/anexar-nota-fiscal; seller notifications for
    me1 / custom). No statuses: a first attempt never decides on them. None when the refs are
    missing — an order imported before they were stored, or whose shipment could not be read
    at import —: the caller then reads the order and its shipment, as it always did."""
    if "shipment_id" not in refs:
        return None
    shipment_id = str(refs.get("shipment_id") or "")
    order = {"id": external_id, "pack_id": str(refs.get("pack_id") or "") or None}
    if not shipment_id:
        return order, None  # "a combinar": no Mercado Envios shipment
    logistic = {"mode": refs.get("logistic_mode", ""), "type": refs.get("logistic_type", "")}
    return order, {"id": shipment_id, "logistic": logistic}


def _auth(token: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    return {**JSON_HEADERS, "Authorization": f"Bearer {token}", **(extra or {})}


def _oauth_error_code(body: str) -> str:
    try:
        data = json.loads(body or "")
    except ValueError:
        for code in ("invalid_grant", "invalid_client"):
            if code in (body or ""):
                return code
        return ""
    return str(data.get("error") or "") if isinstance(data, dict) else ""


def _parse_datetime(value: object) -> datetime | None:
    """Dates the cursor and the token expiry keep (ours, or an order's last_updated that
    normalize_order reads strictly): None when unreadable, which restarts from what is known
    rather than failing the run."""
    try:
        return parse_timestamp(value, zone=UTC)
    except Unparseable:
        return None


def _format_vendor_datetime(moment: datetime) -> str:
    # Mercado Livre's documented shape: 2015-07-01T00:00:00.000-00:00 (no "+" to escape).
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.astimezone(UTC).microsecond // 1000:03d}-00:00"
    )


def _int(value: object, default: int) -> int:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return default


def _json_number(value: Decimal) -> int | float:
    value = Decimal(value)
    return int(value) if value == value.to_integral_value() else float(value)


def _paging_total(read: Reader, page: Mapping[str, Any]) -> int:
    paging = read.obj(page.get("paging"), "paging")
    return read.quantity(paging.get("total"), "paging.total", minimum=0)


def _attribute(read: Reader, attributes: object, attribute_id: str, path: str) -> str:
    """The value_name of attribute `attribute_id` (SELLER_SKU, GTIN) in an attribute list."""
    for index, attribute in enumerate(read.objects(attributes, path, default=[])):
        if attribute.get("id") == attribute_id:
            return read.identifier(
                attribute.get("value_name"),
                f"{path}[{index}].value_name",
                default="",
                max_length=EAN_MAX_LENGTH if attribute_id == "GTIN" else ID_MAX_LENGTH,
            )
    return ""


Adapter = MercadoLivreConnector
