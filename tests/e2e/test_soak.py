"""Fault-injection soak: stock out and orders in for three channels while every emulator
answers about 20 % of requests with a 429, a 5xx, a stalled (timed-out) request or a
malformed body.

The ERP's stock keeps changing and the vendors keep selling for 40 seconds — some orders
unpaid, paid later while the order import is paging through them (Mercado Livre's channel
reads a small page per run, so a pass spans many runs, and paying an order moves it in
Mercado Livre's sort: issue 11) — then a drain phase (faults still on) runs the flows until
nothing is pending. At the end:
- every bound SKU shows the ERP's available stock on every channel;
- zero lost orders: every order the vendors hold exists exactly once in the ERP, with the
  status its de-para gives (the paid ones paid), and reserves its quantity once — except the
  orders with an unmapped carrier, which are held, naming only de-para kinds. The
  missed-order sweep is off here: the change streams alone must lose nothing;
- no secret (credentials, tokens the Mercado Livre emulator issued) is in any run, held
  order or log line.

One shared company, warehouse and catalog across the three channels, as a real store has it:
a sale on one channel must lower the stock offered on the others.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import time
from collections import Counter
from dataclasses import dataclass, field

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from channels.models import ChannelStatus, SalesChannel
from channels.services import channel_credentials
from erp.models import Invoice, Order, OrderItem, OrderStatus, StockBalance
from erp.services import StockLevel, order_invoice, stock_adjust, stock_set_many
from mappings.models import Listing, MappingKind, UnmappedValue
from sandbox.server import Emulator
from sync.models import (
    ChannelLease,
    FulfilmentEvent,
    FulfilmentState,
    HeldOrder,
    PendingChange,
    RunState,
    SyncRun,
)
from sync.services.connectors import build_connector
from sync.services.push import available_stock
from tests.e2e.world import listing_fields
from tests.factories import (
    make_company,
    make_price_list,
    make_sku,
    make_warehouse,
    nfe_access_key,
)
from tests.sync.engine import active_channel, bind, declared_rate, map_defaults
from vendors.anymarket.adapter import AnymarketConnector
from vendors.mercadolivre.adapter import MercadoLivreConnector
from vendors.vtex.adapter import VtexConnector

pytestmark = [pytest.mark.soak, pytest.mark.slow]

SEED = 20251128
SKUS = 60
SOAK_SECONDS = 40  # changes and sales keep coming for this long…
MIN_SOAK_ROUNDS = 10  # …and for at least this many rounds, however loaded the machine is
DRAIN_SECONDS = 30  # then at most this long, faults still on, to settle everything
# Raised declared rates (connector AND emulator) so a one-minute soak moves real volume;
# the limiter still pauses and slows on every injected 429, so pacing is exercised.
RATE, BURST = 1000.0, 50
FAULTS = {"rate_429": 0.05, "rate_5xx": 0.05, "rate_timeout": 0.05, "rate_malformed": 0.05}
# A "timeout" fault stalls the emulator this long; the connector gives up sooner, so each one
# costs the client CLIENT_TIMEOUT seconds of waiting, as a real read timeout would.
FAULT_STALL_SECONDS = 0.3
CLIENT_TIMEOUT = 0.15
MAX_BACKOFF = 0.01  # Retry-After: 1 from an injected 429 would otherwise cost a real second
RUN_BUDGET_SECONDS = 5.0
# The feed hides a delivered event for this long; a lost answer (malformed body after the
# vendor marked the lot delivered) makes those events come back after it.
VTEX_VISIBILITY_SECONDS = 3
# VTEX answers 423 to a second write of one SKU × warehouse within ~0.5 s; the real backoff
# (0.5 s and up) outlasts that, the capped one here would not, so the window shrinks alike.
VTEX_LOCK_WINDOW_SECONDS = MAX_BACKOFF


def capped_sleep(seconds: float) -> None:
    time.sleep(min(seconds, MAX_BACKOFF))


CONNECTOR_OPTIONS = {"timeout": CLIENT_TIMEOUT, "sleep": capped_sleep}


@dataclass(frozen=True)
class OrderVocabulary:
    """What a vendor's orders say, and the de-para that names it. Vendor data, not behaviour:
    every vendor has its own codes, which is what de-para is for."""

    paid: str
    unpaid: str  # an order placed, not paid yet
    invoiced: str | None  # None: the vendor has no such status (Mercado Livre)
    carrier: tuple[str, str]  # (carrier, service) as the emulator's add_order takes it
    carrier_code: tuple[str, str]  # the same as the connector reads it, for the de-para
    unmapped_carrier: tuple[str, str]  # a carrier the de-para leaves out on purpose
    payment: str

    def de_para(self) -> dict:
        statuses = [(self.paid, OrderStatus.PAID), (self.unpaid, OrderStatus.AWAITING_PAYMENT)]
        if self.invoiced:
            statuses.append((self.invoiced, OrderStatus.INVOICED))
        return {
            "statuses": statuses,
            "carriers": [(*self.carrier_code, *self.carrier)],
            "payments": [(self.payment, "Pix")],
        }


VOCABULARY = {
    "mercadolivre": OrderVocabulary(
        paid="paid",
        unpaid="payment_required",
        invoiced=None,
        carrier=("Correios", "PAC"),
        carrier_code=("Correios", "510245"),  # Mercado Livre names a service by its method id
        unmapped_carrier=("Jadlog", "Expresso"),
        payment="pix",
    ),
    "vtex": OrderVocabulary(
        paid="ready-for-handling",
        unpaid="payment-pending",
        invoiced="invoiced",
        carrier=("Correios", "SEDEX 10"),
        carrier_code=("Correios", "SEDEX 10"),
        unmapped_carrier=("Loggi", "Expressa"),
        payment="Pix",
    ),
    "anymarket": OrderVocabulary(
        paid="PAID_WAITING_SHIP",
        unpaid="PENDING",
        invoiced="INVOICED",
        carrier=("Correios", "SEDEX"),
        carrier_code=("Correios", "SEDEX"),
        unmapped_carrier=("TOTAL EXPRESS", "Expresso"),
        payment="pix",
    ),
}


@dataclass
class Shop:
    """One channel, its emulator, and what the vendor sold (the expected ERP side). Talks to
    every emulator through the same control interface."""

    vendor: str
    emulator: Emulator
    channel: SalesChannel
    listings: dict[int, Listing] = field(default_factory=dict)  # ERP sku id -> binding
    expected_status: dict[str, str] = field(default_factory=dict)  # mapped orders
    sold: dict[str, tuple[int, int]] = field(default_factory=dict)  # order -> (sku id, qty)
    held: set[str] = field(default_factory=set)  # orders with an unmapped carrier
    paid_later: int = 0  # orders placed unpaid and paid during the soak
    erp_invoiced: set[str] = field(default_factory=set)  # orders the ERP invoiced (NF-e)

    @property
    def vocabulary(self) -> OrderVocabulary:
        return VOCABULARY[self.vendor]

    def vendor_stock(self, listing: Listing) -> int:
        return int(self.emulator.stock_of(listing.seller_sku))

    def sell(
        self, listing: Listing, quantity: int, *, mapped: bool = True, paid: bool = True
    ) -> str:
        words = self.vocabulary
        order_id = self.emulator.add_order(
            [(listing.seller_sku, quantity, "59.90")],
            status=words.paid if paid else words.unpaid,
            carrier=words.carrier if mapped else words.unmapped_carrier,
            payment=words.payment,
        )
        if mapped:
            # What the vendor does when it sells (the emulators leave their stock as is): the
            # engine relies on it, since an imported order does not re-push to the channel
            # that sold it.
            self.emulator.set_stock(listing.seller_sku, self.vendor_stock(listing) - quantity)
            self.expected_status[order_id] = (
                OrderStatus.PAID if paid else OrderStatus.AWAITING_PAYMENT
            )
            self.sold[order_id] = (listing.sku_id, quantity)
        else:
            # Held until support maps the carrier: the ERP cannot reserve it yet, so the
            # vendor's own decrease is left out too (that gap is what the held queue shows).
            self.held.add(order_id)
        return order_id

    def pay(self, order_id: str) -> None:
        """The buyer pays an order placed unpaid (Mercado Livre: it closes now and moves in
        the order search's sort)."""
        self.emulator.set_order_status(order_id, self.vocabulary.paid)
        self.expected_status[order_id] = OrderStatus.PAID
        self.paid_later += 1

    def invoice(self, order_id: str) -> bool:
        """Move a mapped order on to "invoiced" at the vendor, where the vendor has it."""
        if self.vocabulary.invoiced is None:
            return False
        self.emulator.set_order_status(order_id, self.vocabulary.invoiced)
        self.expected_status[order_id] = OrderStatus.INVOICED
        return True

    def vendor_order_ids(self) -> set[str]:
        return set(self.emulator.order_ids())

    def feed_backlog(self) -> int:
        return self.emulator.feed_backlog()

    def secrets(self) -> set[str]:
        secret_names = {f.name for f in self.channel.vendor.credential_fields if f.secret}
        stored = channel_credentials(channel=self.channel)
        return {v for k, v in stored.items() if k in secret_names and v} | self.emulator.secrets()


def _catalog(shop: Shop, skus) -> None:
    """Two products of three SKUs (Mercado Livre: items with variations, whose pushes read the
    item first), then one product per SKU; every SKU bound in the channel."""
    codes = [sku.code for sku in skus]
    entries = shop.emulator.seed_catalog(codes[:6], per_product=3)
    entries += shop.emulator.seed_catalog(codes[6:])
    for sku, entry in zip(skus, entries, strict=True):
        shop.listings[sku.pk] = bind(shop.channel, sku, **listing_fields(entry))


@pytest.fixture
def fast_vendors():
    with contextlib.ExitStack() as stack:
        for cls in (MercadoLivreConnector, VtexConnector, AnymarketConnector):
            stack.enter_context(declared_rate(cls, rate=RATE, burst=BURST))
        yield


@pytest.fixture
def watched(caplog, capsys):
    """Every log record at DEBUG (the root and the engine's loggers) and the console, from
    the setup on: the first Mercado Livre token is issued there."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sync")
    return caplog, capsys


ORDER_BATCH = {"mercadolivre": 7}
# A backlog of orders placed at once early in the soak, a third of them unpaid.
ORDERS_AT_START = 60

# Emulator options beyond the control interface: VTEX's 423 lock window is its own rule.
EMULATOR_OPTIONS = {"vtex": {"lock_window_seconds": VTEX_LOCK_WINDOW_SECONDS}}


@pytest.fixture
def shops(watched, fast_vendors, emulator, db):
    company = make_company()
    warehouse = make_warehouse(company, code="CD-SOAK")
    price_list = make_price_list(company, name="Soak")
    skus = [make_sku(company, code=f"SOAK-{n:03d}") for n in range(SKUS)]
    built = []
    for vendor in ("mercadolivre", "vtex", "anymarket"):
        em = emulator(vendor, rate=RATE, burst=BURST, **EMULATOR_OPTIONS.get(vendor, {}))
        channel = active_channel(
            vendor,
            em,
            company=company,
            warehouse=warehouse,
            price_list=price_list,
            name=f"Soak {vendor}",
            # Mercado Livre reads a small page per run: a pass over its order search spans
            # many runs, with orders being paid (and moving in its sort) in between.
            batch_sizes={"stock": 100, "orders": ORDER_BATCH.get(vendor, 100)},
            order_sweep_interval_minutes=0,
        )
        shop = Shop(vendor, em, channel)
        _catalog(shop, skus)
        map_defaults(channel, **shop.vocabulary.de_para())
        # What activation does before faults begin: the first call (Mercado Livre issues its
        # first token there: a refresh token is single-use, so a lost answer needs a person to
        # re-authorize) and the vendor-side setup (VTEX's orders feed).
        connector = build_connector(channel)
        connector.verify()
        if vendor == "vtex":
            # VTEX-only: its feed hides a delivered event for a visibility timeout, shortened
            # here so lost answers come back within the drain.
            connector.configure_feed(visibility_timeout_seconds=VTEX_VISIBILITY_SECONDS)
        built.append(shop)
    rnd = random.Random(SEED)
    stock_set_many(
        levels=[StockLevel(sku=s, warehouse=warehouse, on_hand=rnd.randint(5, 40)) for s in skus]
    )
    for shop in built:
        shop.emulator.set_faults(**FAULTS, timeout_seconds=FAULT_STALL_SECONDS)
    return built, skus, warehouse


# --- the soak -----------------------------------------------------------------------------------


def _run_all(rnd: random.Random, shops: list[Shop], states: Counter) -> None:
    # Each channel × flow has its own schedule, so nothing orders them: a channel's stock run
    # may come before the orders run that imports a sale it made.
    runs = [(shop, flow) for shop in shops for flow in ("orders", "stock", "fulfilment")]
    rnd.shuffle(runs)
    for shop, flow in runs:
        run = run_flow_quick(shop.channel, flow)
        states[run.state] += 1


def run_flow_quick(channel: SalesChannel, flow: str) -> SyncRun:
    from sync.services.runs import run_flow

    run = run_flow(
        channel_id=channel.pk,
        flow=flow,
        connector_options=CONNECTOR_OPTIONS,
        budget_seconds=RUN_BUDGET_SECONDS,
    )
    assert run is not None
    return run


def _change_erp_stock(rnd: random.Random, skus: list, warehouse) -> None:
    chosen = rnd.sample(skus, 8)
    stock_set_many(
        levels=[StockLevel(sku=s, warehouse=warehouse, on_hand=rnd.randint(0, 40)) for s in chosen]
    )
    for sku in rnd.sample(skus, 3):
        stock_adjust(sku=sku, warehouse=warehouse, delta=rnd.randint(1, 6))


# Mercado Livre's order search filters by the hour: the soak's minute of trade stands for
# hours of it, so that the import's window moves on (and an order skipped while paging
# would fall out of it for good).
VENDOR_MINUTES_PER_ROUND = 10


def _sell_some(rnd: random.Random, shops: list[Shop]) -> None:
    for shop in shops:
        advance_clock = getattr(shop.emulator, "advance_clock", None)  # Mercado Livre's own
        if advance_clock is not None:
            advance_clock(minutes=VENDOR_MINUTES_PER_ROUND)
        if rnd.random() < 0.7:
            listing = rnd.choice(list(shop.listings.values()))
            quantity = rnd.randint(1, 2)
            # A vendor sells only what it shows.
            if shop.vendor_stock(listing) >= quantity:
                shop.sell(listing, quantity, paid=rnd.random() < 0.7)
        # Buyers pay: mostly an old order (a boleto clears days later), the kind the import
        # has already paged past and that then moves to the end of Mercado Livre's sort.
        waiting = OrderStatus.AWAITING_PAYMENT
        unpaid = [o for o, s in shop.expected_status.items() if s == waiting]  # oldest first
        if unpaid and rnd.random() < 0.6:
            shop.pay(unpaid[0] if rnd.random() < 0.7 else rnd.choice(unpaid))
        if shop.expected_status and rnd.random() < 0.25:
            order_id = rnd.choice(sorted(shop.expected_status))
            if shop.expected_status[order_id] == OrderStatus.PAID:
                shop.invoice(order_id)


_nfe_numbers = iter(range(1, 1_000_000))


def _nfe_xml(key: str) -> bytes:
    ns = "http://www.portalfiscal.inf.br/nfe"
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><nfeProc xmlns="{ns}"><NFe>'
        f'<infNFe Id="NFe{key}" versao="4.00"></infNFe></NFe><protNFe><infProt>'
        f"<chNFe>{key}</chNFe></infProt></protNFe></nfeProc>"
    ).encode()


def _erp_invoices_some(rnd: random.Random, shops: list[Shop]) -> None:
    """The back office invoices a few imported, paid orders (NF-e with its XML): each becomes
    an outbox event the fulfilment flow must deliver once, under the same faults. They are no
    longer moved on at the vendor by hand (Shop.invoice picks paid orders only)."""
    for shop in shops:
        candidates = [
            order
            for order in Order.objects.filter(
                channel=shop.channel, status=OrderStatus.PAID, invoice__isnull=True
            ).select_related("company")
            if shop.expected_status.get(order.external_id) == OrderStatus.PAID
        ]
        for order in rnd.sample(candidates, k=min(len(candidates), 2)):
            now = timezone.now()
            number = next(_nfe_numbers)
            key = nfe_access_key(
                order.company.cnpj, series=1, number=number, year_month=now.strftime("%y%m")
            )
            order_invoice(
                order=order,
                number=number,
                series=1,
                access_key=key,
                issued_at=now,
                total=order.total,
                xml_file=ContentFile(_nfe_xml(key), name="nfe.xml"),
            )
            shop.expected_status[order.external_id] = OrderStatus.INVOICED
            shop.erp_invoiced.add(order.external_id)


def _orders_at_start(rnd: random.Random, shops: list[Shop]) -> None:
    """A backlog of orders over the vendor's last hours, a third unpaid: enough for Mercado
    Livre's import to page through (a small page per run) while buyers pay them."""
    for shop in shops:
        advance_clock = getattr(shop.emulator, "advance_clock", None)  # Mercado Livre's own
        for n in range(ORDERS_AT_START):
            listing = rnd.choice(list(shop.listings.values()))
            if shop.vendor_stock(listing) >= 1:
                shop.sell(listing, 1, paid=n % 3 != 0)
            if advance_clock is not None:
                advance_clock(minutes=VENDOR_MINUTES_PER_ROUND)


def _problems(shops: list[Shop], skus: list) -> list[str]:
    """Everything that still differs from the expected end state (empty when settled)."""
    problems = []
    pending = PendingChange.objects.count()
    if pending:
        problems.append(f"{pending} pending change(s)")
    unsent = FulfilmentEvent.objects.exclude(state=FulfilmentState.SENT).count()
    if unsent:
        problems.append(f"{unsent} fulfilment event(s) not sent")
    sku_by_id = {s.pk: s for s in skus}
    for shop in shops:
        backlog = shop.feed_backlog()
        if backlog:
            problems.append(f"{shop.vendor}: {backlog} feed item(s) not acknowledged")
        erp_orders = dict(
            Order.objects.filter(channel=shop.channel).values_list("external_id", "status")
        )
        for order_id, status in shop.expected_status.items():
            if erp_orders.get(order_id) != status:
                problems.append(
                    f"{shop.vendor}: order {order_id} is {erp_orders.get(order_id)!r}, "
                    f"expected {status!r}"
                )
        held = set(
            HeldOrder.objects.filter(channel=shop.channel, resolved_at__isnull=True).values_list(
                "external_id", flat=True
            )
        )
        if held != shop.held:
            problems.append(f"{shop.vendor}: held {sorted(held)}, expected {sorted(shop.held)}")
        erp_side = available_stock(
            channel=shop.channel, sku_ids=list(shop.listings), skus=sku_by_id
        )
        for sku_id, listing in shop.listings.items():
            vendor_side = shop.vendor_stock(listing)
            if vendor_side != erp_side[sku_id]:
                risk = (
                    " (more than the ERP has: oversell)" if vendor_side > erp_side[sku_id] else ""
                )
                problems.append(
                    f"{shop.vendor}: {sku_by_id[sku_id].code} shows {vendor_side}, "
                    f"ERP available {erp_side[sku_id]}{risk}"
                )
    return problems


@pytest.mark.django_db(transaction=True)
def test_three_channels_converge_under_twenty_percent_faults(watched, shops):
    caplog, capsys = watched
    shops, skus, warehouse = shops
    rnd = random.Random(SEED + 1)
    invoicing = random.Random(SEED + 2)
    states: Counter = Counter()
    started = time.monotonic()
    rounds = 0

    # Soak: the ERP changes stock, vendors sell (one order per channel with a carrier that
    # has no de-para) and buyers pay, and the flows run, all under faults.
    while rounds < MIN_SOAK_ROUNDS or time.monotonic() - started < SOAK_SECONDS:
        _change_erp_stock(rnd, skus, warehouse)
        if rounds == 1:  # the vendors show stock now: the morning's orders come in
            _orders_at_start(rnd, shops)
        _sell_some(rnd, shops)
        if rounds >= 2:
            # Its own random stream: the trade above stays the one the seed gives.
            _erp_invoices_some(invoicing, shops)
        if rounds == 3:
            for shop in shops:
                shop.sell(rnd.choice(list(shop.listings.values())), 1, mapped=False)
        _run_all(rnd, shops, states)
        rounds += 1

    # Drain: no new changes; faults stay on.
    drain_started = time.monotonic()
    drain_rounds = 0
    while True:
        _run_all(rnd, shops, states)
        drain_rounds += 1
        problems = _problems(shops, skus)
        if not problems:
            break
        if time.monotonic() - drain_started > DRAIN_SECONDS:
            pytest.fail(
                f"not settled after {drain_rounds} drain rounds ({DRAIN_SECONDS}s) with faults "
                f"on; {len(problems)} problem(s):\n" + "\n".join(problems[:40])
            )

    # The soak did what it claims: volume, every kind of fault, and retries that absorbed them.
    fault_counts = Counter()
    for shop in shops:
        for kind in ("429", "5xx", "timeout", "malformed"):
            fault_counts[kind] += shop.emulator.stats[f"fault {kind}"]
    assert all(fault_counts[k] > 0 for k in ("429", "5xx", "timeout", "malformed")), fault_counts
    runs = SyncRun.objects.exclude(state=RunState.SKIPPED)
    assert sum(r.retries for r in runs) > 0
    # Faults may fail a run (retries used up); they must never crash one.
    crashed = [r.error for r in runs if r.error.startswith("Unexpected error")]
    assert not crashed, crashed[:3]
    for shop in shops:
        assert len(shop.expected_status) >= 5, f"{shop.vendor}: too few orders to mean anything"
        assert shop.paid_later >= 5, f"{shop.vendor}: too few orders paid while being paged"

    # The pace each channel keeps for its next run (saved on its lease row): 20 % faults, 5 %
    # of them 429s, never push it below 60 % of the declared rate — the refused request waits
    # the vendor's Retry-After (the whole bucket too where the vendor's 429 blocks the
    # account), the rate drops once per overload and recovers with time. (The limiter
    # that halved on every 429 left it at a few percent.) Rates in real seconds are measured
    # by bench/limits.py.
    for shop in shops:
        saved_rate = (
            ChannelLease.objects.filter(channel=shop.channel)
            .values_list("limiter_rate", flat=True)
            .get()
        )
        assert saved_rate >= 0.6 * RATE, (shop.vendor, saved_rate)

    # Zero lost orders: every vendor order exists exactly once in the ERP, or is held for its
    # unmapped carrier — the ones paid while the import paged through them included.
    for shop in shops:
        shop.channel.refresh_from_db()
        assert shop.channel.status == ChannelStatus.ACTIVE, shop.channel.status_reason
        vendor_ids = shop.vendor_order_ids()
        assert vendor_ids == set(shop.expected_status) | shop.held
        imported = Counter(
            Order.objects.filter(channel=shop.channel).values_list("external_id", flat=True)
        )
        lost = set(shop.expected_status) - set(imported)
        assert not lost, f"{shop.vendor}: {len(lost)} order(s) lost: {sorted(lost)[:10]}"
        assert set(imported) == set(shop.expected_status)
        assert max(imported.values()) == 1
        held = HeldOrder.objects.filter(channel=shop.channel)
        assert {h.external_id for h in held} == shop.held
        for row in held:
            kinds = {m["kind"] for m in row.missing}
            assert kinds == {MappingKind.CARRIER_SERVICE}, row.missing
        assert (
            UnmappedValue.objects.filter(
                channel=shop.channel, kind=MappingKind.CARRIER_SERVICE, resolved_at__isnull=True
            ).count()
            == 1
        )

    # Every order the ERP invoiced is invoiced at the vendor exactly once (a lost answer, a
    # timeout or a 5xx made the engine send it again: the vendor still holds one invoice).
    invoice_actions = {"invoice", "fiscal_document"}
    for shop in shops:
        assert len(shop.erp_invoiced) >= 3, f"{shop.vendor}: too few ERP invoices"
        assert Invoice.objects.filter(order__channel=shop.channel).count() == len(shop.erp_invoiced)
        wrong = {
            order_id: actions
            for order_id in shop.erp_invoiced
            if sum(
                1
                for action, _data in shop.emulator.fulfilment_of(order_id)
                if action in invoice_actions
            )
            != 1
            for actions in [shop.emulator.fulfilment_of(order_id)]
        }
        assert not wrong, f"{shop.vendor}: {wrong}"
        events = FulfilmentEvent.objects.filter(channel=shop.channel)
        assert events.filter(state=FulfilmentState.SENT).count() == len(shop.erp_invoiced)

    # Each imported order reserved its quantity exactly once (re-reads never reserve again).
    sold = Counter()
    for shop in shops:
        for sku_id, quantity in shop.sold.values():
            sold[sku_id] += quantity
    reserved = dict(
        StockBalance.objects.filter(warehouse=warehouse).values_list("sku_id", "reserved")
    )
    assert {k: v for k, v in reserved.items() if v} == dict(sold)
    items = Counter()
    for sku_id, quantity in OrderItem.objects.values_list("sku_id", "quantity"):
        items[sku_id] += quantity
    assert items == sold

    # Stock: _problems() already compared every bound SKU on every channel; say it plainly.
    sku_by_id = {s.pk: s for s in skus}
    for shop in shops:
        erp_side = available_stock(
            channel=shop.channel, sku_ids=list(shop.listings), skus=sku_by_id
        )
        vendor_side = {k: shop.vendor_stock(v) for k, v in shop.listings.items()}
        assert vendor_side == erp_side, shop.vendor

    # No secret anywhere: runs, held orders, logs, console.
    secrets = set().union(*(shop.secrets() for shop in shops))
    assert len(secrets) >= 6
    stored = [
        json.dumps([run.error, run.detail], ensure_ascii=False, default=str)
        for run in SyncRun.objects.all()
    ] + [
        json.dumps([h.payload, h.missing], ensure_ascii=False, default=str)
        for h in HeldOrder.objects.all()
    ]
    captured = capsys.readouterr()
    records = caplog.get_records("setup") + caplog.get_records("call")
    assert len(records) > 1000  # the DEBUG capture really saw the HTTP traffic
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    logs = "\n".join(formatter.format(record) for record in records)
    leaks = []
    for secret in secrets:
        hint = f"{secret[:4]}…({len(secret)} chars)"  # never the secret itself in a report
        for text in stored:
            if secret in text:
                at = text.index(secret)
                context = text[max(at - 80, 0) : at].replace(secret, "…")
                leaks.append(f"{hint} in a SyncRun/HeldOrder after {context!r}")
                break
        if secret in logs:
            at = logs.index(secret)
            leaks.append(f"{hint} in a log line after {logs[max(at - 120, 0) : at]!r}")
        if secret in captured.out or secret in captured.err:
            leaks.append(f"{hint} on the console")
    assert not leaks, "\n".join(leaks)

    print(  # the soak's numbers, for whoever reads the -s output
        f"soak: {rounds} rounds + {drain_rounds} drain rounds in "
        f"{time.monotonic() - started:.1f}s; runs {dict(states)}; faults {dict(fault_counts)}; "
        f"orders {sum(len(s.expected_status) for s in shops)} imported "
        f"({sum(s.paid_later for s in shops)} paid while being read), "
        f"{sum(len(s.held) for s in shops)} held; "
        f"{sum(len(s.erp_invoiced) for s in shops)} invoiced by the ERP; requests "
        f"{ {s.vendor: s.emulator.stats['requests'] for s in shops} }"
    )
