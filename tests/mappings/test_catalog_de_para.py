"""Catalog de-para: ERP category, brand and attribute/value → the channel's values."""

import pytest
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from channels.admin import SalesChannelAdmin
from erp.models import Attribute, AttributeValue, Brand, Category
from mappings.models import (
    AttributeMapping,
    BrandMapping,
    CategoryMapping,
    MappingKind,
    UnmappedValue,
)
from mappings.selectors import LookupRequest, translate
from mappings.services import mapping_create, unmapped_apply_suggestions, unmapped_record_many
from mappings.suggestions import propose_de_para
from tests.factories import make_channel, make_company
from vendors.types import ReferenceValue

pytestmark = pytest.mark.django_db

CATEGORY, BRAND, ATTRIBUTE = MappingKind.CATEGORY, MappingKind.BRAND, MappingKind.ATTRIBUTE


class Catalog:
    def __init__(self, company):
        self.company = company
        self.clothes = Category.objects.create(company=company, name="Roupas")
        self.shirts = Category.objects.create(
            company=company, name="Camisetas", parent=self.clothes
        )
        self.tanks = Category.objects.create(company=company, name="Regatas", parent=self.clothes)
        self.acme = Brand.objects.create(company=company, name="Acme Têxtil")
        self.color = Attribute.objects.create(company=company, name="Cor")
        self.size = Attribute.objects.create(company=company, name="Tamanho")
        self.blue = AttributeValue.objects.create(attribute=self.color, value="Azul")
        self.red = AttributeValue.objects.create(attribute=self.color, value="Vermelho")
        self.m = AttributeValue.objects.create(attribute=self.size, value="M")


@pytest.fixture
def catalog(erp):
    return Catalog(erp.company)


def test_create_each_kind_and_translate_the_channel_values(channel, catalog):
    mapping_create(
        channel=channel, kind=CATEGORY, code="MLB31447", label="Camisetas", target=catalog.shirts
    )
    # Several ERP categories may be published as one channel category.
    mapping_create(channel=channel, kind=CATEGORY, code="MLB31447", target=catalog.tanks)
    mapping_create(channel=channel, kind=BRAND, code="ACME", label="Acme", target=catalog.acme)
    mapping_create(channel=channel, kind=ATTRIBUTE, code="COLOR", label="Cor", target=catalog.color)
    mapping_create(
        channel=channel,
        kind=ATTRIBUTE,
        parent_code="COLOR",
        code="52049",
        label="Azul",
        target=catalog.blue,
    )
    value_row = AttributeMapping.objects.get(channel=channel, value_code="52049")
    assert (value_row.target, value_row.target_value) == (catalog.color, catalog.blue)
    assert CategoryMapping.objects.filter(channel=channel).count() == 2
    result = translate(
        channel=channel,
        requests=[
            LookupRequest(BRAND, "acme"),
            LookupRequest(ATTRIBUTE, "52049", parent_code="color"),
            LookupRequest(ATTRIBUTE, "COLOR"),
            LookupRequest(ATTRIBUTE, "99999", parent_code="COLOR"),
        ],
    )
    assert result.get(BRAND, "ACME") == catalog.acme
    assert result.resolve(ATTRIBUTE, "52049", "COLOR").mapping == value_row
    assert result.get(ATTRIBUTE, "", "COLOR") == catalog.color
    # No parent fallback for attributes: an unknown value is missing, not the attribute.
    assert [(m.parent_code, m.code) for m in result.missing] == [("COLOR", "99999")]


def test_one_row_per_erp_value_no_fallback_and_company_scope(channel, catalog, other_erp):
    mapping_create(channel=channel, kind=BRAND, code="ACME", target=catalog.acme)
    with pytest.raises(ValidationError) as caught:
        mapping_create(channel=channel, kind=BRAND, code="OTHER", target=catalog.acme)
    assert caught.value.message_dict["target"] == [
        "This channel already maps “Acme Têxtil”; edit that row instead."
    ]
    with pytest.raises(ValidationError) as caught:
        mapping_create(channel=channel, kind=CATEGORY, target=catalog.shirts, is_fallback=True)
    assert "is_fallback" in caught.value.message_dict
    foreign = Brand.objects.create(company=other_erp.company, name="Acme Têxtil")
    with pytest.raises(ValidationError) as caught:
        mapping_create(channel=channel, kind=BRAND, code="X", target=foreign)
    assert "another company" in caught.value.message_dict["target"][0]
    assert BrandMapping.objects.filter(channel=channel).count() == 1


