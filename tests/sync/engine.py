"""Builders for engine tests: active channels bound to a running emulator."""

import contextlib

from channels.services import channel_set_status
from erp.services import StockLevel, stock_set_many
from mappings.models import Listing, MappingKind
from mappings.services import mapping_create
from tests.factories import (
    make_carrier_service,
    make_channel,
    make_payment_method,
    make_price_list,
    make_sku,
    make_warehouse,
)
from vendors.testing import override_rate


@contextlib.contextmanager
def declared_rate(adapter_class, *, rate: float, burst: int):
    """Run a test at a faster vendor rate, declared on the vendor's spec AND enforced by the
    emulator, so request pacing is still exercised but tests don't take minutes."""
    with override_rate(adapter_class.spec.key, rate=rate, burst=burst) as spec:
        yield spec.limits


def active_channel(
    connector: str,
    emulator,
    *,
    company=None,
    warehouse=None,
    price_list=None,
    batch_sizes: dict | None = None,
    **kwargs,
):
    channel = make_channel(
        company=company,
        connector=connector,
        credentials=emulator.credentials,
        api_base_url=emulator.url,
        environment="sandbox",
        **kwargs,
    )
    warehouse = warehouse or make_warehouse(channel.company, code=f"CD-{channel.pk}")
    channel.warehouses.set([warehouse])
    channel.price_list = price_list or make_price_list(channel.company, name=f"Lista {channel.pk}")
    channel.save()
    for flow, size in (batch_sizes or {}).items():
        channel.sync_settings.filter(flow=flow).update(batch_size=size)
    channel_set_status(channel=channel, status="active")
    return channel


def bind(channel, sku, **external):
    listing = Listing(channel=channel, sku=sku, **external)
    listing.save()
    return listing


def make_skus(company, codes):
    return [make_sku(company, code=code) for code in codes]


def set_stock(warehouse, pairs):
    """pairs: [(sku, on_hand)] through the ERP service (so changes are announced)."""
    stock_set_many(levels=[StockLevel(sku=s, warehouse=warehouse, on_hand=q) for s, q in pairs])


def map_defaults(channel, *, statuses=(), carriers=(), payments=()):
    """statuses: [(code, erp_status)], carriers: [(carrier, service, erp_carrier, erp_service)],
    payments: [(code, erp_name)]."""
    for code, status in statuses:
        mapping_create(channel=channel, kind=MappingKind.ORDER_STATUS, code=code, target=status)
    for carrier, service, erp_carrier, erp_service in carriers:
        target = make_carrier_service(channel.company, erp_carrier, erp_service)
        mapping_create(
            channel=channel,
            kind=MappingKind.CARRIER_SERVICE,
            parent_code=carrier,
            code=service,
            target=target,
        )
    for code, name in payments:
        mapping_create(
            channel=channel,
            kind=MappingKind.PAYMENT_METHOD,
            code=code,
            target=make_payment_method(channel.company, name),
        )


def anymarket_catalog(emulator, channel, codes, *, amount=0):
    """One ANYMARKET product with a SKU per code, the ERP SKUs, and their bindings."""
    product = emulator.add_product(
        "Produto", [{"partnerId": code, "amount": amount} for code in codes]
    )
    skus = make_skus(channel.company, codes)
    for sku in skus:
        bind(
            channel,
            sku,
            external_item_id=str(product["id"]),
            external_sku_id=str(emulator.sku_ids_by_partner[sku.code]),
            seller_sku=sku.code,
        )
    return skus
