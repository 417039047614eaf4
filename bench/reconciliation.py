"""Stock reconciliation: drift at the vendor (its stock changed, the ERP's did not) found by
the reconciliation runs of one sweep and corrected by the stock flow.

Per vendor: a catalog bound and in sync (the vendor's stock set to the ERP's value through the
emulator's control interface), then D SKUs changed at the vendor only (a sale canceled before
import, a manual edit). The reconciliation task (`sync.tasks.reconcile_stock`, the real
`run_flow` under the channel's lease and rate limiter) runs at the channel's default pages per
run until its sweep is complete; then `run_flow` pushes stock until nothing is pending. Each
emulator enforces the vendor's declared rate.
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
)

# vendor -> (SKUs, drifted) full size; quick size
CASES = {
    "anymarket": ((2000, 100), (400, 20)),
    "vtex": ((300, 30), (60, 6)),
    "mercadolivre": ((600, 40), (120, 8)),
}


def _case(key: str, n: int, skus: int, drifted: int) -> list[Row]:
    from sync.models import StockReconciliation, SyncRun
    from sync.services.runs import run_flow
    from sync.tasks import reconcile_stock

    emulator = start_emulator(key, n)
    try:
        channel = active_channel(
            connector=key,
            company=make_company(f"reconcile {key}"),
            credentials=emulator.credentials,
            base_url=emulator.url,
        )
        codes = [f"REC-{i:05d}" for i in range(skus)]
        erp_value = {code: (i * 7) % 23 for i, code in enumerate(codes)}
        bind_catalog(channel, emulator, codes, on_hand=lambda i: (i * 7) % 23)
        for code in codes:  # in sync, as after earlier pushes
            emulator.set_stock(code, erp_value[code])
        rng = random.Random(20261203)
        drift = sorted(rng.sample(codes, drifted))
        for code in drift:
            emulator.set_stock(code, erp_value[code] + 1 + rng.randrange(5))
        pages = channel.reconcile_pages_per_run
        progress(
            f"reconciliation {key}: {fmt_int(skus)} SKUs, {drifted} drifted at the vendor; "
            f"{pages} pages per run"
        )
        runs: list[SyncRun] = []
        seconds: list[float] = []
        while True:
            started = time.monotonic()
            run = SyncRun.objects.get(pk=reconcile_stock(channel.pk))
            seconds.append(time.monotonic() - started)
            if run.state != "succeeded":
                raise RuntimeError(f"reconciliation run {run.state}: {run.error}")
            runs.append(run)
            if run.detail["reconciliation"]["sweep_finished"] or len(runs) > 1000:
                break
        found = sum(r.detail["reconciliation"]["drift"] for r in runs)
        checked = sum(r.detail["reconciliation"]["checked"] for r in runs)
        requests = [r.requests for r in runs]
        pending = pending_count(channel)
        push_runs = 0
        while pending_count(channel) and push_runs < 50:
            push = run_flow(channel_id=channel.pk, flow="stock")
            push_runs += 1
            if push.state != "succeeded":
                raise RuntimeError(f"push run {push.state}: {push.error}")
        corrected = sum(1 for code in drift if emulator.stock_of(code) == erp_value[code])
        untouched = sum(
            1 for code in codes if code not in drift and emulator.stock_of(code) == erp_value[code]
        )
        state = StockReconciliation.objects.get(channel=channel)
    finally:
        emulator.stop()
    per_run = found / len(runs)
    label = f"{key} {fmt_int(skus)} SKUs, {drifted} drifted"
    data = {
        "skus": skus,
        "drifted": drifted,
        "pages_per_run": pages,
        "reconciliation_runs": len(runs),
        "checked": checked,
        "drift_found": found,
        "marked_pending": pending,
        "push_runs": push_runs,
        "corrected": corrected,
        "others_unchanged": untouched,
        "requests_per_run": requests,
        "seconds_per_run": [round(s, 2) for s in seconds],
        "sweeps_completed": state.sweeps_completed,
    }
    name = "Reconciliation"
    return [
        Row(
            name,
            f"{label}: stock drift corrected per reconciliation run",
            f"{per_run:,.1f} per run ({found}/{drifted} found in {plural(len(runs), 'run')}, "
            f"{corrected}/{drifted} corrected by {plural(push_runs, 'stock run')})",
            "every drift found and corrected in one sweep",
            found == drifted == corrected == pending and untouched == skus - drifted,
            data,
        ),
        Row(
            name,
            f"{label}: one reconciliation run",
            f"≤ {max(requests)} requests, {max(seconds):.1f} s (median of "
            f"{plural(len(runs), 'run')}: {sorted(seconds)[len(seconds) // 2]:.1f} s); "
            f"{fmt_int(checked)} SKUs compared",
            "-",
            None,
        ),
    ]


def run(state, *, quick: bool) -> list[Row]:
    rows: list[Row] = []
    for n, (key, (full, small)) in enumerate(CASES.items(), start=700):
        skus, drifted = small if quick else full
        rows.extend(_case(key, n, skus, drifted))
    return rows
