"""ERP catalog data: validation, services that announce catalog changes, admin inlines."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from channels.models import ChannelStatus, SalesChannel, SyncSetting
from erp import services
from erp.models import (
    Attribute,
    AttributeValue,
    Brand,
    Category,
    Product,
    ProductAttributeValue,
    ProductImage,
    ProductOrigin,
    SkuAttributeValue,
)
from erp.signals import ChangeKind
from erp.validators import validate_image_url, validate_ncm
from sync.models import PendingChange
from tests.factories import make_channel, make_company, make_sku
from vendors.spec import Flow

pytestmark = pytest.mark.django_db


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["61091000", "6109.10.00", " 6109 1000 "])
def test_ncm_accepts_eight_digits_with_dots_or_spaces(value):
    validate_ncm(value)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("6109100", "An NCM has 8 digits; 6109100 has 7."),
        ("610910001", "An NCM has 8 digits; 610910001 has 9."),
        (
            "6109.10.0A",
            "NCM 6109.10.0A must have digits only (dots are accepted, e.g. 6109.10.00).",
        ),
        (
            "6109-10-00",
            "NCM 6109-10-00 must have digits only (dots are accepted, e.g. 6109.10.00).",
        ),
    ],
)
def test_ncm_refuses_with_a_clear_message(value, message, settings):
    settings.LANGUAGE_CODE = "en"
    with pytest.raises(ValidationError) as caught:
        validate_ncm(value)
    assert caught.value.messages == [message]


def test_product_stores_the_ncm_digits_only():
    company = make_company()
    product = Product(company=company, name="Camiseta", ncm="6109.10.00", origin="0")
    product.full_clean()
    product.save()
    product.refresh_from_db()
    assert product.ncm == "61091000"
    assert product.get_origin_display().startswith("0 - Nacional")


def test_origin_choices_are_the_nine_nfe_codes():
    assert [code for code, _label in ProductOrigin.choices] == [str(n) for n in range(9)]
    product = Product(company=make_company(), name="X", origin="9")
    with pytest.raises(ValidationError) as caught:
        product.full_clean()
    assert "origin" in caught.value.message_dict


@pytest.mark.parametrize("url", ["https://cdn.example.com/a.jpg", "http://img.example.com/b.png"])
def test_image_url_accepts_http_and_https(url):
    validate_image_url(url)


@pytest.mark.parametrize(
    "url", ["ftp://example.com/a.jpg", "/media/a.jpg", "a.jpg", "javascript:x"]
)
def test_image_url_refuses_other_schemes_with_a_clear_message(url):
    with pytest.raises(ValidationError) as caught:
        validate_image_url(url)
    assert caught.value.messages == [
        f"{url} is not an image address the channels can download: use a full http:// or "
        "https:// URL."
    ]


def test_category_tree_path_and_cycles():
    company = make_company()
    clothes = Category.objects.create(company=company, name="Roupas")
    shirts = Category.objects.create(company=company, name="Camisetas", parent=clothes)
    assert str(shirts) == "Roupas › Camisetas"
    clothes.name = "Vestuário"
    clothes.save()
    shirts.refresh_from_db()
    assert shirts.path == "Vestuário › Camisetas"
    clothes.parent = shirts
    with pytest.raises(ValidationError) as caught:
        clothes.full_clean()
    assert "parent" in caught.value.message_dict


def test_brand_and_category_of_another_company_are_refused():
    company, other = make_company(), make_company()
    product = Product(
        company=company,
        name="X",
        brand=Brand.objects.create(company=other, name="Acme"),
        category=Category.objects.create(company=other, name="Roupas"),
    )
    with pytest.raises(ValidationError) as caught:
        product.full_clean()
    assert set(caught.value.message_dict) == {"brand", "category"}


# --- services announce catalog changes --------------------------------------------------------


def _selling_channel(company, connector="vtex") -> SalesChannel:
    channel = make_channel(company, connector)
    SalesChannel.objects.filter(pk=channel.pk).update(status=ChannelStatus.ACTIVE)
    SyncSetting.objects.filter(channel=channel, flow=Flow.CATALOG).update(enabled=True)
    return channel


def _catalog_pending(channel) -> list[int]:
    return sorted(
        PendingChange.objects.filter(channel=channel, flow=Flow.CATALOG).values_list(
            "sku_id", flat=True
        )
    )


@pytest.fixture
def catalog():
    company = make_company()
    product = Product.objects.create(company=company, name="Camiseta")
    blue = make_sku(company, "CAM-AZ-M", product=product)
    red = make_sku(company, "CAM-VM-M", product=product)
    color = Attribute.objects.create(company=company, name="Cor")
    size = Attribute.objects.create(company=company, name="Tamanho")
    values = {
        "azul": AttributeValue.objects.create(attribute=color, value="Azul"),
        "vermelho": AttributeValue.objects.create(attribute=color, value="Vermelho"),
        "m": AttributeValue.objects.create(attribute=size, value="M"),
    }
    return company, product, blue, red, values


def test_product_update_marks_every_sku_pending_once_per_channel(catalog):
    company, product, blue, red, _values = catalog
    vtex, anymarket = _selling_channel(company, "vtex"), _selling_channel(company, "anymarket")
    other_company_channel = _selling_channel(make_company())
    brand = Brand.objects.create(company=company, name="Acme")
    services.product_update(product=product, brand=brand, ncm="6109.10.00", origin="0")
    services.product_update(product=product, description="Algodão")  # coalesced
    assert _catalog_pending(vtex) == sorted([blue.pk, red.pk])
    assert _catalog_pending(anymarket) == sorted([blue.pk, red.pk])
    assert _catalog_pending(other_company_channel) == []
    assert PendingChange.objects.filter(flow=Flow.CATALOG).count() == 4
    product.refresh_from_db()
    assert (product.brand, product.ncm, product.description) == (brand, "61091000", "Algodão")


def test_product_update_with_a_bad_ncm_writes_and_announces_nothing(catalog):
    company, product, *_ = catalog
    channel = _selling_channel(company)
    with pytest.raises(ValidationError) as caught:
        services.product_update(product=product, ncm="123", description="nova")
    assert "ncm" in caught.value.message_dict
    product.refresh_from_db()
    assert (product.ncm, product.description) == ("", "")
    assert _catalog_pending(channel) == []


def test_unchanged_product_update_writes_and_announces_nothing(catalog):
    company, product, *_ = catalog
    channel = _selling_channel(company)
    services.product_update(product=product, ncm="61091000")
    PendingChange.objects.all().delete()
    before = Product.objects.get(pk=product.pk).updated_at
    services.product_update(product=product, name="Camiseta", ncm="6109.10.00")
    product.refresh_from_db()
    assert product.updated_at == before
    assert _catalog_pending(channel) == []


def test_sku_update_takes_package_dimensions(catalog):
    company, _product, blue, red, _values = catalog
    channel = _selling_channel(company)
    services.sku_update(
        sku=blue,
        weight_grams=250,
        height_cm=Decimal("3"),
        width_cm=Decimal("20.5"),
        length_cm=Decimal("30"),
    )
    assert _catalog_pending(channel) == [blue.pk]
    with pytest.raises(ValidationError) as caught:
        services.sku_update(sku=red, height_cm=Decimal("0"))
    assert "height_cm" in caught.value.message_dict


def test_product_images_set_orders_validates_and_announces(catalog):
    company, product, blue, red, _values = catalog
    channel = _selling_channel(company)
    changed = services.product_images_set(
        product=product,
        images=[
            services.ImageSpec("https://cdn.example.com/main.jpg"),
            services.ImageSpec("https://cdn.example.com/blue.jpg", sku=blue),
        ],
    )
    assert changed
    assert list(product.images.values_list("position", "url", "sku_id")) == [
        (0, "https://cdn.example.com/main.jpg", None),
        (1, "https://cdn.example.com/blue.jpg", blue.pk),
    ]
    assert _catalog_pending(channel) == sorted([blue.pk, red.pk])
    PendingChange.objects.all().delete()
    same = [
        services.ImageSpec("https://cdn.example.com/main.jpg"),
        services.ImageSpec("https://cdn.example.com/blue.jpg", sku=blue),
    ]
    assert not services.product_images_set(product=product, images=same)
    assert _catalog_pending(channel) == []
    with pytest.raises(ValidationError) as caught:
        services.product_images_set(
            product=product,
            images=[
                services.ImageSpec("https://cdn.example.com/x.jpg"),
                services.ImageSpec("x.jpg"),
            ],
        )
    assert "x.jpg is not an image address" in caught.value.messages[0]
    assert ProductImage.objects.filter(product=product).count() == 2  # nothing replaced
    other = make_sku(company, "OTHER", product=Product.objects.create(company=company, name="Y"))
    with pytest.raises(ValidationError):
        services.product_images_set(
            product=product, images=[services.ImageSpec("https://cdn.example.com/o.jpg", sku=other)]
        )


def test_sku_attributes_set_one_value_per_attribute(catalog):
    company, _product, blue, _red, values = catalog
    channel = _selling_channel(company)
    assert services.sku_attributes_set(sku=blue, values=[values["azul"], values["m"]])
    assert _catalog_pending(channel) == [blue.pk]
    assert not services.sku_attributes_set(sku=blue, values=[values["m"], values["azul"]])
    with pytest.raises(ValidationError) as caught:
        services.sku_attributes_set(sku=blue, values=[values["azul"], values["vermelho"]])
    assert caught.value.messages == ["SKU CAM-AZ-M can have one value of Cor, not two."]
    assert services.sku_attributes_set(sku=blue, values=[values["vermelho"]])
    assert list(SkuAttributeValue.objects.filter(sku=blue).values_list("value", flat=True)) == [
        values["vermelho"].pk
    ]
    foreign = AttributeValue.objects.create(
        attribute=Attribute.objects.create(company=make_company(), name="Cor"), value="Azul"
    )
    with pytest.raises(ValidationError):
        services.sku_attributes_set(sku=blue, values=[foreign])


def test_product_attributes_set_one_value_per_attribute_announces_every_sku(catalog):
    company, product, blue, red, values = catalog
    channel = _selling_channel(company)
    model = Attribute.objects.create(company=company, name="Modelo")
    basic = AttributeValue.objects.create(attribute=model, value="Básica")
    assert services.product_attributes_set(product=product, values=[basic, values["azul"]])
    assert _catalog_pending(channel) == sorted([blue.pk, red.pk])
    assert set(
        ProductAttributeValue.objects.filter(product=product).values_list("attribute", "value")
    ) == {(model.pk, basic.pk), (values["azul"].attribute_id, values["azul"].pk)}
    PendingChange.objects.all().delete()
    assert not services.product_attributes_set(product=product, values=[values["azul"], basic])
    assert _catalog_pending(channel) == []  # nothing changed, nothing announced
    with pytest.raises(ValidationError) as caught:
        services.product_attributes_set(
            product=product, values=[values["azul"], values["vermelho"]]
        )
    assert caught.value.messages == ["Product Camiseta can have one value of Cor, not two."]
    foreign = AttributeValue.objects.create(
        attribute=Attribute.objects.create(company=make_company(), name="Modelo"), value="X"
    )
    with pytest.raises(ValidationError) as caught:
        services.product_attributes_set(product=product, values=[foreign])
    assert caught.value.messages == ["Attribute Modelo belongs to another company."]
    assert ProductAttributeValue.objects.filter(product=product).count() == 2  # unchanged
    assert services.product_attributes_set(product=product, values=[values["vermelho"]])
    assert list(
        ProductAttributeValue.objects.filter(product=product).values_list("value", flat=True)
    ) == [values["vermelho"].pk]


def test_admin_product_page_sets_product_attributes_through_the_service(admin_client, catalog):
    company, product, blue, red, values = catalog
    channel = _selling_channel(company)
    url = reverse("admin:erp_product_change", args=[product.pk])
    data = _product_post(product)
    data.update(_inline_management("attribute_values", 1, 0))
    data["attribute_values-0-value"] = values["azul"].pk
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert list(
        ProductAttributeValue.objects.filter(product=product).values_list("value", flat=True)
    ) == [values["azul"].pk]
    assert _catalog_pending(channel) == sorted([blue.pk, red.pk])
    page = admin_client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Product attributes, the same for every SKU" in page


def test_services_send_the_catalog_kind(catalog):
    from erp.signals import skus_changed

    company, product, blue, red, _values = catalog
    received = []

    def receiver(sender, **kwargs):
        received.append(kwargs)

    skus_changed.connect(receiver, dispatch_uid="test-catalog-kind")
    try:
        services.product_update(product=product, name="Camiseta básica")
    finally:
        skus_changed.disconnect(dispatch_uid="test-catalog-kind")
    assert received[0]["kind"] == ChangeKind.CATALOG
    assert received[0]["sku_ids"] == {blue.pk, red.pk}
    assert received[0]["company_id"] == company.pk


# --- admin ------------------------------------------------------------------------------------


def _inline_management(prefix: str, total: int, initial: int) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def _product_post(product, **overrides) -> dict:
    data = {
        "name": product.name,
        "description": product.description,
        "brand": product.brand_id or "",
        "category": product.category_id or "",
        "ncm": product.ncm,
        "origin": product.origin,
        "active": "on",
        **_inline_management("skus", 0, 0),
        **_inline_management("images", 0, 0),
        **_inline_management("attribute_values", 0, 0),
        # The engine's read-only inline (sync.admin.CatalogPublicationInline): a browser
        # posts its management form too.
        **_inline_management("catalog_publications", 0, 0),
    }
    data.update(overrides)
    return data


def test_admin_refuses_a_bad_ncm_with_the_message_and_stores_nothing(admin_client, catalog):
    company, product, *_ = catalog
    channel = _selling_channel(company)
    url = reverse("admin:erp_product_change", args=[product.pk])
    response = admin_client.post(
        url, _product_post(product, ncm="1234", description="nova"), HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    assert "An NCM has 8 digits; 1234 has 4." in response.content.decode()
    product.refresh_from_db()
    assert (product.ncm, product.description) == ("", "")
    assert _catalog_pending(channel) == []


def test_admin_product_page_saves_through_the_services(admin_client, catalog):
    company, product, blue, red, _values = catalog
    channel = _selling_channel(company)
    brand = Brand.objects.create(company=company, name="Acme")
    url = reverse("admin:erp_product_change", args=[product.pk])
    data = _product_post(product, ncm="6109.10.00", origin="0", brand=brand.pk)
    data.update(_inline_management("images", 2, 0))
    data.update(
        {
            "images-0-position": "2",
            "images-0-url": "https://cdn.example.com/second.jpg",
            "images-0-sku": blue.pk,
            "images-1-position": "1",
            "images-1-url": "https://cdn.example.com/first.jpg",
            "images-1-sku": "",
        }
    )
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    product.refresh_from_db()
    assert (product.ncm, product.origin, product.brand) == ("61091000", "0", brand)
    assert list(product.images.values_list("position", "url", "sku_id")) == [
        (0, "https://cdn.example.com/first.jpg", None),
        (1, "https://cdn.example.com/second.jpg", blue.pk),
    ]
    assert _catalog_pending(channel) == sorted([blue.pk, red.pk])


def test_admin_image_with_a_bad_url_is_refused(admin_client, catalog):
    _company, product, *_ = catalog
    url = reverse("admin:erp_product_change", args=[product.pk])
    data = _product_post(product)
    data.update(_inline_management("images", 1, 0))
    data.update({"images-0-position": "0", "images-0-url": "ftp://example.com/a.jpg"})
    response = admin_client.post(url, data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "is not an image address the channels can download" in response.content.decode()
    assert not ProductImage.objects.exists()


def test_admin_sku_page_sets_attributes_and_dimensions(admin_client, catalog):
    company, _product, blue, _red, values = catalog
    channel = _selling_channel(company)
    url = reverse("admin:erp_sku_change", args=[blue.pk])
    data = {
        "code": blue.code,
        "name": blue.name,
        "ean": blue.ean,
        "weight_grams": "300",
        "height_cm": "4",
        "width_cm": "25",
        "length_cm": "32",
        "active": "on",
        **_inline_management("attribute_values", 2, 0),
        "attribute_values-0-value": values["azul"].pk,
        "attribute_values-1-value": values["m"].pk,
    }
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    blue.refresh_from_db()
    assert (blue.weight_grams, blue.length_cm) == (300, Decimal("32"))
    assert set(SkuAttributeValue.objects.filter(sku=blue).values_list("value", flat=True)) == {
        values["azul"].pk,
        values["m"].pk,
    }
    assert _catalog_pending(channel) == [blue.pk]


def test_admin_product_page_queries_do_not_grow_with_images(admin_client, catalog):
    _company, product, blue, _red, _values = catalog
    url = reverse("admin:erp_product_change", args=[product.pk])
    services.product_images_set(
        product=product,
        images=[services.ImageSpec(f"https://cdn.example.com/{n}.jpg") for n in range(2)],
    )
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get(url).status_code == 200
    services.product_images_set(
        product=product,
        images=[
            services.ImageSpec(f"https://cdn.example.com/{n}.jpg", sku=blue) for n in range(20)
        ],
    )
    with CaptureQueriesContext(connection) as many:
        assert admin_client.get(url).status_code == 200
    assert len(many) == len(few)
