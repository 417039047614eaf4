import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from erp.models import OrderStatus
from mappings.models import (
    CarrierServiceMapping,
    Listing,
    MappingKind,
    OrderStatusMapping,
    PaymentMethodMapping,
)
from mappings.normalize import normalize_code
from mappings.services import listing_save, mapping_create, mapping_save
from tests.factories import make_channel, make_sku

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("raw", ["ECT", " ect ", "Ect", "\tECT\n", "ÉCT"])
def test_normalization_folds_case_accents_and_surrounding_spaces(raw):
    assert normalize_code(raw) == "ect"


@pytest.mark.parametrize("invisible", ["\u200b", "\u200d", "\ufeff", "\u00ad", "\u200e"])
def test_invisible_format_characters_are_removed(invisible):
    # Zero-width space/joiner, BOM, soft hyphen, left-to-right mark (Unicode category Cf).
    assert normalize_code(f"E{invisible}CT{invisible}") == "ect"


def test_an_invisible_duplicate_of_a_code_is_refused(channel, erp):
    mapping_create(channel=channel, kind=MappingKind.PAYMENT_METHOD, code="PIX", target=erp.pix)
    with pytest.raises(ValidationError):
        mapping_create(
            channel=channel, kind=MappingKind.PAYMENT_METHOD, code="PI\u200bX", target=erp.credit
        )


def test_normalization_keeps_inner_meaning():
    assert normalize_code("  Cartão   de  Crédito ") == "cartao de credito"
    assert normalize_code("SEDEX 10") != normalize_code("SEDEX10")
    assert normalize_code(None) == ""


def test_same_code_in_another_spelling_is_refused(channel, erp):
    mapping_create(channel=channel, kind=MappingKind.PAYMENT_METHOD, code="PIX", target=erp.pix)
    with pytest.raises(ValidationError) as exc:
        mapping_create(
            channel=channel, kind=MappingKind.PAYMENT_METHOD, code=" pix ", target=erp.credit
        )
    assert "already maps" in exc.value.message_dict["code"][0]
    assert PaymentMethodMapping.objects.count() == 1


def test_database_refuses_duplicates_even_without_validation(channel, erp):
    mapping_create(channel=channel, kind=MappingKind.PAYMENT_METHOD, code="PIX", target=erp.pix)
    row = PaymentMethodMapping(channel=channel, code="Pix ", target=erp.credit)
    with pytest.raises(IntegrityError), transaction.atomic():
        row.save()


def test_carrier_uniqueness_is_on_the_carrier_and_service_pair(channel, erp):
    kind = MappingKind.CARRIER_SERVICE
    mapping_create(channel=channel, kind=kind, parent_code="ECT", code="40215", target=erp.sedex10)
    mapping_create(channel=channel, kind=kind, parent_code="ECT", code="04014", target=erp.sedex)
    mapping_create(channel=channel, kind=kind, parent_code="ECT", code="", target=erp.pac)
    with pytest.raises(ValidationError) as exc:
        mapping_create(
            channel=channel, kind=kind, parent_code=" ect", code="40215 ", target=erp.pac
        )
    assert "already maps “ect / 40215”" in exc.value.message_dict["code"][0]
    assert CarrierServiceMapping.objects.filter(channel=channel).count() == 3
    stored = CarrierServiceMapping.objects.get(code="ECT", service_code="40215")
    assert (stored.code_key, stored.service_key) == ("ect", "40215")


def test_same_code_on_two_channels_is_fine(channel, erp):
    other = make_channel(erp.company, "vtex", name="Loja VTEX")
    for ch in (channel, other):
        mapping_create(channel=ch, kind=MappingKind.PAYMENT_METHOD, code="pix", target=erp.pix)
    assert PaymentMethodMapping.objects.count() == 2


@pytest.mark.parametrize(
    "kind,target_name",
    [
        (MappingKind.CARRIER_SERVICE, "sedex10"),
        (MappingKind.PAYMENT_METHOD, "pix"),
        (MappingKind.STOCK_LOCATION, "cd_sp"),
    ],
)
def test_target_of_another_company_is_refused(channel, other_erp, kind, target_name):
    with pytest.raises(ValidationError) as exc:
        mapping_create(channel=channel, kind=kind, code="X", target=getattr(other_erp, target_name))
    assert "belongs to another company" in exc.value.message_dict["target"][0]


