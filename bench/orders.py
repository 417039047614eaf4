"""Order import throughput: orders per second translated and stored by the real engine
(run_flow, flow "orders") from the ANYMARKET emulator with zero latency.

ANYMARKET costs two requests per order (the order, then its feed acknowledgement) at a
declared 1.35 requests/s, so at the declared rate the import is bound by the vendor
(≈ 0.7 orders/s), not by the engine. To measure the engine, the connector's declared rate
(patched in this process) and the emulator's limit are raised to 10,000/s: end to end then
means HTTP on loopback (the emulator runs in this process and shares its CPU), translation
through the de-para, bindings, inserts, stock reservations and acknowledgements.
Store-only times sync.services.orders.orders_store_page on orders already fetched and
normalized (the same page size), which is the engine's database part alone.
"""

from __future__ import annotations

import random
import time

from bench.support import (
    Row,
    active_channel,
    bind_catalog,
    fmt_int,
    make_company,
    median,
    new_emulator,
    plural,
    progress,
    start_emulator,
    vendor_rate,
)

FAST = 10_000  # requests/s for the throughput runs (see the module docstring)
TARGET = 300  # orders/s
CATALOG = 200
REPEATS = 3


def order_shop(emulator, label: str, *, batch_orders: int, base_url: str | None = None):
    """An ANYMARKET channel with a catalog on `emulator` and complete de-para: every status,
    carrier + service and payment the emulator can send is mapped, so no order is held."""
    from erp.models import Carrier, CarrierService, OrderStatus, PaymentMethod
    from mappings.models import MappingKind
    from mappings.services import mapping_create
    from sandbox.anymarket import CARRIERS, PAYMENTS

    channel = active_channel(
        connector="anymarket",
        company=make_company(label),
        credentials=emulator.credentials,
        base_url=base_url or emulator.url,
        batch_sizes={"orders": batch_orders},
    )
    codes = [f"O{channel.pk}-{i:04d}" for i in range(CATALOG)]
    bind_catalog(channel, emulator, codes, on_hand=lambda i: 100_000)
    statuses = {
        "PENDING": OrderStatus.AWAITING_PAYMENT,
        "PAID_WAITING_SHIP": OrderStatus.PAID,
        "INVOICED": OrderStatus.INVOICED,
        "PAID_WAITING_DELIVERY": OrderStatus.SHIPPED,
        "CONCLUDED": OrderStatus.DELIVERED,
        "CANCELED": OrderStatus.CANCELED,
    }
    for code, status in statuses.items():
        mapping_create(channel=channel, kind=MappingKind.ORDER_STATUS, code=code, target=status)
    for carrier_name, services in CARRIERS.items():
        carrier = Carrier.objects.create(company=channel.company, name=carrier_name)
        for service in services:
            mapping_create(
                channel=channel,
                kind=MappingKind.CARRIER_SERVICE,
                parent_code=carrier_name,
                code=service,
                target=CarrierService.objects.create(carrier=carrier, name=service),
            )
    for code, name in PAYMENTS.items():
        method = PaymentMethod.objects.create(company=channel.company, name=name)
        mapping_create(channel=channel, kind=MappingKind.PAYMENT_METHOD, code=code, target=method)
    from sync.models import PendingChange

    PendingChange.objects.filter(channel=channel).delete()
    return channel, codes


def add_orders(emulator, codes: list[str], count: int, rng: random.Random) -> None:
    """Orders of 1-3 lines, the carriers, services and payments of the emulator, statuses
    that reserve stock (as new orders mostly arrive)."""
    from sandbox.anymarket import CARRIERS, PAYMENTS

    carriers = list(CARRIERS.items())
    payments = list(PAYMENTS)
    for _ in range(count):
        carrier, services = rng.choice(carriers)
        emulator.add_order(
            [(code, rng.randint(1, 3), "59.90") for code in rng.sample(codes, rng.randint(1, 3))],
            status=rng.choice(["PAID_WAITING_SHIP", "PAID_WAITING_SHIP", "PENDING", "INVOICED"]),
            carrier=(carrier, rng.choice(services)),
            payment=rng.choice(payments),
        )


