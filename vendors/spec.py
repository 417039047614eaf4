"""What a vendor declares: readable without importing its adapter.

Each vendor package holds a `spec.py` with one `SPEC = VendorSpec(...)`: key, label, category,
credential fields, capabilities, limits, unsupported flows and its base addresses. Forms,
model choices, the engine and the admin read these; only code that talks to the vendor imports
the adapter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from django.db import models
from django.utils.translation import gettext_lazy as _


class Category(models.TextChoices):
    PLATFORM = "platform", _("Platform (own web store)")
    MARKETPLACE = "marketplace", _("Marketplace")
    INTEGRATOR = "integrator", _("Integrator (hub)")


class Environment(models.TextChoices):
    PRODUCTION = "production", _("Production")
    SANDBOX = "sandbox", _("Sandbox / homologation")


class Flow(models.TextChoices):
    CATALOG = "catalog", _("Catalog (products/SKUs)")
    STOCK = "stock", _("Stock")
    PRICE = "price", _("Prices")
    ORDERS = "orders", _("Orders")
    # Invoice, tracking, delivered and cancel back to the channel (sync.services.fulfilment).
    FULFILMENT = "fulfilment", _("Fulfilment (invoice, shipping, delivery)")


# The fulfilment flow's key in each vendor's `VendorLimits.flows` (the `Flow` member's value).
FULFILMENT = Flow.FULFILMENT.value


class Capability(models.TextChoices):
    ORDER_FEED_ACK = "order_feed_ack", _("Order feed with acknowledgement")
    OTHER_INTEGRATIONS = (
        "other_integrations",
        _("Lists other applications connected to the account"),
    )
    SINGLE_BACK_OFFICE = "single_back_office", _("Vendor allows only one back office (ERP)")
    OAUTH_REFRESH = "oauth_refresh", _("OAuth access tokens refreshed with a single-use token")
    # The vendor charges one price for every variation of an item: the engine sends the
    # highest ERP price of the item's bound SKUs to all of them (sync.services.push).
    ONE_PRICE_PER_ITEM = "one_price_per_item", _("One price for all variations of an item")
    # The vendor keeps stock per location and takes `StockUpdate.location`: the engine pushes
    # one value per mapped stock location (stock-location de-para) instead of one total.
    STOCK_PER_LOCATION = "stock_per_location", _("Stock kept per stock location")
    # Fulfilment calls the adapter implements (vendors.base.Connector.send_invoice & co.).
    FULFIL_INVOICE = "fulfil_invoice", _("Takes the order's invoice (NF-e)")
    FULFIL_TRACKING = "fulfil_tracking", _("Takes the shipment's tracking")
    FULFIL_DELIVERED = "fulfil_delivered", _("Takes the delivery date")
    FULFIL_CANCEL = "fulfil_cancel", _("Takes a cancellation from the seller")
    SHIPPING_LABEL = "shipping_label", _("Releases a shipping label to download")
    # Tracking (shipping) is refused until the order is invoiced at the vendor: the engine
    # sends the invoice event of an order before its tracking.
    SHIPPING_NEEDS_INVOICE = "shipping_needs_invoice", _("Shipping needs the invoice first")
    # Catalog publishing (vendors.base.Connector.publish_product, catalog_references).
    CATALOG_CREATE = "catalog_create", _("Creates products and SKUs from the ERP")
    CATALOG_UPDATE = "catalog_update", _("Updates products and SKUs from the ERP")
    CATALOG_IMAGES = "catalog_images", _("Takes product images by URL")
    # The vendor lists its categories / brands / attributes (catalog_references).
    CATALOG_CATEGORIES = "catalog_categories", _("Lists its categories for the de-para")
    CATALOG_BRANDS = "catalog_brands", _("Lists its brands for the de-para")
    CATALOG_ATTRIBUTES = "catalog_attributes", _("Lists a category's attributes for the de-para")
    # The vendor suggests a category from a product's title (Mercado Livre domain_discovery).
    CATEGORY_PREDICTOR = "category_predictor", _("Suggests a category from the product title")
    # The category names attributes a listing must have (Mercado Livre tags.required): a
    # product without them waits (CatalogOutcome.WAITING) naming them.
    CATALOG_REQUIRED_ATTRIBUTES = (
        "catalog_required_attributes",
        _("Categories require attributes"),
    )
    # The vendor POSTs a notification to our callback URL when an order (or product) changes
    # (`vendors/<v>/notifications.py: parse_notification`): the orders flow runs on change
    # instead of waiting for its interval.
    NOTIFICATIONS = "notifications", _("Sends notifications to a callback URL")


@dataclass(frozen=True)
class CredentialField:
    """One authentication field a vendor asks for.

    `secret` fields are encrypted, write-only in the admin and redacted from logs.
    `unique` fields identify an account: the same value may belong to one channel only
    (one company, one environment), checked through a keyed fingerprint.
    """

    name: str
    # Labels and help texts are lazy translations (gettext_lazy): shown in the admin in the
    # user's language.
    label: str
    secret: bool = False
    required: bool = True
    unique: bool = False
    help_text: str = ""
    # Kept by the adapter itself (rotating tokens), never typed by a user.
    managed: bool = False


@dataclass(frozen=True)
class FlowLimits:
    max_items_per_request: int
    max_batch_size: int
    min_interval_minutes: int
    default_batch_size: int
    default_interval_minutes: int
    # Requests of this flow the engine may have open at once (`Connector.each_request`). 1:
    # one at a time. More only where the vendor takes one item per request and documents its
    # limit as a rate, not as a number of open connections: every fault then costs its own
    # wait (a Retry-After, a timeout, a backoff), which caps a serial client far below the
    # rate. The channel's one rate limiter paces them all the same.
    max_in_flight: int = 1


@dataclass(frozen=True)
class VendorLimits:
    requests_per_second: float
    burst: int
    flows: Mapping[str, FlowLimits] = field(default_factory=dict)
    # What a 429's Retry-After is about. True: the account (or token) is blocked until then,
    # so the channel's limiter holds every request (an hourly quota used up). False: the
    # vendor's limit is a rate with burst credits — only the refused request waits its
    # Retry-After, the limiter slows down, and requests paced under the rate go on.
    retry_after_blocks_account: bool = True

    def for_flow(self, flow: str) -> FlowLimits:
        return self.flows[flow]


class _Placeholders(dict):
    """`str.format_map` helper: an unknown field stays as `{name}` in the address."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@dataclass(frozen=True)
