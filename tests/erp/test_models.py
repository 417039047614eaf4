import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from erp.models import Company, Order, Sku, StockBalance
from tests.factories import make_channel, make_company, make_sku, make_warehouse


@pytest.mark.django_db
def test_company_stores_cnpj_digits_and_refuses_bad_check_digits():
    company = Company(legal_name="X Ltda", cnpj="11.222.333/0001-81")
    company.full_clean()
    company.save()
    assert company.cnpj == "11222333000181"
    bad = Company(legal_name="Y Ltda", cnpj="11.222.333/0001-80")
    with pytest.raises(ValidationError) as exc:
        bad.full_clean()
    assert "check digits do not match" in str(exc.value.message_dict["cnpj"])


@pytest.mark.django_db
def test_sku_code_is_unique_per_company_ignoring_case_and_spaces():
    company = make_company()
    make_sku(company, code="AB 12")
    duplicate = Sku(company=company, product=make_sku(company, code="OTHER").product, code="ab12")
    with pytest.raises(ValidationError) as exc:
        duplicate.full_clean()
    assert "already has this code" in str(exc.value)
    with pytest.raises(IntegrityError), transaction.atomic():
        make_sku(company, code=" Ab12")


@pytest.mark.django_db
def test_same_sku_code_is_allowed_in_another_company():
    make_sku(make_company(), code="AB12")
    assert make_sku(make_company(), code="AB12").code_key == "AB12"


@pytest.mark.django_db
def test_sku_ean_is_validated():
    sku = make_sku(make_company(), code="X1")
    sku.ean = "7891000315508"
    with pytest.raises(ValidationError) as exc:
        sku.full_clean()
    assert "check digit does not match" in str(exc.value.message_dict["ean"])


@pytest.mark.django_db
def test_stock_can_never_be_negative_in_the_database():
    company = make_company()
    balance = StockBalance.objects.create(
        sku=make_sku(company), warehouse=make_warehouse(company), on_hand=1
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        StockBalance.objects.filter(pk=balance.pk).update(on_hand=-1)
    with pytest.raises(IntegrityError), transaction.atomic():
        StockBalance.objects.filter(pk=balance.pk).update(reserved=-3)
    balance.on_hand = -5
    with pytest.raises(ValidationError) as exc:
        balance.full_clean()
    assert "never be negative" in str(exc.value)


@pytest.mark.django_db
def test_order_is_unique_per_channel_and_external_id():
    channel = make_channel()
    other = make_channel(company=channel.company)
    Order.objects.create(company=channel.company, channel=channel, external_id="2000001")
    # Same id on another channel is a different order.
    Order.objects.create(company=channel.company, channel=other, external_id="2000001")
    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.create(company=channel.company, channel=channel, external_id="2000001")
    duplicate = Order(company=channel.company, channel=channel, external_id="2000001")
    with pytest.raises(ValidationError) as exc:
        duplicate.full_clean()
    assert "already has an order with this id" in str(exc.value)
