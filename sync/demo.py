"""Demo data for `make run`: one company with a small catalog, and one sales channel per
category pointing at the local sandbox emulators. Idempotent: natural keys, get_or_create."""

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from channels.models import SalesChannel
from channels.services import channel_ensure_sync_settings, channel_set_credentials
from erp.gtin import gtin13_with_check_digit
from erp.models import (
    Carrier,
    CarrierService,
    Company,
    PaymentMethod,
    PriceList,
    Product,
    Sku,
    StockBalance,
    Warehouse,
)
from vendors.spec import Environment

DEMO_CNPJ = "11222333000181"

# (product, brand, variations, kind, SKU code prefix, price)
CATALOG = [
    ("Camiseta Básica Algodão", "Tramas", ["P", "M", "G", "GG"], "Camiseta", "CAMBAS", "59.90"),
    ("Calça Jeans Slim", "Tramas", ["38", "40", "42", "44"], "Calça", "CALJEA", "189.90"),
    ("Tênis Corrida Leve", "Passo", ["38", "39", "40", "41", "42"], "Tênis", "TENCOR", "299.00"),
    ("Garrafa Térmica 500 ml", "Frio&Cia", ["Preta", "Inox"], "Garrafa", "GARTER", "89.90"),
    ("Mochila Urbana 20 L", "Trilha", ["Única"], "Mochila", "MOCURB", "219.00"),
]

CARRIERS = {
    "Correios": ["PAC", "SEDEX", "SEDEX 10"],
    "Jadlog": [".Package", ".Com"],
    "Mercado Envios": ["Normal", "Expresso"],
    "Loggi": ["Expressa"],
}

PAYMENTS = [
    ("Pix", PaymentMethod.Kind.PIX),
    ("Cartão de crédito", PaymentMethod.Kind.CREDIT_CARD),
    ("Boleto", PaymentMethod.Kind.BOLETO),
]

# connector key -> (channel name, default emulator port)
DEMO_CHANNELS = {
    "mercadolivre": ("Mercado Livre (sandbox)", 8701),
    "vtex": ("Loja VTEX (sandbox)", 8702),
    "anymarket": ("ANYMARKET (sandbox)", 8703),
}


@dataclass
class DemoSummary:
    company: Company
    skus: int
    channels: list[SalesChannel]


def demo_sku_codes() -> list[str]:
    """The demo catalog's SKU codes; the emulators' demo listings use the same ones."""
    return [
        f"{prefix}-{variant}".upper().replace(" ", "")
        for _name, _brand, variants, _kind, prefix, _amount in CATALOG
        for variant in variants
    ]


@transaction.atomic
def load_demo(
    *, sandbox_host: str = "127.0.0.1", ports: dict[str, int] | None = None
) -> DemoSummary:
    company, _ = Company.objects.get_or_create(
        cnpj=DEMO_CNPJ,
        defaults={"legal_name": "Loja Demo Comércio Ltda", "trade_name": "Loja Demo"},
    )
    main, _ = Warehouse.objects.get_or_create(
        company=company, code="CD-SP", defaults={"name": "Centro de distribuição São Paulo"}
    )
    store, _ = Warehouse.objects.get_or_create(
        company=company, code="LOJA-RJ", defaults={"name": "Loja Rio de Janeiro"}
    )
    price_list, _ = PriceList.objects.get_or_create(company=company, name="Varejo")
    sku_count = 0
    for index, (name, brand, variants, _kind, prefix, amount) in enumerate(CATALOG):
        product, _ = Product.objects.get_or_create(
            company=company, name=name, defaults={"brand": brand}
        )
        for position, variant in enumerate(variants):
            code = f"{prefix}-{variant}".upper().replace(" ", "")
            ean = gtin13_with_check_digit(f"789{index:04d}{position:05d}")
            sku, created = Sku.objects.get_or_create(
                company=company,
                code_key=code,
                defaults={"product": product, "code": code, "name": variant, "ean": ean},
            )
            if created:
                StockBalance.objects.create(sku=sku, warehouse=main, on_hand=20 + 7 * position)
                StockBalance.objects.create(sku=sku, warehouse=store, on_hand=3)
                price_list.prices.create(sku=sku, amount=Decimal(amount))
            sku_count += 1
    for carrier_name, services in CARRIERS.items():
        carrier, _ = Carrier.objects.get_or_create(company=company, name=carrier_name)
        for service in services:
            CarrierService.objects.get_or_create(carrier=carrier, name=service)
    for payment_name, kind in PAYMENTS:
        PaymentMethod.objects.get_or_create(
            company=company, name=payment_name, defaults={"kind": kind}
        )
    channels = []
    ports = ports or {}
    from sandbox.registry import get_emulator_class

    for connector, (channel_name, default_port) in DEMO_CHANNELS.items():
        port = ports.get(connector, default_port)
        channel, created = SalesChannel.objects.get_or_create(
            company=company,
            connector=connector,
            environment=Environment.SANDBOX,
            defaults={
                "name": channel_name,
                "api_base_url": f"http://{sandbox_host}:{port}",
                "price_list": price_list,
            },
        )
        if created:
            channel.full_clean()
            channel.save()
            channel.warehouses.set([main, store])
            channel_ensure_sync_settings(channel=channel)
            channel_set_credentials(
                channel=channel, values=get_emulator_class(connector).demo_credentials()
            )
        channels.append(channel)
    return DemoSummary(company=company, skus=sku_count, channels=channels)
