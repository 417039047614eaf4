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

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import QuerySet, Sum

from channels.models import SalesChannel
from erp.models import Price, Sku, StockBalance
from erp.signals import ChangeKind
from mappings.models import Listing
from mappings.services import listings_record_pushed
from sync.models import PendingChange
from sync.services.context import RunContext
from vendors.base import Connector
from vendors.spec import Flow
from vendors.types import (
    CatalogUpdate,
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


def catalog_values(*, channel, sku_ids: Iterable[int], skus: Mapping[int, Sku]) -> dict[int, Sku]:
    """The catalog pushes the SKU rows themselves (name, EAN, active): no query."""
    return {sku_id: skus[sku_id] for sku_id in sku_ids if sku_id in skus}


def _catalog_item(key: int, ref: ExternalRef, sku: Sku) -> CatalogUpdate:
    title = f"{sku.product.name} {sku.name}".strip()
    return CatalogUpdate(key=key, ref=ref, name=title, ean=sku.ean, active=sku.active)


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
    # (*, channel, sku_ids, skus) -> {sku id: current value}. A SKU left out is not sent: its
    # row is settled and noted as `no_value`. Raises ChannelConfigError when the channel lacks
    # what the flow needs (the run fails with that reason).
    load_values: Callable[..., Mapping[int, object]]
    # (sku id, where it lives on the channel, value) -> the item the adapter takes.
    build_item: Callable[[int, ExternalRef, object], object]
    # (adapter, items) -> PushResult.
    send: Callable[[Connector, list], PushResult]
    no_value: str = "no_value"
    # The Listing column remembering what the vendor accepted (mappings.services.
    # PUSHED_COLUMNS) and the part of the value kept there; None: nothing is remembered.
    binding_field: str | None = None
    pushed_value: Callable[[object], object] = _as_is
    # Flows a run of this one pushes first when they have pending rows (stock is time-critical).
    push_first: tuple[str, ...] = ()


PUSH_PLANS: dict[str, FlowPlan] = {
    Flow.STOCK: FlowPlan(
        change_kind=ChangeKind.STOCK,
        concerned=_channels_with_warehouses,
        missing_setup=_needs_warehouses,
        load_values=available_stock,
        build_item=lambda key, ref, quantity: StockUpdate(key=key, ref=ref, quantity=quantity),
        send=lambda connector, items: connector.push_stock(items),
        binding_field="last_pushed_stock",
    ),
    Flow.PRICE: FlowPlan(
        change_kind=ChangeKind.PRICE,
        concerned=_channels_with_price_list,
        missing_setup=_needs_price_list,
        load_values=current_prices,
        build_item=lambda key, ref, prices: PriceUpdate(
            key=key, ref=ref, price=prices[0], list_price=prices[1]
        ),
        send=lambda connector, items: connector.push_prices(items),
        no_value="no_price",
        binding_field="last_pushed_price",
        pushed_value=lambda prices: prices[0],
        push_first=(Flow.STOCK,),
    ),
    Flow.CATALOG: FlowPlan(
        change_kind=ChangeKind.CATALOG,
        concerned=_every_channel,
        missing_setup=_needs_nothing,
        load_values=catalog_values,
        build_item=_catalog_item,
        send=lambda connector, items: connector.push_catalog(items),
        no_value="no_sku",
        push_first=(Flow.STOCK,),
    ),
}
PUSH_FLOWS = tuple(PUSH_PLANS)


# --- the engine -------------------------------------------------------------------------------


def _send(ctx: RunContext, flow: str, items: list) -> PushResult:
    return PUSH_PLANS[flow].send(ctx.connector, items)


def push_pending(ctx: RunContext, *, flow: str, limit: int) -> int:
    """Push up to `limit` pending changes of `flow`. Returns how many rows were settled."""
    plan = PUSH_PLANS[flow]
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
    items, row_of = [], {}
    bound = [row for row in rows if row[1] in listings]
    for pending_id, sku_id, version in rows:
        if sku_id not in listings:
            ctx.note("not_bound", code_of(sku_id))
            settled.append((pending_id, version))
    values = plan.load_values(channel=channel, sku_ids=[r[1] for r in bound], skus=skus)
    for pending_id, sku_id, version in bound:
        if sku_id not in values:
            ctx.note(plan.no_value, code_of(sku_id))
            settled.append((pending_id, version))
            continue
        row_of[sku_id] = (pending_id, version)
        items.append(plan.build_item(sku_id, listings[sku_id].external_ref, values[sku_id]))
    ctx.run.done += len(settled)
    per_call = max(ctx.channel.vendor.limits.for_flow(flow).max_items_per_request, 1)
    per_call *= ITEMS_PER_CALL_FACTOR
    pushed: list[tuple[int, object]] = []  # (sku_id, value pushed)
    try:
        for start in range(0, len(items), per_call):
            if not ctx.has_time():
                ctx.extra["stopped"] = "time budget used up; the rest stays pending"
                break
            chunk = items[start : start + per_call]
            result = _send(ctx, flow, chunk)
            for key in result.accepted:
                pushed.append((key, plan.pushed_value(values[key])))
                settled.append(row_of[key])
            for key, message in result.rejected.items():
                ctx.note("rejected", {"sku": code_of(key), "error": message})
                settled.append(row_of[key])
            for key, message in result.deferred.items():
                ctx.note("deferred", {"sku": code_of(key), "error": message})
            ctx.run.done += len(result.accepted) + len(result.rejected) + len(result.deferred)
            ctx.checkpoint()
    finally:
        # Whatever was accepted before a failure is recorded; the rest stays pending.
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
