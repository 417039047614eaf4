"""The ERP records and their errors as the Brazilian back office reads them (issue 13)."""

import pytest
from django.urls import reverse
from django.utils import translation

from erp.services import stock_set
from tests.admin_forms import form_data
from tests.factories import make_company, make_sku, make_warehouse


@pytest.fixture
def portuguese(settings):
    """The product's default language, as a request without Accept-Language gets it."""
    settings.LANGUAGE_CODE = "pt-br"
    with translation.override(None):
        yield


@pytest.mark.django_db
def test_the_admin_index_shows_the_crm_and_erp_menus(admin_client, portuguese):
    html = admin_client.get(reverse("admin:index")).content.decode()
    assert ">CRM</a>" in html and "Canais de venda" in html
    assert "Cadastros do ERP" in html
    assert "Saldos de estoque" in html and "Formas de pagamento" in html


@pytest.mark.django_db
def test_a_bad_cnpj_is_refused_in_portuguese(admin_client, portuguese):
    url = reverse("admin:erp_company_add")
    data = form_data(admin_client.get(url).content.decode(), "company_form")
    data.update({"legal_name": "Loja Teste Ltda", "cnpj": "11.222.333/0001-00"})
    response = admin_client.post(url, data)
    html = response.content.decode()
    assert response.status_code == 200
    assert "O CNPJ 11222333000100 não é válido: os dígitos verificadores não conferem." in html
    data["cnpj"] = "11.222.333/0001"
    html = admin_client.post(url, data).content.decode()
    assert "Um CNPJ tem 14 dígitos; este tem 12." in html


@pytest.mark.django_db
def test_stock_balances_read_saldo_fisico_reservado_disponivel(admin_client, portuguese):
    company = make_company()
    stock_set(sku=make_sku(company, code="A1"), warehouse=make_warehouse(company), on_hand=3)
    html = admin_client.get(reverse("admin:erp_stockbalance_changelist")).content.decode()
    for header in ("Saldo físico", "Reservado", "Disponível", "Depósito"):
        assert header in html


@pytest.mark.django_db
def test_the_order_page_shows_the_delivery_address_and_a_channel_cancellation(
    admin_client, portuguese
):
    from django.utils import timezone

    from erp.models import Order

    order = Order.objects.create(
        company=make_company(),
        external_id="V-1",
        customer_name="Ana Souza",
        delivery_recipient="Ana Souza",
        delivery_street="Avenida Paulista",
        delivery_number="1000",
        delivery_district="Bela Vista",
        delivery_city="São Paulo",
        delivery_state="SP",
        delivery_postal_code="01310100",
        channel_canceled_at=timezone.now(),
    )
    html = admin_client.get(reverse("admin:erp_order_change", args=[order.pk])).content.decode()
    assert "Endereço de entrega" in html and "Bairro" in html
    assert "01310-100" in html and "Avenida Paulista" in html
    assert "Cancele a NF-e" in html
    listing = admin_client.get(
        reverse("admin:erp_order_changelist") + "?channel_canceled_at__isnull=False"
    ).content.decode()
    assert "V-1" in listing
