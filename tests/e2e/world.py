"""Builders for the process-level end-to-end tests: one company, one warehouse, a shared
catalog, and active channels bound to emulators running in the test process. Every emulator
is driven through its control interface (sandbox.server.Emulator), whatever the vendor.

Unlike tests/sync/engine.py these never patch a connector's declared limits: the children are
other interpreters and use the connectors as shipped, and the emulators enforce the vendors'
documented rates.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from django_q.models import Schedule

from channels.models import SalesChannel
from channels.services import channel_set_status
from erp.models import Order, OrderItem, OrderStatus, Product, Sku, StockBalance, Warehouse
from erp.services import StockLevel, stock_set_many
from mappings.models import Listing
from sandbox.server import CatalogEntry
from sync.services.connectors import build_connector
from sync.services.schedules import schedule_name
from tests.factories import make_channel, make_price_list
from tests.sync.engine import map_defaults

# The de-para of the orders an emulator's add_order() places by default (a paid order, the
# vendor's first carrier and payment method). Vendor data, not behaviour: every vendor has
# its own codes, which is what de-para is for.
DEFAULT_ORDER_DE_PARA = {
    "vtex": {
        "statuses": [("ready-for-handling", OrderStatus.PAID)],
        "carriers": [("Correios", "SEDEX 10", "Correios", "SEDEX 10")],
        "payments": [("Pix", "Pix")],
    },
    "anymarket": {
        "statuses": [("PAID_WAITING_SHIP", OrderStatus.PAID)],
        "carriers": [("Correios", "SEDEX", "Correios", "SEDEX")],
        "payments": [("pix", "Pix")],
    },
    "mercadolivre": {
        "statuses": [("paid", OrderStatus.PAID)],
        # The connector reads the service as the shipping method id (Correios PAC).
        "carriers": [("Correios", "510245", "Correios", "PAC")],
        "payments": [("pix", "Pix")],
    },
}


def make_catalog(company, codes: list[str]) -> list[Sku]:
    product = Product.objects.create(company=company, name="Produto E2E")
    return [
        Sku.objects.create(company=company, product=product, code=code, name=code) for code in codes
    ]


def set_stock(warehouse: Warehouse, pairs) -> None:
    """[(sku, on_hand)] through the ERP service, so every channel hears about it."""
    stock_set_many(levels=[StockLevel(sku=s, warehouse=warehouse, on_hand=q) for s, q in pairs])


def vendor_channel(emulator, *, company, warehouse, flows) -> SalesChannel:
    """An active channel on `emulator` (its vendor's connector, the emulator's credentials)
    whose enabled flows are exactly `flows`, prepared as activation prepares it, with the
    de-para of the emulator's default orders when it imports orders."""
    connector = emulator.vendor
    channel = make_channel(
        company=company,
        connector=connector,
        credentials=emulator.credentials,
        api_base_url=emulator.url,
        environment="sandbox",
        name=f"{connector} {emulator.url}",
    )
    channel.warehouses.set([warehouse])
    channel.price_list = make_price_list(company, name=f"Lista {channel.pk}")
    channel.save()
    channel.sync_settings.exclude(flow__in=flows).update(enabled=False)
    channel.sync_settings.filter(flow__in=flows).update(enabled=True, batch_size=100)
    channel_set_status(channel=channel, status="active")
    # The tests enqueue run_flow themselves, continuously; the schedules activation created
    # would only add runs at the scheduler's ~30 s wake-ups.
    Schedule.objects.filter(
        name__in=[
            schedule_name(channel.pk, flow)
            for flow in ("stock", "price", "orders", "fulfilment", "catalog")
        ]
    ).delete()
    build_connector(channel).on_activate(enabled_flows=set(flows))  # VTEX: its orders feed
    if "orders" in flows:
        map_defaults(channel, **DEFAULT_ORDER_DE_PARA[connector])
    return channel


def listing_fields(entry: CatalogEntry) -> dict[str, str]:
    """A binding's external ids for a SKU the emulator registered."""
    return {
        "seller_sku": entry.seller_sku,
        "external_item_id": entry.item_id,
        "external_variation_id": entry.variation_id,
        "external_sku_id": entry.sku_id,
    }


def bind_catalog(channel: SalesChannel, emulator, skus: list[Sku], **options) -> None:
    """Register the ERP SKUs at the vendor under their codes (`seed_catalog` options) and
    bind them."""
    entries = emulator.seed_catalog([sku.code for sku in skus], **options)
    for sku, entry in zip(skus, entries, strict=True):
        Listing(channel=channel, sku=sku, **listing_fields(entry)).save()


def sold_quantities(emulator) -> dict[str, int]:
    """Seller SKU -> units the vendor's orders hold (read from the vendor, not the ERP)."""
    totals: Counter[str] = Counter()
    for order_id in emulator.order_ids():
        for seller_sku, quantity in emulator.order_lines(order_id):
            totals[seller_sku] += quantity
    return dict(totals)


# --- what the ERP holds, read independently of the engine ------------------------------------


def available_by_sku(warehouse: Warehouse) -> dict[int, int]:
    """on hand − reserved, never below 0 (one warehouse, no safety stock in these tests)."""
    return {
        b.sku_id: max(b.on_hand - b.reserved, 0)
        for b in StockBalance.objects.filter(warehouse=warehouse)
    }


def reserved_by_sku(warehouse: Warehouse) -> dict[int, int]:
    return dict(StockBalance.objects.filter(warehouse=warehouse).values_list("sku_id", "reserved"))


def erp_orders(channel: SalesChannel) -> Counter:
    """external id -> how many erp.Order rows carry it (must be 1 each)."""
    return Counter(Order.objects.filter(channel=channel).values_list("external_id", flat=True))


def erp_line_quantities(channel: SalesChannel) -> dict[int, int]:
    totals: dict[int, int] = defaultdict(int)
    for sku_id, quantity in OrderItem.objects.filter(order__channel=channel).values_list(
        "sku_id", "quantity"
    ):
        totals[sku_id] += quantity
    return dict(totals)
