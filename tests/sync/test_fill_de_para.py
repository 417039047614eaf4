"""“Fill de-para…” on the channel page: the vendor's values proposed as de-para rows with the
suggested ERP value preselected, created in one POST; company-scoped and permission-checked."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User
from django.contrib.messages import get_messages
from django.urls import reverse

from channels.services import channel_set_credentials
from erp.models import OrderStatus, PaymentMethod
from mappings.models import (
    CarrierServiceMapping,
    MappingKind,
    OrderStatusMapping,
    PaymentMethodMapping,
)
from mappings.services import mapping_create
from tests.factories import (
    make_carrier_service,
    make_channel,
    make_company,
    make_member,
    make_payment_method,
)
from tests.sync.activation.builders import FAST

# What the Mercado Livre emulator lists (sandbox/mercadolivre/routes.py): 9 statuses (with
# "invalid", which the vendor documents), the site's 5 payment methods and 5 shipping methods.
ML_VALUES = 19


def page(channel) -> str:
    return reverse("admin:channels_saleschannel_fill_de_para", args=[channel.pk])


def change_page(channel) -> str:
    return reverse("admin:channels_saleschannel_change", args=[channel.pk])


def staff(username: str, *codenames: str, companies=()) -> User:
    user = User.objects.create_user(username, password=f"pw-{username}-1", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    make_member(user, *companies)
    return user


ALL_PERMS = (
    "view_saleschannel",
    "change_saleschannel",
    "add_carrierservicemapping",
    "add_paymentmethodmapping",
    "add_orderstatusmapping",
    "add_stocklocationmapping",
)


@pytest.fixture
def ml(emulator):
    return emulator("mercadolivre", **FAST)


@pytest.fixture
def shop(db, ml):
    company = make_company(legal_name="Loja Azul Ltda")
    erp = {
        "sedex10": make_carrier_service(company, "Correios", "SEDEX 10"),
        "pac": make_carrier_service(company, "Correios", "PAC"),
        "sedex": make_carrier_service(company, "Correios", "SEDEX"),
        "pix": make_payment_method(company, "Pix", PaymentMethod.Kind.PIX),
        "credit": make_payment_method(company, "Cartão de crédito", "credit_card"),
    }
    channel = make_channel(
        company,
        connector="mercadolivre",
        credentials=type(ml).demo_credentials(),
        api_base_url=ml.url,
        environment="sandbox",
    )
    return channel, erp


def post_data(formset, ticks: dict[int, str]) -> dict:
    """The form as a browser sends it, with only the rows in `ticks` ticked (index -> ERP
    value key)."""
    data = {
        formset.management_form.add_prefix(name): formset.management_form[name].value()
        for name in ("TOTAL_FORMS", "INITIAL_FORMS", "MIN_NUM_FORMS", "MAX_NUM_FORMS")
    }
    for index, form in enumerate(formset.forms):
        for name in ("kind", "code", "label", "parent_code", "parent_label"):
            data[form.add_prefix(name)] = form[name].value() or ""
        data[form.add_prefix("suggested")] = str(form["suggested"].value())
        data[form.add_prefix("covered_by_fallback")] = "False"
        data[form.add_prefix("target")] = form["target"].value() or ""
        if index in ticks:
            data[form.add_prefix("apply")] = "on"
            data[form.add_prefix("target")] = ticks[index]
    return data


def rows_by_value(formset) -> dict[str, tuple[int, object]]:
    return {form.channel_value: (index, form) for index, form in enumerate(formset.forms)}


@pytest.mark.django_db(transaction=True)
def test_the_page_proposes_the_missing_rows_with_the_suggestions_preselected(client, shop):
    channel, erp = shop
    mapping_create(
        channel=channel, kind=MappingKind.PAYMENT_METHOD, code="pix", target=erp["pix"]
    )  # mapped already: not proposed again
    client.force_login(staff("backoffice", *ALL_PERMS, companies=[channel.company]))

    tools = client.get(change_page(channel)).content.decode()
    assert page(channel) in tools and "Fill de-para from Mercado Livre…" in tools

    response = client.get(page(channel))
    assert response.status_code == 200
    formset = response.context["formset"]
    rows = rows_by_value(formset)
    assert len(rows) == ML_VALUES - 1 and "pix (Pix)" not in rows
    assert [form["kind"].value() for form in formset.forms] == sorted(
        (form["kind"].value() for form in formset.forms), key=list(MappingKind.values).index
    )  # grouped by kind
    _index, sedex10 = rows["Correios / 510345 (SEDEX 10)"]
    assert sedex10["target"].value() == str(erp["sedex10"].pk) and sedex10["apply"].value()
    _index, visa = rows["visa (Visa)"]
    assert visa["target"].value() == str(erp["credit"].pk) and visa["apply"].value()
    _index, paid = rows["paid (Paid)"]
    assert paid["target"].value() == OrderStatus.PAID and paid["apply"].value()
    # No ERP value looks like these: shown unticked, with nothing preselected.
    for value in ("Jadlog / 511645 (Expresso)", "account_money (Dinheiro na conta)"):
        _index, form = rows[value]
        assert not form["target"].value() and not form["apply"].value(), value
    html = response.content.decode()
    assert "No suggestion: pick the ERP value." in html
    assert f'<option value="{erp["sedex10"].pk}" selected>Correios / SEDEX 10</option>' in html


@pytest.mark.django_db(transaction=True)
def test_the_post_creates_only_the_ticked_rows_through_the_service(client, shop):
    channel, erp = shop
    client.force_login(staff("backoffice", *ALL_PERMS, companies=[channel.company]))
    formset = client.get(page(channel)).context["formset"]
    rows = rows_by_value(formset)
    ticks = {
        rows["Correios / 510345 (SEDEX 10)"][0]: str(erp["sedex10"].pk),  # the suggestion
        rows["Jadlog / 511645 (Expresso)"][0]: str(erp["pac"].pk),  # picked by hand
        rows["paid (Paid)"][0]: OrderStatus.INVOICED,  # the suggestion, changed
    }

    response = client.post(page(channel), post_data(formset, ticks))

    assert response.status_code == 302 and response.url == change_page(channel)
    carriers = CarrierServiceMapping.objects.filter(channel=channel).order_by("code_key")
    assert [(m.code, m.service_code, m.service_label, m.target) for m in carriers] == [
        ("Correios", "510345", "SEDEX 10", erp["sedex10"]),
        ("Jadlog", "511645", "Expresso", erp["pac"]),
    ]
    assert [(m.code, m.target) for m in OrderStatusMapping.objects.filter(channel=channel)] == [
        ("paid", OrderStatus.INVOICED)
    ]
    assert not PaymentMethodMapping.objects.exists()
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "De-para rows created from Mercado Livre's values: 3."
    ]
    assert LogEntry.objects.get(object_id=str(channel.pk)).get_change_message() == (
        "Filled the de-para from the vendor's values (rows created: 3)."
    )
    # Those rows are no longer proposed.
    assert len(client.get(page(channel)).context["formset"].forms) == ML_VALUES - 3


@pytest.mark.django_db(transaction=True)
def test_a_ticked_row_without_an_erp_value_or_with_another_companys_is_refused(client, shop):
    channel, erp = shop
    theirs = make_carrier_service(make_company(legal_name="Outra Ltda"), "Correios", "PAC")
    client.force_login(staff("backoffice", *ALL_PERMS, companies=[channel.company]))
    formset = client.get(page(channel)).context["formset"]
    rows = rows_by_value(formset)
    jadlog = rows["Jadlog / 511645 (Expresso)"][0]
    sedex10 = rows["Correios / 510345 (SEDEX 10)"][0]

    response = client.post(page(channel), post_data(formset, {jadlog: "", sedex10: str(theirs.pk)}))

    assert response.status_code == 200
    errors = response.context["formset"].errors
    assert errors[jadlog] == {"target": ["Choose the ERP value, or untick the row."]}
    assert "Select a valid choice" in errors[sedex10]["target"][0]
    assert not CarrierServiceMapping.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_another_companys_user_gets_404(client, shop):
    channel, _erp = shop
    other = make_company(legal_name="Outra Empresa Ltda")
    client.force_login(staff("other", *ALL_PERMS, companies=[other]))
    assert client.get(page(channel)).status_code == 404
    assert client.post(page(channel), {"form-TOTAL_FORMS": "0"}).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_a_user_without_change_permission_gets_403_and_no_button(client, shop):
    channel, _erp = shop
    viewer = staff(
        "viewer",
        "view_saleschannel",
        "add_carrierservicemapping",
        "add_paymentmethodmapping",
        "add_orderstatusmapping",
        "add_stocklocationmapping",
        companies=[channel.company],
    )
    client.force_login(viewer)
    assert client.get(page(channel)).status_code == 403
    assert client.post(page(channel), {"form-TOTAL_FORMS": "0"}).status_code == 403
    assert page(channel) not in client.get(change_page(channel)).content.decode()
    # Allowed to change the channel but to add no de-para row: 403 too.
    client.force_login(
        staff("no-de-para", "view_saleschannel", "change_saleschannel", companies=[channel.company])
    )
    assert client.get(page(channel)).status_code == 403


@pytest.mark.django_db(transaction=True)
def test_rows_of_kinds_the_user_may_not_add_are_neither_shown_nor_created(client, shop):
    channel, erp = shop
    client.force_login(
        staff(
            "statuses",
            "view_saleschannel",
            "change_saleschannel",
            "add_orderstatusmapping",
            companies=[channel.company],
        )
    )
    formset = client.get(page(channel)).context["formset"]
    assert {form["kind"].value() for form in formset.forms} == {MappingKind.ORDER_STATUS}
    # A forged row of another kind is refused.
    data = post_data(formset, {0: OrderStatus.PAID})
    data.update(
        {
            "form-TOTAL_FORMS": str(len(formset.forms) + 1),
            f"form-{len(formset.forms)}-kind": MappingKind.PAYMENT_METHOD,
            f"form-{len(formset.forms)}-code": "pix",
            f"form-{len(formset.forms)}-target": str(erp["pix"].pk),
            f"form-{len(formset.forms)}-apply": "on",
        }
    )
    response = client.post(page(channel), data)
    assert response.status_code == 200
    assert not OrderStatusMapping.objects.exists() and not PaymentMethodMapping.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_vendor_error_is_shown_and_nothing_changes(client, shop):
    channel, _erp = shop
    channel_set_credentials(channel=channel, values={"refresh_token": "TG-not-this-one"})
    client.force_login(staff("backoffice", *ALL_PERMS, companies=[channel.company]))

    response = client.get(page(channel))

    assert response.status_code == 200
    html = response.content.decode()
    assert (
        "Could not read Mercado Livre&#x27;s values: Mercado Livre: the refresh token was "
        "refused; re-authorize the seller" in html
    )
    assert "TG-not-this-one" not in html
    assert "formset" not in response.context
    assert not CarrierServiceMapping.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_page_speaks_portuguese_by_default_and_english_on_request(client, shop, settings):
    from django.utils import translation

    channel, _erp = shop
    client.force_login(staff("backoffice", *ALL_PERMS, companies=[channel.company]))
    settings.LANGUAGE_CODE = "pt-br"
    with translation.override(None):
        tools = client.get(change_page(channel)).content.decode()
        html = client.get(page(channel)).content.decode()
        english = client.get(page(channel), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Preencher de-para a partir de Mercado Livre…" in tools
    assert "De-para: transportadora e serviço" in tools
    for text in (
        "Preencher o de-para de “",
        "Valor em Mercado Livre",
        "Valor no ERP",
        "Criar as linhas marcadas",
        "Sugerido",
        "Transportadora e serviço",  # the kind of each group of rows
        "Forma de pagamento",
        "Situação do pedido",
    ):
        assert text in html, text
    assert "Create the ticked rows" not in html
    assert "Create the ticked rows" in english and "Fill the de-para of “" in english
