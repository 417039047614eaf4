"""Outbound delta against the emulators (real HTTP on loopback)."""

import math
import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from erp.models import StockBalance
from erp.services import price_set, stock_adjust
from mappings.models import Listing
from sandbox.anymarket import AnymarketEmulator
from sandbox.mercadolivre import MercadoLivreEmulator
from sync.models import PendingChange, RunState, SyncRun
from sync.services import push as push_module
from sync.services.runs import run_flow
from tests.sync.engine import active_channel, bind, declared_rate, make_skus, set_stock
from tests.sync.engine import anymarket_catalog as bind_catalog
from vendors.anymarket.adapter import AnymarketConnector
from vendors.mercadolivre.adapter import MercadoLivreConnector


@pytest.fixture
def anymarket():
    with declared_rate(AnymarketConnector, rate=50, burst=10):
        emulator = AnymarketEmulator(rate=50, burst=10)
        emulator.start()
        yield emulator
        emulator.stop()


def anymarket_catalog(emulator, channel, count):
    return bind_catalog(emulator, channel, [f"SKU-{i:05d}" for i in range(count)])


@pytest.mark.django_db(transaction=True)
def test_1000_stock_changes_on_anymarket_with_batch_500_take_exactly_2_requests(anymarket):
    channel = active_channel("anymarket", anymarket, batch_sizes={"stock": 500})
    skus = anymarket_catalog(anymarket, channel, 1000)
    warehouse = channel.warehouses.get()
    set_stock(warehouse, [(sku, i % 17) for i, sku in enumerate(skus)])
    assert PendingChange.objects.filter(channel=channel, flow="stock").count() == 1000
    before = anymarket.stats["PUT ^/v2/stocks$"]

    first = run_flow(channel_id=channel.pk, flow="stock")
    second = run_flow(channel_id=channel.pk, flow="stock")
    assert (first.state, second.state) == (RunState.SUCCEEDED, RunState.SUCCEEDED)
    assert anymarket.stats["PUT ^/v2/stocks$"] - before == 2
    assert first.requests + second.requests == 2
    assert not PendingChange.objects.filter(channel=channel).exists()
    for i, sku in enumerate(skus[:50]):
        assert anymarket.stock_of(sku.code) == i % 17
    assert Listing.objects.filter(channel=channel, last_pushed_stock__isnull=False).count() == 1000
    assert anymarket.stats["429"] == 0


@pytest.mark.django_db(transaction=True)
def test_available_stock_is_on_hand_minus_reserved_minus_safety_over_the_channel_warehouses(
    anymarket,
):
    channel = active_channel("anymarket", anymarket, safety_stock=2)
    other_warehouse_of_channel = channel.warehouses.get().__class__.objects.create(
        company=channel.company, code="LOJA", name="Loja"
    )
    not_of_channel = other_warehouse_of_channel.__class__.objects.create(
        company=channel.company, code="FORA", name="Fora"
    )
    channel.warehouses.add(other_warehouse_of_channel)
    a, b, c = anymarket_catalog(anymarket, channel, 3)
    main = channel.warehouses.get(code__startswith="CD-")
    set_stock(main, [(a, 10), (b, 1), (c, 5)])
    set_stock(other_warehouse_of_channel, [(a, 4)])
    set_stock(not_of_channel, [(a, 100), (b, 100)])
    StockBalance.objects.filter(sku=a, warehouse=main).update(reserved=3)
    c.active = False
    c.save()
    run_flow(channel_id=channel.pk, flow="stock")
    assert anymarket.stock_of(a.code) == 10 + 4 - 3 - 2
    assert anymarket.stock_of(b.code) == 0  # 1 - 2 floors at 0
    assert anymarket.stock_of(c.code) == 0  # inactive SKU is offered as 0


@pytest.mark.django_db(transaction=True)
def test_many_changes_of_one_sku_push_once(anymarket):
    channel = active_channel("anymarket", anymarket)
    (sku,) = anymarket_catalog(anymarket, channel, 1)
    warehouse = channel.warehouses.get()
    set_stock(warehouse, [(sku, 100)])
    for _ in range(50):
        stock_adjust(sku=sku, warehouse=warehouse, delta=-1)
    assert PendingChange.objects.filter(channel=channel).count() == 1
    run = run_flow(channel_id=channel.pk, flow="stock")
    assert run.requests == 1 and run.total == 1
    assert anymarket.stock_of(sku.code) == 50