class VendorSpec:
    key: str
    label: str
    category: str
    credential_fields: tuple[CredentialField, ...]
    limits: VendorLimits
    # Environment -> base address; `{field}` is filled from the credentials (VTEX's account).
    base_urls: Mapping[str, str]
    capabilities: frozenset[str] = frozenset()
    # flow -> reason shown in the admin when the vendor offers no API for it.
    unsupported_flows: Mapping[str, str] = field(default_factory=dict)
    # (connect, read) timeout of a call made while holding the credential store's lock (a
    # single-use token refresh). It must end before other writers give up waiting for that
    # lock: on SQLite the lock is the whole database's (system check erpintegr.E005).
    locked_call_timeout: tuple[float, float] | None = None
    # Whether the vendor's API names the account a set of credentials opens (`verify()`
    # returns its id). A vendor that does not (ANYMARKET) verifies the credentials and returns
    # "": the activation cannot tell two channels on one account apart and asks support to
    # confirm instead — an id made up from other data could block a real second account.
    identifies_account: bool = True

    def runs_on_change(self, flow: str) -> bool:
        """Whether the engine runs `flow` on change (sync.services.events), not only on its
        interval: stock and prices on every vendor (the change is the ERP's), orders where
        the vendor sends notifications (Capability.NOTIFICATIONS). Never a flow the vendor
        (or its budget) allows only every few minutes (`min_interval_minutes` > 1: ANYMARKET
        prices): that one keeps its interval."""
        if flow in self.unsupported_flows:
            return False
        limits = self.limits.flows.get(flow)
        if limits is None or limits.min_interval_minutes > 1:
            return False
        if flow in (Flow.STOCK, Flow.PRICE):
            return True
        return flow == Flow.ORDERS and Capability.NOTIFICATIONS in self.capabilities

    def supported_flows(self) -> list[str]:
        return [flow for flow in Flow.values if flow not in self.unsupported_flows]

    def user_credential_fields(self) -> tuple[CredentialField, ...]:
        return tuple(f for f in self.credential_fields if not f.managed)

    def default_base_url(self, environment: str, credentials: Mapping[str, str] | None) -> str:
        template = self.base_urls.get(environment) or self.base_urls[Environment.PRODUCTION]
        values = _Placeholders({k: v for k, v in (credentials or {}).items() if v})
        return template.format_map(values)
