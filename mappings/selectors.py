"""Reads of the de-para: translate channel values into ERP values.

`translate` runs at most one query per kind requested, whatever the number of values, and
never guesses: a value with no row and no fallback is reported in `Translation.missing`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Q

from channels.models import SalesChannel
from erp.models import Price
from mappings.models import (
    PARENT_CODE_KINDS,
    ChannelMapping,
    Listing,
    MappingKind,
    mapping_model_for,
)
from mappings.normalize import normalize_code
from vendors.types import NormalizedOrder, ReferenceValue

# (kind, first key, second key): for carrier + service (carrier, service); otherwise
# (code, "").
LookupKey = tuple[str, str, str]


@dataclass(frozen=True)
class LookupRequest(ReferenceValue):
    """A channel value to translate: a vendors.types.ReferenceValue (which `translate` also
    takes as is) that may carry the carrier's label too. For carrier + service, `parent_code`
    is the carrier and `code` the service; a carrier sent without a service may be given
    either as `parent_code=carrier, code=""` or as `code=carrier` with no parent."""

    parent_label: str = ""

    @classmethod
    def carrier_service(
        cls,
        *,
        carrier_code: str,
        service_code: str = "",
        carrier_label: str = "",
        service_label: str = "",
    ) -> LookupRequest:
        return cls(
            MappingKind.CARRIER_SERVICE,
            code=service_code,
            label=service_label,
            parent_code=carrier_code,
            parent_label=carrier_label,
        )


@dataclass(frozen=True)
class Missing(LookupRequest):
    """A value with no de-para row and no fallback. Carrier + service: `parent_code` is the
    carrier, `code` the service (blank when the channel sent none). `count` is how many of
    the requests carried it."""

    count: int = field(default=1, compare=False)


@dataclass(frozen=True)
class Resolved:
    target: object  # CarrierService | PaymentMethod | Warehouse | OrderStatus value (str)
    mapping: ChannelMapping  # is_fallback: matched through the kind's fallback row


def canonical_parts(value: ReferenceValue) -> tuple[str, str, str, str, str]:
    """(kind, code, label, parent_code, parent_label) with the carrier always in parent_code."""
    kind = str(value.kind)
    code = (getattr(value, "code", "") or "").strip()
    label = (getattr(value, "label", "") or "").strip()
    parent_code = (getattr(value, "parent_code", "") or "").strip()
    parent_label = (getattr(value, "parent_label", "") or "").strip()
    if kind in PARENT_CODE_KINDS and not parent_code:
        # A carrier with no service (an attribute itself): the parent came in `code`.
        code, label, parent_code, parent_label = "", "", code, label
    return kind, code, label, parent_code, parent_label


def lookup_key(value: ReferenceValue) -> LookupKey:
    kind, code, _label, parent_code, _parent_label = canonical_parts(value)
    if kind in PARENT_CODE_KINDS:
        return (kind, normalize_code(parent_code), normalize_code(code))
    return (kind, normalize_code(code), "")


class Translation:
    """The outcome of `translate`: what each value maps to, and what is missing."""

    def __init__(self) -> None:
        self._resolved: dict[LookupKey, Resolved] = {}
        self._missing: dict[LookupKey, Missing] = {}

    def resolve(self, kind: str, code: str, parent_code: str = "") -> Resolved | None:
        key = lookup_key(LookupRequest(kind, code, parent_code=parent_code))
        return self._resolved.get(key)

    def get(self, kind: str, code: str, parent_code: str = ""):
        """The ERP value for a channel value, or None when it is missing (or was not asked)."""
        resolved = self.resolve(kind, code, parent_code)
        return resolved.target if resolved is not None else None

    @property
    def missing(self) -> list[Missing]:
        return list(self._missing.values())

    @property
    def complete(self) -> bool:
        return not self._missing


def translate(*, channel: SalesChannel, requests: Iterable[ReferenceValue]) -> Translation:
    """Translate many channel values of many kinds for one channel.

    One query per kind present, loading only the rows for the requested codes plus the
    fallback. Lookup order: exact row; for carrier + service, the carrier's "any service"
    row; then the kind's fallback. Anything else is reported missing, never guessed.
    """
    by_kind: dict[str, dict[LookupKey, Missing]] = {}
    for request in requests:
        kind, code, label, parent_code, parent_label = canonical_parts(request)
        mapping_model_for(kind)  # unknown kinds fail loudly, before any query
        key = lookup_key(request)
        seen = by_kind.setdefault(kind, {})
        previous = seen.get(key)
        if previous is None:
            seen[key] = Missing(kind, code, label, parent_code, parent_label)
        else:
            seen[key] = Missing(
                kind,
                previous.code,
                previous.label or label,
                previous.parent_code,
                previous.parent_label or parent_label,
                count=previous.count + 1,
            )

    translation = Translation()
    for kind, wanted in by_kind.items():
        model = mapping_model_for(kind)
        first_keys = {key[1] for key in wanted if key[1]}
        rows = (
            model._default_manager.filter(channel=channel)
            .filter(Q(is_fallback=True) | Q(is_fallback=False, code_key__in=first_keys))
            .select_related(*model.target_select_related)
        )
        exact: dict[tuple[str, str], ChannelMapping] = {}
        fallback = None
        for row in rows:
            if row.is_fallback:
                fallback = row
            else:
                exact[(row.code_key, row.second_key())] = row
        for key, value in wanted.items():
            _kind, first, second = key
            row = exact.get((first, second)) if first else None
            if row is None and kind == MappingKind.CARRIER_SERVICE and first:
                row = exact.get((first, ""))
            if row is None:
                row = fallback
            if row is None:
                translation._missing[key] = value
            else:
                translation._resolved[key] = Resolved(target=row.target, mapping=row)
    return translation


def lookups_for_order(order: NormalizedOrder) -> list[LookupRequest]:
    """The de-para values an order needs: status always; carrier + service and payment when
    the channel sent them."""
    lookups = [LookupRequest(MappingKind.ORDER_STATUS, order.status_code, order.status_label)]
    if order.carrier_code or order.service_code:
        lookups.append(
            LookupRequest.carrier_service(
                carrier_code=order.carrier_code,
                service_code=order.service_code,
                carrier_label=order.carrier_label,
                service_label=order.service_label,
            )
        )
    if order.payment_code:
        lookups.append(
            LookupRequest(MappingKind.PAYMENT_METHOD, order.payment_code, order.payment_label)
        )
    return lookups


def item_erp_prices(listing: Listing) -> list[tuple[str, object]]:
    """(ERP SKU code, price in the channel's price list) of every SKU bound to the same
    channel item as `listing` (itself included), by code; SKUs without a price are left out.
    For vendors that charge one price per item (vendors.spec.Capability.ONE_PRICE_PER_ITEM).
    One query."""
    channel = listing.channel
    if not listing.external_item_id or channel.price_list_id is None:
        return []
    return list(
        Price.objects.filter(
            price_list_id=channel.price_list_id,
            sku__listings__channel_id=channel.pk,
            sku__listings__external_item_id=listing.external_item_id,
        )
        .order_by("sku__code")
        .values_list("sku__code", "amount")
    )
