"""Users see only their companies' data, across every admin URL.

Two companies, each with the whole chain (ERP records, a channel, de-para rows, bindings,
orders, held orders, unmapped values, runs, activation records) and a staff user with every
permission who is a member of it; plus a Support-group user and a superuser, who see both.
The admin URLs are generated from `admin.site._registry`: a newly registered model is either
company-scoped (and must then get a row per company in `World`) or closed to company users.
"""

from __future__ import annotations

import json

import pytest
from django import forms
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.filters import RelatedFieldListFilter
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import LogEntry
from django.contrib.admin.utils import get_fields_from_path
from django.contrib.auth.models import AnonymousUser, Group, Permission, User
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_q.models import OrmQ

from channels.models import ActivationRecord, ChannelStatus, SalesChannel
from erp.admin_scoping import AllCompaniesOnlyAdminMixin, CompanyScopedAdminMixin
from erp.models import (
    Attribute,
    AttributeValue,
    Brand,
    Carrier,
    CarrierService,
    Category,
    Company,
    CompanyMembership,
    Order,
    OrderItem,
    OrderStatus,
    PaymentMethod,
    Price,
    PriceList,
    Product,
    Sku,
    StockBalance,
    Warehouse,
)
from erp.selectors import visible_company_ids
from mappings.models import (
    MAPPING_MODELS,
    AttributeMapping,
    BrandMapping,
    CarrierServiceMapping,
    CategoryMapping,
    Listing,
    MappingImport,
    MappingKind,
    OrderStatusMapping,
    PaymentMethodMapping,
    StockLocationMapping,
    UnmappedValue,
)
from mappings.selectors import Missing
from mappings.services import unmapped_record_many
from sync.models import (
    CatalogPublication,
    FulfilmentEvent,
    HeldOrder,
    PendingChange,
    QuarantinedOrder,
    SyncRun,
)
from tests.admin_forms import form_data
from tests.factories import (
    make_carrier_service,
    make_channel,
    make_company,
    make_member,
    make_payment_method,
    make_price_list,
    make_sku,
    make_warehouse,
)

pytestmark = pytest.mark.django_db

ALFA, BETA = "ALFAQX", "BETAQX"  # in every name of a company's rows; never elsewhere