@pytest.mark.django_db(transaction=True)
def test_sku_without_binding_is_reported_not_sent(anymarket):
    channel = active_channel("anymarket", anymarket)
    (bound,) = anymarket_catalog(anymarket, channel, 1)
    (unbound,) = make_skus(channel.company, ["SEM-ANUNCIO"])
    set_stock(channel.warehouses.get(), [(bound, 3), (unbound, 9)])
    run = run_flow(channel_id=channel.pk, flow="stock")
    assert run.detail["counts"]["not_bound"] == 1
    assert run.detail["issues"]["not_bound"] == ["SEM-ANUNCIO"]
    assert run.requests == 1
    assert not PendingChange.objects.filter(channel=channel).exists()


@pytest.mark.django_db(transaction=True)
def test_prices_come_from_the_channels_price_list(anymarket):
    channel = active_channel("anymarket", anymarket)
    a, b = anymarket_catalog(anymarket, channel, 2)
    from decimal import Decimal

    price_set(price_list=channel.price_list, sku=a, amount=Decimal("79.90"))
    run = run_flow(channel_id=channel.pk, flow="price")
    assert run.state == RunState.SUCCEEDED
    assert anymarket.price_of(a.code) == Decimal("79.90")
    assert Listing.objects.get(channel=channel, sku=a).last_pushed_price == Decimal("79.90")
    # b has no price and was never announced: nothing pending, nothing sent.
    assert not PendingChange.objects.filter(channel=channel, sku=b).exists()


@pytest.mark.django_db(transaction=True)
def test_a_crash_after_the_vendor_accepted_but_before_commit_resends_next_run(
    anymarket, monkeypatch
):
    channel = active_channel("anymarket", anymarket)
    skus = anymarket_catalog(anymarket, channel, 10)
    set_stock(channel.warehouses.get(), [(sku, 7) for sku in skus])
    real_commit = push_module.commit_pushed

    def crash(*args, **kwargs):
        raise RuntimeError("worker killed between the vendor's answer and our commit")

    monkeypatch.setattr(push_module, "commit_pushed", crash)
    run = run_flow(channel_id=channel.pk, flow="stock")
    assert run.state == RunState.FAILED and "worker killed" in run.error
    assert anymarket.stats["PUT ^/v2/stocks$"] == 1  # the vendor did get it
    assert PendingChange.objects.filter(channel=channel).count() == 10  # nothing lost

    monkeypatch.setattr(push_module, "commit_pushed", real_commit)
    run = run_flow(channel_id=channel.pk, flow="stock")
    assert run.state == RunState.SUCCEEDED and run.total == 10
    assert anymarket.stats["PUT ^/v2/stocks$"] == 2  # re-sent
    assert not PendingChange.objects.filter(channel=channel).exists()


@pytest.mark.django_db(transaction=True)
def test_a_change_that_arrives_during_a_push_stays_pending(anymarket, monkeypatch):
    channel = active_channel("anymarket", anymarket)
    (sku,) = anymarket_catalog(anymarket, channel, 1)
    warehouse = channel.warehouses.get()
    set_stock(warehouse, [(sku, 5)])
    real_send = push_module._send

    def send_then_change(ctx, flow, items):
        result = real_send(ctx, flow, items)
        stock_adjust(sku=sku, warehouse=warehouse, delta=+1)  # the ERP moves meanwhile
        return result

    monkeypatch.setattr(push_module, "_send", send_then_change)
    run_flow(channel_id=channel.pk, flow="stock")
    assert anymarket.stock_of(sku.code) == 5
    assert PendingChange.objects.filter(channel=channel, sku=sku).exists()
    monkeypatch.setattr(push_module, "_send", real_send)
    run_flow(channel_id=channel.pk, flow="stock")
    assert anymarket.stock_of(sku.code) == 6
    assert not PendingChange.objects.filter(channel=channel).exists()


@pytest.mark.django_db(transaction=True)
def test_two_runs_of_one_channel_at_once_one_runs_one_is_skipped(anymarket, monkeypatch):
    channel = active_channel("anymarket", anymarket)
    skus = anymarket_catalog(anymarket, channel, 3)
    set_stock(channel.warehouses.get(), [(sku, 1) for sku in skus])
    entered, release = threading.Event(), threading.Event()
    real_send = push_module._send

    def slow_send(ctx, flow, items):
        entered.set()
        release.wait(10)
        return real_send(ctx, flow, items)

    monkeypatch.setattr(push_module, "_send", slow_send)
    results = {}

    def first():
        results["first"] = run_flow(channel_id=channel.pk, flow="stock")
        connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    assert entered.wait(10)
    results["second"] = run_flow(channel_id=channel.pk, flow="price")
    release.set()
    thread.join(10)
    assert results["first"].state == RunState.SUCCEEDED
    assert results["second"].state == RunState.SKIPPED
    assert "another run of this channel is in progress" in results["second"].detail["reason"]
    assert SyncRun.objects.filter(channel=channel).count() == 2


