"""Coalescing: 100k stock changes concentrated on 5k SKUs become at most 5k pending rows and
at most 5k items pushed.

The changes go through the ERP's own service (erp.services.stock_set_many, in batches of
1,000 levels, every level a real change of a SKU drawn at random from the 5k), so they are
announced and recorded as the engine records them. Then run_flow pushes to the ANYMARKET
emulator at its declared rate; the emulator counts the items it receives, and every SKU's
stock at the vendor is checked against the ERP's last value.
"""

from __future__ import annotations

import random
import time

from bench.support import (
    Row,
    active_channel,
    bind_catalog,
    fmt_int,
    make_company,
    pending_count,
    plural,
    progress,
    start_emulator,
    stock_writes,
)

LEVELS_PER_CALL = 1000


def run(state, *, quick: bool) -> list[Row]:
    from erp.services import StockLevel, stock_set_many
    from mappings.models import Listing
    from sync.models import PendingChange
    from sync.services.runs import run_flow

    changes, hot = (10_000, 500) if quick else (100_000, 5_000)
    from vendors.registry import get_spec

    limits = get_spec("anymarket").limits
    emulator = start_emulator("anymarket", 900)
    try:
        channel = active_channel(
            connector="anymarket",
            company=make_company("coalescing"),
            credentials=emulator.credentials,
            base_url=emulator.url,
            batch_sizes={"stock": limits.for_flow("stock").max_batch_size},
        )
        warehouse = channel.warehouses.get()
        codes = [f"HOT-{i:05d}" for i in range(hot)]
        skus = bind_catalog(channel, emulator, codes, on_hand=lambda i: 0)
        PendingChange.objects.filter(channel=channel).delete()
        rng = random.Random(20260108)
        current = dict.fromkeys(range(hot), 0)
        progress(
            f"coalescing: {fmt_int(changes)} stock changes over {fmt_int(hot)} SKUs "
            "through erp.services.stock_set_many"
        )
        started = time.monotonic()
        for start in range(0, changes, LEVELS_PER_CALL):
            levels = []
            for _ in range(min(LEVELS_PER_CALL, changes - start)):
                index = rng.randrange(hot)
                current[index] = (current[index] + 1 + rng.randrange(9)) % 1000  # always differs
                levels.append(
                    StockLevel(sku=skus[index], warehouse=warehouse, on_hand=current[index])
                )
            stock_set_many(levels=levels)
        recording_seconds = time.monotonic() - started
        pending = pending_count(channel)
        progress(
            f"coalescing: {fmt_int(changes)} changes recorded in {recording_seconds:.1f} s "
            f"-> {fmt_int(pending)} pending rows; pushing"
        )
        emulator.reset_stats()
        runs = 0
        while pending_count(channel) and runs < 20:
            run = run_flow(channel_id=channel.pk, flow="stock")
            runs += 1
            if run.state != "succeeded":
                raise RuntimeError(f"push run {run.state}: {run.error}")
        writes = stock_writes(emulator)
        items_received = sum(r.stock_items for r in writes if 200 <= r.status < 300)
        latest_at_vendor = sum(
            1 for i, code in enumerate(codes) if emulator.stock_of(code) == current[i]
        )
    finally:
        emulator.stop()
    bound_pushed = Listing.objects.filter(
        channel=channel, last_pushed_stock_at__isnull=False
    ).count()
    label = f"{changes // 1000}k changes on {hot // 1000 if hot >= 1000 else hot}"
    label += "k SKUs" if hot >= 1000 else " SKUs"
    data = {
        "changes": changes,
        "skus": hot,
        "recording_seconds": recording_seconds,
        "pending_rows": pending,
        "runs": runs,
        "write_requests": len(writes),
        "items_received_by_vendor": items_received,
        "skus_pushed": bound_pushed,
        "latest_value_at_vendor": latest_at_vendor,
    }
    name = "Coalescing"
    return [
        Row(
            name,
            f"{label}: pending rows",
            fmt_int(pending),
            f"≤ {fmt_int(hot)}",
            pending <= hot,
            data,
        ),
        Row(
            name,
            f"{label}: items pushed",
            f"{fmt_int(items_received)} in {plural(len(writes), 'request')}; "
            f"latest value at vendor {fmt_int(latest_at_vendor)}/{fmt_int(hot)}",
            f"≤ {fmt_int(hot)}",
            items_received <= hot and latest_at_vendor == hot,
        ),
        Row(
            name,
            f"{label}: recording the changes (ERP service)",
            f"{recording_seconds:.1f} s ({fmt_int(changes / recording_seconds)} changes/s)",
            "-",
            None,
        ),
    ]
