"""The adapter interface every vendor implements, and the credential store it may write to.

An adapter receives its credentials (a plain mapping) and, for vendors whose tokens rotate, a
`CredentialStore` that the engine implements on top of the channel row. It never sees a Django
model: the vendor layer sits below `channels`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from datetime import tzinfo
from typing import Any, ClassVar, Protocol

from vendors.http import DEFAULT_TIMEOUT, HttpClient
from vendors.parsing import Reader
from vendors.spec import VendorSpec
from vendors.types import (
    CatalogUpdate,
    NormalizedOrder,
    OrderPage,
    OtherIntegration,
    PriceUpdate,
    PushResult,
    ReferenceValue,
    RemoteListing,
    StockUpdate,
)


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
    # The zone the vendor documents for timestamps sent without an offset. Every adapter sets
    # it explicitly (there is no default to fall back on silently).
    data_timezone: ClassVar[tzinfo]

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
        """Check the credentials live; return the vendor account id."""
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
        """Where the vendor lists no applications but refuses a second back office, a harmless
        probe that finds one. None when the vendor offers no such probe."""
        return None

    def reference_values(self) -> list[ReferenceValue]:
        """Values the vendor lists for de-para (carriers, payments, statuses, locations)."""
        return []