class CompanyData:
    """One company's rows, by model, with MARKER in every text the admin shows."""

    def __init__(self, marker: str, account: str):
        self.marker = marker
        m = marker
        self.company = make_company(legal_name=f"{m} Comércio Ltda", trade_name=f"{m} Loja")
        self.warehouse = make_warehouse(self.company, f"{m}-CD", name=f"{m} Centro")
        self.product = Product.objects.create(company=self.company, name=f"{m} Produto")
        self.sku = make_sku(self.company, f"{m}-SKU", product=self.product, name=f"{m} Azul")
        self.brand = Brand.objects.create(company=self.company, name=f"{m} Marca")
        self.category = Category.objects.create(company=self.company, name=f"{m} Roupas")
        self.attribute = Attribute.objects.create(company=self.company, name=f"{m} Cor")
        self.attribute_value = AttributeValue.objects.create(
            attribute=self.attribute, value=f"{m} Azul"
        )
        self.balance = StockBalance.objects.create(
            sku=self.sku, warehouse=self.warehouse, on_hand=5
        )
        self.price_list = make_price_list(self.company, f"{m} Varejo")
        self.price = Price.objects.create(price_list=self.price_list, sku=self.sku, amount=10)
        self.service = make_carrier_service(self.company, f"{m} Correios", f"{m} SEDEX")
        self.carrier = self.service.carrier
        self.payment = make_payment_method(self.company, f"{m} Pix")
        self.channel = make_channel(self.company, "vtex", name=f"{m} Canal")
        self.channel.price_list = self.price_list
        self.channel.save(update_fields=["price_list"])
        self.channel.warehouses.add(self.warehouse)
        # Active without the activation (no vendor here): the health page lists it.
        SalesChannel.objects.filter(pk=self.channel.pk).update(
            status=ChannelStatus.ACTIVE, external_account_id=account
        )
        self.channel.refresh_from_db()
        c = self.channel
        self.carrier_mapping = CarrierServiceMapping.objects.create(
            channel=c, code=f"{m}-ECT", label=f"{m} ECT", service_code="40215", target=self.service
        )
        self.payment_mapping = PaymentMethodMapping.objects.create(
            channel=c, code=f"{m}-visa", label=f"{m} Visa", target=self.payment
        )
        self.status_mapping = OrderStatusMapping.objects.create(
            channel=c, code=f"{m}-paid", label=f"{m} Pago", target=OrderStatus.PAID
        )
        self.location_mapping = StockLocationMapping.objects.create(
            channel=c, code=f"{m}-loc", label=f"{m} Local", target=self.warehouse
        )
        self.category_mapping = CategoryMapping.objects.create(
            channel=c, code=f"{m}-MLB1", label=f"{m} Camisetas", target=self.category
        )
        self.brand_mapping = BrandMapping.objects.create(
            channel=c, code=f"{m}-ACME", label=f"{m} Acme", target=self.brand
        )
        self.attribute_mapping = AttributeMapping.objects.create(
            channel=c,
            code=f"{m}-COLOR",
            label=f"{m} Cor",
            value_code="52049",
            value_label=f"{m} Azul",
            target=self.attribute,
            target_value=self.attribute_value,
        )
        unmapped_record_many(
            channel=c, missing=[Missing(MappingKind.PAYMENT_METHOD, f"{m}-boleto", label=m)]
        )
        self.unmapped = UnmappedValue.objects.get(channel=c)
        self.listing = Listing.objects.create(
            channel=c, sku=self.sku, external_sku_id=f"{m}-1001", seller_sku=f"{m}-SKU"
        )
        self.order = Order.objects.create(
            company=self.company,
            channel=c,
            external_id=f"{m}-ORD-1",
            customer_name=f"{m} Cliente",
            carrier_service=self.service,
            payment_method=self.payment,
        )
        OrderItem.objects.create(
            order=self.order,
            sku=self.sku,
            quantity=1,
            unit_price=10,
            reserved_warehouse=self.warehouse,
        )
        self.held = HeldOrder.objects.create(
            channel=c,
            external_id=f"{m}-HELD-1",
            payload={"external_id": f"{m}-HELD-1"},
            missing=[{"kind": "payment_method", "code": f"{m}-boleto", "label": m}],
        )
        self.quarantined = QuarantinedOrder.objects.create(
            channel=c,
            external_id=f"{m}-BAD-1",
            payload={"id": f"{m}-BAD-1"},
            reason=f"{m} order: total is missing",
        )
        self.run = SyncRun.objects.create(channel=c, flow="stock", error=f"{m} vendor said 503")
        self.fulfilment_event = FulfilmentEvent.objects.create(
            channel=c,
            order=self.order,
            kind="cancel",
            sequence=1,
            payload={"reason": f"{m} reason"},
            state="refused",
            last_error=f"{m} refused by the channel",
        )
        self.publication = CatalogPublication.objects.create(
            channel=c,
            product=self.product,
            state="refused",
            message=f"{m} refused by the channel",
            updated_at=timezone.now(),
        )
        self.mapping_import = MappingImport.objects.create(
            channel=c,
            kind=MappingKind.PAYMENT_METHOD,
            file_name=f"{m}-de-para.csv",
            file_format="csv",
            content=b"code,erp_payment_method\n",
            message=f"{m} imported",
        )
        self.activation = ActivationRecord.objects.create(
            channel=c, action="activate", account_id=account, confirmation=f"{m} none"
        )
        # Every company-scoped admin's model → this company's rows of it.
        self.by_model = {
            Company: [self.company],
            Warehouse: [self.warehouse],
            Product: [self.product],
            Sku: [self.sku],
            Brand: [self.brand],
            Category: [self.category],
            Attribute: [self.attribute],
            AttributeValue: [self.attribute_value],
            StockBalance: [self.balance],
            PriceList: [self.price_list],
            Price: [self.price],
            Carrier: [self.carrier],
            CarrierService: [self.service],
            PaymentMethod: [self.payment],
            Order: [self.order],
            SalesChannel: [self.channel],
            CarrierServiceMapping: [self.carrier_mapping],
            PaymentMethodMapping: [self.payment_mapping],
            OrderStatusMapping: [self.status_mapping],
            StockLocationMapping: [self.location_mapping],
            CategoryMapping: [self.category_mapping],
            BrandMapping: [self.brand_mapping],
            AttributeMapping: [self.attribute_mapping],
            UnmappedValue: [self.unmapped],
            Listing: [self.listing],
            ActivationRecord: [self.activation],
            SyncRun: [self.run],
            HeldOrder: [self.held],
            QuarantinedOrder: [self.quarantined],
            FulfilmentEvent: [self.fulfilment_event],
            CatalogPublication: [self.publication],
            MappingImport: [self.mapping_import],
        }

    def pks(self, model) -> set[int]:
        return {obj.pk for obj in self.by_model.get(model, [])}


