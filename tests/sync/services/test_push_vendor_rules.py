"""Pushes that follow each vendor's own rules, against the emulators (real HTTP on loopback):
one price per Mercado Livre item, whole-batch refusals split instead of dropped, stock per
mapped location."""

from decimal import Decimal

import pytest
from django.urls import reverse

from erp.models import StockBalance
from erp.services import price_set
from mappings.models import Listing, MappingKind
from mappings.services import mapping_create
from sandbox.anymarket import AnymarketEmulator
from sandbox.mercadolivre import MercadoLivreEmulator
from sandbox.vtex import VtexEmulator
from sync.models import PendingChange, RunState
from sync.services.runs import run_flow
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


@pytest.fixture
def mercadolivre():
    with declared_rate(MercadoLivreConnector, rate=250, burst=10):
        emulator = MercadoLivreEmulator(rate=250, burst=10)
        emulator.start()
        yield emulator
        emulator.stop()


def ml_item_with_variations(emulator, channel, codes, *, price="99.90"):
    """One Mercado Livre item with a variation per code, the ERP SKUs and their bindings."""
    item_id = emulator.add_listing(
        title="Camiseta",
        price=float(price),
        variations=[
            {"seller_sku": code, "quantity": 1, "combination": {"Cor": code}} for code in codes
        ],
    )
    skus = make_skus(channel.company, codes)
    for sku, variation_id in zip(skus, emulator.variation_ids(item_id), strict=True):
        bind(
            channel,
            sku,
            external_item_id=item_id,
            external_variation_id=str(variation_id),
            seller_sku=sku.code,
        )
    return item_id, skus


# --- 7. Mercado Livre: one price for every variation of an item ------------------------------


@pytest.mark.django_db(transaction=True)
def test_variations_with_different_erp_prices_get_the_highest_as_the_one_item_price(
    mercadolivre,
):
    channel = active_channel("mercadolivre", mercadolivre)
    item_id, (blue, red, green) = ml_item_with_variations(
        mercadolivre, channel, ["CAM-AZ", "CAM-VM", "CAM-VD"]
    )
    # Only two of the three are priced and announced now; the third was priced long ago.
    price_set(price_list=channel.price_list, sku=green, amount=Decimal("60.00"))
    run_flow(channel_id=channel.pk, flow="price")
    price_set(price_list=channel.price_list, sku=blue, amount=Decimal("50.00"))
    price_set(price_list=channel.price_list, sku=red, amount=Decimal("80.00"))

    run = run_flow(channel_id=channel.pk, flow="price")

    assert run.state == RunState.SUCCEEDED, run.error
    # Mercado Livre charges the highest variation price for every variation: what we send
    # and record is that one price, never a per-variation price the buyer would not pay.
    for sku in (blue, red, green):
        listing = Listing.objects.get(channel=channel, sku=sku)
        assert mercadolivre.variation_price_of(sku.code) == Decimal("80")
        assert listing.last_pushed_price == mercadolivre.price_of(sku.code) == Decimal("80")
    assert not PendingChange.objects.filter(channel=channel).exists()
    # One PUT for the item, every variation in it (none deleted).
    assert mercadolivre.deleted_variations == []
    (note,) = run.detail["issues"]["item_price_unified"]
    assert note["item"] == item_id and note["sent"] == "80.00"
    assert note["erp_prices"] == {"CAM-AZ": "50.00", "CAM-VM": "80.00", "CAM-VD": "60.00"}


@pytest.mark.django_db(transaction=True)
def test_equal_prices_on_every_variation_are_pushed_without_a_warning(mercadolivre):
    channel = active_channel("mercadolivre", mercadolivre)
    _item_id, skus = ml_item_with_variations(mercadolivre, channel, ["IG-1", "IG-2"])
    for sku in skus:
        price_set(price_list=channel.price_list, sku=sku, amount=Decimal("45.50"))

    run = run_flow(channel_id=channel.pk, flow="price")

    assert run.state == RunState.SUCCEEDED, run.error
    assert "item_price_unified" not in run.detail["issues"]
    assert [mercadolivre.price_of(s.code) for s in skus] == [Decimal("45.5")] * 2


