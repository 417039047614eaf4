"""The value types that cross the seam between the engine and a vendor adapter.

Vendor payloads are parsed into these at the edge (the adapters, through `vendors.parsing`);
the engine and `mappings` read only these, never raw vendor JSON.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final

from vendors.errors import AuthError, ConnectorError, PermissionDeniedError


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
class StockReading:
    """What the vendor holds for one SKU at one place (stock reconciliation).

    `ref` names the SKU the way the vendor does (the parts it knows: item / variation / SKU
    id / seller SKU); the engine matches it to a binding. `location` is the vendor's location
    code, "" for the place a write without a location goes (ANYMARKET's default location,
    the VTEX warehouse of the channel's credential, a Mercado Livre listing). `quantity` is
    None when it cannot be compared — unlimited stock, or a value that cannot be read, which
    `problem` names (field and reason): the engine then pushes its own value."""

    ref: ExternalRef
    quantity: int | None
    location: str = ""
    problem: str = ""


@dataclass
class StockPage:
    """One page of a stock read. `next_cursor` None: the vendor's list is done (vendors that
    page their own list); vendors asked about given bindings return None always."""

    readings: list[StockReading]
    next_cursor: str | None = None


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
class Address:
    """Where the order goes: what the warehouse prints on the label and the NF-e carries."""

    recipient: str = ""
    street: str = ""
    number: str = ""
    complement: str = ""
    district: str = ""  # bairro
    city: str = ""
    state: str = ""  # UF (two letters) when the vendor gives it, else the state's name
    postal_code: str = ""  # CEP, 8 digits (vendors.parsing.parse_postal_code)
    phone: str = ""


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
    delivery: Address = field(default_factory=Address)
    items_total: Decimal = Decimal("0")
    shipping_total: Decimal = Decimal("0")
    total: Decimal = Decimal("0")
    placed_at: datetime | None = None
    updated_at: datetime | None = None
    # What the vendor's fulfilment calls need to know about the order and that only the
    # import reads (Mercado Livre: {"shipment_id", "logistic_mode", "logistic_type",
    # "pack_id"}, from the shipment read as a companion document). Stored on erp.Order and
    # handed back in the Fulfilment* types (`order_refs`), so a first attempt writes without
    # reading the order again. Empty: the vendor needs none, or the import could not tell.
    fulfilment_refs: Mapping[str, str] = field(default_factory=dict, hash=False)
    raw: Mapping = field(default_factory=dict, compare=False, repr=False)


UNREADABLE_ID_PREFIX: Final = "unreadable-"


def unreadable_order_key(document: object) -> str:
    """The key of an order whose own id cannot be read (missing, not an id, longer than the
    column) and that was not asked for by id: `unreadable-<sha1 of the document>`, 51
    characters. Stable: the same document read again gets the same key (so it is counted, not
    duplicated); a corrected document has its own, readable id."""
    try:
        text = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str)
    except (TypeError, ValueError):  # keys of mixed types cannot be sorted
        text = repr(document)
    return UNREADABLE_ID_PREFIX + hashlib.sha1(text.encode("utf-8", "replace")).hexdigest()


@dataclass(frozen=True)
class InvalidOrder:
    """An order the vendor sent that cannot be read (`vendors.parsing` refused a value of it).

    It travels in its page instead of failing the page: the engine keeps it aside (quarantine)
    with `raw` and `reason`, stores the page's other orders, and moves the cursor / acks the
    feed past it. `external_id` is the order's own id when that can be read, else the id the
    adapter asked the vendor for (a feed item's), else `unreadable_order_key(raw)`.
    `reason` is the InvalidVendorData message (`VTEX order 1: items[0].quantity is 0, less
    than 1`), `path` its field path (`items[0].quantity`; "" for the document itself)."""

    external_id: str
    reason: str
    path: str
    raw: Any = field(default=None, compare=False, repr=False)  # the document as sent

    @property
    def refetchable(self) -> bool:
        """Whether the vendor can be asked for it again by id."""
        return not self.external_id.startswith(UNREADABLE_ID_PREFIX)


@dataclass
class OrderPage:
    """One page of orders. `next_cursor` is saved only after the page is committed;
    `ack_tokens` (feed vendors) are acknowledged only after that commit too. `invalid` are the
    page's orders that cannot be read: stored aside in the same commit, and acknowledged /
    passed by the cursor like the others (their tokens are in `ack_tokens`)."""

    orders: list[NormalizedOrder]
    next_cursor: str | None
    has_more: bool = False
    ack_tokens: list[str] = field(default_factory=list)
    invalid: list[InvalidOrder] = field(default_factory=list)


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

    # "carrier_service" | "payment_method" | "order_status" | "stock_location", and the
    # catalog's "category" | "brand" | "attribute" (an attribute's value: parent_code = the
    # attribute's code) — mappings.models.MappingKind.
    kind: str
    code: str
    label: str = ""
    parent_code: str = ""  # carrier code of a service; attribute code of a value


@dataclass(frozen=True)
class UnreadReference:
    """A reference list the vendor could not give (an error, not an empty list): which kind of
    value, what was asked, and why it failed (a redacted ConnectorError message)."""

    kind: str  # a ReferenceValue kind
    source: str  # "GET /sites/MLB/payment_methods"
    reason: str


@dataclass
class ReferenceLists:
    """What the vendor lists for the de-para, and the lists it could not give. When a list
    failed, `values` also holds that kind's values seen in a sample of recent orders."""

    values: list[ReferenceValue]
    unread: list[UnreadReference] = field(default_factory=list)


# --- fulfilment: what the ERP tells the channel after the sale ------------------------------


def _require_aware(value: datetime | None, name: str) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError(f"{name} must be an aware datetime (with a time zone), got {value!r}")


@dataclass(frozen=True)
class InvoiceItem:
    """One line of an invoice: the SKU as the channel names it, quantity and unit price."""

    ref: ExternalRef
    quantity: int
    unit_price: Decimal

    def __post_init__(self) -> None:
        if self.quantity < 1:
            raise ValueError(f"an invoice line needs a quantity of at least 1, got {self.quantity}")


@dataclass(frozen=True)
class FulfilmentInvoice:
    """The NF-e of an order, as the ERP issued it (validated there: 44-digit access key with
    its check digit, series and number inside the key). `xml` is the authorized NF-e XML,
    when the ERP has it (Mercado Livre needs it for drop-off / cross-docking shipments)."""

    number: str
    series: str
    access_key: str
    issued_at: datetime
    total: Decimal
    items: tuple[InvoiceItem, ...] = ()
    xml: bytes | str | None = field(default=None, repr=False)
    # The order's NormalizedOrder.fulfilment_refs as imported; empty when not known.
    order_refs: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        _require_aware(self.issued_at, "issued_at")

    @property
    def xml_bytes(self) -> bytes | None:
        if self.xml is None:
            return None
        return self.xml.encode("utf-8") if isinstance(self.xml, str) else bytes(self.xml)


@dataclass(frozen=True)
class FulfilmentTracking:
    """The shipment of an order. `carrier_code` / `service_code` are the channel's own codes,
    already translated by the engine through the reverse de-para; `carrier_name` is what the
    channel shows (VTEX's `courier` is a name). `invoice_number`: the invoice the parcel
    carries (VTEX tracks on the invoice; the adapter reads it from the order when empty)."""

    carrier_code: str
    tracking_number: str
    service_code: str = ""
    carrier_name: str = ""
    url: str = ""
    shipped_at: datetime | None = None
    estimated_delivery: date | datetime | None = None
    invoice_number: str = ""
    # The order's NormalizedOrder.fulfilment_refs as imported; empty when not known.
    order_refs: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        _require_aware(self.shipped_at, "shipped_at")
        if isinstance(self.estimated_delivery, datetime):
            _require_aware(self.estimated_delivery, "estimated_delivery")


@dataclass(frozen=True)
class FulfilmentDelivered:
    delivered_at: datetime
    invoice_number: str = ""  # as FulfilmentTracking.invoice_number
    # The order's NormalizedOrder.fulfilment_refs as imported; empty when not known.
    order_refs: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        _require_aware(self.delivered_at, "delivered_at")


@dataclass(frozen=True)
class FulfilmentCancel:
    reason: str
    order_refs: Mapping[str, str] = field(default_factory=dict, hash=False)  # as above


class FulfilmentOutcome(StrEnum):
    ACCEPTED = "accepted"  # the vendor took it now
    ALREADY_APPLIED = "already_applied"  # the vendor had it (a retry after a crash): no write
    NOT_NEEDED = "not_needed"  # nothing to send for this order (the vendor does it itself)
    REFUSED = "refused"  # the vendor said no: `message` holds its words; settled, not retried
    RETRY = "retry"  # transient (429, 5xx, timeout, deadline): try again later


@dataclass(frozen=True)
class FulfilmentResult:
    """What one fulfilment call came to. Account errors (AuthError, PermissionDeniedError)
    are raised instead, as in every other flow: they say nothing about the event, and the
    engine suspends the channel. `requests` counts the calls this event cost."""

    outcome: FulfilmentOutcome
    message: str = ""
    receipt: str = ""  # the vendor's receipt / protocol, when it gives one
    error: ConnectorError | None = field(default=None, compare=False, repr=False)

    @property
    def done(self) -> bool:
        """The event is settled at the vendor: mark it sent, never send it again."""
        return self.outcome in (
            FulfilmentOutcome.ACCEPTED,
            FulfilmentOutcome.ALREADY_APPLIED,
            FulfilmentOutcome.NOT_NEEDED,
        )

    @property
    def retryable(self) -> bool:
        return self.outcome == FulfilmentOutcome.RETRY

    @classmethod
    def accepted(cls, receipt: str = "", message: str = "") -> FulfilmentResult:
        return cls(FulfilmentOutcome.ACCEPTED, message=message, receipt=receipt)

    @classmethod
    def already_applied(cls, message: str) -> FulfilmentResult:
        return cls(FulfilmentOutcome.ALREADY_APPLIED, message=message)

    @classmethod
    def not_needed(cls, message: str) -> FulfilmentResult:
        return cls(FulfilmentOutcome.NOT_NEEDED, message=message)

    @classmethod
    def refused(cls, message: str, error: ConnectorError | None = None) -> FulfilmentResult:
        return cls(FulfilmentOutcome.REFUSED, message=message, error=error)

    @classmethod
    def from_error(cls, exc: ConnectorError) -> FulfilmentResult:
        """A failed vendor call as a result: retryable errors → RETRY, the vendor's refusals
        → REFUSED with its message. Account errors propagate (re-raised)."""
        if isinstance(exc, AuthError | PermissionDeniedError):
            raise exc
        outcome = FulfilmentOutcome.RETRY if exc.retryable else FulfilmentOutcome.REFUSED
        return cls(outcome, message=str(exc), error=exc)


class LabelFormat(StrEnum):
    PDF = "pdf"
    ZPL = "zpl"  # Zebra thermal printers (Mercado Livre's response_type=zpl2)


@dataclass(frozen=True)
class ShippingLabel:
    """A shipping label the vendor released, ready to print."""

    format: LabelFormat
    content: bytes = field(repr=False)
    content_type: str
    filename: str


# --- catalog: the ERP's products published on the channel ----------------------------------


@dataclass(frozen=True)
class CatalogSku:
    """One SKU of a product to publish. `code` is the ERP code, which the vendor keeps as the
    SKU's own reference (VTEX RefId, ANYMARKET partnerId, Mercado Livre SELLER_SKU) and by
    which a retry finds what an earlier attempt created. `attributes`: (channel attribute
    code, channel value) pairs, already translated by the engine's de-para — the variation
    (Cor = Azul, Tamanho = M). `stock` is sent only where the vendor needs a quantity at
    creation (Mercado Livre's available_quantity); later changes go through the stock flow."""

    key: object  # the engine's correlation key (ERP SKU id)
    code: str
    name: str = ""
    ean: str = ""
    weight_g: int | None = None
    height_cm: Decimal | None = None
    width_cm: Decimal | None = None
    length_cm: Decimal | None = None
    price: Decimal | None = None
    list_price: Decimal | None = None
    stock: int = 0
    attributes: tuple[tuple[str, str], ...] = ()
    active: bool = True


@dataclass(frozen=True)
class CatalogProduct:
    """A product as the ERP publishes it, in the channel's own codes: `brand` and `category`
    are the channel's (translated by the engine's de-para), `attributes` the channel's
    product-level attributes ((code, value) pairs, e.g. Mercado Livre's BRAND, MODEL).
    `images` are public URLs in display order. `code` is the ERP product code (VTEX's product
    RefId); `ncm` 8 digits and `origin` the NF-e origin digit (0-8)."""

    key: object  # the engine's correlation key (ERP product id)
    code: str
    name: str
    skus: tuple[CatalogSku, ...]
    description: str = ""
    brand: str = ""
    category: str = ""
    ncm: str = ""
    origin: str = ""
    active: bool = True
    images: tuple[str, ...] = ()
    attributes: tuple[tuple[str, str], ...] = ()


class CatalogOutcome(StrEnum):
    CREATED = "created"  # the vendor did not have it; it does now
    UPDATED = "updated"  # the vendor had it and took the differences
    UNCHANGED = "unchanged"  # the vendor had it as it is: nothing was written
    REFUSED = "refused"  # the vendor said no: `message` holds its words; settled, not retried
    WAITING = "waiting"  # cannot be sent yet (a required attribute / de-para missing): `missing`
    RETRY = "retry"  # transient (429, 5xx, timeout, deadline): try again later


@dataclass(frozen=True)
class CatalogResult:
    """What publishing one product came to. `refs` maps each SKU's key to where the vendor
    keeps it (the engine records them as bindings), on CREATED, UPDATED and UNCHANGED — also
    on a product found by its codes after a lost answer. `missing` names what a WAITING product
    lacks (Mercado Livre attribute ids, "category"…). `requests`: calls this product cost.
    Account errors (AuthError, PermissionDeniedError) are raised instead, as in every flow."""

    outcome: CatalogOutcome
    refs: Mapping[object, ExternalRef] = field(default_factory=dict)
    message: str = ""
    missing: tuple[str, ...] = ()
    changes: tuple[str, ...] = ()  # what an UPDATED product changed ("name", "sku 12 weight"…)
    requests: int = 0
    error: ConnectorError | None = field(default=None, compare=False, repr=False)

    @property
    def published(self) -> bool:
        return self.outcome in (
            CatalogOutcome.CREATED,
            CatalogOutcome.UPDATED,
            CatalogOutcome.UNCHANGED,
        )

    @property
    def retryable(self) -> bool:
        return self.outcome == CatalogOutcome.RETRY

    @classmethod
    def refused(cls, message: str, error: ConnectorError | None = None) -> CatalogResult:
        return cls(CatalogOutcome.REFUSED, message=message, error=error)

    @classmethod
    def waiting(cls, missing: tuple[str, ...] | list[str], message: str) -> CatalogResult:
        return cls(CatalogOutcome.WAITING, message=message, missing=tuple(missing))

    @classmethod
    def from_error(cls, exc: ConnectorError) -> CatalogResult:
        """A failed vendor call as a result: retryable → RETRY, the vendor's refusals →
        REFUSED with its words. Account errors propagate (re-raised)."""
        if isinstance(exc, AuthError | PermissionDeniedError):
            raise exc
        outcome = CatalogOutcome.RETRY if exc.retryable else CatalogOutcome.REFUSED
        return cls(outcome, message=str(exc), error=exc)


@dataclass(frozen=True)
class CatalogReference:
    """A value of the channel's catalog (category, brand, attribute, attribute value) for the
    catalog de-para. `parent_code`: an attribute's category, a value's attribute. `required`:
    an attribute the category requires (Mercado Livre tags.required); `allows_variations`:
    an attribute a variation may vary by. `score`: a predictor's suggestion (0..1) or None."""

    kind: str  # "category" | "brand" | "attribute" | "attribute_value"
    code: str
    label: str = ""
    parent_code: str = ""
    required: bool = False
    allows_variations: bool = False
    score: float | None = None


class NotificationKind(StrEnum):
    """What a vendor notification says changed: the engine re-reads it, never trusts it."""

    ORDER = "order"
    PRODUCT = "product"
    SHIPMENT = "shipment"


@dataclass(frozen=True)
class NotificationHint:
    """A vendor's "look at X" (`vendors/<v>/notifications.py: parse_notification`).

    Never trusted: the engine only uses it to run the channel's flow sooner, and that run
    re-reads X from the vendor with the stored credentials. `account` is the vendor account the
    notification claims to be about (Mercado Livre user_id, VTEX Origin.Account, ANYMARKET oi);
    `application` the Mercado Livre application id ("" elsewhere)."""

    kind: NotificationKind
    resource: str
    account: str = ""
    application: str = ""
