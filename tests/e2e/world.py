"""Builders for the process-level end-to-end tests: one company, one warehouse, a shared
catalog, and active channels bound to emulators running in the test process.

Unlike tests/sync/engine.py these never patch a connector's declared limits: the children are
other interpreters and use the connectors as shipped, so the emulators run at the vendors'
declared rates too.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from django_q.models import Schedule

from channels.models import SalesChannel
from channels.services import channel_set_status
from erp.models import Order, OrderItem, OrderStatus, Product, Sku, StockBalance, Warehouse
from erp.services import StockLevel, stock_set_many
from mappings.models import Listing
from sandbox.anymarket import AnymarketEmulator
from sandbox.vtex import VtexEmulator
from sync.services.connectors import build_connector
from sync.services.schedules import schedule_name
from tests.factories import make_channel, make_price_list
from tests.sync.engine import map_defaults

VTEX_WAREHOUSE = "1_1"  # the emulator's first warehouse, the demo credentials' default


def vtex_credentials(account: str) -> dict:
    """Demo credentials with a token of the account's own (app key and token are unique per
    connector, so two VTEX channels cannot share the emulator's demo token)."""
    return {
        **VtexEmulator.demo_credentials(account),
        "app_token": f"E2E-{account}-token-not-a-secret-emulator-only-000000000000",
    }


def make_catalog(company, codes: list[str]) -> list[Sku]:
    product = Product.objects.create(company=company, name="Produto E2E")
    return [
        Sku.objects.create(company=company, product=product, code=code, name=code) for code in codes
    ]


def set_stock(warehouse: Warehouse, pairs) -> None:
    """[(sku, on_hand)] through the ERP service, so every channel hears about it."""
    stock_set_many(levels=[StockLevel(sku=s, warehouse=warehouse, on_hand=q) for s, q in pairs])


def new_channel(
    connector: str, emulator, *, company, warehouse, credentials, flows
) -> SalesChannel:
    """An active channel on `emulator` whose enabled flows are exactly `flows`."""
    channel = make_channel(
        company=company,
        connector=connector,
        credentials=credentials,
        api_base_url=emulator.url,
        environment="sandbox",
        name=f"{connector} {emulator.url}",
    )
    channel.warehouses.set([warehouse])
    channel.price_list = make_price_list(company, name=f"Lista {channel.pk}")
    channel.save()
    channel.sync_settings.exclude(flow__in=flows).update(enabled=False)
    channel.sync_settings.filter(flow__in=flows).update(batch_size=100)
    channel_set_status(channel=channel, status="active")
    # The tests enqueue run_flow themselves, continuously; the schedules activation created
    # would only add runs at the scheduler's ~30 s wake-ups.
    Schedule.objects.filter(
        name__in=[schedule_name(channel.pk, flow) for flow in ("stock", "price", "orders")]
    ).delete()
    return channel


def vtex_channel(emulator: VtexEmulator, *, company, warehouse, flows) -> SalesChannel:
    channel = new_channel(
        "vtex",
        emulator,
        company=company,
        warehouse=warehouse,
        credentials=emulator.credentials,
        flows=flows,
    )
    if "orders" in flows:
        build_connector(channel).configure_feed()  # what activation does
        map_defaults(
            channel,
            statuses=[("ready-for-handling", OrderStatus.PAID)],
            carriers=[("Correios", "SEDEX 10", "Correios", "SEDEX 10")],
            payments=[("Pix", "Pix")],
        )
    return channel


def anymarket_channel(emulator: AnymarketEmulator, *, company, warehouse, flows) -> SalesChannel:
    channel = new_channel(
        "anymarket",
        emulator,
        company=company,
        warehouse=warehouse,
        credentials=emulator.credentials,
        flows=flows,
    )
    if "orders" in flows:
        map_defaults(
            channel,
            statuses=[("PAID_WAITING_SHIP", OrderStatus.PAID)],
            carriers=[("Correios", "SEDEX", "Correios", "SEDEX")],
            payments=[("pix", "Pix")],
        )
    return channel


def bind_vtex(channel: SalesChannel, emulator: VtexEmulator, skus: list[Sku]) -> dict[int, int]:
    """Register the SKUs on the store (RefId = ERP code) and bind them. Returns ERP SKU id ->
    VTEX SKU id."""
    vtex_ids = {sku.pk: emulator.add_sku(ref_id=sku.code, name=sku.code).id for sku in skus}
    _bind(channel, [(sku, {"external_sku_id": str(vtex_ids[sku.pk])}) for sku in skus])
    return vtex_ids


def bind_anymarket(channel: SalesChannel, emulator: AnymarketEmulator, skus: list[Sku]) -> None:
    product = emulator.add_product("Produto E2E", [{"partnerId": sku.code} for sku in skus])
    _bind(
        channel,
        [
            (
                sku,
                {
                    "external_item_id": str(product["id"]),
                    "external_sku_id": str(emulator.sku_ids_by_partner[sku.code]),
                },
            )
            for sku in skus
        ],
    )


def _bind(channel: SalesChannel, rows) -> None:
    for sku, ids in rows:
        Listing(channel=channel, sku=sku, seller_sku=sku.code, **ids).save()


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
