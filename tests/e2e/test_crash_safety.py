"""Crash safety with a real worker: SIGKILL `manage.py qcluster` in the middle of a large stock
push, start it again, and get the end state an uninterrupted run gives.

Two VTEX stores share one company, warehouse and catalog: "store" receives the stock of 600
SKUs (one PATCH per SKU at VTEX's declared 30 req/s, batches of 100 per run), "market" only
sells — its orders reserve stock in the ERP, which must reach the store. The ERP's stock moves
during the push and while the worker is dead. The worker is killed with SIGKILL (main process,
sentinel and workers at once) after the store received KILL_AFTER writes: one batch is
committed, one is cut off between the vendor's answers and our commit.

What the restart must give:
- nothing lost: the store shows the ERP's available stock for every SKU, no change is pending;
- nothing duplicated: every order is in the ERP once and reserved its quantity once;
- the killed run's lease blocks the channel until it expires (1.5 × the run budget, at least
  60 s; the test expires it instead of waiting a minute), then the next run takes the channel
  and closes the killed run's row as abandoned; runs of one channel never overlap.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from mappings.models import Listing
from sync.models import ChannelLease, PendingChange, RunState, SyncRun
from tests.e2e.procs import TaskFeeder, wait_for
from tests.e2e.world import (
    available_by_sku,
    bind_catalog,
    erp_line_quantities,
    erp_orders,
    make_catalog,
    reserved_by_sku,
    set_stock,
    sold_quantities,
    vendor_channel,
)
from tests.factories import make_company, make_warehouse

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SKUS = 600
KILL_AFTER = 150  # stock writes the store has received when the worker is killed
LEASE_REASON = "another run of this channel is in progress"


def stock_writes(store) -> int:
    return store.stats["stock writes"]


def lease_skips(channel) -> int:
    """Runs of the channel skipped because its lease was held."""
    reasons = SyncRun.objects.filter(channel=channel, state=RunState.SKIPPED).values_list(
        "detail", flat=True
    )
    return sum(1 for detail in reasons if LEASE_REASON in (detail or {}).get("reason", ""))


def non_skipped_runs(channel):
    return list(
        SyncRun.objects.filter(channel=channel)
        .exclude(state=RunState.SKIPPED)
        .order_by("started_at", "pk")
    )


def test_sigkill_in_the_middle_of_a_large_push_loses_nothing_and_duplicates_nothing(
    emulator, qclusters
):
    skew = [0.0]  # seconds added to the stores' clocks, to let the feed's visibility timeout pass

    def clock() -> float:
        return time.monotonic() + skew[0]

    store = emulator("vtex", account="lojaum", clock=clock)
    market = emulator("vtex", account="lojadois", clock=clock)
    company = make_company()
    warehouse = make_warehouse(company, code="CD-E2E")
    skus = make_catalog(company, [f"E2E-{i:04d}" for i in range(SKUS)])
    push = vendor_channel(store, company=company, warehouse=warehouse, flows=["stock"])
    sells = vendor_channel(market, company=company, warehouse=warehouse, flows=["orders"])
    bind_catalog(push, store, skus)
    sold = skus[::15]
    bind_catalog(sells, market, sold)
    erp_sku_of_code = {sku.code: sku.pk for sku in skus}
    set_stock(warehouse, [(sku, 20 + i % 13) for i, sku in enumerate(skus)])
    assert PendingChange.objects.filter(channel=push, flow="stock").count() == SKUS
    assert not PendingChange.objects.filter(channel=sells).exists()  # its stock flow is off

    rng = random.Random(20251128)

    def sell(count: int) -> None:
        for _ in range(count):
            lines = rng.sample(sold, rng.randint(1, 2))
            market.add_order([(s.code, rng.randint(1, 3), "49.90") for s in lines])

    sell(30)
    feeder = TaskFeeder([(push.pk, "stock"), (sells.pk, "orders")])

    def state() -> dict:
        return {
            "store writes": stock_writes(store),
            "pending": PendingChange.objects.filter(channel=push).count(),
            "orders in ERP": sum(erp_orders(sells).values()),
            "orders at market": len(market.order_ids()),
            "market feed": market.feed_backlog(),
            "runs": Counter(SyncRun.objects.values_list("state", flat=True)),
            "leases": list(ChannelLease.objects.values_list("channel_id", "holder", "expires_at")),
            "tasks enqueued": feeder.enqueued,
        }

    # --- first life: the push starts, the ERP moves meanwhile, then SIGKILL -----------------
    first = qclusters("first", workers=2).start()
    feeder.round()
    wait_for(
        lambda: stock_writes(store) >= 50,
        timeout=60,
        what="the store to receive 50 stock writes",
        state=state,
        clusters=[first],
        tick=feeder.tick,
    )
    # SKUs 0-29 were just sent in the run in flight: their rows get a new version, so that
    # run's commit must keep them pending.
    set_stock(warehouse, [(sku, 60 + i) for i, sku in enumerate(skus[:30])])
    sell(10)  # and the market keeps selling: reservations re-mark SKUs for the store
    wait_for(
        lambda: stock_writes(store) >= KILL_AFTER,
        timeout=60,
        what=f"the store to receive {KILL_AFTER} stock writes",
        state=state,
        clusters=[first],
        tick=feeder.tick,
    )
    first.kill()

    at_kill = state()
    running_at_kill = list(
        SyncRun.objects.filter(state=RunState.RUNNING).values_list("pk", "channel_id")
    )
    held_at_kill = dict(ChannelLease.objects.exclude(holder="").values_list("channel_id", "holder"))
    committed = Listing.objects.filter(channel=push, last_pushed_stock__isnull=False).count()
    # The middle of the push: a batch committed, more pending, a run cut off holding the lease.
    assert 0 < committed < SKUS, at_kill
    assert at_kill["pending"] > 0, at_kill
    assert push.pk in {channel_id for _, channel_id in running_at_kill}, at_kill
    assert push.pk in held_at_kill, at_kill

    # --- while the worker is dead: the ERP moves, the market sells ----------------------------
    set_stock(warehouse, [(sku, 5 + i % 7) for i, sku in enumerate(skus[300:330])])
    sell(15)

    # --- second life ---------------------------------------------------------------------------
    second = qclusters("second", workers=2).start()
    skipped_before = lease_skips(push)
    feeder.round()
    wait_for(
        lambda: lease_skips(push) > skipped_before,
        timeout=30,
        what="a run of the store to be skipped while the killed run's lease is live",
        state=state,
        clusters=[second],
        tick=feeder.tick,
    )
    # Let the lease TTL pass (as if the dead holder's minute were over), and the market feed's
    # visibility timeout (events read but not acknowledged before the kill come back).
    ChannelLease.objects.filter(holder__in=held_at_kill.values()).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    skew[0] = 300.0

    def settled() -> bool:
        return (
            not PendingChange.objects.exists()
            and not market.feed_backlog()
            and sum(erp_orders(sells).values()) >= len(market.order_ids())
        )

    wait_for(
        settled,
        timeout=120,
        what="every stock change delivered and every order imported",
        state=state,
        clusters=[second],
        tick=feeder.tick,
    )
    second.stop()

    # --- nothing lost ------------------------------------------------------------------------
    available = available_by_sku(warehouse)
    wrong = {
        sku.code: {"store": store.stock_of(sku.code), "erp": want}
        for sku in skus
        if store.stock_of(sku.code) != (want := available[sku.pk])
    }
    assert wrong == {}, f"{len(wrong)} SKUs differ: {dict(list(wrong.items())[:10])}"
    last_pushed = dict(
        Listing.objects.filter(channel=push).values_list("sku_id", "last_pushed_stock")
    )
    assert last_pushed == available
    assert not PendingChange.objects.exists()

    # --- nothing duplicated --------------------------------------------------------------------
    assert erp_orders(sells) == Counter(dict.fromkeys(market.order_ids(), 1))
    sold_at_market = {
        erp_sku_of_code[code]: quantity for code, quantity in sold_quantities(market).items()
    }
    assert erp_line_quantities(sells) == sold_at_market
    reserved = {sku_id: qty for sku_id, qty in reserved_by_sku(warehouse).items() if qty}
    assert reserved == sold_at_market

    # --- the runs ------------------------------------------------------------------------------
    # A killed run is closed as abandoned by the next run that takes the channel's lease.
    assert not SyncRun.objects.filter(state=RunState.RUNNING).exists()
    for pk, _channel_id in running_at_kill:
        killed = SyncRun.objects.get(pk=pk)
        assert killed.state == RunState.FAILED and killed.error.startswith("Abandoned"), pk
    for channel in (push, sells):
        runs = non_skipped_runs(channel)
        for before, after in zip(runs, runs[1:], strict=False):
            assert before.finished_at <= after.started_at, (before.pk, after.pk)
    assert second.tasks_processed() > 0
    # The batch cut off by the kill was sent again: duplicates of an idempotent write, no loss.
    assert stock_writes(store) > at_kill["store writes"]


# --- fulfilment: SIGKILL in the middle of a batch of outbound events ------------------------

FULFIL_ORDERS = 60
FULFIL_KILL_AFTER = 40  # fulfilment changes the store has applied when the worker is killed
FULFIL_CODE = "E2E-FUL"


def test_sigkill_during_a_fulfilment_batch_loses_and_duplicates_nothing(emulator, qclusters):
    """60 VTEX orders invoiced and shipped in the ERP (120 outbox events; VTEX at its declared
    30 req/s, about 4 requests an order). The worker is killed after the store applied 40
    changes, with a run in flight: an event whose call went out but whose state was not
    committed is sent again by the next life as a retry (its attempt was counted before the
    call), and the adapter's read-before-write (invoice) or the vendor's idempotent PATCH
    (tracking) makes the repeat harmless."""
    from decimal import Decimal

    from erp import services
    from mappings.models import MappingKind
    from mappings.services import mapping_create
    from sync.models import FulfilmentEvent, FulfilmentState
    from tests.factories import make_carrier_service, make_order, make_sku, nfe_access_key

    store = emulator("vtex", account="lojafulfil")
    company = make_company()
    warehouse = make_warehouse(company, code="CD-FUL")
    store.seed_catalog([FULFIL_CODE], price=Decimal("59.90"))
    channel = vendor_channel(store, company=company, warehouse=warehouse, flows=["fulfilment"])
    sku = make_sku(company, code=FULFIL_CODE)
    service = make_carrier_service(company)
    mapping_create(
        channel=channel,
        kind=MappingKind.CARRIER_SERVICE,
        parent_code="ECT",
        code="40215",
        target=service,
    )
    issued = timezone.now()
    orders = []
    for number in range(1, FULFIL_ORDERS + 1):
        external = store.add_order([(FULFIL_CODE, 1)], status="ready-for-handling")
        order = make_order(company, channel, external_id=external, lines=[(sku, 1, "59.90", None)])
        services.order_invoice(
            order=order,
            number=number,
            series=1,
            access_key=nfe_access_key(
                company.cnpj, series=1, number=number, year_month=issued.strftime("%y%m")
            ),
            issued_at=issued,
            total=order.total,
        )
        services.order_ship(order=order, carrier_service=service, tracking_code=f"BR{number:09d}")
        orders.append(order)
    events = FulfilmentEvent.objects.filter(channel=channel)
    assert events.filter(state=FulfilmentState.PENDING).count() == 2 * FULFIL_ORDERS

    def applied() -> int:
        return sum(
            1
            for order in orders
            for action, _data in store.fulfilment_of(order.external_id)
            if action in ("invoice", "tracking")
        )

    feeder = TaskFeeder([(channel.pk, "fulfilment")])

    def state() -> dict:
        return {
            "applied": applied(),
            "events": Counter(events.values_list("state", flat=True)),
            "runs": Counter(SyncRun.objects.values_list("state", flat=True)),
            "leases": list(ChannelLease.objects.values_list("channel_id", "holder", "expires_at")),
        }

    first = qclusters("first", workers=2).start()
    feeder.round()
    wait_for(
        lambda: applied() >= FULFIL_KILL_AFTER,
        timeout=90,
        what=f"the store to apply {FULFIL_KILL_AFTER} fulfilment changes",
        state=state,
        clusters=[first],
        tick=feeder.tick,
    )
    first.kill()
    at_kill = state()
    held_at_kill = dict(ChannelLease.objects.exclude(holder="").values_list("channel_id", "holder"))
    assert channel.pk in held_at_kill, at_kill
    assert at_kill["events"][FulfilmentState.PENDING] > 0, at_kill

    second = qclusters("second", workers=2).start()
    ChannelLease.objects.filter(holder__in=held_at_kill.values()).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    feeder.round()
    wait_for(
        lambda: not events.exclude(state=FulfilmentState.SENT).exists(),
        timeout=120,
        what="every fulfilment event sent",
        state=state,
        clusters=[second],
        tick=feeder.tick,
    )
    second.stop()

    # Nothing lost, nothing duplicated, nothing out of order: each order has its one invoice,
    # then its one tracking, at the vendor.
    wrong = {
        order.external_id: actions
        for order in orders
        if (actions := [a for a, _ in store.fulfilment_of(order.external_id)])
        != ["start_handling", "invoice", "tracking"]
    }
    assert wrong == {}, f"{len(wrong)} orders differ: {dict(list(wrong.items())[:5])}"
    assert events.filter(state=FulfilmentState.SENT).count() == 2 * FULFIL_ORDERS
    assert not SyncRun.objects.filter(state=RunState.RUNNING).exists()
    assert second.tasks_processed() > 0


# --- catalog: SIGKILL between the vendor's create and our commit -----------------------------

CATALOG_PRODUCTS = 60
CATALOG_BATCH = 20
CATALOG_KILL_AFTER = 30  # products the store has created when the worker is killed


def test_sigkill_between_a_catalog_create_and_its_commit_creates_no_duplicate(emulator, qclusters):
    """60 ERP products (one SKU each) published to a VTEX store in batches of 20, at VTEX's
    declared 30 req/s (a read by RefId, the product, the SKU: 3 requests a product). The worker
    is killed after the store created 30 products: the first batch is committed, the second is
    cut off with about 10 products created at VTEX and not bound here. The next life publishes
    them again: VTEX's product by RefId is found (vendors/vtex/catalog.py) and bound, never
    created twice."""
    from decimal import Decimal

    from erp.models import Brand, Category, Product, Sku
    from mappings.models import MappingKind
    from mappings.services import mapping_create
    from sync.models import CatalogPublication, PublicationState

    store = emulator("vtex", account="lojacatalogo")
    company = make_company()
    warehouse = make_warehouse(company, code="CD-CAT")
    channel = vendor_channel(store, company=company, warehouse=warehouse, flows=["catalog"])
    channel.sync_settings.filter(flow="catalog").update(batch_size=CATALOG_BATCH)
    category = Category.objects.create(company=company, name="Camisetas")
    brand = Brand.objects.create(company=company, name="Acme")
    mapping_create(channel=channel, kind=MappingKind.CATEGORY, code="10", target=category)
    mapping_create(channel=channel, kind=MappingKind.BRAND, code="2000001", target=brand)
    for number in range(CATALOG_PRODUCTS):
        product = Product.objects.create(
            company=company, name=f"Camiseta {number}", category=category, brand=brand
        )
        Sku.objects.create(
            company=company,
            product=product,
            code=f"E2E-CAT-{number:03d}",
            weight_grams=300,
            height_cm=Decimal("3"),
            width_cm=Decimal("25"),
            length_cm=Decimal("30"),
        )
    from sync.services.pending import pending_upsert

    pending_upsert(
        channel_ids=[channel.pk],
        flow="catalog",
        sku_ids=Sku.objects.filter(company=company).values_list("pk", flat=True),
    )
    pending = PendingChange.objects.filter(channel=channel, flow="catalog")
    assert pending.count() == CATALOG_PRODUCTS

    def creates() -> Counter:
        return Counter(
            code for code, action, _data in store.catalog_writes() if action == "create_product"
        )

    feeder = TaskFeeder([(channel.pk, "catalog")])

    def state() -> dict:
        return {
            "created": sum(creates().values()),
            "pending": pending.count(),
            "bound": Listing.objects.filter(channel=channel).count(),
            "runs": Counter(SyncRun.objects.values_list("state", flat=True)),
            "leases": list(ChannelLease.objects.values_list("channel_id", "holder", "expires_at")),
        }

    first = qclusters("first", workers=2).start()
    feeder.round()
    wait_for(
        lambda: sum(creates().values()) >= CATALOG_KILL_AFTER,
        timeout=90,
        what=f"the store to create {CATALOG_KILL_AFTER} products",
        state=state,
        clusters=[first],
        tick=feeder.tick,
    )
    first.kill()
    at_kill = state()
    held_at_kill = dict(ChannelLease.objects.exclude(holder="").values_list("channel_id", "holder"))
    assert channel.pk in held_at_kill, at_kill
    # Created at the vendor but not bound here: the cut-off batch.
    assert at_kill["bound"] < at_kill["created"], at_kill
    assert at_kill["pending"] > 0, at_kill

    second = qclusters("second", workers=2).start()
    ChannelLease.objects.filter(holder__in=held_at_kill.values()).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    feeder.round()
    wait_for(
        lambda: not pending.exists(),
        timeout=120,
        what="every product published",
        state=state,
        clusters=[second],
        tick=feeder.tick,
    )
    second.stop()

    # Every product created exactly once at the vendor, and bound here to what VTEX holds.
    made = creates()
    assert len(made) == CATALOG_PRODUCTS and set(made.values()) == {1}, made
    bound = dict(
        Listing.objects.filter(channel=channel).values_list("seller_sku", "external_sku_id")
    )
    assert len(bound) == CATALOG_PRODUCTS
    for code, sku_id in bound.items():
        held = store.catalog_product(code)
        assert held is not None and [s["id"] for s in held["skus"]] == [sku_id], code
    publications = CatalogPublication.objects.filter(channel=channel)
    assert set(publications.values_list("state", flat=True)) == {PublicationState.PUBLISHED}
    assert publications.count() == CATALOG_PRODUCTS
    assert not SyncRun.objects.filter(state=RunState.RUNNING).exists()