# --- 6. A batch the vendor refuses as a whole is no verdict on each item ----------------------


@pytest.fixture
def anymarket():
    with declared_rate(AnymarketConnector, rate=50, burst=10):
        emulator = AnymarketEmulator(rate=50, burst=10)
        emulator.start()
        yield emulator
        emulator.stop()


@pytest.fixture
def vtex():
    with declared_rate(VtexConnector, rate=200, burst=20):
        emulator = VtexEmulator(rate=200, burst=20)
        emulator.start()
        yield emulator
        emulator.stop()


def stock_puts(emulator) -> list[tuple[int, int]]:
    """(status, items) of each PUT /v2/stocks the emulator received."""
    return [
        (r.status, r.stock_items)
        for r in emulator.requests_log
        if r.method == "PUT" and r.path == "/v2/stocks"
    ]


@pytest.mark.django_db(transaction=True)
def test_a_batch_over_the_vendors_cap_is_split_pushed_whole_and_the_size_kept(
    anymarket, admin_client
):
    # The vendor takes 40 stocks per PUT while we declare 500 (its docs give no maximum).
    anymarket.stock_cap = 40
    channel = active_channel("anymarket", anymarket, batch_sizes={"stock": 100})
    skus = anymarket_catalog(anymarket, channel, [f"SKU-{i:03d}" for i in range(100)])
    set_stock(channel.warehouses.get(), [(sku, 7) for sku in skus])

    run = run_flow(channel_id=channel.pk, flow="stock")

    assert run.state == RunState.SUCCEEDED, run.detail
    assert "rejected" not in run.detail["counts"]
    assert all(anymarket.stock_of(sku.code) == 7 for sku in skus)
    assert not PendingChange.objects.filter(channel=channel).exists()
    assert Listing.objects.filter(channel=channel, last_pushed_stock=7).count() == 100
    # 100 and 50 refused, 25s accepted: 25 is what the channel sends from now on.
    assert stock_puts(anymarket) == [(422, 100), (422, 50)] + [(200, 25)] * 4
    setting = channel.sync_settings.get(flow="stock")
    assert setting.learned_request_size == 25 <= min(anymarket.stock_cap, setting.batch_size)
    assert run.detail["learned_request_size"] == {"stock": 25}
    page = admin_client.get(reverse("admin:channels_saleschannel_change", args=[channel.pk]))
    assert "the vendor refused larger batches: 25 per request" in page.content.decode()

    anymarket.reset_stats()
    set_stock(channel.warehouses.get(), [(sku, 3) for sku in skus])
    run = run_flow(channel_id=channel.pk, flow="stock")
    assert run.state == RunState.SUCCEEDED
    assert stock_puts(anymarket) == [(200, 25)] * 4  # no refusal any more
    assert all(anymarket.stock_of(sku.code) == 3 for sku in skus)


@pytest.mark.django_db(transaction=True)
def test_only_the_sku_the_vendor_names_is_rejected_the_rest_of_the_batch_is_pushed(anymarket):
    channel = active_channel("anymarket", anymarket)
    skus = anymarket_catalog(anymarket, channel, [f"SKU-{i:03d}" for i in range(30)])
    # A SKU bound by a partnerId the vendor does not have (deleted there since).
    (gone,) = make_skus(channel.company, ["SKU-GONE"])
    bind(channel, gone, external_item_id="1", external_sku_id="99999", seller_sku="SKU-GONE")
    set_stock(channel.warehouses.get(), [(sku, 4) for sku in [*skus, gone]])

    run = run_flow(channel_id=channel.pk, flow="stock")

    assert run.state == RunState.PARTIAL
    assert run.detail["counts"]["rejected"] == 1
    (issue,) = run.detail["issues"]["rejected"]
    assert issue["sku"] == "SKU-GONE" and "SKU não encontrado" in issue["error"]
    assert all(anymarket.stock_of(sku.code) == 4 for sku in skus)
    assert stock_puts(anymarket) == [(422, 31), (200, 30)]
    assert not PendingChange.objects.filter(channel=channel).exists()
    assert channel.sync_settings.get(flow="stock").learned_request_size is None


