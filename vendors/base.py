"""The adapter interface every vendor implements, and the credential store it may write to.

An adapter receives its credentials (a plain mapping) and, for vendors whose tokens rotate, a
`CredentialStore` that the engine implements on top of the channel row. It never sees a Django
model: the vendor layer sits below `channels`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, tzinfo
from typing import Any, ClassVar, Protocol

from vendors.errors import InvalidVendorData
from vendors.http import DEFAULT_TIMEOUT, HttpClient
from vendors.parsing import Reader, shown
from vendors.spec import VendorSpec
from vendors.types import (
    CatalogUpdate,
    InvalidOrder,
    NormalizedOrder,
    OrderPage,
    OtherIntegration,
    PriceUpdate,
    PushResult,
    ReferenceLists,
    ReferenceValue,
    RemoteListing,
    StockUpdate,
    unreadable_order_key,
)

logger = logging.getLogger("vendors")

# Programming-level errors a reading of an odd document may still raise despite the Reader (a
# shape nobody foresaw): the order is set aside with the error rather than stopping the page.
# Transport and account errors (ConnectorError) are not among them: they propagate.
_UNFORESEEN_SHAPE_ERRORS = (LookupError, TypeError, ValueError, AttributeError)


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
    ) -> None:
        self.credentials = dict(credentials)
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

    def reader(self, subject: str) -> Reader:
        """How this adapter reads a vendor document (`subject`: "order 9001", "item MLB1"):
        the one parsing policy of `vendors.parsing`, with errors naming this vendor."""
        return Reader(vendor=self.spec.label, subject=subject, zone=self.data_timezone)

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

    def push_catalog(self, items: list[CatalogUpdate]) -> PushResult:
        raise NotImplementedError

    def fetch_orders(self, cursor: str | None, limit: int) -> OrderPage:
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

    def recent_orders(self, since: datetime) -> Iterator[tuple[str, datetime | None]]:
        """The missed-order sweep's listing (sync.services.sweep): (id, creation time or None)
        of every order the vendor holds that was created at or after `since`, each id once. A
        vendor without such a listing raises NotImplementedError (no sweep for it)."""
        raise NotImplementedError

    def on_activate(self, *, enabled_flows: set[str]) -> None:
        """Vendor-side setup before the first runs (idempotent). Default: nothing."""

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
