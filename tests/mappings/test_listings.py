"""The writes the sync engine makes to product bindings, through mappings.services."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mappings.models import Listing
from mappings.services import listing_save, listings_bind_many, listings_record_pushed
from tests.factories import make_sku
from vendors.types import ExternalRef

pytestmark = pytest.mark.django_db


def test_bind_many_creates_bindings_and_keeps_the_existing_ones(channel, erp):
    kept, new, clash, twice = (make_sku(erp.company, code) for code in ("K", "N", "C", "T"))
    listing_save(listing=Listing(channel=channel, sku=kept, external_item_id="MLB1"))
    created = listings_bind_many(
        channel=channel,
        refs=[
            (kept.pk, ExternalRef(item_id="MLB9")),  # SKU already bound: kept as it is
            (new.pk, ExternalRef(item_id=" MLB2 ", variation_id="7", seller_sku="N")),
            (clash.pk, ExternalRef(item_id="MLB1")),  # identity already bound to another SKU
            (twice.pk, ExternalRef(sku_id="55")),
            (twice.pk, ExternalRef(sku_id="56")),  # the second entry for one SKU
        ],
    )
    assert created == 2
    rows = {row.sku_id: row for row in Listing.objects.filter(channel=channel)}
    assert set(rows) == {kept.pk, new.pk, twice.pk}
    assert rows[kept.pk].external_item_id == "MLB1"
    assert rows[new.pk].external_ref == ExternalRef(
        item_id="MLB2", variation_id="7", seller_sku="N"
    )
    assert rows[twice.pk].external_sku_id == "55"


def test_bind_many_queries_do_not_grow_with_the_bindings(channel, erp):
    skus = [make_sku(erp.company, f"Q-{i}") for i in range(400)]

    def bind(part):
        with CaptureQueriesContext(connection) as captured:
            listings_bind_many(
                channel=channel, refs=[(s.pk, ExternalRef(sku_id=str(s.pk))) for s in part]
            )
        return len(captured.captured_queries)

    assert bind(skus[:10]) == bind(skus[10:400])


def test_record_pushed_writes_each_value_and_the_time_in_one_statement(channel, erp):
    a, b = make_sku(erp.company, "A"), make_sku(erp.company, "B")
    la = listing_save(listing=Listing(channel=channel, sku=a, external_sku_id="1"))
    lb = listing_save(listing=Listing(channel=channel, sku=b, external_sku_id="2"))
    with CaptureQueriesContext(connection) as captured:
        listings_record_pushed(column="last_pushed_stock", values=[(la.pk, 4), (lb.pk, 0)])
    assert len(captured.captured_queries) == 1
    listings_record_pushed(column="last_pushed_price", values=[(lb.pk, Decimal("9.90"))])
    la.refresh_from_db()
    lb.refresh_from_db()
    assert (la.last_pushed_stock, lb.last_pushed_stock) == (4, 0)
    assert la.last_pushed_stock_at is not None and la.last_pushed_price is None
    assert lb.last_pushed_price == Decimal("9.90") and lb.last_pushed_price_at is not None


def test_record_pushed_refuses_other_columns(channel):
    with pytest.raises(ValueError):
        listings_record_pushed(column="external_item_id", values=[(1, "x")])