class World:
    def __init__(self):
        self.a = CompanyData(ALFA, "acct-alfa")
        self.b = CompanyData(BETA, "acct-beta")
        everything = Permission.objects.all()  # auth and django-q2 included: scope, not perms
        self.user_a = User.objects.create_user("user-a", password="pw-user-a-1", is_staff=True)
        self.user_a.user_permissions.set(everything)
        make_member(self.user_a, self.a.company)
        self.user_b = User.objects.create_user("user-b", password="pw-user-b-1", is_staff=True)
        self.user_b.user_permissions.set(everything)
        make_member(self.user_b, self.b.company)
        self.support = User.objects.create_user("support", password="pw-support-1", is_staff=True)
        self.support.groups.add(Group.objects.get(name="Support"))
        self.superuser = User.objects.create_superuser("root", password="pw-root-1")

    def mine_and_theirs(self, user) -> tuple[CompanyData, CompanyData]:
        return (self.a, self.b) if user == self.user_a else (self.b, self.a)


@pytest.fixture
def world(db) -> World:
    return World()


@pytest.fixture(params=["user_a", "user_b"])
def company_user(request, world):
    """Each company's user in turn: (user, own data, the other company's data)."""
    user = getattr(world, request.param)
    return (user, *world.mine_and_theirs(user))


def login(client, user):
    client.force_login(user)
    return client


def scoped_admins() -> list[tuple[type, admin.ModelAdmin]]:
    return [
        (model, model_admin)
        for model, model_admin in admin.site._registry.items()
        if isinstance(model_admin, CompanyScopedAdminMixin)
    ]


def closed_admins() -> list[tuple[type, admin.ModelAdmin]]:
    return [
        (model, model_admin)
        for model, model_admin in admin.site._registry.items()
        if isinstance(model_admin, AllCompaniesOnlyAdminMixin)
    ]


def url(model, view: str, *args) -> str:
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


# --- the registry is covered --------------------------------------------------------------------


def test_every_registered_admin_is_company_scoped_or_closed_to_company_users(world):
    unscoped = [
        model._meta.label
        for model, model_admin in admin.site._registry.items()
        if not isinstance(model_admin, (CompanyScopedAdminMixin, AllCompaniesOnlyAdminMixin))
    ]
    assert unscoped == []
    without_rows = [
        model._meta.label for model, _admin in scoped_admins() if not world.a.pks(model)
    ]
    assert without_rows == [], "add a row per company to CompanyData for these models"
    # Company data must not be hidden by accident behind the all-companies-only gate.
    closed = {model._meta.app_label for model, _admin in closed_admins()}
    assert closed.isdisjoint({"erp", "channels", "mappings", "sync"})


# --- changelists, change/delete/history pages ---------------------------------------------------


def test_every_changelist_lists_only_the_users_companies_rows(client, company_user):
    user, mine, theirs = company_user
    login(client, user)
    for model, _model_admin in scoped_admins():
        response = client.get(url(model, "changelist"))
        assert response.status_code == 200, model._meta.label
        listed = {obj.pk for obj in response.context["cl"].result_list}
        assert listed == mine.pks(model), model._meta.label
        assert theirs.marker not in response.content.decode(), model._meta.label


