"""Catalog publishing: ERP products × 3 SKUs published by the real engine (run_flow, flow
"catalog") to each vendor's emulator at the vendor's DECLARED rate and burst.

Measured at the emulator (what the vendor would see): every request, its arrival time, 429s,
and the products that now exist there. Targets (issue 15): requests per published product =
the vendor's minimum for a new product of that shape (the lookup that makes a retry safe plus
the writes the vendor's API needs, `minimum_requests_per_product`), ≥ 90 % of the declared
rate, 0 × 429.

At the declared rates a vendor takes hours for 10,000 new products (ANYMARKET 1.35 req/s at
2 requests a product: ~4 h; VTEX 30 req/s at ~20 requests a product: ~2 h), so every vendor
runs for a window (60 s; 15 s with --quick) on a 10,000-product catalog, and the checks apply
to what was published in it; the table gives the time the whole catalog would take at the
measured rate.

Memory and delta cost do not depend on the vendor: a fresh process publishes the whole
10,000 × 3 catalog through run_flow at the flow's maximum batch with a connector that answers
"created" without HTTP (its VmHWM is the figure, ≤ 250 MB), and one batch of pending catalog
changes is selected and built on a catalog of 10k products, then of 1M (ratio ≤ 2).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

from bench.support import (
    Row,
    active_channel,
    fmt_int,
    fmt_rate,
    make_company,
    mark_pending,
    pending_count,
    progress,
    start_emulator,
    sustained_rate,
)
from sandbox.gtin import gtin13

ROOT = Path(__file__).resolve().parent.parent
SKUS_PER_PRODUCT = 3
IMAGES_PER_PRODUCT = 1
SIZES = ("P", "M", "G")
RSS_TARGET_MB = 250
RATE_TARGET = 0.9
RESULT_PREFIX = "RESULT "

# The channel's codes for the ERP's catalog values, per vendor (the emulators' reference
# lists: sandbox/<vendor>/catalog.py CATEGORIES, BRANDS, attributes).
DE_PARA = {
    "vtex": {
        "category": "10",
        "brand": "2000001",
        "attributes": {
            "Cor": ("30", {"Azul": "301"}),
            "Tamanho": ("31", dict(zip(SIZES, ("311", "312", "313"), strict=True))),
        },
    },
    "anymarket": {
        "category": "102",
        "brand": "501",
        "attributes": {
            "Cor": ("Cor", {"Azul": "Azul"}),
            "Tamanho": ("Tamanho", {s: s for s in SIZES}),
        },
    },
    "mercadolivre": {
        "category": "MLB31447",
        "brand": "Marca Demo",
        "attributes": {
            "Cor": ("COLOR", {"Azul": "52028"}),
            "Tamanho": ("SIZE", dict(zip(SIZES, ("3259478", "3259501", "3259505"), strict=True))),
        },
        # The category also requires MODEL and GENDER of the item as a whole: the ERP keeps
        # them on the product (erp.ProductAttributeValue).
        "product_attributes": {
            "Modelo": ("MODEL", {"Básica": "Básica"}),
            "Gênero": ("GENDER", {"Masculino": "339666"}),
        },
    },
}


def minimum_requests_per_product(key: str, *, skus: int, images: int, attributes: int) -> int:
    """What a NEW product of this shape costs at the vendor, as its API documents it (the
    adapters' docstrings list the calls): the lookup by the seller's code that makes a retry
    after a lost answer safe, then the writes nothing can be left out of.
    - VTEX: GET product by RefId; POST product; per SKU: POST SKU, POST EAN, POST file per
      image, POST specification per variation attribute (the Catalog API takes each apart).
    - ANYMARKET: GET products?sku=; POST product with its SKUs and images in one body.
    - Mercado Livre: GET items/search?seller_sku=; POST /items with every variation; POST
      its description (a separate resource). The category's attributes are read once per
      category per connector, not per product."""
    if key == "vtex":
        return 2 + skus * (2 + images + attributes)
    if key == "anymarket":
        return 2
    if key == "mercadolivre":
        return 3
    raise ValueError(key)


def erp_catalog(channel, *, products: int, prefix: str, skus_per_product: int = SKUS_PER_PRODUCT):
    """`products` ERP products with everything a channel needs (brand, category, NCM, origin,
    description, an image), each with `skus_per_product` SKUs (EAN, weight, package
    dimensions, Cor = Azul and a Tamanho each), a price on the channel's price list and stock
    in its warehouse; and the channel's de-para for the category, the brand and the
    attributes. Bulk inserts: 30k SKUs in a few seconds. Returns the SKU ids."""
    from erp.models import (
        Attribute,
        AttributeValue,
        Brand,
        Category,
        Price,
        Product,
        ProductAttributeValue,
        ProductImage,
        Sku,
        SkuAttributeValue,
        StockBalance,
    )
    from erp.validators import normalize_sku_code
    from mappings.models import AttributeMapping, BrandMapping, CategoryMapping

    company = channel.company
    warehouse = channel.warehouses.get()
    brand = Brand.objects.create(company=company, name=f"Marca {prefix}")
    category = Category.objects.create(company=company, name=f"Camisetas {prefix}")
    color = Attribute.objects.create(company=company, name=f"Cor {prefix}")
    size = Attribute.objects.create(company=company, name=f"Tamanho {prefix}")
    blue = AttributeValue.objects.create(attribute=color, value="Azul")
    sizes = [
        AttributeValue.objects.create(attribute=size, value=s, position=i)
        for i, s in enumerate(SIZES)
    ]

    codes = DE_PARA[channel.connector]
    CategoryMapping.objects.create(channel=channel, target=category, code=codes["category"])
    BrandMapping.objects.create(channel=channel, target=brand, code=codes["brand"])
    for attribute, values in ((color, [blue]), (size, sizes)):
        attribute_code, value_codes = codes["attributes"][attribute.name.split()[0]]
        AttributeMapping.objects.create(channel=channel, target=attribute, code=attribute_code)
        for value in values:
            AttributeMapping.objects.create(
                channel=channel,
                target=attribute,
                code=attribute_code,
                target_value=value,
                value_code=value_codes[value.value],
            )

    product_values = []  # (attribute, value) every product has (the vendor requires them)
    for name, (attribute_code, value_codes) in codes.get("product_attributes", {}).items():
        attribute = Attribute.objects.create(company=company, name=f"{name} {prefix}")
        AttributeMapping.objects.create(channel=channel, target=attribute, code=attribute_code)
        for text, value_code in value_codes.items():
            value = AttributeValue.objects.create(attribute=attribute, value=text)
            AttributeMapping.objects.create(
                channel=channel,
                target=attribute,
                code=attribute_code,
                target_value=value,
                value_code=value_code,
            )
            product_values.append((attribute, value))

    product_rows = Product.objects.bulk_create(
        [
            Product(
                company=company,
                name=f"Camiseta básica {prefix} {i:06d}",
                description="Camiseta 100% algodão, gola careca.",
                brand=brand,
                category=category,
                ncm="61091000",
                origin="0",
            )
            for i in range(products)
        ],
        batch_size=5000,
    )
    ProductAttributeValue.objects.bulk_create(
        [
            ProductAttributeValue(product=p, attribute=attribute, value=value)
            for p in product_rows
            for attribute, value in product_values
        ],
        batch_size=5000,
    )
    ProductImage.objects.bulk_create(
        [
            ProductImage(
                product=p, url=f"https://img.example.com/{prefix}/{p.pk}-{n}.jpg", position=n
            )
            for p in product_rows
            for n in range(IMAGES_PER_PRODUCT)
        ],
        batch_size=5000,
    )
    sku_rows = []
    for i, product in enumerate(product_rows):
        for s in range(skus_per_product):
            code = f"{prefix}-{i:06d}-{SIZES[s % len(SIZES)]}"
            sku_rows.append(
                Sku(
                    company=company,
                    product=product,
                    code=code,
                    code_key=normalize_sku_code(code),
                    name=SIZES[s % len(SIZES)],
                    ean=gtin13(f"789{(i * skus_per_product + s) % 10**9:09d}"),
                    weight_grams=300,
                    height_cm=Decimal("3"),
                    width_cm=Decimal("25"),
                    length_cm=Decimal("30"),
                )
            )
    sku_rows = Sku.objects.bulk_create(sku_rows, batch_size=5000)
    SkuAttributeValue.objects.bulk_create(
        [
            row
            for n, sku in enumerate(sku_rows)
            for row in (
                SkuAttributeValue(sku=sku, attribute=color, value=blue),
                SkuAttributeValue(
                    sku=sku, attribute=size, value=sizes[n % skus_per_product % len(SIZES)]
                ),
            )
        ],
        batch_size=5000,
    )
    Price.objects.bulk_create(
        [
            Price(price_list=channel.price_list, sku=sku, amount=Decimal("49.90"))
            for sku in sku_rows
        ],
        batch_size=5000,
    )
    StockBalance.objects.bulk_create(
        [StockBalance(sku=sku, warehouse=warehouse, on_hand=10) for sku in sku_rows],
        batch_size=5000,
    )
    return [sku.pk for sku in sku_rows]


def _case(key: str, n: int, products: int, window: float) -> list[Row]:
    from mappings.models import Listing
    from sync.services.runs import run_flow
    from vendors.registry import get_spec

    spec = get_spec(key)
    limits = spec.limits.for_flow("catalog")
    declared = spec.limits.requests_per_second
    client_burst = max(1, spec.limits.burst // 2)  # as sync.services.limits.rate_limiter_for
    label = f"{spec.label} {products // 1000}k × {SKUS_PER_PRODUCT}, first {window:.0f} s"

    emulator = start_emulator(key, n)
    try:
        channel = active_channel(
            connector=key,
            company=make_company(f"catalog {key} {n}"),
            credentials=emulator.credentials,
            base_url=emulator.url,
            batch_sizes={"catalog": limits.max_batch_size},
        )
        # New channels publish no catalog until support turns it on (it overwrites products).
        channel.sync_settings.filter(flow="catalog").update(enabled=True)
        progress(f"catalog: {label}: building {fmt_int(products)} ERP products")
        sku_ids = erp_catalog(channel, products=products, prefix=f"C{n}")
        mark_pending(channel, sku_ids, flow="catalog")
        emulator.reset_stats()
        progress(f"catalog: {label}: {fmt_int(len(sku_ids))} SKUs pending, running the engine")
        runs = []
        started = time.monotonic()
        while True:
            elapsed = time.monotonic() - started
            if elapsed >= window:
                break
            run = run_flow(channel_id=channel.pk, flow="catalog", budget_seconds=window - elapsed)
            runs.append(run)
            progress(
                f"catalog: {label}: run {len(runs)} {run.state}, {run.done} done, "
                f"{run.requests} requests"
            )
            if run.state not in ("succeeded", "partial") or not pending_count(channel, "catalog"):
                break
        elapsed = time.monotonic() - started
    finally:
        emulator.stop()

    requests = emulator.requests_log
    bound = Listing.objects.filter(channel=channel).count()
    published = bound // SKUS_PER_PRODUCT
    # Products at the vendor: by the seller code of each product's first SKU.
    at_vendor = sum(
        1
        for i in range(published + 1)
        if emulator.catalog_product(f"C{n}-{i:06d}-{SIZES[0]}") is not None
    )
    per_product = minimum_requests_per_product(
        key, skus=SKUS_PER_PRODUCT, images=IMAGES_PER_PRODUCT, attributes=2
    )
    # Requests made for a product still in flight when the window closed, and reads done
    # once per connector (Mercado Livre's category attributes), are what may exceed the
    # minimum: at most one product's worth plus one read per run.
    allowance = per_product + len(runs)
    minimum = published * per_product
    rate_limited = sum(1 for r in requests if r.status == 429)
    rate = sustained_rate([r.at for r in requests], client_burst)
    duplicates = at_vendor - published
    data = {
        "vendor": key,
        "products": products,
        "skus_per_product": SKUS_PER_PRODUCT,
        "window_seconds": window,
        "seconds": round(elapsed, 2),
        "runs": [
            {"state": r.state, "requests": r.requests, "retries": r.retries, "done": r.done}
            for r in runs
        ],
        "products_published": published,
        "products_at_vendor": at_vendor,
        "requests": len(requests),
        "minimum_requests": minimum,
        "minimum_per_product": per_product,
        "declared_rate": declared,
        "client_burst": client_burst,
        "sustained_rate": rate,
        "rate_limited": rate_limited,
    }
    hours = products / max(published, 1) * elapsed / 3600
    rows = [
        Row(
            "catalog",
            f"{label}: requests",
            f"{fmt_int(len(requests))} for {fmt_int(published)} products "
            f"({len(requests) / max(published, 1):.2f} a product)",
            f"= {per_product} a product (vendor minimum)",
            published > 0 and minimum <= len(requests) <= minimum + allowance and duplicates == 0,
            data,
        ),
        Row(
            "catalog",
            f"{label}: rate",
            f"{fmt_rate(rate)} of {declared:g} declared"
            + (f"; all {fmt_int(products)} in ~{hours:.1f} h" if published else ""),
            "≥ 90 %, 0 × 429",
            rate is not None and rate >= RATE_TARGET * declared and rate_limited == 0,
            None,
        ),
    ]
    return rows


def run(state, *, quick: bool) -> list[Row]:
    window = 15.0 if quick else 60.0
    products = 1_000 if quick else 10_000
    rows: list[Row] = []
    vendors = os.environ.get("BENCH_CATALOG_VENDORS", "vtex,anymarket,mercadolivre")
    for n, key in enumerate(v.strip() for v in vendors.split(",") if v.strip()):
        rows += _case(key, n + 1, products, window)
    rows += _memory(products)
    rows += _delta(quick)
    return rows


# --- delta cost: one batch on a catalog of 10k products, then 1M -----------------------------

DELTA_PRODUCTS = 100  # products changed per batch (their 300 SKUs pending)
DELTA_REPEATS = 5  # after one warm-up batch; the median is reported


def _delta_batch(channel_id: int, sku_ids: list[int]) -> dict[str, float]:
    from bench.support import NoHttpConnector
    from channels.models import SalesChannel
    from sync.models import RunTrigger, SyncRun
    from sync.services import catalog
    from sync.services.context import RunContext

    channel = SalesChannel.objects.select_related("company").get(pk=channel_id)
    mark_pending(channel, sku_ids, flow="catalog")
    connector = NoHttpConnector(channel)
    run = SyncRun.objects.create(channel=channel, flow="catalog", trigger=RunTrigger.MANUAL)
    ctx = RunContext(
        run=run, channel=channel, connector=connector, lease=None, deadline=time.monotonic() + 600
    )
    commit = {"seconds": 0.0}
    original = catalog.catalog_commit

    def timed_commit(*args, **kwargs):
        started = time.monotonic()
        try:
            return original(*args, **kwargs)
        finally:
            commit["seconds"] += time.monotonic() - started

    catalog.catalog_commit = timed_commit
    try:
        started = time.monotonic()
        settled = catalog.catalog_publish_pending(ctx, limit=len(sku_ids))
        finished = time.monotonic()
    finally:
        catalog.catalog_commit = original
    if settled != len(sku_ids) or connector.calls != DELTA_PRODUCTS:
        raise RuntimeError(f"catalog batch settled {settled} of {len(sku_ids)} changes")
    return {
        "select_build": connector.first_call_at - started,
        "commit": commit["seconds"],
        "total": finished - started,
    }


def _delta(quick: bool) -> list[Row]:
    """The same channel's catalog grown from 10k products to 1M (3 SKUs each, stock balances
    and bindings, inserted set-based: bench/catalog.py); each time DELTA_PRODUCTS products
    drawn at random over the whole catalog are changed (their SKUs pending) and one batch
    runs, publishing through a connector without HTTP."""
    import random

    from bench.catalog import Catalog, grow_catalog
    from bench.support import median

    sizes = (10_000, 100_000) if quick else (10_000, 1_000_000)
    channel = active_channel(
        connector="anymarket",
        company=make_company("catalog delta"),
        credentials={"gumga_token": "bench-catalog-delta-token"},
        base_url="http://127.0.0.1:9/v2",
        batch_sizes={"catalog": DELTA_PRODUCTS * SKUS_PER_PRODUCT},
    )
    channel.sync_settings.filter(flow="catalog").update(enabled=True)
    catalog = Catalog(
        channel_id=channel.pk,
        company_id=channel.company_id,
        warehouse_id=channel.warehouses.get().pk,
    )
    rng = random.Random(15)
    measured: dict[int, dict] = {}
    for products in sizes:
        progress(f"catalog: delta: growing the catalog to {fmt_int(products)} products")
        grow_catalog(
            catalog,
            products * SKUS_PER_PRODUCT - catalog.size,
            prefix="CD",
            skus_per_product=SKUS_PER_PRODUCT,
        )
        first, last = catalog.sku_id_range()
        timings = []
        for _repeat in range(DELTA_REPEATS + 1):
            picked = rng.sample(range(products), DELTA_PRODUCTS)
            sku_ids = [
                first + p * SKUS_PER_PRODUCT + s for p in picked for s in range(SKUS_PER_PRODUCT)
            ]
            assert all(first <= sku_id <= last for sku_id in sku_ids)
            timings.append(_delta_batch(channel.pk, sku_ids))
        timings = timings[1:]  # the first batch warms the caches
        measured[products] = {
            "select_build": median([t["select_build"] for t in timings]),
            "commit": median([t["commit"] for t in timings]),
            "total": median([t["total"] for t in timings]),
        }
        progress(
            f"catalog: delta: {fmt_int(products)} products: select + build "
            f"{measured[products]['select_build'] * 1000:.0f} ms, commit "
            f"{measured[products]['commit'] * 1000:.0f} ms"
        )
    small, large = (measured[n] for n in sizes)
    ratio = large["select_build"] / small["select_build"]
    label = f"{sizes[0] // 1000}k vs {fmt_int(sizes[1])} products"
    return [
        Row(
            "catalog",
            f"delta: {DELTA_PRODUCTS} changed products × {SKUS_PER_PRODUCT} SKUs, {label}",
            f"select + build {small['select_build'] * 1000:.0f} → "
            f"{large['select_build'] * 1000:.0f} ms (ratio {ratio:.2f}); commit "
            f"{small['commit'] * 1000:.0f} → {large['commit'] * 1000:.0f} ms",
            "ratio ≤ 2",
            ratio <= 2,
            {"sizes": list(sizes), "measured": {str(k): v for k, v in measured.items()}},
        )
    ]


# --- memory: a worker process of its own ----------------------------------------------------


def _memory(products: int) -> list[Row]:
    """The parent builds the catalog and marks it pending; a fresh process publishes it, so
    its VmHWM holds the engine's work only."""
    channel = active_channel(
        connector="anymarket",
        company=make_company("catalog memory"),
        credentials={"gumga_token": "bench-memory-token"},
        base_url="http://127.0.0.1:9/v2",
        batch_sizes={"catalog": 500},
    )
    channel.sync_settings.filter(flow="catalog").update(enabled=True)
    progress(f"catalog: memory: building {fmt_int(products)} × {SKUS_PER_PRODUCT}")
    mark_pending(channel, erp_catalog(channel, products=products, prefix="MEM"), flow="catalog")
    progress("catalog: memory: worker process starts")
    worker = subprocess.Popen(
        [sys.executable, "-m", "bench.catalog_publish", str(channel.pk)],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        text=True,
    )
    result = None
    assert worker.stdout is not None
    for line in worker.stdout:
        if line.startswith(RESULT_PREFIX):
            result = json.loads(line[len(RESULT_PREFIX) :])
        else:
            print(line, end="", flush=True)
    if worker.wait() != 0 or result is None:
        raise RuntimeError(f"catalog memory worker failed (exit {worker.returncode})")
    peak = result["peak_rss_mb"]
    return [
        Row(
            "catalog",
            f"memory: {fmt_int(products)} × {SKUS_PER_PRODUCT} published, peak RSS",
            f"{peak:.0f} MB ({fmt_int(result['published'])} products in "
            f"{result['seconds']:.0f} s, {result['runs']} runs)",
            f"≤ {RSS_TARGET_MB} MB",
            peak <= RSS_TARGET_MB and result["published"] == products,
            result,
        )
    ]


def _memory_worker(channel_id: int) -> dict:
    from bench.support import no_http_connectors, peak_rss_mb
    from mappings.models import Listing
    from sync.models import PendingChange
    from sync.services.runs import run_flow

    started = time.monotonic()
    runs = 0
    with no_http_connectors():
        while PendingChange.objects.filter(channel_id=channel_id, flow="catalog").exists():
            run = run_flow(channel_id=channel_id, flow="catalog")
            runs += 1
            if run.state not in ("succeeded", "partial"):
                raise RuntimeError(f"catalog run {run.state}: {run.error}")
    return {
        "peak_rss_mb": peak_rss_mb(),
        "published": Listing.objects.filter(channel_id=channel_id).count() // SKUS_PER_PRODUCT,
        "seconds": round(time.monotonic() - started, 2),
        "runs": runs,
    }


if __name__ == "__main__":
    import django

    django.setup()
    print(RESULT_PREFIX + json.dumps(_memory_worker(int(sys.argv[1]))), flush=True)
