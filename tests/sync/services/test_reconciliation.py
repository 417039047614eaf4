"""Stock reconciliation against the emulators: the vendor's stock changes without the ERP
changing (an order canceled before import, a manual edit there) and the next reconciliation
run marks exactly those SKUs pending; the stock flow then corrects them."""

import pytest
from django.urls import reverse

from channels.models import SalesChannel
from mappings.models import MappingKind
from mappings.services import mapping_create
from sandbox.anymarket import AnymarketEmulator
from sandbox.mercadolivre import MercadoLivreEmulator
from sandbox.vtex import VtexEmulator
from sync.models import PendingChange, RunState, RunTrigger, StockReconciliation
from sync.services.runs import run_flow
from sync.tasks import reconcile_stock
from tests.factories import make_warehouse
from tests.sync.engine import (
    active_channel,
    anymarket_catalog,
    bind,
    declared_rate,
    make_skus,
    set_stock,
)
from vendors.anymarket.adapter import AnymarketConnector
from vendors.mercadolivre.adapter import MercadoLivreConnector
from vendors.vtex.adapter import VtexConnector


def _emulator(cls, adapter, rate):
    with declared_rate(adapter, rate=rate, burst=10):
        emulator = cls(rate=rate, burst=10)
        emulator.start()
        yield emulator
        emulator.stop()


@pytest.fixture
def anymarket():
    yield from _emulator(AnymarketEmulator, AnymarketConnector, 50)


@pytest.fixture
def vtex():
    yield from _emulator(VtexEmulator, VtexConnector, 200)


@pytest.fixture
def mercadolivre():
    yield from _emulator(MercadoLivreEmulator, MercadoLivreConnector, 250)


def reconcile(channel):
    run_id = reconcile_stock(channel.pk)
    run = channel.sync_runs.get(pk=run_id)
    assert run.trigger == RunTrigger.RECONCILE and run.flow == "stock"
    return run


def pending_codes(channel):
    return sorted(
        PendingChange.objects.filter(channel=channel, flow="stock").values_list(
            "sku__code", flat=True
        )
    )


def writes(emulator):
    return [r for r in emulator.requests_log if r.method in ("PUT", "PATCH", "POST")]


@pytest.mark.django_db(transaction=True)
def test_anymarket_drift_is_found_marked_pending_and_corrected_by_the_stock_flow(anymarket):
    channel = active_channel("anymarket", anymarket)
    skus = anymarket_catalog(anymarket, channel, [f"SKU-{i:03d}" for i in range(30)])
    set_stock(channel.warehouses.get(), [(sku, 7) for sku in skus])
    run_flow(channel_id=channel.pk, flow="stock")
    assert not PendingChange.objects.filter(channel=channel).exists()
    # Without the ERP changing: a manual edit at the vendor, and a sale canceled there
    # before we imported it (the vendor gave the unit back).
    anymarket.set_stock("SKU-004", 99)
    anymarket.set_stock("SKU-017", 8)
    anymarket.reset_stats()

    run = reconcile(channel)

    assert run.state == RunState.SUCCEEDED, run.error
    assert pending_codes(channel) == ["SKU-004", "SKU-017"]
    assert run.detail["reconciliation"]["checked"] == 30
    assert run.detail["reconciliation"]["drift"] == 2
    drift = {row["sku"]: row["locations"] for row in run.detail["issues"]["drift"]}
    assert drift["SKU-004"] == {"-": {"vendor": 99, "erp": 7}}
    assert writes(anymarket) == []  # the reconciliation only reads
    assert run.rate_limited == 0 and anymarket.stats["429"] == 0
    state = StockReconciliation.objects.get(channel=channel)
    assert (state.last_checked, state.last_drift, state.sweeps_completed) == (30, 2, 1)

    run_flow(channel_id=channel.pk, flow="stock")
    assert anymarket.stock_of("SKU-004") == anymarket.stock_of("SKU-017") == 7
    run = reconcile(channel)
    assert run.detail["reconciliation"]["drift"] == 0
    assert not PendingChange.objects.filter(channel=channel).exists()


@pytest.mark.django_db(transaction=True)
def test_a_sweep_reads_a_few_pages_per_run_and_resumes_where_it_stopped(anymarket):
    channel = active_channel("anymarket", anymarket, batch_sizes={"stock": 500})
    SalesChannel.objects.filter(pk=channel.pk).update(reconcile_pages_per_run=1)
    skus = anymarket_catalog(anymarket, channel, [f"SKU-{i:03d}" for i in range(250)])
    set_stock(channel.warehouses.get(), [(sku, 2) for sku in skus])
    run_flow(channel_id=channel.pk, flow="stock")
    anymarket.set_stock("SKU-180", 0)
    anymarket.reset_stats()

    first, second, third = reconcile(channel), reconcile(channel), reconcile(channel)

    assert [r.detail["reconciliation"]["checked"] for r in (first, second, third)] == [
        100,
        100,
        50,
    ]
    assert [r.detail["reconciliation"]["drift"] for r in (first, second, third)] == [0, 1, 0]
    # One page each, plus the stock-location list (which one is the default location).
    assert [r.requests for r in (first, second, third)] == [2, 2, 2]
    assert pending_codes(channel) == ["SKU-180"]
    state = StockReconciliation.objects.get(channel=channel)
    assert (state.cursor, state.sweeps_completed, state.drift_total) == ("", 1, 1)
    fourth = reconcile(channel)  # a new sweep starts at the beginning
    assert fourth.detail["reconciliation"]["checked"] == 100


