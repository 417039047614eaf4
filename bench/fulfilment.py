"""The fulfilment flow: what telling the channel costs, and how fast it goes at the vendor's rate.

1. Requests per fulfilled order, per vendor. Orders placed at the emulator and in the ERP,
   each invoiced, shipped and delivered through erp.services (the outbox records three events
   per order), then `run_flow(..., "fulfilment")` (the real engine) until nothing is pending.
   Measured at the emulator: every request it received, divided by the orders. The vendor's
   minimum is the writes it needs for the three steps (VTEX: start handling, invoice, tracking
   PATCH, delivered PUT = 4; ANYMARKET: three status PUTs = 3; Mercado Livre, a custom shipment:
   fiscal document, shipped, delivered = 3). A first attempt writes without reading first
   (read-before-write only when an earlier attempt of the event may have applied,
   sync.services.fulfilment._call), so the target is the minimum itself, plus Mercado Livre's
   token refresh, shared by all orders. The ERP orders carry what the import stores for the
   fulfilment calls (erp.Order.fulfilment_refs: Mercado Livre's shipment id, logistic mode and
   type, pack), read here with the adapter's own fetch_order before the count starts, as the
   import reads them. The SKU is bound (mappings.Listing) as in a live channel, so VTEX's
   invoice names its SKU id without reading the order.
2. Fulfilment events per second at the vendor's DECLARED rate and burst, enforced by the
   emulator as the vendor would: events sent / the run's time, and the emulator's own 429s
   (must be 0: the channel's limiter paces the adapter's calls).

The rate of part 1 is raised (declaration and emulator alike): request counts do not depend on
it.
"""

from __future__ import annotations

import time
from datetime import date, timedelta

from bench.support import Row, active_channel, fmt_rate, make_company, progress, start_emulator

RATE = 2_000
VENDORS = ("vtex", "anymarket", "mercadolivre")
MINIMUM_WRITES = {"vtex": 4, "anymarket": 3, "mercadolivre": 3}
READS_BEFORE_WRITE = {"vtex": 0, "anymarket": 0, "mercadolivre": 0}
CODE = "FUL-1"


def _nfe_xml(key: str) -> bytes:
    ns = "http://www.portalfiscal.inf.br/nfe"
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><nfeProc xmlns="{ns}"><NFe>'
        f'<infNFe Id="NFe{key}" versao="4.00"></infNFe></NFe><protNFe><infProt>'
        f"<chNFe>{key}</chNFe></infProt></protNFe></nfeProc>"
    ).encode()


def _access_key(cnpj: str, *, series: int, number: int, year_month: str) -> str:
    from erp.validators import nfe_access_key_check_digit

    first_43 = f"35{year_month}{cnpj}55{series:03d}{number:09d}112345678"
    return first_43 + str(nfe_access_key_check_digit(first_43))


def _place(vendor: str, emulator) -> str:
    if vendor == "vtex":
        return emulator.add_order([(CODE, 1)], status="ready-for-handling")
    if vendor == "anymarket":
        return emulator.add_order([(CODE, 1, "59.90")], status="PAID_WAITING_SHIP")
    return emulator.add_order([(CODE, 1)], shipping_mode="custom")


def _shop(vendor: str, emulator, orders: int):
    """An active channel with a carrier de-para, `orders` orders invoiced, shipped and
    delivered in the ERP (3 pending events each)."""
    from decimal import Decimal

    from django.core.files.base import ContentFile
    from django.utils import timezone

    from erp import services
    from erp.models import Carrier, CarrierService, Order, OrderItem, Product, Sku
    from mappings.models import Listing, MappingKind
    from mappings.services import mapping_create
    from sync.services.connectors import build_connector

    [entry] = emulator.seed_catalog([CODE], price=Decimal("59.90"), quantity=100_000)
    channel = active_channel(
        connector=vendor,
        company=make_company(f"fulfilment {vendor} {id(emulator)}"),
        credentials=emulator.credentials,
        base_url=emulator.url,
        batch_sizes={"fulfilment": 1000},
    )
    company = channel.company
    product = Product.objects.create(company=company, name="Camiseta")
    sku = Sku.objects.create(company=company, product=product, code=CODE)
    Listing(
        channel=channel,
        sku=sku,
        external_item_id=entry.item_id,
        external_variation_id=entry.variation_id,
        external_sku_id=entry.sku_id,
        seller_sku=entry.seller_sku,
    ).save()
    carrier = Carrier.objects.create(company=company, name="Correios")
    service = CarrierService.objects.create(carrier=carrier, name="SEDEX 10")
    mapping_create(
        channel=channel,
        kind=MappingKind.CARRIER_SERVICE,
        parent_code="ECT",
        code="40215",
        target=service,
    )
    now = timezone.now()
    connector = build_connector(channel)
    for number in range(1, orders + 1):
        external_id = _place(vendor, emulator)
        order = Order.objects.create(
            company=company,
            channel=channel,
            external_id=external_id,
            status="paid",
            items_total=Decimal("59.90"),
            total=Decimal("59.90"),
            # As the order import stores them (sync.services.orders).
            fulfilment_refs=dict(connector.fetch_order(external_id).fulfilment_refs),
        )
        OrderItem.objects.create(
            order=order, line=1, sku=sku, quantity=1, unit_price=Decimal("59.90")
        )
        key = _access_key(company.cnpj, series=1, number=number, year_month=now.strftime("%y%m"))
        services.order_invoice(
            order=order,
            number=number,
            series=1,
            access_key=key,
            issued_at=now,
            total=order.total,
            xml_file=ContentFile(_nfe_xml(key), name="nfe.xml"),
        )
        services.order_ship(
            order=order,
            carrier_service=service,
            tracking_code=f"BR{number:09d}",
            shipped_at=now,
            estimated_delivery=date.today() + timedelta(days=5),
        )
        services.order_deliver(order=order, delivered_at=now + timedelta(minutes=1))
    return channel


