"""Delta cost vs catalog size: one batch of 1,000 pending changes on a catalog of 10k SKUs,
then on the same channel grown to 1M SKUs (bindings and stock balances included).

Timed: sync.services.push.push_pending, the engine's batch, with a connector that accepts
every item without HTTP (bench.support.NoHttpConnector) — the vendor's side is not what
this measures. "Select + build" runs from the call to the moment the connector receives the
items (pending rows, bindings, SKUs, stock sums, update objects); the commit (bindings
updated, pending rows deleted) is timed apart. The 1,000 SKUs are drawn at random over the
whole catalog each time, so the indexes are walked where a real catalog would be.
"""

from __future__ import annotations

import random
import time

from bench.support import NoHttpConnector, Row, fmt_int, mark_pending, median, progress

CHANGES = 1000
REPEATS = 7  # after one warm-up batch; the median is reported


def _one_batch(channel_id: int, sku_ids: list[int]) -> dict[str, float]:
    from channels.models import SalesChannel
    from sync.models import RunTrigger, SyncRun
    from sync.services import push
    from sync.services.context import RunContext

    channel = SalesChannel.objects.select_related("company").get(pk=channel_id)
    mark_pending(channel, sku_ids)
    connector = NoHttpConnector(channel)
    run = SyncRun.objects.create(channel=channel, flow="stock", trigger=RunTrigger.MANUAL)
    ctx = RunContext(
        run=run, channel=channel, connector=connector, lease=None, deadline=time.monotonic() + 600
    )
    commit = {"seconds": 0.0}
    original = push.commit_pushed

    def timed_commit(*args, **kwargs):
        started = time.monotonic()
        try:
            return original(*args, **kwargs)
        finally:
            commit["seconds"] += time.monotonic() - started

    push.commit_pushed = timed_commit
    try:
        started = time.monotonic()
        settled = push.push_pending(ctx, flow="stock", limit=len(sku_ids))
        finished = time.monotonic()
    finally:
        push.commit_pushed = original
    if settled != len(sku_ids) or connector.items != len(sku_ids):
        raise RuntimeError(f"batch settled {settled} of {len(sku_ids)} changes")
    return {
        "select_build": connector.first_call_at - started,
        "commit": commit["seconds"],
        "total": finished - started,
    }


def measure(state, channel_id: int, rng: random.Random) -> dict[str, float]:
    cat = state.catalog
    low, high = cat.sku_id_range()
    samples = []
    for repeat in range(REPEATS + 1):
        sku_ids = rng.sample(range(low, high + 1), CHANGES)
        timing = _one_batch(channel_id, sku_ids)
        if repeat:  # the first batch warms the connection and caches
            samples.append(timing)
    return {key: median([s[key] for s in samples]) for key in samples[0]}


def _with_statistics(measure_it):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    try:
        return measure_it()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM sqlite_stat1")
        connection.close()  # the planner reads statistics when a connection opens


def run(state, *, quick: bool) -> list[Row]:
    small, large = 10_000, (100_000 if quick else 1_000_000)
    rng = random.Random(20260107)
    channel = state.big_channel()
    state.ensure_catalog(small)
    progress(f"delta cost: {CHANGES} changes on a {fmt_int(small)}-SKU catalog")
    at_small = measure(state, channel.pk, rng)
    started = time.monotonic()
    state.ensure_catalog(large)
    build_seconds = time.monotonic() - started
    progress(f"delta cost: catalog grown to {fmt_int(large)} SKUs in {build_seconds:.1f} s")
    progress(f"delta cost: {CHANGES} changes on a {fmt_int(large)}-SKU catalog")
    at_large = measure(state, channel.pk, rng)
    # The same batch once the planner has statistics (ANALYZE; SQLite never gathers them
    # by itself): the headline above is the engine as deployed, this shows the planner's part.
    progress("delta cost: again with planner statistics (ANALYZE)")
    with_stats = _with_statistics(lambda: measure(state, channel.pk, rng))
    ratio = at_large["select_build"] / at_small["select_build"]
    ratio_total = at_large["total"] / at_small["total"]
    label_large = "1M" if large == 1_000_000 else f"{large // 1000}k"
    name = "Delta cost"

    def ms(seconds: float) -> str:
        return f"{seconds * 1000:.1f} ms"

    data = {
        "changes": CHANGES,
        "repeats": REPEATS,
        "catalog_small": small,
        "catalog_large": large,
        "seconds_small": at_small,
        "seconds_large": at_large,
        "ratio_select_build": ratio,
        "ratio_total": ratio_total,
        "large_catalog_build_seconds": build_seconds,
        "seconds_large_with_statistics": with_stats,
    }
    return [
        Row(
            name,
            "select + build 1,000 changes, catalog 10k",
            ms(at_small["select_build"]),
            "-",
            None,
            data,
        ),
        Row(
            name,
            f"select + build 1,000 changes, catalog {label_large}",
            ms(at_large["select_build"]),
            "-",
            None,
        ),
        Row(name, f"ratio {label_large} / 10k (select + build)", f"{ratio:.2f}", "≤ 2", ratio <= 2),
        Row(
            name,
            f"same on {label_large}, after ANALYZE (planner statistics)",
            f"{ms(with_stats['select_build'])} (ratio "
            f"{with_stats['select_build'] / at_small['select_build']:.2f})",
            "-",
            None,
        ),
        Row(
            name,
            f"whole batch incl. commit: 10k / {label_large}",
            f"{ms(at_small['total'])} / {ms(at_large['total'])} (×{ratio_total:.2f})",
            "-",
            None,
        ),
        Row(
            name,
            f"building the {label_large}-SKU catalog (SKUs, balances, bindings)",
            f"{build_seconds:.1f} s",
            "-",
            None,
        ),
    ]