@pytest.mark.django_db(transaction=True)
def test_a_refusal_that_names_no_sku_finds_the_bad_one_by_halves(anymarket):
    channel = active_channel("anymarket", anymarket)
    skus = anymarket_catalog(anymarket, channel, [f"SKU-{i:03d}" for i in range(31)])
    # Bound by an ANYMARKET SKU id only, which the vendor no longer has: its refusal names
    # the number, which could be any number of the sentence, so it is searched for.
    (gone,) = make_skus(channel.company, ["SKU-OLD"])
    bind(channel, gone, external_item_id="1", external_sku_id="99999")
    set_stock(channel.warehouses.get(), [(sku, 2) for sku in [*skus, gone]])

    run = run_flow(channel_id=channel.pk, flow="stock")

    assert run.detail["counts"]["rejected"] == 1
    assert run.detail["issues"]["rejected"][0]["sku"] == "SKU-OLD"
    assert all(anymarket.stock_of(sku.code) == 2 for sku in skus)
    puts = stock_puts(anymarket)
    assert sum(items for status, items in puts if status == 200) == 31
    assert len(puts) <= 1 + 2 * 5  # 32 → 16 → 8 → 4 → 2 → 1: two requests a level
    assert not PendingChange.objects.filter(channel=channel).exists()


@pytest.mark.django_db(transaction=True)
def test_a_refused_batch_never_drops_what_was_not_answered(anymarket, monkeypatch):
    """A run that stops in the middle of a split (time budget, a 5xx) leaves the SKUs without
    an answer pending: only an item-level verdict settles a row."""
    anymarket.stock_cap = 10
    channel = active_channel("anymarket", anymarket)
    skus = anymarket_catalog(anymarket, channel, [f"SKU-{i:03d}" for i in range(40)])
    set_stock(channel.warehouses.get(), [(sku, 5) for sku in skus])
    # The vendor refuses the batch of 40 (over its cap), then fails from the next request on.
    index = next(i for i, r in enumerate(anymarket.routes) if r[1].pattern == "^/v2/stocks$")
    method, pattern, handler, auth = anymarket.routes[index]

    def refuse_then_break(request):
        try:
            return handler(request)
        finally:
            anymarket.set_faults(rate_5xx=1.0)

    anymarket.routes[index] = (method, pattern, refuse_then_break, auth)

    run = run_flow(channel_id=channel.pk, flow="stock")

    assert run.state == RunState.FAILED
    assert stock_puts(anymarket)[0] == (422, 40)
    assert PendingChange.objects.filter(channel=channel).count() == 40
    assert "rejected" not in run.detail["counts"]


# --- 8. Stock per mapped location ---------------------------------------------------------------


def map_location(channel, code, warehouse):
    return mapping_create(
        channel=channel, kind=MappingKind.STOCK_LOCATION, code=str(code), target=warehouse
    )


