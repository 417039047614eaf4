"""Push efficiency: N pending stock changes pushed by the real engine (run_flow) to each
vendor's emulator running at the vendor's declared rate limit and burst.

Measured at the emulator (what the vendor would see): write requests and the items they
carried, every request's arrival time, 429s. Targets: write requests = the minimum
ceil(items / vendor cap) (no waste), sustained rate ≥ 90 % of the DECLARED rate (the engine
aims at 95 % of it with half the burst: sync.services.runs.RATE_MARGIN), zero 429s.

Per-item vendors cannot finish 10k changes inside the benchmark's 10 minutes at their
declared rate (Mercado Livre 5 req/s: 2,000 s; VTEX 30 req/s: ~350 s), so those cases run
for a fixed window (30 s) and report what was pushed in it; for them the minimum is trivially one
request per item (ceil(N / 1) = N) and the window checks that nothing beyond it was sent.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from bench.support import (
    Recorder,
    Row,
    active_channel,
    bind_skus,
    fmt_int,
    fmt_rate,
    make_company,
    mark_pending,
    minimum_requests,
    pending_count,
    progress,
    sustained_rate,
)


@dataclass
class Vendor:
    key: str
    label: str
    emulator_path: str
    is_write: Callable[[str, str], bool]
    items_of: Callable[[object], int] | None = None

    def connector_class(self):
        from vendors.registry import get_adapter_class

        return get_adapter_class(self.key)

    def emulator(self, n: int):
        module_name, class_name = self.emulator_path.rsplit(".", 1)
        module = __import__(module_name, fromlist=[class_name])
        cls = getattr(module, class_name)
        limits = self.connector_class().spec.limits
        # The vendor's declared rate and burst, enforced by the emulator as the vendor would.
        options = {"rate": limits.requests_per_second, "burst": limits.burst}
        if self.key == "anymarket":
            token = f"bench-push-token-{n}"
            return cls(credentials={"gumga_token": token}, account_id=f"bench-{n}", **options)
        if self.key == "vtex":
            # Credentials are unique per company: each channel gets its own app key/token.
            credentials = {
                **cls.demo_credentials(f"benchpush{n}"),
                "app_token": f"BENCHTOKEN-{n}-not-a-secret-emulator-only",
            }
            return cls(credentials=credentials, **options)
        credentials = {**cls.demo_credentials(), "refresh_token": f"TG-bench-push-{n}"}
        return cls(credentials=credentials, **options)

    def credentials(self, emulator) -> dict:
        if self.key == "mercadolivre":
            return {
                "client_id": emulator.client_id,
                "client_secret": emulator.client_secret,
                "refresh_token": emulator.refresh_token,
            }
        return dict(emulator.credentials)

    def catalog(self, emulator, codes: list[str]) -> list[tuple[str, dict]]:
        """Create the SKUs on the emulator (its Python API) and return the binding ids."""
        rows = []
        if self.key == "anymarket":
            for start in range(0, len(codes), 500):
                chunk = codes[start : start + 500]
                product = emulator.add_product(
                    f"Produto {start // 500}", [{"partnerId": code} for code in chunk]
                )
                for code in chunk:
                    rows.append(
                        (
                            code,
                            {
                                "external_item_id": str(product["id"]),
                                "external_sku_id": str(emulator.sku_ids_by_partner[code]),
                                "seller_sku": code,
                            },
                        )
                    )
        elif self.key == "vtex":
            for code in codes:
                sku = emulator.add_sku(ref_id=code, name=code)
                rows.append((code, {"external_sku_id": str(sku.id), "seller_sku": code}))
        else:
            for code in codes:
                item_id = emulator.add_listing(seller_sku=code, title=code, quantity=0)
                rows.append((code, {"external_item_id": item_id, "seller_sku": code}))
        return rows


VENDORS = {
    "anymarket": Vendor(
        "anymarket",
        "ANYMARKET",
        "sandbox.anymarket.AnymarketEmulator",
        is_write=lambda method, path: method == "PUT" and path == "/v2/stocks",
        items_of=lambda body: len(body) if isinstance(body, list) else 1,
    ),
    "vtex": Vendor(
        "vtex",
        "VTEX",
        "sandbox.vtex.VtexEmulator",
        is_write=lambda method, path: method in ("PUT", "PATCH") and "/inventory/" in path,
    ),
    "mercadolivre": Vendor(
        "mercadolivre",
        "Mercado Livre",
        "sandbox.mercadolivre.MercadoLivreEmulator",
        is_write=lambda method, path: method == "PUT" and path.startswith("/items/"),
    ),
}


def _case(vendor: Vendor, n: int, changes: int, window: float | None) -> list[Row]:
    from mappings.models import Listing
    from sync.services.runs import run_flow

    limits = vendor.connector_class().spec.limits
    stock_limits = limits.for_flow("stock")
    cap = stock_limits.max_items_per_request
    declared = limits.requests_per_second
    client_burst = max(1, limits.burst // 2)  # as sync.services.runs.rate_limiter_for builds it
    label = f"{vendor.label} {changes // 1000}k"
    if window is not None:
        label += f", first {window:.0f} s"

    emulator = vendor.emulator(n)
    emulator.start()
    try:
        recorder = Recorder(emulator, items_of=vendor.items_of)
        channel = active_channel(
            connector=vendor.key,
            company=make_company(f"push {vendor.key} {n}"),
            credentials=vendor.credentials(emulator),
            base_url=emulator.url,
            batch_sizes={"stock": stock_limits.max_batch_size},
        )
        codes = [f"P{n}-{i:06d}" for i in range(changes)]
        skus = bind_skus(channel, vendor.catalog(emulator, codes), on_hand=lambda i: i % 50 + 1)
        mark_pending(channel, [sku.pk for sku in skus])
        recorder.clear()
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

    requests = recorder.all()
    writes = [r for r in requests if vendor.is_write(r.method, r.path)]
    accepted_writes = [r for r in writes if 200 <= r.status < 300]
    items_received = sum(r.items for r in accepted_writes)
    pushed = Listing.objects.filter(channel=channel, last_pushed_stock_at__isnull=False).count()
    minimum = minimum_requests(pushed, cap)
    rate_limited = sum(1 for r in requests if r.status == 429)
    others = len(requests) - len(writes)
    rate = sustained_rate([r.at for r in requests], client_burst)
    no_waste = len(writes) == minimum and items_received == pushed and pushed > 0
    if window is None:
        no_waste = no_waste and pushed == changes
    data = {
        "vendor": vendor.key,
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
        "other_requests": others,
        "minimum_requests": minimum,
        "vendor_cap_per_request": cap,
        "declared_rate": declared,
        "declared_burst": limits.burst,
        "client_burst": client_burst,
        "sustained_rate": rate,
        "raw_rate": len(requests) / elapsed if elapsed else None,
        "responses_429": rate_limited,
    }
    # Mercado Livre's only other request is the OAuth refresh (once per 6 h token).
    other_label = "token refresh" if vendor.key == "mercadolivre" else "other"
    extra = f" + {others} {other_label}" if others else ""
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
        rows.extend(_case(VENDORS[key], n, changes, window))
    return rows
