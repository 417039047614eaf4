"""Builders for activation tests: a channel on an emulator whose preflight passes."""

from __future__ import annotations

from erp.models import OrderStatus
from mappings.models import MappingKind
from mappings.services import mapping_create
from tests.factories import (
    make_carrier_service,
    make_channel,
    make_company,
    make_payment_method,
    make_price_list,
    make_warehouse,
)

FAST = {"rate": 1000.0, "burst": 1000}  # vendor rate limits are the connector tests' business
SELLER = "123456789"  # MercadoLivreEmulator's default seller id


def add_fallbacks(channel, kinds=None) -> None:
    """An “anything else” de-para row for each kind (every kind unless told)."""
    company = channel.company
    targets = {
        MappingKind.CARRIER_SERVICE: lambda: make_carrier_service(company, "Correios", "PAC"),
        MappingKind.PAYMENT_METHOD: lambda: make_payment_method(company, "Pix", "pix"),
        MappingKind.ORDER_STATUS: lambda: OrderStatus.NEW,
        MappingKind.STOCK_LOCATION: lambda: make_warehouse(company, code=f"FB-{channel.pk}"),
    }
    for kind in kinds or list(targets):
        mapping_create(channel=channel, kind=kind, target=targets[kind](), is_fallback=True)


def ready_channel(emulator, connector: str, *, company=None, credentials=None, de_para=True):
    """A sandbox channel on `emulator` whose settings and de-para pass the preflight."""
    company = company or make_company()
    channel = make_channel(
        company,
        connector=connector,
        credentials=credentials or type(emulator).demo_credentials(),
        api_base_url=emulator.url,
        environment="sandbox",
        price_list=make_price_list(company, name=f"Lista {connector}"),
    )
    channel.warehouses.add(make_warehouse(company, code=f"W-{channel.pk}"))
    if de_para:
        add_fallbacks(channel)
    return channel
