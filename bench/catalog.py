"""Large catalogs (10k-1M SKUs) inserted set-based by SQLite itself.

One INSERT … SELECT over a recursive counter per table: 1M SKUs with their stock balances
and bindings take about 10 s, where ORM bulk_create would spend most of the benchmark's
time budget. Rows match what the services would write (code_key normalized, the binding's
external_key as Listing.normalize_keys builds it). SQLite only, like the rest of bench/.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

SKUS_PER_PRODUCT = 10
EXTERNAL_SKU_BASE = 50_000_000


@dataclass
class Catalog:
    channel_id: int
    company_id: int
    warehouse_id: int
    first_sku_id: int | None = None
    size: int = 0

    def sku_id_range(self) -> tuple[int, int]:
        assert self.first_sku_id is not None
        return self.first_sku_id, self.first_sku_id + self.size - 1


def _max_id(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"')
        return cursor.fetchone()[0]


def _counter(count: int) -> str:
    return (
        "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq "
        f"WHERE n < {int(count)}) "
    )


@transaction.atomic
def grow_catalog(
    catalog: Catalog, count: int, *, prefix: str = "BK", skus_per_product: int = SKUS_PER_PRODUCT
) -> None:
    """Append `count` SKUs to the catalog: products (one per `skus_per_product` SKUs), SKUs,
    a stock balance in the channel's warehouse and a binding on the channel for each."""
    from erp.models import Product, Sku, StockBalance
    from mappings.models import EXTERNAL_KEY_SEPARATOR, Listing

    if connection.vendor != "sqlite":
        raise RuntimeError("bench/catalog.py builds catalogs with SQLite SQL only.")
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    product_table, sku_table = Product._meta.db_table, Sku._meta.db_table
    balance_table, listing_table = StockBalance._meta.db_table, Listing._meta.db_table
    product_base = _max_id(product_table)
    sku_base = _max_id(sku_table)
    if catalog.first_sku_id is None:
        catalog.first_sku_id = sku_base + 1
    elif sku_base + 1 != catalog.first_sku_id + catalog.size:
        raise RuntimeError("another writer added SKUs in the middle of this catalog")
    offset = catalog.size  # SKU numbers continue where the catalog ended
    per_product = int(skus_per_product)
    products = -(-count // per_product)
    separator = ord(EXTERNAL_KEY_SEPARATOR)
    with connection.cursor() as cursor:
        cursor.execute(
            _counter(products) + f'INSERT INTO "{product_table}" '
            "(id, name, description, brand_id, ncm, origin, active, updated_at, company_id) "
            f"SELECT {product_base} + n, 'Produto {prefix} ' || ({offset} / "
            f"{per_product} + n), '', NULL, '', '', 1, %s, %s FROM seq",
            [now, catalog.company_id],
        )
        code = f"printf('{prefix}{catalog.channel_id}-%%08d', {offset} + n)"
        cursor.execute(
            _counter(count) + f'INSERT INTO "{sku_table}" '
            "(id, code, code_key, name, ean, weight_grams, active, updated_at, company_id, "
            "product_id) "
            f"SELECT {sku_base} + n, {code}, upper({code}), '', '', NULL, 1, %s, %s, "
            f"{product_base} + (n - 1) / {per_product} + 1 FROM seq",
            [now, catalog.company_id],
        )
        new_skus = f'FROM "{sku_table}" WHERE id > {sku_base}'
        cursor.execute(
            f'INSERT INTO "{balance_table}" '
            "(on_hand, reserved, updated_at, sku_id, warehouse_id) "
            f"SELECT id %% 50, 0, %s, id, %s {new_skus}",
            [now, catalog.warehouse_id],
        )
        item = "CAST(product_id AS TEXT)"
        external_sku = f"CAST(id + {EXTERNAL_SKU_BASE} AS TEXT)"
        cursor.execute(
            f'INSERT INTO "{listing_table}" '
            "(external_item_id, external_variation_id, external_sku_id, external_key, "
            "seller_sku, created_at, updated_at, channel_id, sku_id) "
            f"SELECT {item}, '', {external_sku}, "
            f"{item} || char({separator}) || char({separator}) || {external_sku}, "
            f"code, %s, %s, %s, id {new_skus}",
            [now, now, catalog.channel_id],
        )
    catalog.size += count


class SharedCatalog:
    """The one large catalog that the delta-cost and memory benchmarks share: an ANYMARKET
    channel (no emulator: those benchmarks push through bench.support.NoHttpConnector)
    whose catalog only grows."""

    def __init__(self) -> None:
        self.channel = None
        self.catalog: Catalog | None = None

    def big_channel(self):
        if self.channel is None:
            from bench.support import active_channel, make_company
            from vendors.anymarket.adapter import AnymarketConnector

            stock = AnymarketConnector.spec.limits.for_flow("stock")
            self.channel = active_channel(
                connector="anymarket",
                company=make_company("catalog"),
                credentials={"gumga_token": "bench-catalog-token"},
                base_url="http://127.0.0.1:9",  # never called
                batch_sizes={"stock": stock.max_batch_size},
            )
            # Stock only: a full resync marks every enabled push flow.
            self.channel.sync_settings.exclude(flow="stock").update(enabled=False)
            self.catalog = Catalog(
                channel_id=self.channel.pk,
                company_id=self.channel.company_id,
                warehouse_id=self.channel.warehouses.get().pk,
            )
        return self.channel

    def ensure_catalog(self, size: int) -> Catalog:
        self.big_channel()
        assert self.catalog is not None
        if size > self.catalog.size:
            grow_catalog(self.catalog, size - self.catalog.size)
        return self.catalog
