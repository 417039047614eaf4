"""Requests per imported order, per vendor: what the orders flow costs the vendor's quota.

A day of trade in rounds, the same for the three vendors: every round the vendor takes new
orders (a third of them unpaid), buyers pay some of the unpaid ones, the store invoices some
paid ones (where the vendor has that status), and one orders run follows (`run_flow`, the
real engine, against the emulator over loopback). Mercado Livre's clock moves 5 minutes a
round, as a 5-minute schedule would see it, so its hour-granular search window behaves as in
production. After the last round the flow runs until it reads nothing.

Measured at the emulator: every request the vendor received during the runs (token refreshes,
searches, feeds, order and shipment GETs, Mercado Livre's billing data of paid orders,
acknowledgements), divided by the orders the ERP imported. A status change is a new version of
an order that must be read again, so the minimum is not 1: the table also gives the versions
each order had (1 + its changes; two changes between runs are read as one) and how many orders
were delivered again with nothing new (the engine's "unchanged" count): on Mercado Livre these
are the re-reads of issue 11 and must be 0; a feed may hold two events of one order (paid, then
invoiced before the run) and deliver it twice by design. The missed-order sweep is off here
(its cost is a few listing requests per channel per interval, not per order).

The rate is raised (patched declaration and emulator limit alike) so the rounds take seconds:
request counts do not depend on the rate.
"""

from __future__ import annotations

import random
from collections import Counter

from bench.support import (
    Row,
    active_channel,
    bind_catalog,
    fmt_rate,
    make_company,
    progress,
    start_emulator,
    vendor_rate,
)

RATE = 2_000
CODES = 20
VENDORS = ("mercadolivre", "vtex", "anymarket")
PAID = {"mercadolivre": "paid", "vtex": "ready-for-handling", "anymarket": "PAID_WAITING_SHIP"}
UNPAID = {"mercadolivre": "payment_required", "vtex": "payment-pending", "anymarket": "PENDING"}
INVOICED = {"mercadolivre": None, "vtex": "invoiced", "anymarket": "INVOICED"}
# The order document GETs of each vendor's emulator (the reads that could be for nothing).
ORDER_READS = {
    "mercadolivre": "GET ^/shipments/(?P<shipment_id>[^/]+)$",  # one per order version read
    "vtex": "GET ^/api/oms/pvt/orders/(?P<orderId>[^/]+)$",
    "anymarket": "GET ^/v2/orders/(?P<order_id>[^/]+)$",
}
# What a run may spend per imported order, given the versions it must read: the order
# document (+ Mercado Livre's shipment, VTEX's and ANYMARKET's acknowledgement) per version,
# plus the listing requests (search pages, feed reads) shared by the page.
TARGET_PER_VERSION = {"mercadolivre": 1.25, "vtex": 1.5, "anymarket": 2.5}
# Plus, per order the vendor reports paid: Mercado Livre's order does not carry the buyer's
# CPF/CNPJ, which the NF-e needs; it is one GET /orders/{id}/billing_info per paid version
# read (issue 14), normally one per order.
TARGET_PER_PAID_ORDER = {"mercadolivre": 1.0}
BILLING_READS = "GET ^/orders/(?P<order_id>[^/]+)/billing_info$"


def _fallback_de_para(channel, vendor: str) -> None:
    """The statuses the rounds use mapped one by one (so a payment or an invoice is a change
    the ERP sees), and one fallback row per kind: every other status, carrier + service and
    payment is mapped too, so no order is held and every one counts as imported."""
    from erp.models import Carrier, CarrierService, OrderStatus, PaymentMethod
    from mappings.models import MappingKind
    from mappings.services import mapping_create

    for code, status in (
        (UNPAID[vendor], OrderStatus.AWAITING_PAYMENT),
        (PAID[vendor], OrderStatus.PAID),
        (INVOICED[vendor], OrderStatus.INVOICED),
    ):
        if code:
            mapping_create(channel=channel, kind=MappingKind.ORDER_STATUS, code=code, target=status)

    carrier = Carrier.objects.create(company=channel.company, name="Transportadora")
    for kind, target in (
        (MappingKind.ORDER_STATUS, OrderStatus.PAID),
        (
            MappingKind.CARRIER_SERVICE,
            CarrierService.objects.create(carrier=carrier, name="Padrão"),
        ),
        (
            MappingKind.PAYMENT_METHOD,
            PaymentMethod.objects.create(company=channel.company, name="Pagamento"),
        ),
    ):
        mapping_create(channel=channel, kind=kind, target=target, is_fallback=True)


