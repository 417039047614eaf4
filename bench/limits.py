"""Vendor limits: what a price costs in requests, and the request rate the engine keeps while
the vendor misbehaves.

1. Requests per price update: N pending prices pushed by `run_flow` (flow "price") to each
   vendor's emulator, no faults; requests the emulator received per price pushed (the OAuth
   refresh of Mercado Livre counted apart). No target: the number says what the vendor's API
   makes a price cost (ANYMARKET documents no price-only write: read the SKU, write it back).
2. Sustained rate under 20 % faults: `run_flow` pushes prices for a window while the emulator, at
   the vendor's DECLARED rate and burst, answers 5 % of requests each with a 429 (Retry-After:
   1), a 503, a stall past the client's read timeout (1.5 s stall, 1 s timeout) and a 200 whose
   body is not JSON — the soak test's mix. Measured at the emulator: requests per second once the
   client's burst is spent (bench.support.sustained_rate), against the declared rate; the 429s
   the emulator's own rate limit answered (not the injected ones); the most requests open at once
   at the emulator (a stalled request the client already gave up on is still open there while its
   retry arrives: 2 for a serial client). Target ≥ 60 % of declared with 0 real 429s. One request
   at a time, every fault costs its own wait (the Retry-After, the timeout, a 5xx's backoff):
   about 0.14 s per request on average with this mix, so a serial client cannot keep much more
   than 7 requests/s. That is enough for ANYMARKET (1.35/s) and Mercado Livre (5/s); VTEX (30/s,
   one SKU per request) keeps up to `max_in_flight` writes open (vendors/vtex/spec.py,
   `Connector.each_request`), all paced by the channel's one limiter, and its 429 delays only the
   refused request (VTEX documents it as burst credits used up, not a blocked account). Measured
   on 2 shared cores: ANYMARKET 92 %, Mercado Livre 82 %, VTEX 81 % (25 % one request at a time),
   0 real 429 each.
"""

from __future__ import annotations

import math
import time
from decimal import Decimal

from bench.support import (
    Row,
    active_channel,
    bind_catalog,
    fmt_rate,
    make_company,
    mark_pending,
    pending_count,
    progress,
    start_emulator,
    sustained_rate,
    vendor_rate,
)

VENDORS = ("anymarket", "mercadolivre", "vtex")
FAULTS = {
    "rate_429": 0.05,
    "rate_5xx": 0.05,
    "rate_timeout": 0.05,
    "rate_malformed": 0.05,
    "timeout_seconds": 1.5,
}
CLIENT_TIMEOUT = (1.0, 1.0)  # connect, read: what a "timeout" fault costs the client
AUTH_PATHS = ("/oauth/token",)
TARGET = "≥ 60 % of declared, 0 real 429"


def _price_channel(key: str, n: int, emulator, count: int):
    from erp.models import Price
    from vendors.registry import get_spec

    limits = get_spec(key).limits.for_flow("price")
    channel = active_channel(
        connector=key,
        company=make_company(f"limits {key} {n}"),
        credentials=emulator.credentials,
        base_url=emulator.url,
        batch_sizes={"price": limits.max_batch_size},
    )
    codes = [f"L{n}-{i:05d}" for i in range(count)]
    skus = bind_catalog(channel, emulator, codes, on_hand=lambda i: 5)
    Price.objects.bulk_create(
        [
            Price(price_list=channel.price_list, sku=sku, amount=Decimal("50.00") + i % 40)
            for i, sku in enumerate(skus)
        ]
    )
    mark_pending(channel, [sku.pk for sku in skus], flow="price")
    return channel