def test_support_and_superusers_see_every_company(client, world):
    for who in (world.support, world.superuser):
        login(client, who)
        for model, _model_admin in scoped_admins():
            response = client.get(url(model, "changelist"))
            if response.status_code == 403:  # Support has view permissions on part only
                assert who == world.support, model._meta.label
                continue
            listed = {obj.pk for obj in response.context["cl"].result_list}
            assert listed == world.a.pks(model) | world.b.pks(model), model._meta.label


def test_another_companys_objects_are_404_on_change_delete_and_history(client, company_user):
    user, mine, theirs = company_user
    login(client, user)
    for model, _model_admin in scoped_admins():
        (own,) = mine.by_model[model]
        (other,) = theirs.by_model[model]
        assert client.get(url(model, "change", own.pk)).status_code == 200, model._meta.label
        for view in ("change", "delete", "history"):
            assert client.get(url(model, view, other.pk)).status_code == 404, (model, view)
        assert client.post(url(model, "change", other.pk), {}).status_code == 404, model
        assert client.post(url(model, "delete", other.pk), {"post": "yes"}).status_code == 404
        assert model._default_manager.filter(pk=other.pk).exists()


def test_a_missing_id_is_the_same_404_as_another_companys(client, world):
    login(client, world.user_a)
    assert client.get(url(SalesChannel, "change", 999_999)).status_code == 404


def test_admins_of_records_with_no_company_are_closed_to_company_users(client, world):
    login(client, world.user_a)
    index = client.get(reverse("admin:index"))
    listed = {m["object_name"] for app in index.context["app_list"] for m in app["models"]}
    for model, model_admin in closed_admins():
        assert model._meta.object_name not in listed, model._meta.label
        assert client.get(url(model, "changelist")).status_code == 403, model._meta.label
        if model_admin.has_add_permission(_request(world.superuser)):
            assert client.get(url(model, "add")).status_code == 403, model._meta.label
    assert client.get(url(User, "change", world.user_b.pk)).status_code == 403
    assert client.get(url(User, "password_change", world.user_b.pk)).status_code == 403
    login(client, world.superuser)
    for model, _model_admin in closed_admins():
        assert client.get(url(model, "changelist")).status_code == 200, model._meta.label


def _request(user):
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = user
    return request


# --- choices: forms, list filters, autocomplete -------------------------------------------------


def _choice_fields(response):
    """(where, field) for every model choice field of the page's form and inline forms,
    except the hidden row-id field of inline forms (it names the row being edited)."""
    fields = []
    adminform = response.context.get("adminform")
    if adminform is not None:
        fields += [("form", name, f) for name, f in adminform.form.fields.items()]
    for inline in response.context.get("inline_admin_formsets") or []:
        formset = inline.formset
        pk_name = formset.model._meta.pk.name
        for form in [*formset.forms, formset.empty_form]:
            fields += [
                (formset.prefix, name, f)
                for name, f in form.fields.items()
                if name != pk_name and name != getattr(formset.fk, "name", None)
            ]
    return [item for item in fields if isinstance(item[2], forms.ModelChoiceField)]


def test_add_and_change_pages_offer_only_the_users_companies_choices(client, company_user):
    user, mine, theirs = company_user
    login(client, user)
    checked = set()
    for model, _model_admin in scoped_admins():
        (own,) = mine.by_model[model]
        for page in (url(model, "add"), url(model, "change", own.pk)):
            response = client.get(page)
            if response.status_code == 403:  # no add page (orders, logs, queues)
                continue
            assert response.status_code == 200, page
            assert theirs.marker not in response.content.decode(), page
            for where, name, field in _choice_fields(response):
                target = field.queryset.model
                offered = set(field.queryset.values_list("pk", flat=True))
                assert not offered & theirs.pks(target), (page, where, name)
                if mine.pks(target):
                    assert offered & mine.pks(target), (page, where, name)
                checked.add(f"{model._meta.model_name}.{name}")
    # The choices that matter were on the pages walked.
    assert {
        "saleschannel.company",
        "saleschannel.price_list",
        "saleschannel.warehouses",
        "warehouse.company",
        "sku.product",
        "stockbalance.sku",
        "stockbalance.warehouse",
        "price.price_list",
        "price.sku",
        "carrierservice.carrier",
        "listing.channel",
        "listing.sku",
        "carrierservicemapping.target",
        "paymentmethodmapping.channel",
        "stocklocationmapping.target",
    } <= checked