@pytest.mark.django_db(transaction=True)
def test_anymarket_locations_are_compared_one_by_one(anymarket):
    channel = active_channel("anymarket", anymarket)
    main = channel.warehouses.get()
    extrema = make_warehouse(channel.company, "CD-EXT")
    channel.warehouses.add(extrema)
    first_local, second_local = sorted(anymarket.locals)
    for code, warehouse in ((first_local, main), (second_local, extrema)):
        mapping_create(
            channel=channel, kind=MappingKind.STOCK_LOCATION, code=str(code), target=warehouse
        )
    a, b = anymarket_catalog(anymarket, channel, ["LOC-A", "LOC-B"])
    set_stock(main, [(a, 5), (b, 5)])
    set_stock(extrema, [(a, 3), (b, 3)])
    run_flow(channel_id=channel.pk, flow="stock")
    anymarket.set_stock("LOC-B", 1, location=second_local)

    run = reconcile(channel)

    assert pending_codes(channel) == ["LOC-B"]
    (row,) = run.detail["issues"]["drift"]
    assert row["locations"] == {str(second_local): {"vendor": 1, "erp": 3}}


@pytest.mark.django_db(transaction=True)
def test_vtex_inventory_by_sku_at_the_channels_warehouse(vtex):
    channel = active_channel("vtex", vtex)
    codes = ["VT-A", "VT-B", "VT-C"]
    entries = vtex.seed_catalog(codes)
    skus = make_skus(channel.company, codes)
    for sku, entry in zip(skus, entries, strict=True):
        bind(channel, sku, external_item_id=entry.item_id, external_sku_id=entry.sku_id)
    set_stock(channel.warehouses.get(), [(sku, 4) for sku in skus])
    run_flow(channel_id=channel.pk, flow="stock")
    vtex.set_stock("VT-B", 40)
    # A warehouse the channel does not write to is not compared.
    vtex.set_stock("VT-C", 9, location="cd-extrema")
    vtex.reset_stats()

    run = reconcile(channel)

    assert pending_codes(channel) == ["VT-B"]
    assert run.requests == 3  # one inventory read per SKU
    assert run.detail["reconciliation"] == {
        "pages": 1,
        "checked": 3,
        "drift": 1,
        "not_found": 0,
        "sweep_finished": True,
    }


@pytest.mark.django_db(transaction=True)
def test_mercadolivre_reads_items_and_variations_twenty_items_a_request(mercadolivre):
    channel = active_channel("mercadolivre", mercadolivre)
    codes = [f"ML-{i:02d}" for i in range(24)]
    entries = mercadolivre.seed_catalog(codes, per_product=1) + mercadolivre.seed_catalog(
        ["ML-V1", "ML-V2"], per_product=2
    )
    skus = make_skus(channel.company, [*codes, "ML-V1", "ML-V2"])
    for sku, entry in zip(skus, entries, strict=True):
        bind(
            channel,
            sku,
            external_item_id=entry.item_id,
            external_variation_id=entry.variation_id,
            seller_sku=sku.code,
        )
    set_stock(channel.warehouses.get(), [(sku, 3) for sku in skus])
    run_flow(channel_id=channel.pk, flow="stock")
    mercadolivre.set_stock("ML-07", 2)  # a sale canceled before import, or an edit
    mercadolivre.set_stock("ML-V2", 0)
    mercadolivre.reset_stats()

    run = reconcile(channel)

    assert pending_codes(channel) == ["ML-07", "ML-V2"]
    multigets = [r for r in mercadolivre.requests_log if r.path == "/items"]
    assert len(multigets) == 2  # 25 items, at most 20 ids a request
    assert run.detail["reconciliation"]["checked"] == 26


@pytest.mark.django_db(transaction=True)
def test_an_unreadable_vendor_value_is_drift_naming_the_field_never_a_silent_zero(vtex):
    channel = active_channel("vtex", vtex)
    (entry,) = vtex.seed_catalog(["VT-U"])
    (sku,) = make_skus(channel.company, ["VT-U"])
    bind(channel, sku, external_item_id=entry.item_id, external_sku_id=entry.sku_id)
    set_stock(channel.warehouses.get(), [(sku, 4)])
    run_flow(channel_id=channel.pk, flow="stock")
    vtex.inventory[(entry.sku_id, "1_1")]["unlimitedQuantity"] = True

    run = reconcile(channel)

    assert pending_codes(channel) == ["VT-U"]
    (row,) = run.detail["issues"]["drift"]
    assert row["locations"]["-"]["vendor"] is None
    assert "hasUnlimitedQuantity" in row["locations"]["-"]["problem"]


@pytest.mark.django_db(transaction=True)
def test_the_health_page_shows_the_last_reconciliation_and_the_drift_it_found(
    anymarket, admin_client
):
    channel = active_channel("anymarket", anymarket)
    skus = anymarket_catalog(anymarket, channel, ["H-1", "H-2"])
    set_stock(channel.warehouses.get(), [(sku, 1) for sku in skus])
    page = admin_client.get(reverse("sync_health")).content.decode()
    assert "never" in page.split(f'data-channel="{channel.pk}"')[1].split("</tr>")[0]
    run_flow(channel_id=channel.pk, flow="stock")
    anymarket.set_stock("H-2", 5)
    reconcile(channel)

    page = admin_client.get(reverse("sync_health")).content.decode()

    row = page.split(f'data-channel="{channel.pk}"')[1].split("</tr>")[0]
    assert 'class="sync-reconciliation"' in row
    assert "1 of 2 differed" in row
