"""The channel screens and their errors as the Brazilian back office reads them: CRM › Canais de
venda, the group "Configuração de integração", Plataforma / Marketplace / Integrador (issue 13)."""

import pytest
from django.urls import reverse
from django.utils import translation

from channels.models import SyncSetting
from tests.admin_forms import form_data
from tests.factories import make_channel, make_company
from vendors.spec import Flow

SECRET = "VTEX-APPTOKEN-ptbr-test-9f8e7d6c5b"


@pytest.fixture
def portuguese(settings):
    """The product's default language, as a request without Accept-Language gets it."""
    settings.LANGUAGE_CODE = "pt-br"
    with translation.override(None):
        yield


def vtex_creds(**extra):
    return {"account_name": "lojaptbr", "app_key": "appkey-ptbr-1", "app_token": SECRET, **extra}


@pytest.mark.django_db
def test_the_channel_list_reads_crm_canais_de_venda_with_the_categories(admin_client, portuguese):
    make_channel(connector="vtex", name="Loja própria")
    html = admin_client.get(reverse("admin:channels_saleschannel_changelist")).content.decode()
    assert 'lang="pt-br"' in html
    assert ">CRM</a>" in html  # breadcrumb: Início › CRM › Canais de venda
    assert "Canais de venda" in html
    assert "Selecione canal de venda para modificar" in html  # Django's words, our name
    # The category column and its filter: every category, in Portuguese.
    assert "Plataforma (loja virtual própria)" in html
    assert "Marketplace" in html
    assert "Integrador (hub)" in html
    assert "Por categoria" in html and "Por ambiente" in html
    assert "Rascunho" in html  # the channel's status
    assert "Platform (own web store)" not in html and "Draft" not in html


@pytest.mark.django_db
def test_the_channel_page_groups_authentication_and_sync_settings_in_portuguese(
    admin_client, portuguese
):
    channel = make_channel(connector="vtex", credentials=vtex_creds())
    url = reverse("admin:channels_saleschannel_change", args=[channel.pk])
    html = admin_client.get(url).content.decode()
    authentication = html.index("Configuração de integração — Autenticação")
    sync_settings = html.index("Configuração de integração — Sincronização")
    # One group: the sync settings right after the authentication, then the sync status.
    assert authentication < sync_settings
    assert html.count("<h2", authentication, sync_settings) == 1  # the sync settings' own
    sync_status = html.index('id="sync-status"')
    assert sync_settings < sync_status and "<h2" not in html[sync_settings:sync_status]
    assert "Autenticação: as chaves são guardadas criptografadas" in html
    assert "guardado — deixe em branco para manter" in html
    assert "Situação" in html and "Estoque e preços enviados ao canal" in html
    assert "Estoque de segurança" in html and "Depósitos de estoque" in html
    # Choices from the vendor layer's values, labelled in Portuguese.
    assert "Produção" in html and "Homologação (sandbox)" in html
    assert "Catálogo (produtos/SKUs)" in html and "Pedidos" in html
    assert "itens por execução" in html  # the vendor limits column
    assert "Alterações de autenticação e do endereço da API" in html
    assert "Integration configuration" not in html and "Authentication:" not in html
    assert SECRET not in html


@pytest.mark.django_db
def test_sync_setting_limits_are_refused_in_portuguese_with_their_numbers(admin_client, portuguese):
    channel = make_channel(connector="anymarket")
    url = reverse("admin:channels_saleschannel_change", args=[channel.pk])
    data = form_data(admin_client.get(url).content.decode(), "saleschannel_form")
    flows = dict(SyncSetting.objects.filter(channel=channel).values_list("pk", "flow"))
    index = {flows[int(data[f"sync_settings-{i}-id"])]: i for i in range(len(Flow.values))}
    data[f"sync_settings-{index['stock']}-batch_size"] = "9000"
    data[f"sync_settings-{index['price']}-interval_minutes"] = "1"
    response = admin_client.post(url, data)
    html = response.content.decode()
    assert response.status_code == 200
    assert (
        "ANYMARKET permite no máximo 5000 itens por execução para estoque; "
        "9000 passa desse limite." in html
    )
    assert (
        "ANYMARKET permite este fluxo no máximo a cada 5 minuto(s); 1 é frequente demais." in html
    )


@pytest.mark.django_db
def test_another_companys_key_is_refused_in_portuguese(admin_client, portuguese):
    make_channel(connector="vtex", credentials=vtex_creds())
    other = make_channel(company=make_company(), connector="vtex")
    url = reverse("admin:channels_saleschannel_change", args=[other.pk])
    data = form_data(admin_client.get(url).content.decode(), "saleschannel_form")
    data["cred__vtex__app_token"] = SECRET
    response = admin_client.post(url, data)
    html = response.content.decode()
    assert response.status_code == 200
    assert "pertence ao canal de venda de outra empresa" in html
    assert SECRET not in html
