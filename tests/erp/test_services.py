from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from erp import services
from erp.models import StockBalance
from erp.signals import ChangeKind, skus_changed
from tests.factories import make_company, make_price_list, make_sku, make_warehouse


@pytest.fixture
def announcements():
    received = []

    def receiver(sender, **kwargs):
        received.append(kwargs)

    skus_changed.connect(receiver, dispatch_uid="test-announcements")
    yield received
    skus_changed.disconnect(dispatch_uid="test-announcements")


@pytest.mark.django_db
def test_stock_set_announces_only_skus_that_changed(announcements):
    company = make_company()
    warehouse = make_warehouse(company)
    a, b = make_sku(company, code="A"), make_sku(company, code="B")
    services.stock_set_many(
        levels=[
            services.StockLevel(sku=a, warehouse=warehouse, on_hand=5),
            services.StockLevel(sku=b, warehouse=warehouse, on_hand=7),
        ]
    )
    assert announcements[-1]["sku_ids"] == {a.pk, b.pk}
    assert announcements[-1]["kind"] == ChangeKind.STOCK
    assert announcements[-1]["warehouse_ids"] == {warehouse.pk}
    announcements.clear()
    changed = services.stock_set_many(
        levels=[
            services.StockLevel(sku=a, warehouse=warehouse, on_hand=5),  # unchanged
            services.StockLevel(sku=b, warehouse=warehouse, on_hand=8),
        ]
    )
    assert changed == {b.pk}
    assert [x["sku_ids"] for x in announcements] == [{b.pk}]


@pytest.mark.django_db
def test_stock_adjust_refuses_to_go_negative_and_announces(announcements):
    company = make_company()
    warehouse = make_warehouse(company)
    sku = make_sku(company, code="A")
    services.stock_set(sku=sku, warehouse=warehouse, on_hand=2)
    balance = services.stock_adjust(sku=sku, warehouse=warehouse, delta=-2)
    assert balance.on_hand == 0
    with pytest.raises(ValidationError) as exc:
        services.stock_adjust(sku=sku, warehouse=warehouse, delta=-1)
    assert "only 0 on hand" in str(exc.value)
    assert len(announcements) == 2


@pytest.mark.django_db
def test_stock_reserve_and_release(announcements):
    company = make_company()
    warehouse = make_warehouse(company)
    sku = make_sku(company, code="A")
    services.stock_set(sku=sku, warehouse=warehouse, on_hand=3)
    services.stock_reserve(sku=sku, warehouse=warehouse, quantity=2)
    balance = StockBalance.objects.get(sku=sku)
    assert (balance.on_hand, balance.reserved, balance.available) == (3, 2, 1)
    services.stock_reserve(sku=sku, warehouse=warehouse, quantity=-5)
    assert StockBalance.objects.get(sku=sku).reserved == 0
    assert all(x["sku_ids"] == {sku.pk} for x in announcements)


@pytest.mark.django_db
def test_stock_in_another_companys_warehouse_is_refused():
    sku = make_sku(make_company(), code="A")
    foreign = make_warehouse(make_company())
    with pytest.raises(ValidationError) as exc:
        services.stock_set(sku=sku, warehouse=foreign, on_hand=1)
    assert "different companies" in str(exc.value)


@pytest.mark.django_db
def test_price_set_announces_price_changes_with_the_list(announcements):
    company = make_company()
    price_list = make_price_list(company)
    sku = make_sku(company, code="A")
    assert services.price_set(price_list=price_list, sku=sku, amount=Decimal("10.00"))
    assert not services.price_set(price_list=price_list, sku=sku, amount=Decimal("10.00"))
    assert services.price_set(price_list=price_list, sku=sku, amount=Decimal("12.50"))
    assert len(announcements) == 2
    assert announcements[0]["kind"] == ChangeKind.PRICE
    assert announcements[0]["price_list_id"] == price_list.pk
    with pytest.raises(ValidationError):
        services.price_set(price_list=price_list, sku=sku, amount=Decimal("-1"))


@pytest.mark.django_db
def test_sku_update_announces_catalog_changes_only_when_something_changed(announcements):
    sku = make_sku(make_company(), code="A", name="Azul")
    services.sku_update(sku=sku, name="Azul")
    assert announcements == []
    services.sku_update(sku=sku, name="Azul marinho", ean="7891000315507")
    assert announcements[0]["kind"] == ChangeKind.CATALOG
    with pytest.raises(ValidationError):
        services.sku_update(sku=sku, code="NEW")
