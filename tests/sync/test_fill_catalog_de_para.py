"""“Fill catalog de-para…” on the channel page: the ERP categories, brands and attribute values
the products use, each with the vendor's cached values to pick from and a suggestion (Mercado
Livre: its category predictor's), created in one POST through the mapping service (which
releases the channel's waiting catalog products); company-scoped and permission-checked."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse
from django.utils import timezone

from erp.models import Attribute, AttributeValue, Brand, Category, Product, SkuAttributeValue
from mappings.models import AttributeMapping, BrandMapping, CategoryMapping, MappingKind
from mappings.services import mapping_create
from sync.models import CatalogPublication, CatalogReferenceValue, PendingChange, PublicationState
from tests.factories import make_channel, make_company, make_member, make_sku
from tests.sync.activation.builders import FAST
from vendors.spec import Flow

pytestmark = pytest.mark.django_db(transaction=True)

PERMS = (
    "view_saleschannel",
    "change_saleschannel",
    "add_categorymapping",
    "add_brandmapping",
    "add_attributemapping",
)


def page(channel) -> str:
    return reverse("admin:channels_saleschannel_fill_catalog_de_para", args=[channel.pk])


def change_page(channel) -> str:
    return reverse("admin:channels_saleschannel_change", args=[channel.pk])


def staff(username: str, *codenames: str, companies=()) -> User:
    user = User.objects.create_user(username, password=f"pw-{username}-1", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    make_member(user, *companies)
    return user


class Shop:
    """A company with one product (category Camisetas, brand Acme, a SKU Tamanho = P) and a
    channel of `vendor` on its emulator."""

    def __init__(self, vendor: str, emu) -> None:
        self.emu = emu
        company = make_company(legal_name="Loja Azul Ltda")
        self.category = Category.objects.create(company=company, name="Camisetas")
        self.brand = Brand.objects.create(company=company, name="Acme")
        self.size = Attribute.objects.create(company=company, name="Tamanho")
        self.small = AttributeValue.objects.create(attribute=self.size, value="P")
        self.product = Product.objects.create(
            company=company, name="Camiseta básica", category=self.category, brand=self.brand
        )
        self.sku = make_sku(company, "CAM-P", product=self.product)
        SkuAttributeValue.objects.create(sku=self.sku, attribute=self.size, value=self.small)
        # An ERP value no product uses: never proposed.
        Category.objects.create(company=company, name="Sem uso")
        self.channel = make_channel(
            company,
            connector=vendor,
            credentials=emu.credentials,
            api_base_url=emu.url,
            environment="sandbox",
        )

    def vendor_requests(self) -> list[str]:
        return [r.path for r in self.emu.requests_log]


@pytest.fixture
def ml(db, emulator):
    return Shop("mercadolivre", emulator("mercadolivre", **FAST))


@pytest.fixture
def vtex(db, emulator):
    return Shop("vtex", emulator("vtex", **FAST))


def rows(response) -> dict[str, dict]:
    """The page's rows by ERP value: the form's fields as a browser would send them."""
    return {row["erp_value"]: row for row in response.context["rows"]}


def post_data(response, ticks: dict[str, dict]) -> dict:
    """The form with only the rows named in `ticks` ticked (ERP value -> field overrides)."""
    formset = response.context["formset"]
    data = {
        formset.management_form.add_prefix(name): formset.management_form[name].value()
        for name in ("TOTAL_FORMS", "INITIAL_FORMS", "MIN_NUM_FORMS", "MAX_NUM_FORMS")
    }
    for row in response.context["rows"]:
        form = row["form"]
        for name in ("kind", "target", "attribute_code", "code"):
            data[form.add_prefix(name)] = form[name].value() or ""
        if row["erp_value"] in ticks:
            data[form.add_prefix("apply")] = "on"
            for name, value in ticks[row["erp_value"]].items():
                data[form.add_prefix(name)] = value
    return data


def test_the_vendor_is_read_once_and_the_second_load_uses_the_cache(client, vtex):
    shop = vtex
    client.force_login(staff("backoffice", *PERMS, companies=[shop.channel.company]))
    shop.emu.reset_stats()

    first = client.get(page(shop.channel))
    assert first.status_code == 200
    read = shop.vendor_requests()
    # The category tree and the brand list (no category is mapped: no attribute list yet).
    assert len(read) == 2, read
    assert read[0].startswith("/api/catalog_system/pub/category/tree/")
    assert read[1] == "/api/catalog_system/pvt/brand/list"
    assert CatalogReferenceValue.objects.filter(channel=shop.channel).count() > 0
    assert "as read on" in first.content.decode()

    second = client.get(page(shop.channel))
    assert second.status_code == 200
    assert len(shop.vendor_requests()) == len(read)  # no vendor request: the cache

    # "Refresh from the vendor" reads it again.
    response = client.post(page(shop.channel), {"refresh": "1"})
    assert response.status_code == 302
    assert len(shop.vendor_requests()) == 2 * len(read)


def test_suggestions_match_by_name_and_attribute_values_by_the_mapped_category(client, vtex):
    shop = vtex
    # Camisetas is mapped to VTEX category 10, whose fields are Cor (30) and Tamanho (31).
    other = Category.objects.create(company=shop.channel.company, name="Camisetas 2")
    Product.objects.create(company=shop.channel.company, name="Outra", category=other)
    mapping_create(channel=shop.channel, kind=MappingKind.CATEGORY, code="10", target=shop.category)
    client.force_login(staff("backoffice", *PERMS, companies=[shop.channel.company]))

    response = client.get(page(shop.channel))
    found = rows(response)
    assert set(found) == {"Camisetas 2", "Acme", "Tamanho = P"}  # Camisetas is mapped
    assert found["Acme"]["form"]["code"].value() == "2000002"  # VTEX brand "Acme"
    size = found[str(shop.small)]["form"]
    assert size["attribute_code"].value() == "31"  # Tamanho
    assert size["code"].value() == "311"  # P
    html = response.content.decode()
    assert 'list="catalog-values-attribute-31"' in html
    assert '<option value="313">G</option>' in html  # Tamanho's values to search


def test_mercado_livre_predictor_suggestion_and_required_attributes(client, ml):
    shop = ml
    client.force_login(staff("backoffice", *PERMS, companies=[shop.channel.company]))
    shop.emu.reset_stats()

    response = client.get(page(shop.channel))
    assert any("/domain_discovery/search" in p for p in shop.vendor_requests())
    camisetas = rows(response)["Camisetas"]
    assert camisetas["form"]["code"].value() == "MLB31447"
    html = response.content.decode()
    assert "category predictor" in html and "Camiseta básica" in html and "1.00" in html

    # Once the category is mapped, its required attributes show as what still needs a row.
    data = post_data(response, {"Camisetas": {}})
    assert client.post(page(shop.channel), data).status_code == 302
    assert CategoryMapping.objects.get(channel=shop.channel).code == "MLB31447"
    client.post(page(shop.channel), {"refresh": "1"})
    assert any("/categories/MLB31447/attributes" in p for p in shop.vendor_requests())
    response = client.get(page(shop.channel))
    required = {item.attribute.code: item.mapped for item in response.context["required"]}
    assert required["COLOR"] is False and required["SIZE"] is False
    assert "SELLER_SKU" not in required  # not tagged required
    assert "Still needs a de-para row" in response.content.decode()
    size = rows(response)[str(shop.small)]["form"]
    assert size["attribute_code"].value() == "SIZE"  # Tamanho, by name
    assert size["code"].value() == "3259478"  # P


def test_creating_rows_releases_a_waiting_product(client, vtex):
    shop = vtex
    shop.channel.sync_settings.filter(flow=Flow.CATALOG).update(enabled=True)
    CatalogPublication.objects.create(
        channel=shop.channel,
        product=shop.product,
        state=PublicationState.WAITING,
        updated_at=timezone.now(),
    )
    client.force_login(staff("backoffice", *PERMS, companies=[shop.channel.company]))
    response = client.get(page(shop.channel))
    assert not PendingChange.objects.filter(channel=shop.channel, flow=Flow.CATALOG).exists()

    data = post_data(response, {"Acme": {}, "Camisetas": {"code": "10"}})
    response = client.post(page(shop.channel), data)
    assert response.status_code == 302

    assert BrandMapping.objects.get(channel=shop.channel).code == "2000002"
    category = CategoryMapping.objects.get(channel=shop.channel)
    assert (category.code, category.label, category.target) == (
        "10",
        "Vestuário / Camisetas",
        shop.category,
    )
    assert not AttributeMapping.objects.filter(channel=shop.channel).exists()  # not ticked
    assert list(
        PendingChange.objects.filter(channel=shop.channel, flow=Flow.CATALOG).values_list(
            "sku_id", flat=True
        )
    ) == [shop.sku.pk]


def test_a_ticked_row_needs_a_value_and_an_erp_value_of_the_company(client, vtex):
    shop = vtex
    client.force_login(staff("backoffice", *PERMS, companies=[shop.channel.company]))
    response = client.get(page(shop.channel))
    foreign = Brand.objects.create(company=make_company(legal_name="Outra Ltda"), name="X")
    data = post_data(response, {"Acme": {"target": str(foreign.pk)}, "Camisetas": {"code": ""}})
    response = client.post(page(shop.channel), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "belongs to another company" in html
    assert "Type or pick the channel" in html
    assert not BrandMapping.objects.exists() and not CategoryMapping.objects.exists()


def test_permission_and_company_scope(client, vtex):
    shop = vtex
    stranger = staff("stranger", *PERMS, companies=[make_company(legal_name="Outra Ltda")])
    client.force_login(stranger)
    assert client.get(page(shop.channel)).status_code == 404

    viewer = staff("viewer", "view_saleschannel", companies=[shop.channel.company])
    client.force_login(viewer)
    assert client.get(page(shop.channel)).status_code == 403
    assert page(shop.channel) not in client.get(change_page(shop.channel)).content.decode()

    no_catalog = staff(
        "orders-only",
        "view_saleschannel",
        "change_saleschannel",
        "add_paymentmethodmapping",
        companies=[shop.channel.company],
    )
    client.force_login(no_catalog)
    assert client.get(page(shop.channel)).status_code == 403

    client.force_login(staff("backoffice", *PERMS, companies=[shop.channel.company]))
    tools = client.get(change_page(shop.channel)).content.decode()
    assert page(shop.channel) in tools and "Fill catalog de-para from VTEX…" in tools


def test_no_secret_in_the_page(client, ml):
    shop = ml
    client.force_login(staff("backoffice", *PERMS, companies=[shop.channel.company]))
    html = client.get(page(shop.channel)).content.decode()
    for secret in shop.emu.secrets():
        assert secret not in html


def test_a_vendor_error_is_shown_and_the_cache_kept(client, vtex):
    shop = vtex
    client.force_login(staff("backoffice", *PERMS, companies=[shop.channel.company]))
    client.get(page(shop.channel))
    cached = CatalogReferenceValue.objects.filter(channel=shop.channel).count()
    shop.emu.set_faults(rate_5xx=1.0)
    response = client.post(page(shop.channel), {"refresh": "1"})
    assert response.status_code == 200
    assert "Could not read VTEX" in response.content.decode()
    assert CatalogReferenceValue.objects.filter(channel=shop.channel).count() == cached


def test_a_cache_older_than_the_setting_is_read_again(client, vtex, settings):
    shop = vtex
    settings.ERPINTEGR_CATALOG_REFERENCE_HOURS = 6
    client.force_login(staff("backoffice", *PERMS, companies=[shop.channel.company]))
    client.get(page(shop.channel))
    shop.emu.reset_stats()
    CatalogReferenceValue.objects.filter(channel=shop.channel).update(
        fetched_at=timezone.now() - timedelta(hours=5)
    )
    client.get(page(shop.channel))
    assert shop.vendor_requests() == []  # 5 hours old: still fresh
    CatalogReferenceValue.objects.filter(channel=shop.channel).update(
        fetched_at=timezone.now() - timedelta(hours=7)
    )
    client.get(page(shop.channel))
    assert len(shop.vendor_requests()) == 2  # stale: the tree and the brands again