@pytest.mark.django_db(transaction=True)
def test_anymarket_gets_each_mapped_location_its_warehouses_stock(anymarket):
    channel = active_channel("anymarket", anymarket, safety_stock=2)
    main = channel.warehouses.get()
    extrema = make_warehouse(channel.company, "CD-EXT")
    outside = make_warehouse(channel.company, "LOJA")  # not sold on this channel
    channel.warehouses.add(extrema)
    first_local, second_local = sorted(anymarket.locals)
    map_location(channel, first_local, main)
    map_location(channel, second_local, extrema)
    a, b = anymarket_catalog(anymarket, channel, ["LOC-A", "LOC-B"], amount=50)
    set_stock(main, [(a, 10), (b, 1)])
    set_stock(extrema, [(a, 4), (b, 6)])
    set_stock(outside, [(a, 100)])
    StockBalance.objects.filter(sku=a, warehouse=main).update(reserved=3)

    run = run_flow(channel_id=channel.pk, flow="stock")

    assert run.state == RunState.SUCCEEDED, run.detail
    # a: 10 − 3 at the first location, less the safety stock of 2; 4 at the second.
    assert anymarket.stock_of("LOC-A", first_local) == 5
    assert anymarket.stock_of("LOC-A", second_local) == 4
    # b: the 1 unit at the first location is held back, 1 more from the second.
    assert anymarket.stock_of("LOC-B", first_local) == 0
    assert anymarket.stock_of("LOC-B", second_local) == 5
    # The vendor's total is what the channel sells, and what the binding remembers.
    assert anymarket.stock_of("LOC-A") == 9
    assert Listing.objects.get(channel=channel, sku=a).last_pushed_stock == 9
    assert stock_puts(anymarket) == [(200, 4)]  # both SKUs × both locations in one request
    assert not PendingChange.objects.filter(channel=channel).exists()


@pytest.mark.django_db(transaction=True)
def test_anymarket_without_location_rows_sends_the_total_to_the_default_location(anymarket):
    channel = active_channel("anymarket", anymarket)
    (sku,) = anymarket_catalog(anymarket, channel, ["TOT-A"])
    set_stock(channel.warehouses.get(), [(sku, 6)])
    run_flow(channel_id=channel.pk, flow="stock")
    assert anymarket.stock_of("TOT-A", anymarket.default_local_id) == 6


@pytest.mark.django_db(transaction=True)
def test_vtex_gets_each_mapped_warehouse_its_stock_and_one_refused_location_keeps_it_pending(
    vtex,
):
    channel = active_channel("vtex", vtex)
    main = channel.warehouses.get()
    extrema = make_warehouse(channel.company, "CD-EXT")
    channel.warehouses.add(extrema)
    map_location(channel, "1_1", main)
    map_location(channel, "cd-extrema", extrema)
    entries = vtex.seed_catalog(["VT-A", "VT-B"])
    skus = make_skus(channel.company, ["VT-A", "VT-B"])
    for sku, entry in zip(skus, entries, strict=True):
        bind(channel, sku, external_item_id=entry.item_id, external_sku_id=entry.sku_id)
    set_stock(main, [(skus[0], 3), (skus[1], 8)])
    set_stock(extrema, [(skus[0], 2)])

    run = run_flow(channel_id=channel.pk, flow="stock")

    assert run.state == RunState.SUCCEEDED, run.detail
    assert (vtex.stock_of("VT-A", "1_1"), vtex.stock_of("VT-A", "cd-extrema")) == (3, 2)
    assert (vtex.stock_of("VT-B", "1_1"), vtex.stock_of("VT-B", "cd-extrema")) == (8, 0)
    assert run.requests == 4  # one per SKU × warehouse: VTEX has no batch write
    assert [Listing.objects.get(channel=channel, sku=s).last_pushed_stock for s in skus] == [5, 8]


@pytest.mark.django_db(transaction=True)
def test_a_sku_with_a_location_refused_is_settled_without_recording_a_total(vtex):
    channel = active_channel("vtex", vtex)
    main = channel.warehouses.get()
    map_location(channel, "1_1", main)
    map_location(channel, "no-such-warehouse", main)  # counted once: gets 0, and is refused
    (entry,) = vtex.seed_catalog(["VT-X"])
    (sku,) = make_skus(channel.company, ["VT-X"])
    bind(channel, sku, external_item_id=entry.item_id, external_sku_id=entry.sku_id)
    set_stock(main, [(sku, 5)])

    run = run_flow(channel_id=channel.pk, flow="stock")

    assert run.state == RunState.PARTIAL
    (issue,) = run.detail["issues"]["rejected"]
    assert issue["sku"] == "VT-X" and issue["location"] == "no-such-warehouse"
    assert vtex.stock_of("VT-X", "1_1") == 5
    assert Listing.objects.get(channel=channel, sku=sku).last_pushed_stock is None
    assert not PendingChange.objects.filter(channel=channel).exists()
