"""What the benchmarks share: result rows, progress lines, data builders, a recorder of the
requests an emulator receives, and a connector that sends nothing (database-only benchmarks).

Everything here builds data through the ERP/channel services where the volume allows, and
with bulk inserts where it does not (10k-1M rows); the engine itself is never replaced, only
the vendor on the other side of the connector for the benchmarks that measure database cost.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from vendors.testing import override_rate

START = time.monotonic()


# --- results ---------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the printed table. `met` is None for numbers reported without a target."""

    benchmark: str
    case: str
    measured: str
    target: str
    met: bool | None
    data: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        return dataclasses.asdict(self)


def progress(message: str) -> None:
    print(f"[{time.monotonic() - START:6.1f} s] {message}", flush=True)


def fmt_int(value: float) -> str:
    return f"{int(value):,}"


def plural(count: int, noun: str) -> str:
    return f"{fmt_int(count)} {noun}{'' if count == 1 else 's'}"


def fmt_rate(value: float) -> str:
    return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"


# --- process measures ------------------------------------------------------------------------


def _status_kb(name: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(name + ":"):
                return int(line.split()[1])
    return 0


def rss_mb() -> float:
    return _status_kb("VmRSS") / 1024


def peak_rss_mb() -> float:
    """The high-water mark of this process's resident memory (VmHWM)."""
    return _status_kb("VmHWM") / 1024


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


# --- companies and channels ----------------------------------------------------------------

_cnpj_seq = itertools.count(11_000_001)
_name_seq = itertools.count(1)


def _cnpj(number: int) -> str:
    base = [int(d) for d in f"{number:08d}0001"]
    for weights in ([5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2], [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]):
        remainder = sum(d * w for d, w in zip(base, weights, strict=True)) % 11
        base.append(0 if remainder < 2 else 11 - remainder)
    return "".join(map(str, base))


def make_company(label: str):
    from erp.models import Company

    return Company.objects.create(legal_name=f"Bench {label} Ltda", cnpj=_cnpj(next(_cnpj_seq)))


def active_channel(
    *,
    connector: str,
    company,
    credentials: dict,
    base_url: str,
    batch_sizes: dict[str, int] | None = None,
):
    """An ACTIVE sandbox channel with its own warehouse and price list, so ERP changes of one
    benchmark never mark another benchmark's channel pending."""
    from channels.models import SalesChannel
    from channels.services import (
        channel_ensure_sync_settings,
        channel_set_credentials,
        channel_set_status,
    )
    from erp.models import PriceList, Warehouse

    n = next(_name_seq)
    channel = SalesChannel(
        company=company,
        connector=connector,
        name=f"Bench {connector} {n}",
        environment="sandbox",
        api_base_url=base_url,
    )
    channel.full_clean()
    channel.save()
    channel_ensure_sync_settings(channel=channel)
    channel_set_credentials(channel=channel, values=credentials)
    warehouse = Warehouse.objects.create(company=company, code=f"CD-{n}", name=f"CD {n}")
    channel.warehouses.set([warehouse])
    channel.price_list = PriceList.objects.create(company=company, name=f"Lista {n}")
    channel.save()
    for flow, size in (batch_sizes or {}).items():
        # A queryset update: the benchmarks may use a vendor's maximum batch as is.
        channel.sync_settings.filter(flow=flow).update(batch_size=size)
    channel_set_status(channel=channel, status="active")
    return channel


def bind_skus(channel, rows: list[tuple[str, dict]], *, on_hand: Callable[[int], int]) -> list:
    """ERP SKUs (code, one product per 100 SKUs), a stock balance in the channel's warehouse
    and a binding per row. `rows`: (code, Listing external ids). Bulk inserts: 10k SKUs in
    about a second, where the one-by-one services would take minutes."""
    from erp.models import Product, Sku, StockBalance
    from erp.validators import normalize_sku_code
    from mappings.models import Listing

    company = channel.company
    warehouse = channel.warehouses.get()
    products = Product.objects.bulk_create(
        [Product(company=company, name=f"Produto {rows[i][0]}") for i in range(0, len(rows), 100)],
        batch_size=5000,
    )
    skus = Sku.objects.bulk_create(
        [
            Sku(
                company=company,
                product=products[i // 100],
                code=code,
                code_key=normalize_sku_code(code),
            )
            for i, (code, _) in enumerate(rows)
        ],
        batch_size=5000,
    )
    StockBalance.objects.bulk_create(
        [
            StockBalance(sku=sku, warehouse=warehouse, on_hand=on_hand(i))
            for i, sku in enumerate(skus)
        ],
        batch_size=5000,
    )
    listings = []
    for sku, (_, external) in zip(skus, rows, strict=True):
        listing = Listing(channel=channel, sku=sku, **external)
        listing.normalize_keys()  # what save() does; bulk_create skips save()
        listings.append(listing)
    Listing.objects.bulk_create(listings, batch_size=5000)
    return skus


def mark_pending(channel, sku_ids: list[int], flow: str = "stock") -> None:
    from sync.services.pending import pending_upsert

    for start in range(0, len(sku_ids), 20_000):
        pending_upsert(channel_ids=[channel.pk], flow=flow, sku_ids=sku_ids[start : start + 20_000])


def pending_count(channel, flow: str = "stock") -> int:
    from sync.models import PendingChange

    return PendingChange.objects.filter(channel=channel, flow=flow).count()


# --- vendor limits -----------------------------------------------------------------------------


@contextlib.contextmanager
def vendor_rate(adapter_class, *, rate: float, burst: int) -> Iterator[None]:
    """Declare a different request rate on a vendor's spec for a block (this process only).
    Used where the benchmark measures the engine's own cost, not pacing."""
    with override_rate(adapter_class.spec.key, rate=rate, burst=burst):
        yield


# --- the vendor side: an emulator and its catalog ----------------------------------------------


def start_emulator(key: str, n: int, *, rate: float | None = None, burst: int | None = None):
    """A started emulator of vendor `key` for benchmark case `n`: an account of its own (the
    emulators' demo credentials are unique per account, as channels' keys must be), enforcing
    the connector's DECLARED rate and burst unless told otherwise — the limit the engine aims
    at, enforced as the vendor would."""
    from sandbox.registry import get_emulator_class
    from vendors.registry import get_spec

    limits = get_spec(key).limits
    emulator = get_emulator_class(key)(
        account=f"bench{n}",
        rate=rate or limits.requests_per_second,
        burst=burst or limits.burst,
    )
    emulator.start()
    return emulator


def new_emulator(key: str, n: int):
    """The same, never started: for its data only."""
    from sandbox.registry import get_emulator_class

    return get_emulator_class(key)(account=f"bench{n}")


def bind_catalog(channel, emulator, codes: list[str], *, on_hand: Callable[[int], int]) -> list:
    """Register `codes` at the vendor (one product each) and bind ERP SKUs of the same codes
    (bind_skus)."""
    rows = [
        (
            entry.seller_sku,
            {
                "seller_sku": entry.seller_sku,
                "external_item_id": entry.item_id,
                "external_variation_id": entry.variation_id,
                "external_sku_id": entry.sku_id,
            },
        )
        for entry in emulator.seed_catalog(codes)
    ]
    return bind_skus(channel, rows, on_hand=on_hand)


def stock_writes(emulator) -> list:
    """The stock writes the emulator received since its stats were last reset (each entry
    says how many stock values it carried and what the vendor answered)."""
    return [r for r in emulator.requests_log if r.stock_items]


def sustained_rate(times: list[float], burst: int) -> float | None:
    """Requests per second once the client's burst is spent: a token bucket of rate r and
    burst b sends b requests at once, then one every 1/r, so the n-th request leaves
    (n - b)/r after the first. None when everything fitted in the burst."""
    if len(times) <= burst + 1:
        return None
    span = max(times) - min(times)
    return (len(times) - burst) / span if span > 0 else None


def minimum_requests(items: int, per_request: int) -> int:
    return math.ceil(items / per_request) if items else 0


# --- a connector that sends nothing ------------------------------------------------------------


class NoHttpConnector:
    """Accepts every item without a network call. Only for the benchmarks that measure the
    engine's database work (delta cost, memory): the vendor's side is not what they time."""

    def __init__(self, channel, **_options) -> None:
        self.channel = channel
        self.calls = 0
        self.items = 0
        self.first_call_at: float | None = None

    def _accept(self, items):
        from vendors.types import PushResult

        if self.first_call_at is None:
            self.first_call_at = time.monotonic()
        self.calls += 1
        self.items += len(items)
        return PushResult(accepted=[item.key for item in items])

    push_stock = push_prices = push_catalog = _accept

    def publish_product(self, product):
        """Every product is new at this vendor: created, each SKU where its code says."""
        from vendors.types import CatalogOutcome, CatalogResult, ExternalRef

        if self.first_call_at is None:
            self.first_call_at = time.monotonic()
        self.calls += 1
        self.items += len(product.skus)
        return CatalogResult(
            CatalogOutcome.CREATED,
            refs={
                sku.key: ExternalRef(seller_sku=sku.code, sku_id=f"nohttp-{sku.code}")
                for sku in product.skus
            },
        )

    def request_stats(self) -> dict[str, int]:
        return {"requests": 0, "retries": 0, "rate_limited": 0}


@contextlib.contextmanager
def no_http_connectors() -> Iterator[list[NoHttpConnector]]:
    """run_flow builds NoHttpConnector instead of the channel's vendor connector."""
    from sync.services import runs

    built: list[NoHttpConnector] = []

    def build(channel, **options):
        connector = NoHttpConnector(channel, **options)
        built.append(connector)
        return connector

    original = runs.build_connector
    runs.build_connector = build
    try:
        yield built
    finally:
        runs.build_connector = original
