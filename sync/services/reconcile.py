"""Stock reconciliation: read the vendor's stock back and mark what drifted (issue 11, 9).

The delta push only sends what the ERP announced. When the vendor's stock changes without
the ERP changing — an order canceled there before it was imported, someone editing stock on
the vendor's screen — nothing would ever push that SKU again. So, per channel and at a low
priority (its own long interval, `SalesChannel.reconcile_interval_minutes`, at most
`reconcile_pages_per_run` pages a run, through the channel's rate limiter and lease like any
run, skipped while another run holds the channel), the vendor's stock is read page by page
(`Connector.read_stock`: ANYMARKET's stock list, VTEX's inventory by SKU, Mercado Livre's
items multiget) and compared with what the stock flow would send now (`push.stock_values`:
the total, or each mapped location's). A SKU that differs is marked pending for the stock
flow — the reconciliation itself writes nothing at the vendor; the stock schedule pushes it.

A sweep walks the vendor's list (vendors that page their own stock) or the channel's bindings
by id (vendors asked per SKU); its cursor is saved after every page, so a run that stops —
time budget, lease lost, a failure — resumes there. What the last run and the sweeps found is
kept on `StockReconciliation` and shown on the health page.

Known limit: a sale at the vendor not yet imported also shows as drift, and the ERP's value
(higher) is pushed back; the order import reserves the stock moments later and the SKU is
pushed again. The reconciliation's long interval keeps this window rare.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q
from django.utils import timezone

from erp.models import Sku
from erpintegr.redaction import redact
from mappings.models import Listing
from sync.models import StockReconciliation
from sync.services.context import RunContext
from sync.services.pending import pending_upsert
from sync.services.push import LocationStock, stock_locations, stock_values
from vendors.spec import Flow
from vendors.types import ExternalRef, StockPage, StockReading


@dataclass
class PageOutcome:
    checked: int = 0
    drift: list[int] = field(default_factory=list)  # sku ids
    not_found: int = 0


def _keys(ref: ExternalRef) -> list[tuple]:
    """How a vendor reading names a binding, most specific first."""
    keys: list[tuple] = []
    if ref.item_id:
        keys.append(("item", ref.item_id, ref.variation_id))
    if ref.sku_id:
        keys.append(("sku", ref.sku_id))
    if ref.seller_sku:
        keys.append(("seller", ref.seller_sku))
    return keys


def _listing_keys(listing: Listing) -> list[tuple]:
    keys: list[tuple] = []
    if listing.external_item_id:
        keys.append(("item", listing.external_item_id, listing.external_variation_id))
    if listing.external_sku_id:
        keys.append(("sku", listing.external_sku_id))
    if listing.seller_sku:
        keys.append(("seller", listing.seller_sku))
    return keys


def _listings_named_by(channel, readings: list[StockReading]) -> list[Listing]:
    """The bindings a page of the vendor's own list names (by SKU id or seller SKU). One
    query, on the (channel, external_sku_id) and (channel, seller_sku) indexes."""
    sku_ids = {r.ref.sku_id for r in readings if r.ref.sku_id}
    seller_skus = {r.ref.seller_sku for r in readings if r.ref.seller_sku}
    if not sku_ids and not seller_skus:
        return []
    return list(
        Listing.objects.filter(channel=channel)
        .filter(Q(external_sku_id__in=sorted(sku_ids)) | Q(seller_sku__in=sorted(seller_skus)))
        .order_by()
    )


def compare_page(
    ctx: RunContext,
    *,
    listings: list[Listing],
    readings: list[StockReading],
) -> PageOutcome:
    """Compare one page of readings with what the stock flow would send now, at each place a
    reading covers (a vendor location nobody mapped is not ours, and is skipped). Bindings the
    page says nothing about are left alone. Two queries (SKUs, stock)."""
    outcome = PageOutcome()
    by_key: dict[tuple, Listing] = {}
    for listing in listings:
        for key in _listing_keys(listing):
            by_key.setdefault(key, listing)
    seen: dict[int, dict[str, StockReading]] = {}
    for reading in readings:
        listing = next((by_key[k] for k in _keys(reading.ref) if k in by_key), None)
        if listing is not None:
            seen.setdefault(listing.sku_id, {})[reading.location] = reading
    skus = {
        sku.pk: sku for sku in Sku.objects.filter(pk__in=list(seen)).only("id", "code", "active")
    }
    expected = stock_values(channel=ctx.channel, sku_ids=list(seen), skus=skus)
    for sku_id, at in seen.items():
        want = expected[sku_id]
        places = dict(want.per_location) if isinstance(want, LocationStock) else {"": want}
        outcome.checked += 1
        differs = {}
        for location, reading in at.items():
            if location not in places:
                continue
            if reading.quantity != places[location]:
                differs[location or "-"] = {
                    "vendor": reading.quantity,
                    "erp": places[location],
                    **({"problem": reading.problem} if reading.problem else {}),
                }
        if differs:
            outcome.drift.append(sku_id)
            code = skus[sku_id].code if sku_id in skus else sku_id
            ctx.note("drift", {"sku": code, "locations": differs})
    return outcome


def reconcile_stock(ctx: RunContext, *, pages: int) -> StockReconciliation:
    """Read up to `pages` pages of the vendor's stock from where the sweep stands, mark the
    SKUs whose stock drifted pending for the stock flow, and keep the cursor and the counts.
    Used by sync.services.runs for runs triggered RunTrigger.RECONCILE."""
    channel = ctx.channel
    connector = ctx.connector
    state, _ = StockReconciliation.objects.get_or_create(channel=channel)
    locations = [code for code, _warehouse in stock_locations(channel)]
    cursor = state.cursor or None
    if cursor is None:
        state.sweep_started_at = timezone.now()
    page_size = max(int(connector.stock_read_page_size), 1)
    checked = drifted = not_found = read = 0
    finished_sweep = False
    error = ""
    try:
        while read < pages and ctx.has_time():
            if connector.stock_read_paging == "vendor":
                page = connector.read_stock(cursor=cursor, locations=locations)
                listings = _listings_named_by(channel, page.readings)
                next_cursor = page.next_cursor
                asked = 0
            else:
                after = int(cursor or 0)
                # One more than a page: whether another page follows, without reading it.
                following = Listing.objects.filter(channel=channel, pk__gt=after).order_by("pk")
                listings = list(following[: page_size + 1])
                more = len(listings) > page_size
                listings = listings[:page_size]
                page = (
                    connector.read_stock(
                        refs=[listing.external_ref for listing in listings], locations=locations
                    )
                    if listings
                    else StockPage([])
                )
                next_cursor = str(listings[-1].pk) if more else None
                asked = len(listings)
            read += 1
            outcome = compare_page(ctx, listings=listings, readings=page.readings)
            if outcome.drift:
                pending_upsert(channel_ids=[channel.pk], flow=Flow.STOCK, sku_ids=outcome.drift)
            checked += outcome.checked
            drifted += len(outcome.drift)
            not_found += max(asked - outcome.checked, 0)
            ctx.run.total += outcome.checked
            ctx.run.done += outcome.checked
            cursor = next_cursor
            # Saved after every page: a run that stops resumes here, never rereads the sweep.
            StockReconciliation.objects.filter(pk=channel.pk).update(cursor=cursor or "")
            if cursor is None:
                finished_sweep = True
                break
            ctx.checkpoint()
    except Exception as exc:
        error = redact(f"{type(exc).__name__}: {exc}")
        raise
    finally:
        state.cursor = cursor or ""
        state.last_run_at = timezone.now()
        state.last_checked = checked
        state.last_drift = drifted
        state.drift_total += drifted
        state.sweeps_completed += int(finished_sweep)
        state.last_error = error[:2000]
        state.save()
        ctx.extra["reconciliation"] = {
            "pages": read,
            "checked": checked,
            "drift": drifted,
            "not_found": not_found,
            "sweep_finished": finished_sweep,
        }
    return state