def test_a_value_of_another_attribute_is_refused(channel, catalog):
    row = AttributeMapping(
        channel=channel, code="SIZE", value_code="M", target=catalog.size, target_value=catalog.blue
    )
    with pytest.raises(ValidationError) as caught:
        row.full_clean()
    assert caught.value.message_dict["target_value"] == [
        "Cor = Azul is not a value of the ERP attribute Tamanho."
    ]


def test_suggestions_by_name_similarity(channel, catalog):
    values = [
        ReferenceValue(CATEGORY, "MLB31447", "Camisetas"),
        ReferenceValue(CATEGORY, "MLB1", "Roupas > Regatas"),
        ReferenceValue(CATEGORY, "MLB9", "Eletrônicos"),
        ReferenceValue(BRAND, "2001", "ACME TEXTIL"),
        ReferenceValue(ATTRIBUTE, "COLOR", "Cor principal"),
        ReferenceValue(ATTRIBUTE, "52049", "Azul", parent_code="COLOR"),
        ReferenceValue(ATTRIBUTE, "SIZE", "Size"),
        ReferenceValue(ATTRIBUTE, "m", "M", parent_code="SIZE"),
    ]
    proposals = {
        (p.kind, p.parent_code, p.code): p.suggestion
        for p in propose_de_para(channel=channel, values=values)
    }
    assert proposals == {
        (CATEGORY, "", "MLB31447"): catalog.shirts,
        (CATEGORY, "", "MLB1"): catalog.tanks,
        (CATEGORY, "", "MLB9"): None,
        (BRAND, "", "2001"): catalog.acme,
        (ATTRIBUTE, "COLOR", ""): catalog.color,
        (ATTRIBUTE, "COLOR", "52049"): catalog.blue,
        (ATTRIBUTE, "SIZE", ""): catalog.size,
        (ATTRIBUTE, "SIZE", "m"): catalog.m,
    }


def test_unmapped_catalog_values_map_from_their_suggestion(channel, catalog):
    unmapped_record_many(
        channel=channel,
        missing=[
            ReferenceValue(BRAND, "2001", "Acme Textil"),
            ReferenceValue(ATTRIBUTE, "52049", "Azul", parent_code="COLOR"),
        ],
    )
    entries = UnmappedValue.objects.select_related("channel")
    assert sorted(e.display_code for e in entries) == ["2001", "COLOR / 52049"]
    outcome = unmapped_apply_suggestions(entries=entries)
    assert not outcome.failed and len(outcome.created) == 2
    assert not UnmappedValue.objects.filter(resolved_at__isnull=True).exists()
    row = AttributeMapping.objects.get(channel=channel)
    assert (row.code, row.value_code, row.target_value) == ("COLOR", "52049", catalog.blue)


# --- CSV ------------------------------------------------------------------------------------


def _url(model, view):
    return reverse(f"admin:mappings_{model._meta.model_name}_{view}")


def _format_index(model, title: str = "csv") -> str:
    formats = admin.site._registry[model].get_import_formats()
    return str(next(i for i, f in enumerate(formats) if f().get_title() == title))


def _export(client, model, channel) -> str:
    resource = admin.site._registry[model].get_export_resource_classes(None)[0]
    prefix = resource.__name__.lower()
    data = {"format": _format_index(model), "resource": "0", "channel": channel.pk}
    for name in resource().get_export_order():
        data[f"{prefix}_{name}"] = "on"
    response = client.post(_url(model, "export"), data)
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def _import(client, model, channel, content: str):
    preview = client.post(
        _url(model, "import"),
        {
            "channel": channel.pk,
            "format": _format_index(model),
            "resource": "0",
            "import_file": SimpleUploadedFile("de-para.csv", content.encode(), "text/csv"),
        },
    )
    result = preview.context["result"]
    if not result.has_validation_errors() and not result.has_errors():
        form = preview.context["confirm_form"]
        client.post(_url(model, "process_import"), {**form.initial}, follow=True)
    return result


