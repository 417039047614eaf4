"""The adapter interface every vendor implements, and the credential store it may write to.

An adapter receives its credentials (a plain mapping) and, for vendors whose tokens rotate, a
`CredentialStore` that the engine implements on top of the channel row. It never sees a Django
model: the vendor layer sits below `channels`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime, tzinfo
from typing import Any, ClassVar, Protocol

from vendors.errors import (
    AuthError,
    ConnectorError,
    InvalidVendorData,
    NotSupportedError,
    PermissionDeniedError,
)
from vendors.http import DEFAULT_TIMEOUT, HttpClient
from vendors.parsing import Reader, shown
from vendors.spec import VendorSpec
from vendors.types import (
    CatalogProduct,
    CatalogReference,
    CatalogResult,
    ExternalRef,
    FulfilmentCancel,
    FulfilmentDelivered,
    FulfilmentInvoice,
    FulfilmentResult,
    FulfilmentTracking,
    InvalidOrder,
    LabelFormat,
    NormalizedOrder,
    OrderPage,
    OtherIntegration,
    PriceUpdate,
    PushResult,
    ReferenceLists,
    ReferenceValue,
    RemoteListing,
    ShippingLabel,
    StockPage,
    StockUpdate,
    unreadable_order_key,
)

logger = logging.getLogger("vendors")

# Programming-level errors a reading of an odd document may still raise despite the Reader (a
# shape nobody foresaw): the order is set aside with the error rather than stopping the page.
# Transport and account errors (ConnectorError) are not among them: they propagate.
_UNFORESEEN_SHAPE_ERRORS = (LookupError, TypeError, ValueError, AttributeError)

# What `Connector.each_request` answers for an item it did not send (the run's deadline came
# first): no verdict, so the engine keeps the item pending.
NOT_SENT = object()
# How often the calling thread, waiting for requests open in the pool, calls `heartbeat`.
HEARTBEAT_SECONDS = 1.0


class CredentialStore(Protocol):
    """Where an adapter stores credentials it is given by the vendor (rotating tokens).

    `update_locked(step)` runs `step(stored)` with the credentials as stored now, under an
    exclusive lock held until the values `step` returns (if any) are stored. A single-use
    refresh token is read, spent and replaced inside one such step, so two workers never spend
    the same token.
    """

    name: str  # for log lines: which channel this is (never a secret)

    def update_locked(
        self, step: Callable[[dict[str, str]], Mapping[str, str] | None]
    ) -> dict[str, str]: ...


class Connector:
    """A vendor's API as the engine sees it. Each vendor's adapter subclasses this and sets
    `spec`, its declaration (key, label, limits…)."""

    spec: ClassVar[VendorSpec]
    # The field of an order document that holds the order's id ("id", VTEX "orderId").
    order_id_field: ClassVar[str] = "id"
    # The zone the vendor documents for timestamps sent without an offset. Every adapter sets
    # it explicitly (there is no default to fall back on silently).
    data_timezone: ClassVar[tzinfo]
    # What `probe_back_office` does, in words for the activation page ("" without a probe).
    back_office_probe: ClassVar[str] = ""
    # How read_stock pages (stock reconciliation): "vendor" — the vendor lists stock and
    # `cursor` walks its list; "bindings" — the engine hands a page of its bindings (`refs`,
    # at most `stock_read_page_size`) and the vendor is asked about those.
    stock_read_paging: ClassVar[str] = "bindings"
    stock_read_page_size: ClassVar[int] = 20
    # Whether `register_notifications` registers our notification URL at the vendor through
    # its API (VTEX's orders hook). False: the seller pastes the URL in the vendor's own
    # screens (Mercado Livre's application manager, ANYMARKET's parameters page), as
    # docs/architecture.md ("Emulated notifications") describes.
    registers_notifications: ClassVar[bool] = False

    def __init__(
        self,
        *,
        credentials: Mapping[str, str],
        environment: str = "production",
        base_url: str | None = None,
        store: CredentialStore | None = None,
        session=None,
        sleep: Callable[[float], None] | None = None,
        rate_limiter=None,
        timeout=None,
        deadline: Callable[[], float] | None = None,
        request_sizes: Mapping[str, int] | None = None,
        heartbeat: Callable[[], None] | None = None,
    ) -> None:
        self.credentials = dict(credentials)
        # flow -> items per request the vendor was seen to accept (below its declared cap),
        # learned by send_in_batches on an earlier run; `learned_request_sizes` holds what this
        # instance learned, for the engine to keep.
        self.request_sizes = {flow: int(size) for flow, size in (request_sizes or {}).items()}
        self.learned_request_sizes: dict[str, int] = {}
        self.environment = environment
        self.base_url_overridden = bool(base_url)
        self.base_url = (
            base_url or self.spec.default_base_url(environment, self.credentials)
        ).rstrip("/")
        self.store = store
        self.session = session
        self.sleep = sleep
        self.rate_limiter = rate_limiter
        self.timeout = timeout
        # time.monotonic() value past which no retry waits (the engine's run budget).
        self.deadline = deadline
        # Called now and then by the calling thread while requests run in `each_request`'s
        # pool (the engine renews its lease and saves progress there). May raise to stop.
        self.heartbeat = heartbeat
        self._clients: list[HttpClient] = []

    # --- plumbing shared by every adapter -------------------------------------------------
    def http_client(
        self,
        *,
        base_url: str | None = None,
        headers: Mapping[str, str] | None = None,
        secrets: tuple[str, ...] | list[str] = (),
    ) -> HttpClient:
        """The one way an adapter builds its HTTP client: the session, timeout, sleep and rate
        limiter the engine passed in, and counters that `request_stats()` adds up."""
        client = HttpClient(
            base_url=base_url or self.base_url,
            headers=headers,
            session=self.session,
            timeout=self.timeout or DEFAULT_TIMEOUT,
            sleep=self.sleep or time.sleep,
            rate_limiter=self.rate_limiter,
            secrets=secrets,
            deadline=self.deadline,
        )
        self._clients.append(client)
        return client

    def request_size(self, flow: str) -> int:
        """Items per request for a batch write of `flow`: the declared cap, or less when the
        vendor was seen to refuse batches of that size."""
        declared = max(self.spec.limits.for_flow(flow).max_items_per_request, 1)
        learned = self.request_sizes.get(flow)
        return max(1, min(declared, learned)) if learned else declared

    def send_in_batches(
        self,
        flow: str,
        entries: Sequence[tuple[object, Any]],
        send: Callable[[list[Any]], object],
        result: PushResult,
        *,
        named: Callable[[ConnectorError, list[tuple[object, Any]]], Iterable[object]] = (
            lambda exc, chunk: ()
        ),
        reason: Callable[[ConnectorError], str] = str,
        refuses_items: Callable[[ConnectorError], bool] | None = None,
        size: int | None = None,
    ) -> None:
        """Send (key, payload) entries in requests of `request_size(flow)` payloads each,
        `send(payloads)` being one request, and record each key's outcome in `result`.

        A request the vendor refuses as a whole (a 4xx about the data, `refuses_items`) is no
        verdict on each item of it — the batch may only be larger than the vendor takes, or
        hold one bad item among hundreds of good ones. So:
        - items the vendor's answer names (`named`) are rejected with its reason and the rest
          is sent again;
        - otherwise the batch is split in halves, each sent on its own (a binary search for
          the offending items); an item refused alone is rejected;
        - when both halves of a refused batch are accepted, the size was the problem: the
          size of a half is learned (`learned_request_sizes[flow]`) and every later request of
          this instance uses it; the engine keeps it for the channel's next runs.
        Account and transport errors (401, 403, 429, 5xx, a deadline) propagate: they say
        nothing about the items, which the engine leaves pending. One rule for every vendor
        with writes of several items per request, so no adapter decides on its own that a
        refused batch is lost. `size` fixes the first request's size where the vendor's unit
        is not a count (Mercado Livre: one item, all its variations); nothing is learned then.
        """
        is_refusal = refuses_items or refuses_the_items
        learn = size is None
        size = self.request_size(flow) if size is None else max(1, size)
        queue = list(entries)  # not sent yet, in order
        retries: list[tuple[list, int | None]] = []  # (chunk, split node) sent before the queue
        halves: dict[int, list] = {}  # split node -> [outcome of each half] (True: accepted)
        split_sizes: dict[int, list] = {}  # split node -> its first (larger) half
        next_node = 0

        def settle(node: int | None, accepted: bool) -> None:
            nonlocal size
            if node is None:
                return
            outcomes = halves[node]
            outcomes.append(accepted)
            if outcomes == [True, True] and learn:
                # Both halves went through where the whole was refused: it was the size.
                learned = len(split_sizes[node])
                if learned < size:
                    size = learned
                    self.request_sizes[flow] = learned
                    self.learned_request_sizes[flow] = learned
                    logger.info(
                        "%s refused %s %s items in one request; sending %s per request.",
                        self.spec.label,
                        2 * learned,
                        flow,
                        learned,
                    )

        while retries or queue:
            if retries:
                chunk, node = retries.pop()
                if len(chunk) > size:  # a size learned since it was split: no use sending it
                    for start in reversed(range(0, len(chunk), size)):
                        retries.append((chunk[start : start + size], None))
                    continue
            else:
                chunk, queue = queue[:size], queue[size:]
                node = None
            try:
                send([payload for _key, payload in chunk])
            except ConnectorError as exc:
                if not is_refusal(exc):
                    raise
                message = reason(exc)
                keys = {key for key, _payload in chunk}
                named_keys = set(named(exc, chunk)) & keys
                if named_keys:
                    for key in named_keys:
                        result.rejected[key] = message
                    rest = [entry for entry in chunk if entry[0] not in named_keys]
                    if rest:
                        retries.append((rest, None))
                    settle(node, False)
                    continue
                if len(chunk) == 1:
                    result.rejected[chunk[0][0]] = message
                    settle(node, False)
                    continue
                settle(node, False)
                middle = (len(chunk) + 1) // 2
                first, second = chunk[:middle], chunk[middle:]
                halves[next_node] = []
                split_sizes[next_node] = first
                # Popped from the end: the first half goes first.
                retries.append((second, next_node))
                retries.append((first, next_node))
                next_node += 1
            else:
                result.accepted.extend(key for key, _payload in chunk)
                settle(node, True)

    def reader(self, subject: str) -> Reader:
        """How this adapter reads a vendor document (`subject`: "order 9001", "item MLB1"):
        the one parsing policy of `vendors.parsing`, with errors naming this vendor."""
        return Reader(vendor=self.spec.label, subject=subject, zone=self.data_timezone)

    def each_request(
        self, flow: str, items: Sequence[Any], send: Callable[[Any], Any]
    ) -> list[Any]:
        """`send(item)` for each item, one request each, with up to the flow's declared
        `max_in_flight` requests open at once; the answers in the items' order, as a loop would
        give them.

        Only `send` runs on the pool's threads: it must do HTTP and nothing else (no database,
        no credential store — SQLite connections are per thread, and a rotating token must be
        spent under one lock). Every request still goes through the one HttpClient, so the
        channel's one rate limiter paces all of them and each retries on its own (a 429 delays
        only its own retry, unless the vendor's 429 blocks the account: see
        vendors.ratelimit). The calling thread waits, calling `heartbeat` every
        HEARTBEAT_SECONDS.

        Failures behave as in a loop: the first exception (in item order) is raised once the
        requests already open have ended, and no further item is started after one failed.
        Once the deadline has passed no further item is started: those answer NOT_SENT.
        """
        width = min(max(self.spec.limits.for_flow(flow).max_in_flight, 1), len(items))
        if width <= 1:
            return [self._send_unless_late(send, item) for item in items]
        answers: list[Any] = [NOT_SENT] * len(items)
        errors: dict[int, BaseException] = {}
        stop: BaseException | None = None
        open_requests: dict[Future, int] = {}
        upcoming = iter(range(len(items)))
        with ThreadPoolExecutor(
            max_workers=width, thread_name_prefix=f"{self.spec.key}-{flow}"
        ) as pool:

            def start_next() -> bool:
                if errors or stop is not None or self._past_deadline():
                    return False
                index = next(upcoming, None)
                if index is None:
                    return False
                open_requests[pool.submit(send, items[index])] = index
                return True

            while len(open_requests) < width and start_next():
                pass
            while open_requests:
                done, _ = wait(
                    open_requests, timeout=HEARTBEAT_SECONDS, return_when=FIRST_COMPLETED
                )
                for future in done:
                    index = open_requests.pop(future)
                    error = future.exception()
                    if error is not None:
                        errors[index] = error
                    else:
                        answers[index] = future.result()
                    start_next()
                if self.heartbeat is not None and stop is None:
                    try:
                        self.heartbeat()
                    except BaseException as exc:  # LeaseLost…: let the open requests end
                        stop = exc
        if stop is not None:
            raise stop
        if errors:
            raise errors[min(errors)]
        return answers

    def _past_deadline(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline()

    def _send_unless_late(self, send: Callable[[Any], Any], item: Any) -> Any:
        return NOT_SENT if self._past_deadline() else send(item)

    def request_stats(self) -> dict[str, int]:
        """Requests, retries and 429s of every HTTP client this adapter built (for SyncRun)."""
        totals = {"requests": 0, "retries": 0, "rate_limited": 0}
        for client in self._clients:
            totals["requests"] += client.requests_sent
            totals["retries"] += client.retries
            totals["rate_limited"] += client.rate_limited
        return totals

    # --- the calls the engine and the activation make ------------------------------------
    def verify(self) -> str:
        """Check the credentials live; return the vendor account id ("" when the vendor
        names no account: `spec.identifies_account` is False)."""
        raise NotImplementedError

    def push_stock(self, items: list[StockUpdate]) -> PushResult:
        raise NotImplementedError

    def push_prices(self, items: list[PriceUpdate]) -> PushResult:
        raise NotImplementedError

    def fetch_orders(self, cursor: str | None, limit: int) -> OrderPage:
        raise NotImplementedError

    def read_stock(
        self,
        *,
        cursor: str | None = None,
        refs: Sequence[ExternalRef] = (),
        locations: Sequence[str] = (),
    ) -> StockPage:
        """One page of the vendor's stock, read the way the vendor documents it, for the
        stock reconciliation (sync.services.reconcile): from `cursor` on its own list
        (stock_read_paging "vendor") or for `refs` (stock_read_paging "bindings"). With
        `locations` (the channel's mapped location codes) the readings of those locations;
        without, the place a write without a location goes (location ""). One request or
        a few; through the rate limiter like every call."""
        raise NotImplementedError

    def normalize_order(self, payload: Mapping[str, Any], **extra: Any) -> NormalizedOrder:
        """One vendor order document as a NormalizedOrder, read through `self.reader()`.

        Raises InvalidVendorData naming the order and the field when a value cannot be read.
        `extra` holds companion documents a vendor keeps apart from the order (Mercado Livre's
        `shipment=`); a vendor without any takes none. `normalize_order(payload)` works on
        every vendor."""
        raise NotImplementedError

    def order_companions(self, document: Mapping[str, Any]) -> dict[str, Any]:
        """Documents the vendor keeps apart from an order, fetched for it and passed to
        normalize_order as keyword arguments (Mercado Livre: `shipment=`). Default: none."""
        return {}

    def get_order_document(self, external_id: str) -> object:
        """The vendor's order document for one id (one GET), as answered. Raises NotFoundError
        when the vendor has no such order."""
        raise NotImplementedError

    def fetch_order(self, external_id: str) -> NormalizedOrder:
        """One order read again by id (re-fetching a quarantined order): the document and its
        companions, read as fetch_orders reads them. Raises InvalidVendorData when it still
        cannot be read, NotFoundError when the vendor has no such order."""
        document = self.get_order_document(external_id)
        if not isinstance(document, Mapping):
            raise self._not_an_order(document, external_id)
        return self.normalize_order(document, **self.order_companions(document))

    def fetch_order_or_invalid(self, external_id: str) -> NormalizedOrder | InvalidOrder:
        """fetch_order, with an order that still cannot be read returned as an InvalidOrder
        (its current document and reason) instead of raised."""
        return self.order_or_invalid(self.get_order_document(external_id), fetched_as=external_id)

    def order_or_invalid(
        self, document: object, *, fetched_as: str = ""
    ) -> NormalizedOrder | InvalidOrder:
        """The one rule every adapter's fetch_orders applies to each order document: a
        NormalizedOrder, or, when a value cannot be read, an InvalidOrder naming the field —
        never an exception that would stop the page (transport errors still propagate).

        `fetched_as` is the id the adapter asked the vendor for (a feed item's order id), used
        as the key when the document's own id cannot be read; without one the key is
        `unreadable-<sha1 of the document>` (`vendors.types.unreadable_order_key`)."""
        companions: dict[str, Any] = {}
        try:
            if not isinstance(document, Mapping):
                raise self._not_an_order(document, fetched_as)
            companions = self.order_companions(document)
            return self.normalize_order(document, **companions)
        except InvalidVendorData as exc:
            reason, path = str(exc), exc.path
        except _UNFORESEEN_SHAPE_ERRORS as exc:
            logger.exception("%s order %s could not be read", self.spec.label, fetched_as or "?")
            reason = (
                f"{self.spec.label} order {fetched_as or '(id unknown)'}: could not be read "
                f"({type(exc).__name__}: {exc})"
            )
            path = ""
        return InvalidOrder(
            external_id=self._order_key(document, fetched_as),
            reason=reason,
            path=path,
            raw={"order": document, **companions} if companions else document,
        )

    def _order_key(self, document: object, fetched_as: str) -> str:
        if isinstance(document, Mapping):
            try:
                return self.reader("order").identifier(
                    document.get(self.order_id_field), self.order_id_field
                )
            except InvalidVendorData:
                pass
        return fetched_as or unreadable_order_key(document)

    def _not_an_order(self, document: object, fetched_as: str) -> InvalidVendorData:
        subject = f"order {fetched_as}".strip()
        return InvalidVendorData(
            f"{self.spec.label} {subject}: the order document is {shown(document)}, not an object",
            vendor=self.spec.label,
            subject=subject,
            path="",
            value=shown(document),
        )

    # --- fulfilment: the ERP's invoice, shipment, delivery and cancellation, back out -------
    # One call per event, for one order (`external_id`: the vendor's order id as imported).
    # `may_have_applied`: an earlier attempt of the same event was made and its outcome is
    # unknown (a crash after the call, a timeout). Then the call must be safe to repeat: it
    # uses the vendor's idempotent call, or reads the order first and answers ALREADY_APPLIED
    # without writing when the vendor has the event. On a first attempt (False) the adapter
    # writes directly, reading only what the write itself needs, and treats the vendor's
    # documented "already in that state" refusal as ALREADY_APPLIED (after a read confirming
    # it). The default is the safe one.
    # Outcome: FulfilmentResult (ACCEPTED / ALREADY_APPLIED / NOT_NEEDED / REFUSED with the
    # vendor's words / RETRY); AuthError and PermissionDeniedError are raised. A vendor
    # without the call raises NotSupportedError (its spec lacks the Capability).

    def _not_supported(self, what: str) -> NotSupportedError:
        return NotSupportedError(f"{self.spec.label} does not take {what} through its API.")

    def send_invoice(
        self, external_id: str, invoice: FulfilmentInvoice, *, may_have_applied: bool = True
    ) -> FulfilmentResult:
        """Tell the vendor the order is invoiced (Capability.FULFIL_INVOICE)."""
        raise self._not_supported("an order's invoice")

    def send_tracking(
        self, external_id: str, tracking: FulfilmentTracking, *, may_have_applied: bool = True
    ) -> FulfilmentResult:
        """Tell the vendor the order shipped: carrier, tracking number, URL, dates
        (Capability.FULFIL_TRACKING)."""
        raise self._not_supported("an order's tracking")

    def mark_delivered(
        self, external_id: str, delivered: FulfilmentDelivered, *, may_have_applied: bool = True
    ) -> FulfilmentResult:
        """Tell the vendor the order reached the buyer (Capability.FULFIL_DELIVERED)."""
        raise self._not_supported("an order's delivery")

    def cancel_order(
        self, external_id: str, cancel: FulfilmentCancel, *, may_have_applied: bool = True
    ) -> FulfilmentResult:
        """Cancel the order at the vendor on the seller's side (Capability.FULFIL_CANCEL)."""
        raise self._not_supported("a cancellation from the seller")

    def shipping_label(
        self, external_id: str, label_format: LabelFormat = LabelFormat.PDF
    ) -> ShippingLabel:
        """The order's shipping label once the vendor released it (Capability.SHIPPING_LABEL).
        Raises the vendor's refusal (a ConnectorError) while it is not released."""
        raise self._not_supported("shipping labels")

    def fulfilment_result(self, exc: ConnectorError) -> FulfilmentResult:
        """A failed fulfilment call as a FulfilmentResult (account errors re-raised)."""
        return FulfilmentResult.from_error(exc)

    # --- catalog: the ERP's products published on the channel ------------------------------
    # One call per product. Safe to repeat blindly: the adapter first reads what the vendor
    # holds under the product's and SKUs' ERP codes (VTEX RefId, ANYMARKET partnerId, Mercado
    # Livre SELLER_SKU) — a retry after a lost answer finds what the first attempt created and
    # never creates it twice — then writes only what differs (nothing: UNCHANGED). A vendor
    # without the call raises NotSupportedError (its spec lacks Capability.CATALOG_CREATE).

    def publish_product(self, product: CatalogProduct) -> CatalogResult:
        """Create or update one product with its SKUs (Capability.CATALOG_CREATE/UPDATE)."""
        raise self._not_supported("products from the ERP")

    def catalog_references(
        self, kind: str, *, query: str = "", parent: str = ""
    ) -> list[CatalogReference]:
        """The vendor's catalog values of `kind` for the catalog de-para: "category" (with
        `query`: the vendor's predictor's suggestions for that title, where it has one),
        "brand", "attribute" (of category `parent`), "attribute_value" (of attribute
        `parent`). Raises NotSupportedError for a kind the vendor does not list."""
        raise self._not_supported(f"a list of catalog {kind} values")

    def recent_orders(self, since: datetime) -> Iterator[tuple[str, datetime | None]]:
        """The missed-order sweep's listing (sync.services.sweep): (id, creation time or None)
        of every order the vendor holds that was created at or after `since`, each id once. A
        vendor without such a listing raises NotImplementedError (no sweep for it)."""
        raise NotImplementedError

    def on_activate(self, *, enabled_flows: set[str]) -> None:
        """Vendor-side setup before the first runs (idempotent). Default: nothing."""

    def register_notifications(self, url: str, secret: str) -> str:
        """Register `url` (our endpoint for this channel) as where the vendor sends its
        notifications, with `secret` for the vendor to present as its proof where it can
        carry one; idempotent. Returns what was done, in words, for the activation's record
        (never the URL nor the secret). Only for `registers_notifications` vendors; the
        others raise NotImplementedError (the seller registers the URL by hand)."""
        raise NotImplementedError(
            f"{self.spec.label} notifications are registered by hand in the vendor's screens."
        )

    def ack(self, tokens: list[str]) -> None:
        """Acknowledge feed items after the orders are stored. No-op for search vendors."""

    def list_listings(self) -> Iterator[RemoteListing]:
        raise NotImplementedError

    def other_integrations(self) -> list[OtherIntegration] | None:
        """Other applications on the account, or None when the vendor exposes nothing."""
        return None

    def probe_back_office(self) -> list[OtherIntegration] | None:
        """Where the vendor lists no applications but refuses a second back office, a probe
        that may find one: the applications it found, or None when it learned nothing (the
        activation then asks support to confirm). Default: no probe (None)."""
        return None

    def reference_values(self) -> list[ReferenceValue]:
        """Values the vendor lists for de-para (carriers, payments, statuses, locations)."""
        return []

    def reference_lists(self) -> ReferenceLists:
        """`reference_values`, with the lists the vendor could not give reported instead of
        raised (the activation warns and checks the values seen in orders). Default: every
        list is read or the whole read fails."""
        return ReferenceLists(values=list(self.reference_values()))


def refuses_the_items(exc: ConnectorError) -> bool:
    """A 4xx about the data sent (validation, unknown item, conflict). Account problems
    (401/403) and anything retryable (429, 5xx, timeouts) say nothing about the items."""
    if exc.retryable or isinstance(exc, AuthError | PermissionDeniedError):
        return False
    return exc.status is not None and 400 <= exc.status < 500
