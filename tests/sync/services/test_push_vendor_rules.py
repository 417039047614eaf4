"""Pushes that follow each vendor's own rules, against the emulators (real HTTP on loopback):
one price per Mercado Livre item, whole-batch refusals split instead of dropped, stock per
mapped location."""

from decimal import Decimal

import pytest

from erp.services import price_set
from mappings.models import Listing
from sandbox.mercadolivre import MercadoLivreEmulator
from sync.models import PendingChange, RunState
from sync.services.runs import run_flow
from tests.sync.engine import active_channel, bind, declared_rate, make_skus
from vendors.mercadolivre.adapter import MercadoLivreConnector


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