def test_forms_refuse_another_companys_objects(client, company_user):
    """Every model choice of every add form rejects the other company's object, and posting
    one creates nothing."""
    user, _mine, theirs = company_user
    login(client, user)
    refused = 0
    for model, _model_admin in scoped_admins():
        response = client.get(url(model, "add"))
        if response.status_code != 200:
            continue
        for _where, _name, field in _choice_fields(response):
            for other in theirs.pks(field.queryset.model):
                value = [str(other)] if isinstance(field, forms.ModelMultipleChoiceField) else other
                with pytest.raises(ValidationError):
                    field.clean(value)
                refused += 1
    assert refused >= 15

    before = Warehouse.objects.count(), SalesChannel.objects.count(), Listing.objects.count()
    response = client.post(
        url(Warehouse, "add"), {"company": theirs.company.pk, "code": "X", "name": "X"}
    )
    assert response.status_code == 200 and "company" in response.context["adminform"].form.errors
    page = client.get(url(SalesChannel, "add")).content.decode()
    data = form_data(page, "saleschannel_form")
    data.update(name="Smuggled", connector="vtex", company=theirs.company.pk)
    response = client.post(url(SalesChannel, "add"), data)
    assert response.status_code == 200 and "company" in response.context["adminform"].form.errors
    response = client.post(
        url(Listing, "add"),
        {"channel": theirs.channel.pk, "sku": theirs.sku.pk, "external_sku_id": "SMUGGLED"},
    )
    errors = response.context["adminform"].form.errors
    assert response.status_code == 200 and {"channel", "sku"} <= set(errors)
    after = Warehouse.objects.count(), SalesChannel.objects.count(), Listing.objects.count()
    assert after == before


def _related_filters(model, model_admin, request):
    """Every related-field list filter of the admin, built as the changelist builds it
    (the changelist hides a filter with a single choice, so its page alone proves little)."""
    for item in model_admin.get_list_filter(request):
        path, filter_class = item if isinstance(item, tuple) else (item, None)
        if not isinstance(path, str):
            continue
        field = get_fields_from_path(model, path)[-1]
        if not field.is_relation:
            continue
        filter_class = filter_class or admin.RelatedFieldListFilter
        yield filter_class(field, request, {}, model, model_admin, field_path=path)


def test_list_filters_offer_only_the_users_companies_objects(client, company_user, world):
    user, mine, theirs = company_user
    login(client, user)
    related_filters = 0
    for model, model_admin in scoped_admins():
        response = client.get(url(model, "changelist"))
        cl = response.context["cl"]
        for spec in cl.filter_specs:  # the filters the page shows
            for choice in spec.choices(cl):
                assert theirs.marker not in str(choice["display"]), (model, spec.title)
        for spec in _related_filters(model, model_admin, _request(user)):
            assert isinstance(spec, RelatedFieldListFilter)
            offered = {pk for pk, _label in spec.lookup_choices}
            target = spec.field.related_model
            where = (model._meta.label, spec.field_path)
            assert not offered & theirs.pks(target), where
            assert offered & mine.pks(target), where
            # The same filter lists both companies' objects for a superuser.
            (everything,) = [
                s
                for s in _related_filters(model, model_admin, _request(world.superuser))
                if s.field_path == spec.field_path
            ]
            assert {pk for pk, _label in everything.lookup_choices} >= theirs.pks(target), where
            related_filters += 1
    assert related_filters >= 20  # channel / company / warehouse / price list / carrier filters


def _autocomplete_sources():
    """(source model, field) for every relation of every installed model to a registered
    admin's model: the autocomplete view accepts any of them, not only autocomplete_fields."""
    for model in apps.get_models():
        for field in model._meta.get_fields():
            remote = getattr(getattr(field, "remote_field", None), "model", None)
            # Reverse many-to-many relations crash Django's autocomplete view for anyone
            # (no get_limit_choices_to): not a way in.
            if not hasattr(field, "get_limit_choices_to"):
                continue
            if remote is not None and admin.site.is_registered(remote):
                yield model, field, remote