def _requests_per_price(key: str, n: int, prices: int) -> Row:
    from sync.services.runs import run_flow
    from vendors.registry import get_adapter_class, get_spec

    spec = get_spec(key)
    # Counting, not pacing: a raised rate on both sides keeps this quick.
    with vendor_rate(get_adapter_class(key), rate=200.0, burst=50):
        emulator = start_emulator(key, n, rate=200.0, burst=50)
        try:
            channel = _price_channel(key, n, emulator, prices)
            emulator.reset_stats()
            for _ in range(20):
                run = run_flow(channel_id=channel.pk, flow="price")
                if run.state not in ("succeeded", "partial") or not pending_count(channel, "price"):
                    break
        finally:
            emulator.stop()
    from mappings.models import Listing

    pushed = Listing.objects.filter(channel=channel, last_pushed_price_at__isnull=False).count()
    log = emulator.requests_log
    auth = [r for r in log if r.path in AUTH_PATHS]
    work = [r for r in log if r.path not in AUTH_PATHS]
    by_method: dict[str, int] = {}
    for request in work:
        by_method[request.method] = by_method.get(request.method, 0) + 1
    per_price = len(work) / pushed if pushed else math.nan
    detail = ", ".join(f"{count} {method}" for method, count in sorted(by_method.items()))
    extra = f" (+{len(auth)} token refresh)" if auth else ""
    measured = f"{per_price:.2f} ({detail} for {pushed} prices{extra})"
    data = {
        "vendor": key,
        "prices_pending": prices,
        "prices_pushed": pushed,
        "requests": len(work),
        "by_method": by_method,
        "auth_requests": len(auth),
        "requests_per_price": per_price,
    }
    return Row(
        "Vendor limits", f"{spec.label}: requests per price update", measured, "-", None, data
    )


def _rate_under_faults(key: str, n: int, window: float) -> Row:
    from sync.services.runs import run_flow
    from vendors.registry import get_spec

    spec = get_spec(key)
    declared = spec.limits.requests_per_second
    client_burst = max(1, spec.limits.burst // 2)  # sync.services.limits.rate_limiter_for
    prices = math.ceil(declared * window * 1.5) + 10  # more than the window can push
    emulator = start_emulator(key, n)
    try:
        channel = _price_channel(key, n, emulator, prices)
        # One clean run first: Mercado Livre's refresh token is single-use, and a malformed
        # answer to the refresh itself would lose it (a real lost answer does the same).
        run_flow(channel_id=channel.pk, flow="price", budget_seconds=1.0)
        emulator.set_faults(**FAULTS)
        emulator.reset_stats()
        progress(f"limits: {spec.label}: {window:.0f} s under 20 % faults")
        started = time.monotonic()
        runs = []
        while time.monotonic() - started < window and pending_count(channel, "price"):
            runs.append(
                run_flow(
                    channel_id=channel.pk,
                    flow="price",
                    budget_seconds=window - (time.monotonic() - started),
                    connector_options={"timeout": CLIENT_TIMEOUT},
                )
            )
        elapsed = time.monotonic() - started
    finally:
        emulator.stop()
    log = emulator.requests_log
    rate = sustained_rate([r.at for r in log], client_burst)
    answered = [r for r in log if 200 <= r.status < 300]
    stats = dict(emulator.stats)
    # The emulator's own 429s (its rate limit at the declared rate), not the injected ones.
    real_429 = sum(1 for r in log if r.status == 429 and not r.fault)
    peak_in_flight = max((r.in_flight for r in log), default=0)
    data = {
        "vendor": key,
        "window_seconds": window,
        "seconds": round(elapsed, 1),
        "declared_rate": declared,
        "requests": len(log),
        "sustained_rate": rate,
        "share_of_declared": rate / declared if rate else None,
        "answered_2xx": len(answered),
        "real_429": real_429,
        "peak_in_flight": peak_in_flight,
        "max_in_flight": spec.limits.for_flow("price").max_in_flight,
        "faults": {k: v for k, v in stats.items() if k.startswith("fault") or k == "429"},
        "runs": [{"state": r.state, "requests": r.requests, "retries": r.retries} for r in runs],
    }
    if rate is None:
        return Row(
            "Vendor limits",
            f"{spec.label}: sustained rate under 20 % faults",
            f"n/a: {len(log)} requests",
            TARGET,
            None,
            data,
        )
    share = rate / declared
    measured = (
        f"{fmt_rate(rate)} req/s = {share:.0%} of {fmt_rate(declared)}; "
        f"{real_429} real 429; ≤ {peak_in_flight} open"
    )
    return Row(
        "Vendor limits",
        f"{spec.label}: sustained rate under 20 % faults",
        measured,
        TARGET,
        share >= 0.6 and real_429 == 0,
        data,
    )


def run(state, *, quick: bool) -> list[Row]:
    window = 20.0 if quick else 60.0
    prices = 10 if quick else 40
    rows: list[Row] = []
    for n, key in enumerate(VENDORS, start=1):
        progress(f"limits: {key}: requests per price update")
        rows.append(_requests_per_price(key, 100 + n, prices))
    for n, key in enumerate(VENDORS, start=1):
        rows.append(_rate_under_faults(key, 200 + n, window))
    return rows