def test_one_fallback_per_channel_and_kind(channel, erp):
    kind = MappingKind.PAYMENT_METHOD
    first = mapping_create(channel=channel, kind=kind, target=erp.boleto, is_fallback=True)
    assert str(first) == "★ anything else"
    with pytest.raises(ValidationError) as exc:
        mapping_create(channel=channel, kind=kind, target=erp.pix, is_fallback=True)
    assert "already has an “anything else” row" in exc.value.message_dict["is_fallback"][0]
    # Another kind has its own fallback.
    mapping_create(
        channel=channel, kind=MappingKind.ORDER_STATUS, target=OrderStatus.NEW, is_fallback=True
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        PaymentMethodMapping(channel=channel, is_fallback=True, target=erp.pix).save()


def test_fallback_has_no_code_and_other_rows_need_one(channel, erp):
    with pytest.raises(ValidationError) as exc:
        mapping_create(
            channel=channel,
            kind=MappingKind.PAYMENT_METHOD,
            code="pix",
            target=erp.pix,
            is_fallback=True,
        )
    assert "Leave the channel code blank" in exc.value.message_dict["code"][0]
    with pytest.raises(ValidationError) as exc:
        mapping_create(channel=channel, kind=MappingKind.PAYMENT_METHOD, code="  ", target=erp.pix)
    assert "Type the code" in exc.value.message_dict["code"][0]


def test_order_status_target_must_be_an_erp_status(channel):
    with pytest.raises(ValidationError) as exc:
        mapping_create(channel=channel, kind=MappingKind.ORDER_STATUS, code="x", target="lost")
    assert "target" in exc.value.message_dict
    row = mapping_create(
        channel=channel, kind=MappingKind.ORDER_STATUS, code="paid", target=OrderStatus.PAID
    )
    assert OrderStatusMapping.objects.get(pk=row.pk).target_display() == "Paid"


def test_changing_only_the_target_keeps_the_row(channel, erp):
    row = mapping_create(
        channel=channel, kind=MappingKind.PAYMENT_METHOD, code="visa", target=erp.pix
    )
    row = PaymentMethodMapping.objects.get(pk=row.pk)
    row.target = erp.credit
    mapping_save(mapping=row)  # its own code is no clash
    assert PaymentMethodMapping.objects.get(pk=row.pk).target == erp.credit


# --- product bindings ---------------------------------------------------------------------


def _listing(channel, sku, **ids):
    return listing_save(listing=Listing(channel=channel, sku=sku, **ids))


def test_listing_is_unique_both_ways(channel, erp):
    sku_a, sku_b = make_sku(erp.company, "A-1"), make_sku(erp.company, "B-1")
    _listing(channel, sku_a, external_item_id="MLB1", external_variation_id="10")
    with pytest.raises(ValidationError) as exc:
        _listing(channel, sku_a, external_item_id="MLB2")
    assert "already bound" in str(exc.value)
    with pytest.raises(ValidationError) as exc:
        _listing(channel, sku_b, external_item_id=" MLB1 ", external_variation_id="10")
    assert "already bound to another SKU" in str(exc.value)
    # Same item, other variation: another identity.
    _listing(channel, sku_b, external_item_id="MLB1", external_variation_id="11")
    # The database holds both rules too.
    with pytest.raises(IntegrityError), transaction.atomic():
        Listing(
            channel=channel,
            sku=make_sku(erp.company),
            external_item_id="MLB1",
            external_variation_id="11",
        ).save()
    assert Listing.objects.filter(channel=channel).count() == 2


def test_listing_needs_an_id_and_a_sku_of_the_channel_company(channel, erp, other_erp):
    with pytest.raises(ValidationError) as exc:
        _listing(channel, make_sku(erp.company), seller_sku="A-1")
    assert "at least one channel id" in str(exc.value)
    with pytest.raises(ValidationError) as exc:
        _listing(channel, make_sku(other_erp.company), external_sku_id="55")
    assert "another company" in exc.value.message_dict["sku"][0]