def test_autocomplete_returns_only_the_users_companies_objects(client, company_user):
    user, mine, theirs = company_user
    login(client, user)
    answered = set()
    for source, field, remote in _autocomplete_sources():
        params = {
            "app_label": source._meta.app_label,
            "model_name": source._meta.model_name,
            "field_name": field.name,
        }
        response = client.get(reverse("admin:autocomplete"), params)
        where = f"{source._meta.label}.{field.name} → {remote._meta.label}"
        if isinstance(admin.site._registry[remote], AllCompaniesOnlyAdminMixin):
            assert response.status_code == 403, where
            continue
        if response.status_code == 404:  # the target admin has no search_fields
            continue
        assert response.status_code == 200, where
        ids = {int(r["id"]) for r in json.loads(response.content)["results"]}
        assert not ids & theirs.pks(remote), where
        assert ids == mine.pks(remote), where
        answered.add(remote._meta.label)
    assert {
        "erp.Company",
        "erp.Sku",
        "erp.Warehouse",
        "erp.PriceList",
        "erp.CarrierService",
        "erp.PaymentMethod",
        "channels.SalesChannel",
    } <= answered


def test_a_superuser_autocomplete_sees_every_company(client, world):
    login(client, world.superuser)
    params = {"app_label": "mappings", "model_name": "listing", "field_name": "channel"}
    results = json.loads(client.get(reverse("admin:autocomplete"), params).content)["results"]
    assert {int(r["id"]) for r in results} == {world.a.channel.pk, world.b.channel.pk}


# --- CSV import / export ------------------------------------------------------------------------


def test_csv_export_and_import_offer_and_accept_only_the_users_channels(client, company_user):
    user, mine, theirs = company_user
    login(client, user)
    for model in MAPPING_MODELS.values():
        export = client.get(url(model, "export"))
        assert set(export.context["form"].fields["channel"].queryset) == {mine.channel}
        assert theirs.marker not in export.content.decode()
        response = client.post(url(model, "export"), {"channel": theirs.channel.pk, "format": "0"})
        assert response.status_code == 200  # the form again, not a file
        assert "channel" in response.context["form"].errors

        page = client.get(url(model, "import"))
        assert set(page.context["form"].fields["channel"].queryset) == {mine.channel}
        assert theirs.marker not in page.content.decode()
        response = client.post(
            url(model, "import"),
            {
                "channel": theirs.channel.pk,
                "format": "0",
                "resource": "0",
                "import_file": SimpleUploadedFile("de-para.csv", b"code\nX\n", "text/csv"),
            },
        )
        assert response.status_code == 200
        assert "channel" in response.context["form"].errors
    assert CarrierServiceMapping.objects.filter(channel=theirs.channel).count() == 1


def test_csv_export_writes_only_the_users_rows(client, company_user):
    user, mine, theirs = company_user
    login(client, user)
    model = PaymentMethodMapping
    resource = admin.site._registry[model].get_export_resource_classes(None)[0]
    formats = [f().get_title() for f in admin.site._registry[model].get_export_formats()]
    data = {"format": str(formats.index("csv")), "resource": "0", "channel": mine.channel.pk}
    for name in resource().get_export_order():
        data[f"{resource.__name__.lower()}_{name}"] = "on"
    response = client.post(url(model, "export"), data)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    content = response.content.decode()
    assert mine.marker in content and theirs.marker not in content

    # The confirmation step re-checks the channel: a preview made for their own channel
    # cannot be confirmed into the other company's.
    preview = client.post(
        url(model, "import"),
        {
            "channel": mine.channel.pk,
            "format": str(formats.index("csv")),
            "resource": "0",
            "import_file": SimpleUploadedFile("de-para.csv", content.encode(), "text/csv"),
        },
    )
    confirm = {**preview.context["confirm_form"].initial, "channel": theirs.channel.pk}
    response = client.post(url(model, "process_import"), confirm)
    assert response.status_code == 200 and "channel" in response.context["errors"]
    assert list(
        PaymentMethodMapping.objects.filter(channel=theirs.channel).values_list("code", flat=True)
    ) == [theirs.payment_mapping.code]


