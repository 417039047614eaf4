"""The de-para screens as the Brazilian back office reads them (issue 13): CSV import errors,
the unmapped-value queue and a binding's price rule, in pt-BR by default and in English when
the browser asks for it; counts and prices with Brazilian separators."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse
from django.utils import translation

from erp.services import price_set
from mappings.models import CarrierServiceMapping, Listing, MappingKind
from mappings.selectors import Missing
from mappings.services import unmapped_record_many
from tests.factories import make_price_list, make_sku
from tests.mappings.test_import_export import CARRIER_CSV, _format_index, _url

pytestmark = pytest.mark.django_db

BAD_CSV = (
    CARRIER_CSV
    + "ECT,,99,,,Correios,SEDEX 12\n"
    + "ect ,,40215,,,Correios,PAC\n"
    + "LOG,,1,,maybe,Correios,PAC\n"
)


@pytest.fixture
def portuguese(settings):
    settings.LANGUAGE_CODE = "pt-br"
    with translation.override(None):
        yield


def upload(client, channel, content: str, **headers):
    return client.post(
        _url(CarrierServiceMapping, "import"),
        {
            "channel": channel.pk,
            "format": _format_index(CarrierServiceMapping),
            "resource": "0",
            "import_file": SimpleUploadedFile("de-para.csv", content.encode(), "text/csv"),
        },
        **headers,
    )


def test_a_csv_import_error_is_explained_in_portuguese(admin_client, channel, erp, portuguese):
    html = upload(admin_client, channel, BAD_CSV).content.decode()
    company = erp.company
    assert f"{company} não tem o serviço de transportadora “Correios / SEDEX 12” no ERP" in html
    assert "A linha 1 já mapeia este código" in html
    assert "escreva “yes” ou deixe em branco (recebido: “maybe”)" in html
    assert "has no ERP carrier service" not in html
    assert CarrierServiceMapping.objects.count() == 0

    english = upload(admin_client, channel, BAD_CSV, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "has no ERP carrier service “Correios / SEDEX 12”" in english
    assert "Line 1 already maps this code" in english


@override_settings(DE_PARA_IMPORT_MAX_ROWS=3)
def test_a_file_too_long_is_refused_with_brazilian_thousand_separators(
    admin_client, channel, erp, portuguese
):
    rows = "".join(f"C{i},,,,,Correios,PAC\n" for i in range(1200))
    html = upload(admin_client, channel, CARRIER_CSV + rows).content.decode()
    assert "O arquivo tem cerca de 1.204 linhas; no máximo 3 podem ser importadas" in html


def test_the_unmapped_queue_speaks_portuguese(admin_client, channel, portuguese):
    unmapped_record_many(
        channel=channel, missing=[Missing(MappingKind.CARRIER_SERVICE, "40215", parent_code="ECT")]
    )
    html = admin_client.get(reverse("admin:mappings_unmappedvalue_changelist")).content.decode()
    for text in ("Valor no canal", "Transportadora e serviço", "em aberto", "Mapear…"):
        assert text in html, text
    assert "Criar de-para a partir da sugestão" in html  # the action


def test_a_binding_shows_its_item_price_in_reais(admin_client, channel, erp, portuguese):
    channel.price_list = make_price_list(erp.company)
    channel.save()
    blue, red = make_sku(erp.company, "CAM-AZ"), make_sku(erp.company, "CAM-VM")
    listing = Listing.objects.create(
        channel=channel, sku=blue, external_item_id="MLB7", external_variation_id="1"
    )
    Listing.objects.create(
        channel=channel, sku=red, external_item_id="MLB7", external_variation_id="2"
    )
    price_set(price_list=channel.price_list, sku=blue, amount=Decimal("50.00"))
    price_set(price_list=channel.price_list, sku=red, amount=Decimal("1280.50"))
    url = reverse("admin:mappings_listing_change", args=[listing.pk])
    html = admin_client.get(url).content.decode()
    assert "Preço do anúncio" in html
    assert "R$ 1.280,50 é enviado para todos" in html
    assert "CAM-AZ R$ 50,00, CAM-VM R$ 1.280,50" in html
    assert "Vínculo de produto (anúncio)" in html or "vínculo de produto (anúncio)" in html

    english = admin_client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "CAM-AZ R$ 50.00, CAM-VM R$ 1,280.50" in english


@pytest.mark.django_db
def test_a_csv_exported_in_portuguese_has_portuguese_headers_and_imports_in_any_language(erp):
    import tablib
    from django.utils import translation

    from mappings.models import CarrierServiceMapping
    from mappings.resources import CarrierServiceMappingResource
    from mappings.services import mapping_create
    from tests.factories import make_channel

    channel = make_channel(company=erp.company)
    mapping_create(
        channel=channel,
        kind="carrier_service",
        parent_code="ECT",
        code="40215",
        target=erp.sedex10,
    )
    mapping_create(channel=channel, kind="carrier_service", is_fallback=True, target=erp.pac)
    with translation.override("pt-br"):
        exported = CarrierServiceMappingResource(channel=channel).export().csv
    header = exported.splitlines()[0]
    assert "Código da transportadora" in header and "Serviço no ERP" in header
    assert "carrier_code" not in header
    assert ",sim," in exported or exported.rstrip().endswith(",sim") or ",sim\r" in exported

    # The Portuguese file imports for an English user: same rows, updated in place.
    CarrierServiceMapping.objects.filter(channel=channel, is_fallback=False).update(label="old")
    with translation.override("en"):
        result = CarrierServiceMappingResource(channel=channel).import_data(
            tablib.Dataset().load(exported, format="csv"), dry_run=False
        )
    assert not result.has_errors() and not result.has_validation_errors()
    assert CarrierServiceMapping.objects.filter(channel=channel).count() == 2
    # An error names the column the user's file has, in the user's language.
    broken = exported.replace("SEDEX 10", "SEDEX 99")
    with translation.override("pt-br"):
        result = CarrierServiceMappingResource(channel=channel).import_data(
            tablib.Dataset().load(broken, format="csv"), dry_run=True
        )
    (row,) = result.invalid_rows
    assert list(row.error_dict) == ["Transportadora no ERP / Serviço no ERP"]
    assert "SEDEX 99" in str(row.error_dict["Transportadora no ERP / Serviço no ERP"])