def _trade(vendor: str, *, rounds: int, per_round: int, n: int) -> dict:
    from erp.models import Order, OrderStatus
    from sync.models import PendingChange
    from sync.services.runs import run_flow
    from vendors.registry import get_adapter_class

    adapter = get_adapter_class(vendor)
    with vendor_rate(adapter, rate=RATE, burst=RATE):
        emulator = start_emulator(vendor, n, rate=RATE, burst=RATE)
    try:
        channel = active_channel(
            connector=vendor,
            company=make_company(f"order requests {vendor}"),
            credentials=emulator.credentials,
            base_url=emulator.url,
            batch_sizes={"orders": 200},
        )
        channel.order_sweep_interval_minutes = 0
        channel.save()
        codes = [f"R{channel.pk}-{i:02d}" for i in range(CODES)]
        bind_catalog(channel, emulator, codes, on_hand=lambda i: 1_000_000)
        _fallback_de_para(channel, vendor)
        PendingChange.objects.filter(channel=channel).delete()
        if vendor == "vtex":
            from sync.services.connectors import build_connector

            with vendor_rate(adapter, rate=RATE, burst=RATE):
                build_connector(channel).configure_feed()
        rng = random.Random(7)
        unpaid: list[str] = []
        paid: list[str] = []
        versions: Counter[str] = Counter()
        emulator.reset_stats()
        runs = []
        with vendor_rate(adapter, rate=RATE, burst=RATE):
            for _ in range(rounds):
                for _ in range(per_round):
                    is_paid = rng.random() < 2 / 3
                    order_id = emulator.add_order(
                        [(rng.choice(codes), rng.randint(1, 3), "59.90")],
                        status=PAID[vendor] if is_paid else UNPAID[vendor],
                    )
                    versions[order_id] += 1
                    (paid if is_paid else unpaid).append(order_id)
                for order_id in rng.sample(unpaid, k=min(len(unpaid), per_round // 3)):
                    emulator.set_order_status(order_id, PAID[vendor])
                    versions[order_id] += 1
                    unpaid.remove(order_id)
                    paid.append(order_id)
                if INVOICED[vendor]:
                    for order_id in rng.sample(paid, k=min(len(paid), per_round // 4)):
                        emulator.set_order_status(order_id, INVOICED[vendor])
                        versions[order_id] += 1
                        paid.remove(order_id)
                if vendor == "mercadolivre":
                    emulator.advance_clock(minutes=5)
                runs.append(run_flow(channel_id=channel.pk, flow="orders"))
            for _ in range(10):  # drain
                runs.append(run_flow(channel_id=channel.pk, flow="orders"))
                if runs[-1].total == 0 and not emulator.feed_backlog():
                    break
        failed = [r.error for r in runs if r.state not in ("succeeded", "partial")]
        if failed:
            raise RuntimeError(f"{vendor} orders run failed: {failed[0]}")
        imported = Order.objects.filter(channel=channel).count()
        paid = (
            Order.objects.filter(channel=channel)
            .exclude(status=OrderStatus.AWAITING_PAYMENT)
            .count()
        )
        billing_reads = emulator.stats.get(BILLING_READS, 0)
        if imported != len(versions):
            raise RuntimeError(f"{vendor}: imported {imported} of {len(versions)} orders")
        requests = emulator.stats["requests"]
        reads = emulator.stats[ORDER_READS[vendor]]
        total_versions = sum(versions.values())
        delivered = sum(r.done for r in runs)
        # An order delivered again with nothing new for the ERP (the engine counts it
        # "unchanged"): a re-read.
        re_reads = sum((r.detail.get("orders") or {}).get("unchanged", 0) for r in runs)
    finally:
        emulator.stop()
    return {
        "vendor": vendor,
        "orders": imported,
        "versions": total_versions,
        "requests": requests,
        "order_reads": reads,
        "delivered": delivered,
        "runs": len(runs),
        "requests_per_order": requests / imported,
        "versions_per_order": total_versions / imported,
        "re_reads": re_reads,
        "paid_orders": paid,
        "billing_reads": billing_reads,
    }


def run(state, *, quick: bool) -> list[Row]:
    rounds, per_round = (12, 12) if quick else (36, 24)
    rows = []
    for index, vendor in enumerate(VENDORS):
        progress(f"order requests: {vendor}, {rounds} rounds of {per_round} orders")
        result = _trade(vendor, rounds=rounds, per_round=per_round, n=900 + index)
        per_paid = TARGET_PER_PAID_ORDER.get(vendor, 0)
        target = (
            TARGET_PER_VERSION[vendor] * result["versions_per_order"]
            + per_paid * result["paid_orders"] / result["orders"]
        )
        rows.append(
            Row(
                "Requests per imported order",
                f"{vendor}: {result['orders']} orders, {fmt_rate(result['versions_per_order'])} "
                f"versions each, {result['runs']} runs",
                f"{fmt_rate(result['requests_per_order'])} requests/order "
                f"({result['requests']} requests; {result['re_reads']} re-reads of unchanged "
                "orders"
                + (
                    f"; {result['billing_reads']} billing reads for "
                    f"{result['paid_orders']} paid orders"
                    if per_paid
                    else ""
                )
                + ")",
                f"≤ {fmt_rate(target)} ({TARGET_PER_VERSION[vendor]:g} per version"
                + (f" + {per_paid:g} per paid order" if per_paid else "")
                + ")"
                + (", 0 re-reads" if vendor == "mercadolivre" else ""),
                result["requests_per_order"] <= target
                and (vendor != "mercadolivre" or result["re_reads"] == 0),
                result,
            )
        )
    return rows