# --- the channel's own pages and actions --------------------------------------------------------


def _channel_pages(channel) -> dict[str, str]:
    return {
        name: reverse(f"admin:channels_saleschannel_{name}", args=[channel.pk])
        for name in (
            "change",
            "history",
            "delete",
            "test_connection",
            "activate",
            "deactivate",
            "fill_de_para",
        )
    } | {
        "activation_report": reverse(
            "admin:channels_saleschannel_activation_report", args=[channel.pk]
        ),
        "run_now": reverse("admin:sync_channel_run_now", args=[channel.pk]),
    }


def test_another_companys_channel_pages_are_404(client, company_user):
    user, mine, theirs = company_user
    login(client, user)
    for name, page in _channel_pages(theirs.channel).items():
        assert client.get(page).status_code == 404, name
        assert client.post(page, {"post": "yes"}).status_code == 404, name
    theirs.channel.refresh_from_db()
    assert theirs.channel.status == ChannelStatus.ACTIVE
    assert OrmQ.objects.count() == 0
    assert not LogEntry.objects.filter(object_id=str(theirs.channel.pk)).exists()
    # Their own channel's pages open (those that call no vendor on GET).
    for name in ("change", "history", "test_connection", "deactivate", "run_now"):
        assert client.get(_channel_pages(mine.channel)[name]).status_code == 200, name


def test_channel_page_shows_only_the_channels_own_rows(client, company_user):
    user, mine, theirs = company_user
    login(client, user)
    html = client.get(_channel_pages(mine.channel)["change"]).content.decode()
    assert mine.marker in html and theirs.marker not in html


def _post_action(client, model, action: str, pks) -> None:
    client.post(
        url(model, "changelist"),
        {"action": action, ACTION_CHECKBOX_NAME: [str(pk) for pk in pks], "post": "yes"},
    )


def test_actions_never_touch_another_companys_rows(
    client, company_user, django_capture_on_commit_callbacks
):
    user, _mine, theirs = company_user
    login(client, user)
    with django_capture_on_commit_callbacks(execute=True):
        for action in ("run_now", "full_resync", "deactivate_integration", "activate_integration"):
            _post_action(client, SalesChannel, action, [theirs.channel.pk])
        _post_action(client, HeldOrder, "reprocess_now", [theirs.held.pk])
        _post_action(client, UnmappedValue, "create_mapping_from_suggestion", [theirs.unmapped.pk])
        _post_action(client, SyncRun, "delete_selected", [theirs.run.pk])
        _post_action(client, Listing, "delete_selected", [theirs.listing.pk])
    theirs.channel.refresh_from_db()
    theirs.held.refresh_from_db()
    assert theirs.channel.status == ChannelStatus.ACTIVE
    assert OrmQ.objects.count() == 0
    assert not PendingChange.objects.filter(channel=theirs.channel).exists()
    assert theirs.held.attempts == 1
    assert PaymentMethodMapping.objects.filter(channel=theirs.channel).count() == 1
    assert SyncRun.objects.filter(pk=theirs.run.pk).exists()
    assert Listing.objects.filter(pk=theirs.listing.pk).exists()
    assert not LogEntry.objects.filter(object_id=str(theirs.channel.pk)).exists()


# --- the health page ----------------------------------------------------------------------------


def test_health_page_lists_only_the_users_companies_channels(client, company_user):
    user, mine, theirs = company_user
    login(client, user)
    response = client.get(reverse("sync_health"))
    assert [row.channel for row in response.context["rows"]] == [mine.channel]
    assert theirs.marker not in response.content.decode()


def test_health_page_lists_every_channel_for_support_and_superusers(client, world):
    for who in (world.support, world.superuser):
        login(client, who)
        rows = client.get(reverse("sync_health")).context["rows"]
        assert {row.channel for row in rows} == {world.a.channel, world.b.channel}


# --- membership ---------------------------------------------------------------------------------