def _end_to_end(count: int, n: int) -> dict:
    from erp.models import Order
    from sync.services.runs import run_flow
    from vendors.anymarket.adapter import AnymarketConnector

    with vendor_rate(AnymarketConnector, rate=FAST, burst=FAST):
        emulator = start_emulator("anymarket", n)  # takes the (raised) declared rate
    try:
        channel, codes = order_shop(emulator, f"orders e2e {n}", batch_orders=1000)
        add_orders(emulator, codes, count, random.Random(11))
        progress(f"orders: {fmt_int(count)} orders on the emulator; importing end to end")
        runs = []
        with vendor_rate(AnymarketConnector, rate=FAST, burst=FAST):
            started = time.monotonic()
            while emulator.feed_backlog() and len(runs) < 50:
                run = run_flow(channel_id=channel.pk, flow="orders")
                runs.append(run)
                if run.state != "succeeded":
                    raise RuntimeError(f"order run {run.state}: {run.error}")
            seconds = time.monotonic() - started
        created = Order.objects.filter(channel=channel).count()
        requests = sum(r.requests for r in runs)
    finally:
        emulator.stop()
    if created != count:
        raise RuntimeError(f"imported {created} of {count} orders")
    return {"orders": created, "seconds": seconds, "runs": len(runs), "requests": requests}


def _store_only(count: int, n: int) -> dict:
    from erp.models import Order
    from sync.services.connectors import build_connector
    from sync.services.orders import orders_store_page
    from vendors.anymarket.adapter import AnymarketConnector

    emulator = new_emulator("anymarket", n)  # never started: its data only
    channel, codes = order_shop(
        emulator, f"orders store {n}", batch_orders=1000, base_url="http://127.0.0.1:9"
    )
    add_orders(emulator, codes, count, random.Random(11))
    raw_orders = [dict(order) for order in emulator.orders.values()]
    page_size = AnymarketConnector.spec.limits.for_flow("orders").max_items_per_request
    started = time.monotonic()
    connector = build_connector(channel)  # no request: normalize_order only parses
    normalized = [connector.normalize_order(raw) for raw in raw_orders]
    normalize_seconds = time.monotonic() - started
    progress(f"orders: storing {fmt_int(count)} pre-fetched orders, pages of {page_size}")
    started = time.monotonic()
    for start in range(0, len(normalized), page_size):
        orders_store_page(channel=channel, orders=normalized[start : start + page_size])
    store_seconds = time.monotonic() - started
    created = Order.objects.filter(channel=channel).count()
    if created != count:
        raise RuntimeError(f"stored {created} of {count} orders")
    return {
        "orders": created,
        "page_size": page_size,
        "normalize_seconds": normalize_seconds,
        "store_seconds": store_seconds,
    }


def run(state, *, quick: bool) -> list[Row]:
    count, repeats = (300, 1) if quick else (2000, REPEATS)
    # Fresh channels and orders each time (a re-read order is an update, not an import);
    # the median of the repeats, since other work on the machine moves single runs.
    e2e = [_end_to_end(count, 800 + i) for i in range(repeats)]
    store = [_store_only(count, 810 + i) for i in range(repeats)]
    e2e_rates = sorted(r["orders"] / r["seconds"] for r in e2e)
    store_rates = sorted(r["orders"] / r["store_seconds"] for r in store)
    parse_rate = median([r["orders"] / r["normalize_seconds"] for r in store])
    e2e_rate, store_rate = median(e2e_rates), median(store_rates)
    runs, requests = e2e[0]["runs"], e2e[0]["requests"]

    def spread(rates: list[float]) -> str:
        if len(rates) == 1:
            return ""
        return f"median of {len(rates)}: " + ", ".join(fmt_int(r) for r in rates) + "; "

    name = "Order import"
    return [
        Row(
            name,
            f"{fmt_int(count)} orders end to end (HTTP on loopback, 2 requests/order)",
            f"{fmt_int(e2e_rate)} orders/s ({spread(e2e_rates)}{plural(runs, 'run')}, "
            f"{fmt_int(requests)} requests each)",
            f"≥ {TARGET} orders/s",
            e2e_rate >= TARGET,
            {"end_to_end": e2e, "store_only": store},
        ),
        Row(
            name,
            f"{fmt_int(count)} orders store only (translate + store, pages of "
            f"{store[0]['page_size']})",
            f"{fmt_int(store_rate)} orders/s ({spread(store_rates)}parsing "
            f"{fmt_int(parse_rate)}/s)",
            f"≥ {TARGET} orders/s",
            store_rate >= TARGET,
        ),
    ]
