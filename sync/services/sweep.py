"""The missed-order sweep: a periodic safety net under the orders flow.

The regular import follows each vendor's change stream (Mercado Livre's search cursor,
VTEX's and ANYMARKET's feeds). A stream can drop an order — an order that moved in Mercado
Livre's sort while a page was read, a feed event that expired while the channel was paused —
and the ERP would never hear of it. So every `SalesChannel.order_sweep_interval_minutes` the
orders flow, once its regular import has read everything there was, also lists the orders
the vendor created in the last `order_sweep_days` days (`Connector.recent_orders`), compares
them with what the ERP holds (imported, held or quarantined), reads each missing one by id
and stores it through the same page path as the regular import (`orders_store_page`: the
de-para, the bindings, the reservation, held or quarantined like any other order).

It runs inside the orders run rather than on a schedule of its own: it shares the run's
lease (never beside another run of the channel), its rate limiter and budget, and its counts
land on the same SyncRun (`detail["sweep"]`, and a `missed_order` count with the first ids).
What it found is kept on the channel's OrderCursor (`sweep_found_at`, `sweep_found`) and the
health page shows it for SWEEP_ALERT_DAYS: an order the stream missed is a vendor or engine
problem someone should look at, even though the sweep already brought the order in.

An order created in the last SWEEP_SETTLE_MINUTES is not counted as missed yet: it may just
not have reached the stream (VTEX's list is indexed minutes after the feed; a feed item can
trail its order). The look-back is anchored at the newest order the ERP has from the channel
when that is older than now (a vendor clock behind ours, or an emulator's fixed calendar),
so the sweep always covers the vendor's own last N days; and it never reaches before the
oldest order the channel imported: orders from before the integration (a VTEX feed only
queues what happens after it is configured) belong to whoever handled them then. A channel
that imported nothing yet is not swept.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from django.db.models import Max, Min
from django.utils import timezone

from erp.models import Order
from sync.models import HeldOrder, OrderCursor, QuarantinedOrder
from sync.services.context import RunContext
from sync.services.orders import orders_store_page
from vendors.errors import NotFoundError
from vendors.types import InvalidOrder, NormalizedOrder

logger = logging.getLogger("sync.sweep")

SWEEP_SETTLE_MINUTES = 15
SWEEP_ALERT_DAYS = 7  # the health page shows a sweep's finding this long
_LOOKUP_CHUNK = 500  # ids per "which of these do we have" query


@dataclass
class SweepResult:
    listed: int = 0  # orders the vendor listed in the window
    missing: int = 0  # of those, not in the ERP (imported, held or quarantined)
    imported: int = 0
    held: int = 0
    quarantined: int = 0
    gone: int = 0  # listed, then not found by id
    complete: bool = True  # False: the run's budget ran out first (the next run sweeps)
    missing_ids: list[str] = field(default_factory=list)


def sweep_due(*, channel, now: datetime | None = None) -> bool:
    """Whether the channel's sweep interval has passed since its last complete sweep."""
    interval = channel.order_sweep_interval_minutes
    if not interval:
        return False
    swept_at = (
        OrderCursor.objects.filter(channel=channel).values_list("swept_at", flat=True).first()
    )
    now = now or timezone.now()
    return swept_at is None or now - swept_at >= timedelta(minutes=interval)


def _known(channel, ids: list[str]) -> set[str]:
    """Which of `ids` the ERP already has from this channel, in any form. Three queries per
    _LOOKUP_CHUNK ids, on the (channel, external_id) unique indexes."""
    known: set[str] = set()
    for start in range(0, len(ids), _LOOKUP_CHUNK):
        chunk = ids[start : start + _LOOKUP_CHUNK]
        for model in (Order, HeldOrder, QuarantinedOrder):
            known.update(
                model.objects.filter(channel=channel, external_id__in=chunk).values_list(
                    "external_id", flat=True
                )
            )
    return known


def orders_sweep(ctx: RunContext, *, now: datetime | None = None) -> SweepResult | None:
    """Sweep the channel once (see the module docstring). None when its vendor offers no
    listing. Records the outcome on the OrderCursor and the run."""
    channel = ctx.channel
    now = now or timezone.now()
    dates = Order.objects.filter(channel=channel).aggregate(
        oldest=Min("placed_at"), newest=Max("placed_at")
    )
    if dates["newest"] is None:
        # Nothing imported yet: the regular import brings the channel's orders in first;
        # before that there is nothing to compare with (and no line between the orders the
        # integration owns and the ones before it).
        return None
    since = max(
        min(now, dates["newest"]) - timedelta(days=channel.order_sweep_days), dates["oldest"]
    )
    settled = now - timedelta(minutes=SWEEP_SETTLE_MINUTES)
    result = SweepResult()
    listed: list[str] = []
    try:
        for external_id, created_at in ctx.connector.recent_orders(since):
            if not ctx.has_time():
                result.complete = False
                break
            if created_at is not None and created_at > settled:
                continue
            listed.append(external_id)
    except NotImplementedError:
        return None
    result.listed = len(listed)
    known = _known(channel, listed)
    missing = [external_id for external_id in dict.fromkeys(listed) if external_id not in known]
    result.missing = len(missing)
    per_page = channel.vendor.limits.for_flow("orders").max_items_per_request
    batch: list[NormalizedOrder | InvalidOrder] = []

    def store() -> None:
        if not batch:
            return
        stored = orders_store_page(
            channel=channel,
            orders=[o for o in batch if isinstance(o, NormalizedOrder)],
            invalid=[o for o in batch if isinstance(o, InvalidOrder)],
            save_cursor=False,
        )
        result.imported += stored.created
        result.held += stored.held
        result.quarantined += stored.quarantined
        ctx.run.done += len(batch)
        batch.clear()

    for external_id in missing:
        if not ctx.has_time():
            result.complete = False
            break
        try:
            batch.append(ctx.connector.fetch_order_or_invalid(external_id))
        except NotFoundError:
            result.gone += 1
            continue
        result.missing_ids.append(external_id)
        ctx.note("missed_order", external_id)
        ctx.run.total += 1
        if len(batch) >= per_page:
            store()
            ctx.checkpoint()
    store()
    found = len(result.missing_ids)
    if found:
        logger.warning(
            "Missed-order sweep of channel %s found %s order(s) the import had not read: %s",
            channel.pk,
            found,
            ", ".join(result.missing_ids[:20]),
        )
    updates: dict = {}
    if result.complete:
        updates["swept_at"] = now
    if found:
        updates.update(sweep_found_at=now, sweep_found=found)
    if updates:
        OrderCursor.objects.update_or_create(channel=channel, defaults=updates)
    ctx.extra["sweep"] = {k: v for k, v in asdict(result).items() if k != "missing_ids"} | {
        "since": since.isoformat()
    }
    return result