def test_who_sees_which_companies(world, settings):
    two = User.objects.create_user("two", is_staff=True)
    make_member(two, world.a.company, world.b.company)
    inactive = User.objects.create_user("gone", is_staff=True, is_active=False)
    make_member(inactive, world.a.company)
    assert visible_company_ids(world.user_a) == {world.a.company.pk}
    assert visible_company_ids(two) == {world.a.company.pk, world.b.company.pk}
    assert visible_company_ids(inactive) == frozenset()
    assert visible_company_ids(AnonymousUser()) == frozenset()
    assert visible_company_ids(world.superuser) is None
    assert visible_company_ids(world.support) is None
    # "As configured": the groups that see every company come from the settings.
    settings.COMPANY_SCOPE_ALL_GROUPS = ["Auditors"]
    support = User.objects.get(pk=world.support.pk)  # the answer is cached per user object
    assert visible_company_ids(support) == frozenset()
    auditor = User.objects.create_user("auditor", is_staff=True)
    auditor.groups.add(Group.objects.create(name="Auditors"))
    assert visible_company_ids(auditor) is None


def test_support_outside_the_configured_groups_sees_only_its_memberships(client, world, settings):
    settings.COMPANY_SCOPE_ALL_GROUPS = []
    make_member(world.support, world.b.company)
    login(client, world.support)
    response = client.get(url(SalesChannel, "changelist"))
    assert list(response.context["cl"].result_list) == [world.b.channel]


def test_members_are_managed_by_users_who_see_every_company(client, world):
    login(client, world.user_a)
    assert client.get(url(Company, "add")).status_code == 403
    page = client.get(url(Company, "change", world.a.company.pk))
    (members,) = [
        f for f in page.context["inline_admin_formsets"] if f.formset.model is CompanyMembership
    ]
    assert members.has_view_permission
    assert not (members.has_add_permission or members.has_change_permission)
    assert not members.has_delete_permission
    assert "user-a" in page.content.decode() and "user-b" not in page.content.decode()
    # Posting a membership anyway adds nothing.
    data = form_data(page.content.decode(), "company_form")
    data.update({"memberships-TOTAL_FORMS": "2", "memberships-1-user": str(world.user_b.pk)})
    client.post(url(Company, "change", world.a.company.pk), data)
    assert not CompanyMembership.objects.filter(user=world.user_b, company=world.a.company)

    # Whoever sees every company adds a member on the Company page; the user then sees it.
    login(client, world.superuser)
    page = client.get(url(Company, "change", world.b.company.pk)).content.decode()
    data = form_data(page, "company_form")
    data.update({"memberships-TOTAL_FORMS": "2", "memberships-1-user": str(world.user_a.pk)})
    response = client.post(url(Company, "change", world.b.company.pk), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    login(client, world.user_a)
    listed = client.get(url(SalesChannel, "changelist")).context["cl"].result_list
    assert set(listed) == {world.a.channel, world.b.channel}
    # The user page lists the user's companies, for those who manage users.
    login(client, world.superuser)
    html = client.get(url(User, "change", world.user_a.pk)).content.decode()
    assert "Companies — this user sees these companies" in html


# --- cost ---------------------------------------------------------------------------------------


def _queries(client, page: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(page).status_code == 200
    return len(ctx.captured_queries)


def test_scoped_changelists_cost_the_same_whatever_the_number_of_rows(client, world):
    login(client, world.user_a)
    pages = [url(model, "changelist") for model, _admin in scoped_admins()]
    few = {page: _queries(client, page) for page in pages}
    for n in range(8):
        channel = make_channel(world.a.company, "vtex", name=f"Extra {n}")
        SyncRun.objects.create(channel=channel, flow="stock")
        HeldOrder.objects.create(channel=channel, external_id=f"H{n}", payload={}, missing=[])
        sku = make_sku(world.a.company, f"X{n}")
        Listing.objects.create(channel=channel, sku=sku, external_sku_id=f"X{n}")
        PaymentMethodMapping.objects.create(channel=channel, code=f"v{n}", target=world.a.payment)
        MappingImport.objects.create(
            channel=channel,
            kind=MappingKind.PAYMENT_METHOD,
            user=world.user_a,
            file_format="csv",
            content=b"",
        )
    many = {page: _queries(client, page) for page in pages}
    assert many == few
