"""The demo of `make run`: one company with a small catalog and sales channels on the local
sandbox emulators — three of them live, one left in Draft for the activation walkthrough.

`load_demo` writes the data (idempotent: natural keys, get_or_create). Once the emulators
answer, `demo_go_live` fills the de-para of the live channels and activates them, with the
services support uses (`sync.services.de_para` + `mappings.services.mappings_create_many`,
the channel's “Fill de-para” page; `sync.activation.activate.activation_activate`), as the
"demo" user; `demo_place_held_order` then sends the one order the de-para cannot translate.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext as _

from channels.models import SalesChannel
from channels.services import channel_ensure_sync_settings, channel_set_credentials
from erp.gtin import gtin13_with_check_digit
from erp.models import (
    Brand,
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
from mappings.models import MappingKind
from mappings.services import mappings_create_many
from sync.activation.activate import activation_activate
from sync.services.de_para import de_para_proposals
from vendors.errors import ConnectorError
from vendors.spec import Capability, Environment
from vendors.types import ReferenceValue

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
    "Jadlog": [".Package", ".Com", "Expresso"],
    "Mercado Envios": ["Normal", "Expresso"],
    "Loggi": ["Expressa"],
}

PAYMENTS = [
    ("Pix", PaymentMethod.Kind.PIX),
    ("Cartão de crédito", PaymentMethod.Kind.CREDIT_CARD),
    ("Boleto", PaymentMethod.Kind.BOLETO),
    ("Saldo Mercado Pago", PaymentMethod.Kind.WALLET),
]


@dataclass(frozen=True)
class DemoChannel:
    """A demo sales channel and the emulator it talks to (`run_stack` starts one per entry)."""

    key: str
    connector: str
    name: str
    port: int
    # The vendor account its emulator plays; "" = the emulator's demo account.
    account: str = ""
    # Activated by `demo_go_live`; False: left in Draft for the activation walkthrough.
    live: bool = True
    # Orders its emulator starts with.
    orders: int = 20


DEMO_CHANNELS = (
    DemoChannel("mercadolivre", "mercadolivre", "Mercado Livre (sandbox)", 8701),
    DemoChannel("vtex", "vtex", "Loja VTEX (sandbox)", 8702),
    # ANYMARKET allows 5,000 requests an hour (1.4/s) and each order is one request: with 8
    # orders the first run is done in seconds, and the held one shows in the first minute.
    DemoChannel("anymarket", "anymarket", "ANYMARKET (sandbox)", 8703, orders=8),
    # Another seller than the live Mercado Livre channel's: the activation's preflight blocks
    # an account already active on another channel.
    DemoChannel(
        "mercadolivre-2",
        "mercadolivre",
        "Mercado Livre – 2ª conta (sandbox)",
        8704,
        account="loja-demo-2",
        live=False,
    ),
)

# Where the demo store's stock locations (which no suggestion can guess) are mapped to.
DEMO_MAIN_WAREHOUSE = "CD-SP"

# Values a live channel's vendor sends in orders without listing them anywhere, known to the
# store's owner: the payment systems of the VTEX demo store (VTEX lists none — see
# vendors/vtex/adapter.py reference_values — and the emulator's orders use these:
# sandbox/vtex/routes.py PAYMENT_SYSTEMS).
KNOWN_VALUES = {
    "vtex": [
        ReferenceValue("payment_method", name, name)
        for name in ("Pix", "Visa", "Mastercard", "Boleto Bancário")
    ],
}

# The order held for want of de-para: ANYMARKET relays the carrier each marketplace sends
# (`shippingCarrierNormalized`, `tracking.carrier`; shared/channel-apis.md) and its adapter
# learns carriers only from a sample of recent orders (vendors/anymarket/adapter.py
# reference_values): a carrier first sent after the activation has no de-para. Mercado Livre
# and VTEX send only carriers they list, all mapped before activating.
# The DemoChannel (key) whose emulator gets it.
HELD_ORDER_CHANNEL = "anymarket"
HELD_ORDER_CARRIER = ("ECT", "SEDEX 10")

DEMO_USERNAME = "demo"


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


def demo_emulator(demo: DemoChannel, *, orders: int | None = None, **options):
    """The seeded (not yet started) emulator of a demo channel, with `orders` orders (default:
    the channel's); `options` go to the emulator's constructor (rate, burst: tests)."""
    from sandbox.registry import get_emulator_class

    emulator = get_emulator_class(demo.connector)(account=demo.account or None, **options)
    emulator.seed_demo(sku_codes=demo_sku_codes(), orders=demo.orders if orders is None else orders)
    return emulator


@transaction.atomic
def load_demo(
    *, sandbox_host: str = "127.0.0.1", ports: dict[str, int] | None = None
) -> DemoSummary:
    """`ports`: DemoChannel key -> emulator port, for those not on their default port."""
    company, _ = Company.objects.get_or_create(
        cnpj=DEMO_CNPJ,
        defaults={"legal_name": "Loja Demo Comércio Ltda", "trade_name": "Loja Demo"},
    )
    main, _ = Warehouse.objects.get_or_create(
        company=company,
        code=DEMO_MAIN_WAREHOUSE,
        defaults={"name": "Centro de distribuição São Paulo"},
    )
    store, _ = Warehouse.objects.get_or_create(
        company=company, code="LOJA-RJ", defaults={"name": "Loja Rio de Janeiro"}
    )
    price_list, _ = PriceList.objects.get_or_create(company=company, name="Varejo")
    sku_count = 0
    for index, (name, brand, variants, _kind, prefix, amount) in enumerate(CATALOG):
        brand_record, _ = Brand.objects.get_or_create(company=company, name=brand)
        product, _ = Product.objects.get_or_create(
            company=company, name=name, defaults={"brand": brand_record}
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

    for demo in DEMO_CHANNELS:
        port = ports.get(demo.key, demo.port)
        # By name: the demo has two Mercado Livre channels of one company and environment.
        channel, created = SalesChannel.objects.get_or_create(
            company=company,
            name=demo.name,
            defaults={
                "connector": demo.connector,
                "environment": Environment.SANDBOX,
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
                channel=channel,
                values=get_emulator_class(demo.connector).demo_credentials(demo.account or None),
            )
        channels.append(channel)
    return DemoSummary(company=company, skus=sku_count, channels=channels)


# --- the go-live ------------------------------------------------------------------------------


@dataclass
class GoLiveStep:
    channel: SalesChannel
    activated: bool
    message: str
    rows_created: int = 0
    # Something went wrong (the vendor could not be read, the activation was refused).
    failed: bool = False


def demo_user():
    """Who activates the demo's live channels: a user nobody logs in as (inactive, no
    password), so the activation records say the demo did it."""
    user, created = get_user_model().objects.get_or_create(
        username=DEMO_USERNAME,
        defaults={"first_name": "Demo", "last_name": "(make run)", "is_active": False},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def demo_go_live(*, only: set[str] | None = None) -> list[GoLiveStep]:
    """Fill the de-para of each live demo channel from its vendor's values and activate it,
    as support would: the suggested ERP values (the “Fill de-para” page's service), the main
    warehouse for stock locations, then the activation with its preflight. Needs the
    emulators answering. `only`: DemoChannel keys to consider (those whose emulator runs).

    Idempotent: a channel that was ever activated or deactivated (it has an activation
    record) is left as it is; the fill creates only the rows still missing."""
    company = Company.objects.filter(cnpj=DEMO_CNPJ).first()
    if company is None:
        return []
    steps = []
    for demo in DEMO_CHANNELS:
        if not demo.live or (only is not None and demo.key not in only):
            continue
        channel = SalesChannel.objects.filter(company=company, name=demo.name).first()
        if channel is None:
            continue
        if channel.activation_records.exists():
            steps.append(
                GoLiveStep(
                    channel,
                    False,
                    _("“%(channel)s” was activated before; left as it is (%(status)s).")
                    % {"channel": channel, "status": channel.get_status_display()},
                )
            )
            continue
        steps.append(_go_live(channel, demo))
    return steps


def _go_live(channel: SalesChannel, demo: DemoChannel) -> GoLiveStep:
    try:
        proposals = de_para_proposals(channel=channel, known_values=KNOWN_VALUES.get(demo.key))
    except ConnectorError as exc:
        return GoLiveStep(
            channel,
            False,
            _("“%(channel)s”: could not read %(vendor)s's values: %(error)s")
            % {"channel": channel, "vendor": channel.vendor.label, "error": exc},
            failed=True,
        )
    main = Warehouse.objects.filter(company_id=channel.company_id, code=DEMO_MAIN_WAREHOUSE).first()
    rows = []
    for proposal in proposals:
        target = proposal.suggestion
        if target is None and proposal.kind == MappingKind.STOCK_LOCATION:
            target = main
        if target is not None:
            rows.append((proposal.value, target))
    filled = mappings_create_many(channel=channel, rows=rows)
    confirmation = ""
    if Capability.OTHER_INTEGRATIONS not in channel.vendor.capabilities:
        # The vendor cannot tell which ERP is connected: support types it (the page's form).
        confirmation = _("Previous ERP: none — a demo store, never integrated with another ERP.")
    outcome = activation_activate(channel=channel, user=demo_user(), confirmation=confirmation)
    return GoLiveStep(
        channel, outcome.ok, outcome.message, len(filled.created), failed=not outcome.ok
    )


def demo_place_held_order(emulator) -> str:
    """Place, on the live ANYMARKET channel's emulator, a paid order whose marketplace ships
    it with carrier “ECT”, which the channel's de-para does not know: its import holds it
    until someone adds Correios / SEDEX 10 = ECT on the channel page. Once per emulator
    start, after `demo_go_live` (earlier, the activation's order sample would list ECT and
    the fill would map it). The order's id is the same at every start (the seeded orders
    come first), so the ERP never stores it twice."""
    return emulator.add_order(
        [(demo_sku_codes()[1], 1)],
        status="PAID_WAITING_SHIP",
        carrier=HELD_ORDER_CARRIER,
        payment="pix",
        marketplace="MAGAZINE_LUIZA",
        buyer_name="Gabriela Nunes",
    )


def demo_connect_notifications(emulators: dict) -> list[str]:
    """Point each running emulator's notifications at its active demo channel's URL (the
    server must be answering: VTEX pings the URL when its hook is registered), as a seller
    would: VTEX through the integration's own hook registration (what the activation does
    in production), Mercado Livre and ANYMARKET as pasted in the vendor's screens. Returns
    one line per channel for the console; never the URL (it holds the channel's token)."""
    from channels.services import channel_notification_url
    from sync.activation.notification_setup import notifications_register

    company = Company.objects.filter(cnpj=DEMO_CNPJ).first()
    lines: list[str] = []
    for demo in DEMO_CHANNELS:
        emulator = emulators.get(demo.key)
        channel = (
            SalesChannel.objects.filter(company=company, name=demo.name, status="active").first()
            if company is not None and emulator is not None
            else None
        )
        if channel is None or Capability.NOTIFICATIONS not in channel.vendor.capabilities:
            continue
        registered = notifications_register(channel=channel)
        if not registered:  # registered by hand at this vendor: the seller pastes the URL
            emulator.set_notification_callback(channel_notification_url(channel=channel))
            registered = _("%(vendor)s sends its notifications to this channel's URL.") % {
                "vendor": channel.vendor.label
            }
        lines.append(f"“{channel}”: {registered}")
    return lines