@pytest.mark.django_db(transaction=True)
def test_price_run_pushes_pending_stock_first_when_its_budget_is_short(anymarket):
    from decimal import Decimal

    channel = active_channel("anymarket", anymarket)
    (sku,) = anymarket_catalog(anymarket, channel, 1)
    set_stock(channel.warehouses.get(), [(sku, 4)])
    price_set(price_list=channel.price_list, sku=sku, amount=Decimal("10.00"))
    run = run_flow(channel_id=channel.pk, flow="price", budget_seconds=0)
    # No time at all: nothing is sent, both stay pending (stock first when there is time).
    assert run.requests == 0
    assert PendingChange.objects.filter(channel=channel).count() == 2
    run = run_flow(channel_id=channel.pk, flow="price")
    assert run.detail["also_pushed"] == ["stock"]
    assert anymarket.stock_of(sku.code) == 4
    assert anymarket.price_of(sku.code) == Decimal("10.00")


def _queries_for_push(channel, count):
    with CaptureQueriesContext(connection) as ctx:
        run = run_flow(channel_id=channel.pk, flow="stock")
    assert run.state == RunState.SUCCEEDED and run.total == count
    return len(ctx.captured_queries)


@pytest.mark.django_db(transaction=True)
def test_push_batch_queries_do_not_grow_with_the_batch(anymarket):
    channel = active_channel("anymarket", anymarket, batch_sizes={"stock": 500})
    skus = anymarket_catalog(anymarket, channel, 500)
    warehouse = channel.warehouses.get()
    set_stock(warehouse, [(skus[0], 9)])
    _queries_for_push(channel, 1)  # first run of a channel creates its lease row
    set_stock(warehouse, [(sku, 1) for sku in skus[:50]])
    small = _queries_for_push(channel, 50)
    set_stock(warehouse, [(sku, 2) for sku in skus])
    large = _queries_for_push(channel, 500)
    assert small == large


@pytest.fixture
def mercadolivre():
    with declared_rate(MercadoLivreConnector, rate=250, burst=10):
        emulator = MercadoLivreEmulator(rate=250, burst=10)
        emulator.start()
        yield emulator
        emulator.stop()


@pytest.mark.django_db(transaction=True)
def test_mercadolivre_stock_is_one_request_per_item_within_the_rate_limit(mercadolivre):
    channel = active_channel("mercadolivre", mercadolivre, batch_sizes={"stock": 1000})
    codes = [f"ML-{i:04d}" for i in range(1000)]
    item_ids = [mercadolivre.add_listing(seller_sku=code, quantity=0) for code in codes]
    skus = make_skus(channel.company, codes)
    for sku, item_id in zip(skus, item_ids, strict=True):
        bind(channel, sku, external_item_id=item_id, seller_sku=sku.code)
    set_stock(channel.warehouses.get(), [(sku, 3) for sku in skus])
    puts_before = mercadolivre.stats.get("PUT ^/items/(?P<item_id>[^/]+)$", 0)
    run = run_flow(channel_id=channel.pk, flow="stock")
    assert run.state == RunState.SUCCEEDED, run.error
    puts = mercadolivre.stats["PUT ^/items/(?P<item_id>[^/]+)$"] - puts_before
    assert puts == 1000 == math.ceil(1000 / 1)
    assert mercadolivre.stats["429"] == 0
    assert run.rate_limited == 0
    assert mercadolivre.stock_of(codes[0]) == 3 and mercadolivre.stock_of(codes[-1]) == 3


def test_every_push_flow_is_one_entry_of_the_table():
    from erp.signals import ChangeKind
    from mappings.services import PUSHED_COLUMNS
    from sync.services.pending import FLOW_FOR_KIND
    from sync.services.push import PUSH_PLANS
    from vendors.spec import Flow

    assert set(PUSH_PLANS) == set(Flow) - {Flow.ORDERS, Flow.FULFILMENT}
    assert set(FLOW_FOR_KIND) == set(ChangeKind)
    for flow, plan in PUSH_PLANS.items():
        assert FLOW_FOR_KIND[plan.change_kind] == flow
        assert plan.binding_field is None or plan.binding_field in PUSHED_COLUMNS
        assert all(first in PUSH_PLANS and first != flow for first in plan.push_first)