def _rows(channel, model):
    return sorted(
        (r.code, r.label, getattr(r, "value_code", ""), r.target_display())
        for r in model.objects.filter(channel=channel).select_related(*model.target_select_related)
    )


@pytest.mark.parametrize(
    "model,kind,rows,header",
    [
        (
            CategoryMapping,
            CATEGORY,
            [("MLB31447", "Camisetas", "", "shirts"), ("MLB31447", "", "", "tanks")],
            "code,label,erp_category",
        ),
        (BrandMapping, BRAND, [("ACME", "Acme", "", "acme")], "code,label,erp_brand"),
        (
            AttributeMapping,
            ATTRIBUTE,
            [("COLOR", "Cor", "", "color"), ("COLOR", "Azul", "52049", "blue")],
            "attribute_code,attribute_label,value_code,value_label,erp_attribute,erp_value",
        ),
    ],
)
def test_csv_round_trip(admin_client, channel, catalog, erp, model, kind, rows, header):
    for code, label, value_code, target in rows:
        if value_code:
            mapping_create(
                channel=channel,
                kind=kind,
                parent_code=code,
                code=value_code,
                label=label,
                target=getattr(catalog, target),
            )
        else:
            mapping_create(
                channel=channel, kind=kind, code=code, label=label, target=getattr(catalog, target)
            )
    exported = _export(admin_client, model, channel)
    assert exported.splitlines()[0].lstrip("\ufeff") == header
    copy = make_channel(erp.company, "vtex", name="Copy")
    result = _import(admin_client, model, copy, exported)
    assert not result.has_validation_errors(), [r.error_dict for r in result.invalid_rows]
    assert _rows(copy, model) == _rows(channel, model)
    again = _import(admin_client, model, copy, exported)
    assert {r.import_type for r in again.valid_rows()} == {"update"}
    assert _rows(copy, model) == _rows(channel, model)


def test_csv_import_names_unknown_erp_values(admin_client, channel, catalog):
    result = _import(
        admin_client,
        AttributeMapping,
        channel,
        "attribute_code,attribute_label,value_code,value_label,erp_attribute,erp_value\n"
        "COLOR,Cor,52049,Azul,Cor,Roxo\n",
    )
    assert result.has_validation_errors()
    errors = result.invalid_rows[0].error_dict
    assert errors["erp_attribute / erp_value"] == ["ERP attribute “Cor” has no value “Roxo”."]
    assert not AttributeMapping.objects.exists()


# --- the channel page -----------------------------------------------------------------------


def test_channel_page_shows_the_catalog_inlines(admin_client, channel, catalog):
    mapping_create(channel=channel, kind=BRAND, code="ACME", target=catalog.acme)
    response = admin_client.get(
        reverse("admin:channels_saleschannel_change", args=[channel.pk]), HTTP_ACCEPT_LANGUAGE="en"
    )
    page = response.content.decode()
    for title in (
        "De-para: category (ERP category → channel category)",
        "De-para: brand (ERP brand → channel brand)",
        "De-para: attribute and value (ERP value blank = the attribute itself)",
    ):
        assert title in page
    assert "Acme Têxtil" in page
    assert isinstance(admin.site._registry[channel.__class__], SalesChannelAdmin)


def test_company_scope_of_the_csv_channels(client, catalog):
    from django.contrib.auth.models import Permission, User

    from tests.factories import make_member

    mine = make_channel(catalog.company, "vtex", name="Mine")
    theirs = make_channel(make_company(), "vtex", name="Theirs")
    user = User.objects.create_user("u", password="pw-u-12345", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__endswith="brandmapping"))
    make_member(user, catalog.company)
    client.force_login(user)
    form = client.get(_url(BrandMapping, "import")).context["form"]
    assert list(form.fields["channel"].queryset) == [mine]
    assert theirs not in form.fields["channel"].queryset
