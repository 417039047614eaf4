"""The preflight's catalog check: off says so; on lists what would be created, updated, or
wait for a catalog de-para row."""

import pytest

from erp.models import Attribute, AttributeValue, Brand, Category, Product, Sku
from mappings.models import Listing, MappingKind
from mappings.services import mapping_create
from sync.activation.checks import CheckStatus, check_catalog
from tests.factories import make_channel

pytestmark = pytest.mark.django_db


def test_catalog_check_off_and_on():
    channel = make_channel(connector="vtex")
    company = channel.company
    check = check_catalog(channel, None)
    assert check.status == CheckStatus.PASS and "Catalog publishing is off" in check.message

    channel.sync_settings.filter(flow="catalog").update(enabled=True)
    category = Category.objects.create(company=company, name="Camisetas")
    brand = Brand.objects.create(company=company, name="Acme")
    color = Attribute.objects.create(company=company, name="Cor")
    blue = AttributeValue.objects.create(attribute=color, value="Azul")
    mapping_create(channel=channel, kind=MappingKind.CATEGORY, code="10", target=category)
    bound = Product.objects.create(company=company, name="Bound", category=category)
    Listing.objects.create(
        channel=channel,
        sku=Sku.objects.create(company=company, product=bound, code="B-1"),
        external_sku_id="900",
    )
    Sku.objects.create(
        company=company,
        product=Product.objects.create(company=company, name="New", category=category),
        code="N-1",
    )
    waiting = Product.objects.create(company=company, name="Waits", brand=brand)
    sku = Sku.objects.create(company=company, product=waiting, code="W-1")
    sku.attribute_values.create(attribute=color, value=blue)
    Product.objects.create(company=company, name="No SKU")  # nothing to publish

    check = check_catalog(channel, None)
    assert check.status == CheckStatus.WARN
    assert check.message == (
        "1 product(s) would be created on the channel, 1 updated; 1 wait for a catalog de-para row."
    )
    assert check.details == ["Waits lacks the de-para of: brand Acme, attribute Cor = Azul"]


def test_a_full_resync_with_catalog_on_marks_every_sku_of_the_company_for_the_catalog():
    from sync.models import PendingChange
    from sync.services.pending import pending_full_resync

    channel = make_channel(connector="vtex")
    company = channel.company
    product = Product.objects.create(company=company, name="P")
    bound, unbound = (
        Sku.objects.create(company=company, product=product, code=code) for code in ("B", "U")
    )
    Listing.objects.create(channel=channel, sku=bound, external_sku_id="900")
    assert "catalog" not in pending_full_resync(channel=channel)  # off: nothing marked
    channel.sync_settings.filter(flow="catalog").update(enabled=True)
    counts = pending_full_resync(channel=channel)
    assert counts["catalog"] == 2
    marked = PendingChange.objects.filter(channel=channel, flow="catalog")
    assert set(marked.values_list("sku_id", flat=True)) == {bound.pk, unbound.pk}
    stock = PendingChange.objects.filter(channel=channel, flow="stock")
    assert set(stock.values_list("sku_id", flat=True)) == {bound.pk}


def test_the_migration_gives_placeholder_catalog_rows_the_vendor_defaults():
    import importlib

    from django.apps import apps

    from channels.models import SyncSetting
    from vendors.registry import get_spec

    migration = importlib.import_module("sync.migrations.0014_catalog_publication")
    channel = make_channel(connector="anymarket")
    placeholder = SyncSetting.objects.filter(channel=channel, flow="catalog")
    placeholder.update(enabled=False, batch_size=1, interval_minutes=60)
    chosen = make_channel(connector="vtex")
    SyncSetting.objects.filter(channel=chosen, flow="catalog").update(batch_size=1, enabled=True)
    migration.catalog_settings_to_vendor_defaults(apps, None)
    limits = get_spec("anymarket").limits.for_flow("catalog")
    row = placeholder.get()
    assert (row.enabled, row.batch_size, row.interval_minutes) == (
        False,
        limits.default_batch_size,
        limits.default_interval_minutes,
    )
    untouched = SyncSetting.objects.get(channel=chosen, flow="catalog")
    assert (untouched.enabled, untouched.batch_size) == (True, 1)  # support's choice stays
