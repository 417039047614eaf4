"""Outbound delta: push what is pending for one channel and flow (DESIGN.md §4.3).

Per batch: read up to `limit` pending rows (index on channel, flow, id — the cost follows the
batch, not the catalog), compute current values, send them in as few requests as the vendor
allows, then in one transaction record what was pushed on the bindings and delete the pending
rows whose version did not change meanwhile. A crash before that commit loses nothing: the
rows are still pending and the next run sends them again (vendor writes are idempotent).

What differs between the push flows is one `FlowPlan` each, in `PUSH_PLANS`: the engine
(`push_pending`), the pending-change receiver, the run's priorities and the activation's
settings check read it, so a new push flow is one entry there.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import QuerySet, Sum

from channels.models import SalesChannel
from erp.models import Price, Sku, StockBalance
from erp.signals import ChangeKind
from mappings.models import Listing, StockLocationMapping
from mappings.services import listings_record_pushed
from sync.models import PendingChange
from sync.services.context import CHECKPOINT_SECONDS, RunContext
from vendors.base import Connector
from vendors.spec import Capability, Flow, VendorLimits
from vendors.types import (
    ExternalRef,
    PriceUpdate,
    PushResult,
    StockUpdate,
)

# Items handed to a connector per call: a few requests' worth, so the time budget and the
# lease are checked often, while the connector still groups items into the fewest requests.
ITEMS_PER_CALL_FACTOR = 10


class ChannelConfigError(Exception):
    """The channel lacks what a flow needs (no price list, no warehouses)."""


# --- current values, per flow -----------------------------------------------------------------


def available_stock(*, channel, sku_ids: Iterable[int], skus: dict[int, Sku]) -> dict[int, int]:
    """available = on hand − reserved over the channel's warehouses − safety stock, ≥ 0.
    Inactive SKUs are offered as 0. One query."""
    warehouse_ids = list(channel.warehouses.values_list("pk", flat=True))
    if not warehouse_ids:
        raise ChannelConfigError(
            f"Channel “{channel.name}” has no stock warehouses; choose them on the channel page."
        )
    sums = {
        row["sku_id"]: (row["on_hand"] or 0) - (row["reserved"] or 0)
        for row in StockBalance.objects.filter(
            sku_id__in=list(sku_ids), warehouse_id__in=warehouse_ids
        )
        .values("sku_id")
        .annotate(on_hand=Sum("on_hand"), reserved=Sum("reserved"))
    }
    result = {}
    for sku_id in sku_ids:
        sku = skus.get(sku_id)
        if sku is None or not sku.active:
            result[sku_id] = 0
        else:
            result[sku_id] = max(sums.get(sku_id, 0) - channel.safety_stock, 0)
    return result


@dataclass(frozen=True)
class LocationStock:
    """A SKU's stock for a vendor that keeps it per location: (location code, quantity) for
    each mapped location, in code order. What the binding remembers is the total."""

    per_location: tuple[tuple[str, int], ...]

    @property
    def total(self) -> int:
        return sum(quantity for _, quantity in self.per_location)


def stock_locations(channel) -> list[tuple[str, int]]:
    """(vendor location code, ERP warehouse id) of the channel's stock-location de-para, in
    code order, when its vendor keeps stock per location (Capability.STOCK_PER_LOCATION);
    [] otherwise. The “anything else” row maps no code, so it is never a place to push to.

    Why per location: ANYMARKET keeps stock per stock location (“Multi CD's”: every location's
    units are offered, and logistics rules choose the one an order ships from; a write without
    `stockLocalId` goes to the default location — suporteanymarket.freshdesk.com, article
    19000097631) and VTEX per warehouse (`PATCH /api/logistics/pvt/inventory/skus/{skuId}/
    warehouses/{warehouseId}/quantity`). Pushing the channel's total to one location would
    leave the stock of the others as it was: the de-para says which ERP warehouse fills which
    vendor location. Mercado Livre keeps one stock per listing and lists no location."""
    if Capability.STOCK_PER_LOCATION not in channel.vendor.capabilities:
        return []
    return list(
        StockLocationMapping.objects.filter(channel=channel, is_fallback=False)
        .order_by("code_key", "pk")
        .values_list("code", "target_id")
    )


def stock_values(
    *, channel, sku_ids: Iterable[int], skus: dict[int, Sku]
) -> dict[int, int | LocationStock]:
    """What the stock flow sends: the total (`available_stock`) or, where the channel maps
    stock locations, the stock of each location (`location_stock`). Two queries at most."""
    locations = stock_locations(channel)
    if not locations:
        return available_stock(channel=channel, sku_ids=sku_ids, skus=skus)
    return location_stock(channel=channel, sku_ids=sku_ids, skus=skus, locations=locations)


def location_stock(
    *, channel, sku_ids: Iterable[int], skus: dict[int, Sku], locations: list[tuple[str, int]]
) -> dict[int, LocationStock]:
    """Per mapped location: on hand − reserved in its ERP warehouse (≥ 0). Only the channel's
    stock warehouses are offered: a location mapped to another warehouse gets 0; a warehouse
    mapped to several locations is counted once, at the first (no unit is offered twice). The
    channel's safety stock is held back from the locations in code order. Inactive SKUs are 0
    everywhere. One query."""
    sku_ids = list(sku_ids)
    channel_warehouses = set(channel.warehouses.values_list("pk", flat=True))
    if not channel_warehouses:
        raise ChannelConfigError(
            f"Channel “{channel.name}” has no stock warehouses; choose them on the channel page."
        )
    counted: set[int] = set()
    places: list[tuple[str, int | None]] = []
    for code, warehouse_id in locations:
        usable = warehouse_id in channel_warehouses and warehouse_id not in counted
        counted.add(warehouse_id)
        places.append((code, warehouse_id if usable else None))
    levels = {
        (row["sku_id"], row["warehouse_id"]): (row["on_hand"] or 0) - (row["reserved"] or 0)
        for row in StockBalance.objects.filter(
            sku_id__in=sku_ids, warehouse_id__in=[w for _, w in places if w is not None]
        ).values("sku_id", "warehouse_id", "on_hand", "reserved")
    }
    result = {}
    for sku_id in sku_ids:
        sku = skus.get(sku_id)
        active = sku is not None and sku.active
        held_back = channel.safety_stock
        per_location = []
        for code, warehouse_id in places:
            quantity = max(levels.get((sku_id, warehouse_id), 0), 0) if active else 0
            taken = min(quantity, held_back)
            held_back -= taken
            per_location.append((code, quantity - taken))
        result[sku_id] = LocationStock(tuple(per_location))
    return result


def _stock_items(key: int, ref: ExternalRef, value: int | LocationStock) -> list[StockUpdate]:
    if isinstance(value, LocationStock):
        # One update per location, keyed (SKU, location): the SKU is done when all are.
        return [
            StockUpdate(key=(key, code), ref=ref, quantity=quantity, location=code)
            for code, quantity in value.per_location
        ]
    return [StockUpdate(key=key, ref=ref, quantity=value)]


def _stock_pushed(value: int | LocationStock) -> int:
    return value.total if isinstance(value, LocationStock) else value


def current_prices(
    *, channel, sku_ids: Iterable[int], skus: Mapping[int, Sku] | None = None
) -> dict[int, tuple[Decimal, Decimal | None]]:
    """(price, list price) from the channel's price list; SKUs with no price are left out.
    One query. (`skus` is not needed: a price does not depend on the SKU row.)"""
    if channel.price_list_id is None:
        raise ChannelConfigError(
            f"Channel “{channel.name}” has no price list; choose one on the channel page."
        )
    return {
        p.sku_id: (p.amount, p.list_amount)
        for p in Price.objects.filter(price_list_id=channel.price_list_id, sku_id__in=list(sku_ids))
    }


def _price_items(key: int, ref: ExternalRef, prices) -> list[PriceUpdate]:
    return [PriceUpdate(key=key, ref=ref, price=prices[0], list_price=prices[1])]


def one_price_per_item(
    ctx: RunContext, *, listings: dict[int, Listing], values: dict[int, object]
) -> dict[int, tuple[Listing, object]]:
    """Vendors that charge one price for every variation of an item (Capability.
    ONE_PRICE_PER_ITEM; Mercado Livre: “The price must be the same for each variation. Only
    the highest price will be seen in the VIP and will also be taken into account at the time
    the payment is made.”, developers.mercadolivre.com.br/variacoes) get ONE price per item:
    the highest ERP price among the item's bound SKUs. It replaces each pending SKU's price in
    `values`; the item's other bound SKUs are returned ({sku id: (binding, price)}) to be sent
    in the same request and recorded, though they were not pending — the price they last got
    may not be the item's any more. When the ERP prices differ the run notes it
    (`item_price_unified`); the binding's admin page shows the rule and the prices. Two queries,
    only for such vendors."""
    if Capability.ONE_PRICE_PER_ITEM not in ctx.channel.vendor.capabilities:
        return {}
    item_ids = {listings[sku_id].external_item_id for sku_id in values} - {""}
    if not item_ids:
        return {}
    siblings = {
        listing.sku_id: listing
        for listing in Listing.objects.filter(channel=ctx.channel, external_item_id__in=item_ids)
        .select_related("sku")
        .order_by()
    }
    prices: dict[int, object] = dict(values)
    prices.update(
        current_prices(channel=ctx.channel, sku_ids=[s for s in siblings if s not in values])
    )
    by_item: dict[str, list[int]] = {}
    for sku_id, listing in siblings.items():
        if sku_id in prices:
            by_item.setdefault(listing.external_item_id, []).append(sku_id)
    extras: dict[int, tuple[Listing, object]] = {}
    for item_id, sku_ids in sorted(by_item.items()):
        if len(sku_ids) < 2:
            continue
        sku_ids.sort(key=lambda sku_id: siblings[sku_id].sku.code)
        highest = max(prices[sku_id][0] for sku_id in sku_ids)
        list_prices = [prices[s][1] for s in sku_ids if prices[s][1] is not None]
        unified = (highest, max(max(list_prices), highest) if list_prices else None)
        if len({prices[sku_id][0] for sku_id in sku_ids}) > 1:
            ctx.note(
                "item_price_unified",
                {
                    "item": item_id,
                    "sent": str(highest),
                    "erp_prices": {
                        siblings[sku_id].sku.code: str(prices[sku_id][0]) for sku_id in sku_ids
                    },
                },
            )
        for sku_id in sku_ids:
            if sku_id in values:
                values[sku_id] = unified
            else:
                extras[sku_id] = (siblings[sku_id], unified)
    return extras


def _no_extras(ctx, *, listings, values) -> dict:
    return {}


# --- which channels an announcement concerns, what a channel needs --------------------------


def _channels_with_warehouses(channels: QuerySet, *, warehouse_ids, price_list_id) -> QuerySet:
    if warehouse_ids is None:  # the announcement did not say where: every channel
        return channels
    return channels.filter(warehouses__in=list(warehouse_ids))


def _channels_with_price_list(channels: QuerySet, *, warehouse_ids, price_list_id) -> QuerySet:
    return channels.filter(price_list_id=price_list_id)


def _every_channel(channels: QuerySet, *, warehouse_ids, price_list_id) -> QuerySet:
    return channels


def _needs_warehouses(channel: SalesChannel) -> str:
    if channel.warehouses.exists():
        return ""
    return "Stock: no stock warehouse is chosen, so every listing would be sent 0 units."


def _needs_price_list(channel: SalesChannel) -> str:
    return "" if channel.price_list_id is not None else "Prices: no price list is chosen."


def _needs_nothing(channel: SalesChannel) -> str:
    return ""


def _as_is(value):
    return value


# --- the table --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlowPlan:
    """Everything the engine does differently for one push flow."""

    # The erp.signals.skus_changed kind that marks SKUs pending for this flow.
    change_kind: ChangeKind
    # (channels, *, warehouse_ids, price_list_id) -> the channels an announcement concerns,
    # narrowed from the company's tracked channels. Adds no query of its own.
    concerned: Callable[..., QuerySet]
    # (channel) -> what the channel lacks for this flow ("" when nothing); blocks activation.
    missing_setup: Callable[[SalesChannel], str]
    # The next three are None for a flow with its own engine (the catalog publishes whole
    # products: sync.services.catalog), which push_pending does not run.
    # (*, channel, sku_ids, skus) -> {sku id: current value}. A SKU left out is not sent: its
    # row is settled and noted as `no_value`. Raises ChannelConfigError when the channel lacks
    # what the flow needs (the run fails with that reason).
    load_values: Callable[..., Mapping[int, object]] | None
    # (sku id, where it lives on the channel, value) -> the items the adapter takes: one, or
    # one per part keyed (sku id, part) (stock per location); the SKU is pushed when every
    # part is accepted.
    build_items: Callable[[int, ExternalRef, object], list] | None
    # (adapter, items) -> PushResult.
    send: Callable[[Connector, list], PushResult] | None
    no_value: str = "no_value"
    # The Listing column remembering what the vendor accepted (mappings.services.
    # PUSHED_COLUMNS) and the part of the value kept there; None: nothing is remembered.
    binding_field: str | None = None
    pushed_value: Callable[[object], object] = _as_is
    # Flows a run of this one pushes first when they have pending rows (stock is time-critical).
    push_first: tuple[str, ...] = ()
    # (ctx, *, listings, values) -> {sku id: (binding, value)}: a vendor rule applied to the
    # batch's values (in place), and bindings that are not pending but must be sent with them.
    vendor_rules: Callable[..., dict] = _no_extras


PUSH_PLANS: dict[str, FlowPlan] = {
    Flow.STOCK: FlowPlan(
        change_kind=ChangeKind.STOCK,
        concerned=_channels_with_warehouses,
        missing_setup=_needs_warehouses,
        load_values=stock_values,
        build_items=_stock_items,
        send=lambda connector, items: connector.push_stock(items),
        binding_field="last_pushed_stock",
        pushed_value=_stock_pushed,
    ),
    Flow.PRICE: FlowPlan(
        change_kind=ChangeKind.PRICE,
        concerned=_channels_with_price_list,
        missing_setup=_needs_price_list,
        load_values=current_prices,
        build_items=_price_items,
        send=lambda connector, items: connector.push_prices(items),
        no_value="no_price",
        binding_field="last_pushed_price",
        pushed_value=lambda prices: prices[0],
        push_first=(Flow.STOCK,),
        vendor_rules=one_price_per_item,
    ),
    # Announcements, the pending rows and the push-first rule as for the other flows; the
    # publishing itself is sync.services.catalog (whole products through publish_product).
    Flow.CATALOG: FlowPlan(
        change_kind=ChangeKind.CATALOG,
        concerned=_every_channel,
        missing_setup=_needs_nothing,
        load_values=None,
        build_items=None,
        send=None,
        push_first=(Flow.STOCK,),
    ),
}
PUSH_FLOWS = tuple(PUSH_PLANS)


# --- the engine -------------------------------------------------------------------------------


def _send(ctx: RunContext, flow: str, items: list) -> PushResult:
    return PUSH_PLANS[flow].send(ctx.connector, items)


def _sku_of(key) -> int:
    """The SKU id of an item key: the key itself, or the first part of (sku id, part)."""
    return key[0] if isinstance(key, tuple) else key


def items_per_call(limits: VendorLimits, flow: str) -> int:
    """Items handed to the connector per call: ITEMS_PER_CALL_FACTOR requests' worth, or,
    where the flow keeps several requests open (`max_in_flight`), about a checkpoint
    interval's worth at the declared rate — the pool drains at the end of every call (it
    waits for its slowest request, a timeout or a Retry-After), so a call of a few requests
    would spend most of its time waiting for one."""
    flow_limits = limits.for_flow(flow)
    per_request = max(flow_limits.max_items_per_request, 1)
    requests = ITEMS_PER_CALL_FACTOR
    if flow_limits.max_in_flight > 1:
        requests = max(
            requests * flow_limits.max_in_flight,
            math.ceil(limits.requests_per_second * CHECKPOINT_SECONDS),
        )
    return per_request * requests


def push_pending(ctx: RunContext, *, flow: str, limit: int) -> int:
    """Push up to `limit` pending changes of `flow`. Returns how many rows were settled."""
    plan = PUSH_PLANS[flow]
    if plan.send is None:
        raise ValueError(f"The {flow} flow has its own engine; push_pending does not run it.")
    channel = ctx.channel
    rows = list(
        PendingChange.objects.filter(channel=channel, flow=flow)
        .order_by("id")
        .values_list("id", "sku_id", "version")[:limit]
    )
    if not rows:
        return 0
    ctx.run.total += len(rows)
    sku_ids = [sku_id for _, sku_id, _ in rows]
    listings = {
        listing.sku_id: listing
        # No ORDER BY: with Listing's default ordering SQLite walks the channel's whole index
        # to avoid a sort (380 ms vs 48 ms for 1,000 changes on a 1M-SKU catalog).
        for listing in Listing.objects.filter(channel=channel, sku_id__in=sku_ids).order_by()
    }
    skus = {
        sku.pk: sku
        for sku in Sku.objects.filter(pk__in=sku_ids)
        .select_related("product")
        .only("id", "code", "name", "ean", "active", "product__name")
    }

    def code_of(sku_id: int):
        return skus[sku_id].code if sku_id in skus else sku_id

    settled: list[tuple[int, int]] = []  # (pending id, version) done with, pushed or not
    row_of: dict[int, tuple[int, int]] = {}
    bound = [row for row in rows if row[1] in listings]
    for pending_id, sku_id, version in rows:
        if sku_id not in listings:
            ctx.note("not_bound", code_of(sku_id))
            settled.append((pending_id, version))
    values = dict(plan.load_values(channel=channel, sku_ids=[r[1] for r in bound], skus=skus))
    for pending_id, sku_id, version in bound:
        if sku_id not in values:
            ctx.note(plan.no_value, code_of(sku_id))
            settled.append((pending_id, version))
            continue
        row_of[sku_id] = (pending_id, version)
    values = {sku_id: values[sku_id] for sku_id in row_of}
    # Bindings sent along although not pending (a vendor rule), recorded but never settled;
    # they come with their SKU joined.
    for sku_id, (listing, value) in plan.vendor_rules(
        ctx, listings=listings, values=values
    ).items():
        listings[sku_id] = listing
        skus.setdefault(sku_id, listing.sku)
        values[sku_id] = value
    items: list = []
    parts: dict[int, set] = {}  # sku id -> keys of its items still without an outcome
    for sku_id, value in values.items():
        built = plan.build_items(sku_id, listings[sku_id].external_ref, value)
        parts[sku_id] = {item.key for item in built}
        items.extend(built)
    ctx.run.done += len(settled)
    per_call = items_per_call(ctx.channel.vendor.limits, flow)
    refused: dict[int, str] = {}  # sku id -> the vendor's reason (a part of it refused)
    waiting: set[int] = set()  # sku ids with a deferred part: they stay pending

    def outcome(key, kind: str, message: str = "") -> None:
        sku_id = _sku_of(key)
        part = parts.get(sku_id)
        if part is None or key not in part:
            return  # not ours, or already known
        part.discard(key)
        if kind != "accepted":
            where = {"location": key[1]} if isinstance(key, tuple) else {}
            ctx.note(kind, {"sku": code_of(sku_id), **where, "error": message})
            if kind == "rejected":
                refused.setdefault(sku_id, message)
            else:
                waiting.add(sku_id)
        if not part and sku_id in row_of:
            ctx.run.done += 1

    try:
        for start in range(0, len(items), per_call):
            if not ctx.has_time():
                ctx.extra["stopped"] = "time budget used up; the rest stays pending"
                break
            chunk = items[start : start + per_call]
            result = _send(ctx, flow, chunk)
            for key in result.accepted:
                outcome(key, "accepted")
            for key, message in result.rejected.items():
                outcome(key, "rejected", message)
            for key, message in result.deferred.items():
                outcome(key, "deferred", message)
            ctx.checkpoint()
    finally:
        # Whatever was accepted before a failure is recorded; the rest stays pending. A SKU
        # is pushed when every part of it was accepted; settled when pushed or refused (a
        # refusal is the vendor's verdict on the item: sending it again would not help).
        pushed: list[tuple[int, object]] = []  # (sku_id, value pushed)
        for sku_id, part in parts.items():
            if part or sku_id in waiting:
                continue
            if sku_id in refused:
                if sku_id in row_of:
                    settled.append(row_of[sku_id])
                continue
            pushed.append((sku_id, plan.pushed_value(values[sku_id])))
            if sku_id in row_of:
                settled.append(row_of[sku_id])
        commit_pushed(ctx, flow=flow, pushed=pushed, settled=settled, listings=listings)
    return len(settled)


@transaction.atomic
def commit_pushed(
    ctx: RunContext,
    *,
    flow: str,
    pushed: list[tuple[int, object]],
    settled: list[tuple[int, int]],
    listings: dict[int, Listing],
) -> None:
    """Record pushed values on the bindings; delete settled rows whose version is unchanged."""
    column = PUSH_PLANS[flow].binding_field
    if pushed and column:
        listings_record_pushed(
            column=column, values=[(listings[key].pk, value) for key, value in pushed]
        )
    if settled:
        ids = [pending_id for pending_id, _ in settled]
        expected = dict(settled)
        current = (
            PendingChange.objects.select_for_update()
            .filter(pk__in=ids)
            .values_list("pk", "version")
        )
        unchanged = [pk for pk, version in current if expected.get(pk) == version]
        if unchanged:
            PendingChange.objects.filter(pk__in=unchanged).delete()