def _drain(channel) -> list:
    from sync.models import FulfilmentEvent, FulfilmentState
    from sync.services.runs import run_flow

    runs = []
    for _ in range(20):
        runs.append(run_flow(channel_id=channel.pk, flow="fulfilment"))
        if not FulfilmentEvent.objects.filter(
            channel=channel, state=FulfilmentState.PENDING
        ).exists():
            break
    return runs


def _requests_per_order(vendor: str, *, orders: int, n: int) -> dict:
    from sync.models import FulfilmentEvent, FulfilmentState
    from vendors.registry import get_adapter_class
    from vendors.testing import override_rate

    adapter = get_adapter_class(vendor)
    with override_rate(adapter.spec.key, rate=RATE, burst=RATE):
        emulator = start_emulator(vendor, n, rate=RATE, burst=RATE)
        try:
            channel = _shop(vendor, emulator, orders)
            emulator.reset_stats()
            runs = _drain(channel)
            sent = FulfilmentEvent.objects.filter(
                channel=channel, state=FulfilmentState.SENT
            ).count()
            applied = sum(
                len(emulator.fulfilment_of(order_id))
                for order_id in channel.orders.values_list("external_id", flat=True)
            )
            requests = emulator.stats["requests"]
        finally:
            emulator.stop()
    if sent != 3 * orders:
        raise RuntimeError(f"{vendor}: {sent} of {3 * orders} events sent ({runs[-1].error})")
    return {
        "vendor": vendor,
        "orders": orders,
        "events": sent,
        "applied_at_vendor": applied,
        "requests": requests,
        "runs": len(runs),
        "requests_per_order": requests / orders,
    }


def _events_per_second(vendor: str, *, orders: int, n: int) -> dict:
    """At the declared rate: the emulator enforces the vendor's documented limit."""
    from vendors.registry import get_spec

    limits = get_spec(vendor).limits
    emulator = start_emulator(vendor, n)
    try:
        channel = _shop(vendor, emulator, orders)
        # The setup's reads (the import's) spent the burst: let it refill, as it would be
        # between an import and the fulfilment run.
        time.sleep(limits.burst / limits.requests_per_second)
        emulator.reset_stats()
        started = time.monotonic()
        runs = _drain(channel)
        elapsed = time.monotonic() - started
        log = emulator.requests_log
        real_429 = sum(1 for r in log if r.status == 429 and not r.fault)
        requests = emulator.stats["requests"]
    finally:
        emulator.stop()
    events = sum(r.detail.get("counts", {}).get("sent", 0) for r in runs)
    return {
        "vendor": vendor,
        "events": events,
        "seconds": elapsed,
        "events_per_second": events / elapsed if elapsed else 0.0,
        "requests_per_second": requests / elapsed if elapsed else 0.0,
        "declared_rate": limits.requests_per_second,
        "burst": limits.burst,
        "real_429": real_429,
        "client_rate_limited": sum(r.rate_limited for r in runs),
    }


def run(state, *, quick: bool) -> list[Row]:
    rows = []
    orders = 10 if quick else 30
    for index, vendor in enumerate(VENDORS):
        progress(f"fulfilment: requests per order, {vendor}, {orders} orders")
        result = _requests_per_order(vendor, orders=orders, n=950 + index)
        minimum = MINIMUM_WRITES[vendor]
        target = minimum + READS_BEFORE_WRITE[vendor]
        # Mercado Livre's token refresh is one request for the whole run, not per order.
        allowed = target + (1 / orders if vendor == "mercadolivre" else 0)
        rows.append(
            Row(
                "Requests per fulfilled order (invoice + ship + deliver)",
                f"{vendor}: {orders} orders, {result['events']} events, {result['runs']} runs",
                f"{fmt_rate(result['requests_per_order'])} requests/order "
                f"({result['requests']} requests; vendor applied {result['applied_at_vendor']} "
                "changes)",
                f"≤ {target} (vendor minimum {minimum} writes + "
                f"{READS_BEFORE_WRITE[vendor]} reads on a first attempt"
                + ("; + 1 token refresh per run)" if vendor == "mercadolivre" else ")"),
                result["requests_per_order"] <= allowed,
                result,
            )
        )
    rate_vendors = ("vtex",) if quick else ("vtex", "mercadolivre")
    for index, vendor in enumerate(rate_vendors):
        events_orders = 40 if vendor == "vtex" else 15
        progress(f"fulfilment: events per second at {vendor}'s declared rate")
        result = _events_per_second(vendor, orders=events_orders, n=960 + index)
        rows.append(
            Row(
                "Fulfilment events per second at the declared rate",
                f"{vendor}: {result['events']} events, declared "
                f"{fmt_rate(result['declared_rate'])} req/s burst {result['burst']}",
                f"{fmt_rate(result['events_per_second'])} events/s "
                f"({fmt_rate(result['requests_per_second'])} req/s over "
                f"{result['seconds']:.1f} s); {result['real_429']} × 429",
                "0 × 429 (events/s = declared rate / requests per event)",
                result["real_429"] == 0 and result["events"] == 3 * events_orders,
                result,
            )
        )
    return rows
