"""Push efficiency: N pending stock changes pushed by the real engine (run_flow) to each
vendor's emulator running at the vendor's declared rate limit and burst.

Measured at the emulator (what the vendor would see): write requests and the items they
carried, every request's arrival time, 429s. Targets: write requests = the minimum
ceil(items / vendor cap) (no waste), sustained rate ≥ 90 % of the DECLARED rate (the engine
aims at 95 % of it with half the burst: sync.services.limits.RATE_MARGIN), zero 429s.

Per-item vendors cannot finish 10k changes inside the benchmark's 10 minutes at their
declared rate (Mercado Livre 5 req/s: 2,000 s; VTEX 30 req/s: ~350 s), so those cases run
for a fixed window (30 s) and report what was pushed in it; for them the minimum is trivially one
request per item (ceil(N / 1) = N) and the window checks that nothing beyond it was sent.
"""

from __future__ import annotations

import time

from bench.support import (
    Row,
    active_channel,
    bind_catalog,
    fmt_int,
    fmt_rate,
    make_company,
    mark_pending,
    minimum_requests,
    pending_count,
    progress,
    start_emulator,
    stock_writes,
    sustained_rate,
)


def _case(key: str, n: int, changes: int, window: float | None) -> list[Row]:
    from mappings.models import Listing
    from sync.services.runs import run_flow
    from vendors.registry import get_spec

    spec = get_spec(key)
    stock_limits = spec.limits.for_flow("stock")
    cap = stock_limits.max_items_per_request
    declared = spec.limits.requests_per_second
    client_burst = max(1, spec.limits.burst // 2)  # as sync.services.limits.rate_limiter_for does
    label = f"{spec.label} {changes // 1000}k"
    if window is not None:
        label += f", first {window:.0f} s"

    emulator = start_emulator(key, n)
    try:
        channel = active_channel(
            connector=key,
            company=make_company(f"push {key} {n}"),
            credentials=emulator.credentials,
            base_url=emulator.url,
            batch_sizes={"stock": stock_limits.max_batch_size},
        )
        codes = [f"P{n}-{i:06d}" for i in range(changes)]
        skus = bind_catalog(channel, emulator, codes, on_hand=lambda i: i % 50 + 1)
        mark_pending(channel, [sku.pk for sku in skus])
        emulator.reset_stats()
        progress(f"push: {label}: {fmt_int(changes)} pending, running the engine")

        runs = []
        started = time.monotonic()
        while True:
            elapsed = time.monotonic() - started
            if window is not None and elapsed >= window:
                break
            budget = None if window is None else window - elapsed
            run = run_flow(channel_id=channel.pk, flow="stock", budget_seconds=budget)
            runs.append(run)
            remaining = pending_count(channel)
            progress(
                f"push: {label}: run {len(runs)} {run.state}, {fmt_int(changes - remaining)} "
                f"pushed, {run.requests} requests"
            )
            if run.state not in ("succeeded", "partial") or not remaining:
                break
        elapsed = time.monotonic() - started
    finally:
        emulator.stop()

    requests = emulator.requests_log
    writes = stock_writes(emulator)
    accepted_writes = [r for r in writes if 200 <= r.status < 300]
    items_received = sum(r.stock_items for r in accepted_writes)
    pushed = Listing.objects.filter(channel=channel, last_pushed_stock_at__isnull=False).count()
    minimum = minimum_requests(pushed, cap)
    rate_limited = sum(1 for r in requests if r.status == 429)
    others = [r for r in requests if not r.stock_items]
    rate = sustained_rate([r.at for r in requests], client_burst)
    no_waste = len(writes) == minimum and items_received == pushed and pushed > 0
    if window is None:
        no_waste = no_waste and pushed == changes
    data = {
        "vendor": key,
        "changes": changes,
        "window_seconds": window,
        "seconds": round(elapsed, 2),
        "runs": [
            {
                "state": r.state,
                "requests": r.requests,
                "retries": r.retries,
                "rate_limited": r.rate_limited,
                "done": r.done,
            }
            for r in runs
        ],
        "items_pushed": pushed,
        "items_received_by_vendor": items_received,
        "write_requests": len(writes),
        "other_requests": len(others),
        "minimum_requests": minimum,
        "vendor_cap_per_request": cap,
        "declared_rate": declared,
        "declared_burst": spec.limits.burst,
        "client_burst": client_burst,
        "sustained_rate": rate,
        "raw_rate": len(requests) / elapsed if elapsed else None,
        "responses_429": rate_limited,
    }
    # Named by path: Mercado Livre's only other request is its OAuth refresh (/oauth/token).
    paths = sorted({r.path for r in others})
    other_paths = ", ".join(paths[:3]) + (", …" if len(paths) > 3 else "")
    extra = f" + {len(others)} other ({other_paths})" if others else ""
    sent = f"{fmt_int(len(writes))}{extra} for {fmt_int(pushed)} items, min {fmt_int(minimum)}"
    if window is not None and rate:
        full = minimum_requests(changes, cap)
        sent += f" (all {fmt_int(changes)} ≈ {max(full - client_burst, 0) / rate:.0f} s)"
    if rate is None:
        rate_text, rate_met = f"n/a: {len(requests)} requests fit in the burst", None
    else:
        share = rate / declared
        rate_text = f"{fmt_rate(rate)} req/s = {share:.0%} of {fmt_rate(declared)}"
        rate_met = share >= 0.9
    name = "Push efficiency"
    return [
        Row(name, f"{label}: requests sent", sent, "= minimum", no_waste, data),
        Row(name, f"{label}: achieved rate", rate_text, "≥ 90 % of declared", rate_met),
        Row(name, f"{label}: 429s received", str(rate_limited), "0", rate_limited == 0),
    ]


def run(state, *, quick: bool) -> list[Row]:
    if quick:
        cases = [("anymarket", 1000, None), ("vtex", 1000, 10.0), ("mercadolivre", 1000, 10.0)]
    else:
        cases = [
            ("anymarket", 1000, None),
            ("anymarket", 10_000, None),
            ("vtex", 1000, None),
            ("vtex", 10_000, 30.0),
            ("mercadolivre", 1000, 30.0),
        ]
    rows: list[Row] = []
    for n, (key, changes, window) in enumerate(cases, start=1):
        rows.extend(_case(key, n, changes, window))
    return rows
