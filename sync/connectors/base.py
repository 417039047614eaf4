"""What every connector declares, and the interface it implements.

This module imports no Django models, so `channels` can build its choices and form
validation from the registry without an import cycle.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar

from django.db import models

if TYPE_CHECKING:  # pragma: no cover
    from channels.models import SalesChannel


class Category(models.TextChoices):
    PLATFORM = "platform", "Platform (own web store)"
    MARKETPLACE = "marketplace", "Marketplace"
    INTEGRATOR = "integrator", "Integrator (hub)"


class Environment(models.TextChoices):
    PRODUCTION = "production", "Production"
    SANDBOX = "sandbox", "Sandbox / homologation"


class Flow(models.TextChoices):
    CATALOG = "catalog", "Catalog (products/SKUs)"
    STOCK = "stock", "Stock"
    PRICE = "price", "Prices"
    ORDERS = "orders", "Orders"


class Capability(models.TextChoices):
    ORDER_FEED_ACK = "order_feed_ack", "Order feed with acknowledgement"
    OTHER_INTEGRATIONS = "other_integrations", "Lists other applications connected to the account"
    SINGLE_BACK_OFFICE = "single_back_office", "Vendor allows only one back office (ERP)"
    OAUTH_REFRESH = "oauth_refresh", "OAuth access tokens refreshed with a single-use token"


@dataclass(frozen=True)
class CredentialField:
    """One authentication field a vendor asks for.

    `secret` fields are encrypted, write-only in the admin and redacted from logs.
    `unique` fields identify an account: the same value may belong to one channel only
    (one company, one environment), checked through a keyed fingerprint.
    """

    name: str
    label: str
    secret: bool = False
    required: bool = True
    unique: bool = False
    help_text: str = ""
    # Kept by the connector itself (rotating tokens), never typed by a user.
    managed: bool = False


@dataclass(frozen=True)
class FlowLimits:
    max_items_per_request: int
    max_batch_size: int
    min_interval_minutes: int
    default_batch_size: int
    default_interval_minutes: int


@dataclass(frozen=True)
class VendorLimits:
    requests_per_second: float
    burst: int
    flows: Mapping[str, FlowLimits] = field(default_factory=dict)

    def for_flow(self, flow: str) -> FlowLimits:
        return self.flows[flow]


class BaseConnector:
    """A vendor's API as the engine sees it. Subclasses declare and implement."""

    key: ClassVar[str]
    label: ClassVar[str]
    category: ClassVar[str]
    credential_fields: ClassVar[tuple[CredentialField, ...]] = ()
    limits: ClassVar[VendorLimits]
    capabilities: ClassVar[frozenset[str]] = frozenset()
    # flow -> reason shown in the admin when the vendor offers no API for it.
    unsupported_flows: ClassVar[Mapping[str, str]] = {}

    def __init__(self, channel: SalesChannel) -> None:
        self.channel = channel

    @classmethod
    def supported_flows(cls) -> list[str]:
        return [flow for flow in Flow.values if flow not in cls.unsupported_flows]

    @classmethod
    def user_credential_fields(cls) -> tuple[CredentialField, ...]:
        return tuple(f for f in cls.credential_fields if not f.managed)

    @classmethod
    def default_base_url(cls, environment: str, credentials: Mapping[str, str]) -> str:
        raise NotImplementedError


# --- What crosses the seam between the engine and a connector --------------------------------
# Vendor payloads are parsed into these at the edge; the engine never reads raw vendor JSON.


@dataclass(frozen=True)
class ExternalRef:
    """Where a SKU lives on the vendor. Which parts are used depends on the vendor."""

    item_id: str = ""  # ML item id (MLB…), ANYMARKET product id, VTEX product id
    variation_id: str = ""  # ML variation id
    sku_id: str = ""  # VTEX SKU id, ANYMARKET SKU id
    seller_sku: str = ""  # the ERP code as the vendor stores it: SELLER_SKU / RefId / partnerId


@dataclass(frozen=True)
class StockUpdate:
    key: object  # the engine's correlation key (ERP SKU id); echoed in PushResult
    ref: ExternalRef
    quantity: int
    location: str = ""  # vendor warehouse / stock location id, when the vendor has them


@dataclass(frozen=True)
class PriceUpdate:
    key: object
    ref: ExternalRef
    price: Decimal
    list_price: Decimal | None = None


@dataclass(frozen=True)
class CatalogUpdate:
    key: object
    ref: ExternalRef
    name: str
    ean: str = ""
    active: bool = True


