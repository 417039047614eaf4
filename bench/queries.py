"""Queries per batch: database queries of one run_flow for push batches of 100 and 1,000
stock items, and order pages of 10 and 50 orders (ANYMARKET emulator: its feed answers at
most 50 items at once, so 50 is a full page). Target: the same count whatever the size.

The emulator and the connector run at a raised rate (1,000 requests/s) so the runs are short:
a run saves its progress every few seconds (RunContext.checkpoint), so a run slowed down by
pacing would add checkpoint queries that depend on time, not on the batch. Each channel runs
once before the measure: its first run creates its lease row.
"""

from __future__ import annotations

import random

from bench.orders import add_orders, order_shop
from bench.support import (
    Row,
    active_channel,
    bind_catalog,
    make_company,
    mark_pending,
    progress,
    start_emulator,
    vendor_rate,
)

FAST = 1000


def _count(channel, flow: str) -> tuple[int, object]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from sync.services.runs import run_flow

    with CaptureQueriesContext(connection) as captured:
        run = run_flow(channel_id=channel.pk, flow=flow)
    if run.state != "succeeded":
        raise RuntimeError(f"{flow} run {run.state}: {run.error}")
    return len(captured.captured_queries), run


def _push_counts() -> dict[int, int]:
    emulator = start_emulator("anymarket", 700)
    try:
        channel = active_channel(
            connector="anymarket",
            company=make_company("queries push"),
            credentials=emulator.credentials,
            base_url=emulator.url,
        )
        codes = [f"Q-{i:05d}" for i in range(1110)]
        skus = bind_catalog(channel, emulator, codes, on_hand=lambda i: i % 7)
        counts = {}
        for size, batch in ((None, skus[:10]), (100, skus[10:110]), (1000, skus[110:1110])):
            channel.sync_settings.filter(flow="stock").update(batch_size=len(batch))
            mark_pending(channel, [sku.pk for sku in batch])
            queries, run = _count(channel, "stock")
            if size is not None:
                if run.done != size:
                    raise RuntimeError(f"push of {size} settled {run.done}")
                counts[size] = queries
    finally:
        emulator.stop()
    return counts


FULL_FEED_PAGE = 50  # sandbox.anymarket.routes.FEED_PAGE_SIZE


def _order_counts() -> dict[int, int]:
    emulator = start_emulator("anymarket", 701)
    rng = random.Random(5)
    try:
        channel, codes = order_shop(emulator, "queries orders", batch_orders=5)
        counts = {}
        for size in (None, 10, FULL_FEED_PAGE):
            channel.sync_settings.filter(flow="orders").update(batch_size=size or 5)
            add_orders(emulator, codes, size or 5, rng)
            queries, run = _count(channel, "orders")
            if size is not None:
                if run.done != size:
                    raise RuntimeError(f"order page of {size} imported {run.done}")
                counts[size] = queries
    finally:
        emulator.stop()
    return counts


def run(state, *, quick: bool) -> list[Row]:
    from vendors.anymarket.adapter import AnymarketConnector

    with vendor_rate(AnymarketConnector, rate=FAST, burst=100):
        progress("queries: push batches of 100 and 1,000 stock items")
        push = _push_counts()
        progress(f"queries: order pages of 10 and {FULL_FEED_PAGE} orders")
        orders = _order_counts()
    name = "Queries per batch"
    return [
        Row(
            name,
            "push run, stock batch of 100 / 1,000 (ANYMARKET)",
            f"{push[100]} / {push[1000]}",
            "equal",
            push[100] == push[1000],
            {"push": push, "orders": orders},
        ),
        Row(
            name,
            f"order run, page of 10 / {FULL_FEED_PAGE} orders (ANYMARKET)",
            f"{orders[10]} / {orders[FULL_FEED_PAGE]}",
            "equal",
            orders[10] == orders[FULL_FEED_PAGE],
        ),
    ]