@dataclass
class PushResult:
    """Keys the vendor accepted, and keys it refused with its reason (bad data, not found).

    Transport and account failures (auth, rate limit, 5xx after retries) are raised instead:
    nothing about those items is known. `deferred` items hit a temporary, item-level refusal
    (VTEX 423 Locked after retries): the engine leaves them pending for the next run.
    """

    accepted: list = field(default_factory=list)
    rejected: dict = field(default_factory=dict)  # key -> message; settled, not retried
    deferred: dict = field(default_factory=dict)  # key -> message; stays pending (e.g. 423)


@dataclass(frozen=True)
class OrderLine:
    seller_sku: str  # SELLER_SKU / RefId / partnerId as sent by the vendor
    quantity: int
    unit_price: Decimal
    item_id: str = ""
    variation_id: str = ""
    sku_id: str = ""
    title: str = ""


@dataclass(frozen=True)
class Customer:
    name: str = ""
    document: str = ""  # CPF or CNPJ digits
    email: str = ""


@dataclass(frozen=True)
class NormalizedOrder:
    external_id: str
    status_code: str
    status_label: str = ""
    carrier_code: str = ""
    carrier_label: str = ""
    service_code: str = ""
    service_label: str = ""
    payment_code: str = ""
    payment_label: str = ""
    lines: tuple[OrderLine, ...] = ()
    customer: Customer = field(default_factory=Customer)
    items_total: Decimal = Decimal("0")
    shipping_total: Decimal = Decimal("0")
    total: Decimal = Decimal("0")
    placed_at: datetime | None = None
    updated_at: datetime | None = None
    raw: Mapping = field(default_factory=dict, compare=False, repr=False)


@dataclass
class OrderPage:
    """One page of orders. `next_cursor` is saved only after the page is committed;
    `ack_tokens` (feed vendors) are acknowledged only after that commit too."""

    orders: list[NormalizedOrder]
    next_cursor: str | None
    has_more: bool = False
    ack_tokens: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RemoteListing:
    """A product/SKU as it exists on the channel, for matching against ERP SKUs."""

    ref: ExternalRef
    seller_sku: str = ""
    ean: str = ""
    title: str = ""
    active: bool = True


@dataclass(frozen=True)
class OtherIntegration:
    """Another application connected to the same vendor account (possibly another ERP)."""

    app_id: str
    name: str = ""
    connected_at: str = ""
    detail: str = ""


@dataclass(frozen=True)
class ReferenceValue:
    """A value the vendor can send in orders (carrier, service, payment, status, location)."""

    kind: str  # "carrier_service" | "payment_method" | "order_status" | "stock_location"
    code: str
    label: str = ""
    parent_code: str = ""  # carrier code of a service


class Connector(BaseConnector):
    """The calls the engine and the activation make. Every vendor subclasses this.

    Built by `sync.connectors.registry.build_connector(channel)`, which reads the decrypted
    credentials from the channel row (never from settings) and picks the base URL: the
    channel's override (emulators) or the vendor's address for the channel's environment.
    """

    def __init__(
        self,
        channel: SalesChannel,
        *,
        credentials: Mapping[str, str],
        base_url: str | None = None,
        session=None,
        sleep=None,
        rate_limiter=None,
        timeout=None,
    ) -> None:
        super().__init__(channel)
        self.credentials = dict(credentials)
        self.base_url = (
            base_url or self.default_base_url(channel.environment, credentials)
        ).rstrip("/")
        self.session = session
        self.sleep = sleep
        self.rate_limiter = rate_limiter
        self.timeout = timeout

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

    def on_activate(self, *, enabled_flows: set[str]) -> None:
        """Vendor-side setup before the first runs (idempotent). Default: nothing."""

    def ack(self, tokens: list[str]) -> None:
        """Acknowledge feed items after the orders are stored. No-op for search vendors."""

    def list_listings(self) -> Iterator[RemoteListing]:
        raise NotImplementedError

    def other_integrations(self) -> list[OtherIntegration] | None:
        """Other applications on the account, or None when the vendor exposes nothing."""
        return None

    def reference_values(self) -> list[ReferenceValue]:
        """Values the vendor lists for de-para (carriers, payments, statuses, locations)."""
        return []


def connector_request_stats(connector: object) -> dict[str, int]:
    """Requests, retries and 429s of every HTTP client a connector holds (for SyncRun)."""
    from sync.connectors.http import HttpClient

    totals = {"requests": 0, "retries": 0, "rate_limited": 0}
    for value in vars(connector).values():
        if isinstance(value, HttpClient):
            totals["requests"] += value.requests_sent
            totals["retries"] += value.retries
            totals["rate_limited"] += value.rate_limited
    return totals
