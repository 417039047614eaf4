import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from channels.models import Credential, SalesChannel, SyncSetting
from channels.services import channel_credentials
from tests.admin_forms import form_data
from tests.factories import (
    make_channel,
    make_company,
    make_member,
    make_price_list,
    make_sku,
    make_warehouse,
)
from vendors.spec import Flow

SECRET = "VTEX-APPTOKEN-admin-test-0a1b2c3d4e"


def vtex_creds(**extra):
    return {"account_name": "lojaadmin", "app_key": "appkey-admin-1", "app_token": SECRET, **extra}


@pytest.fixture
def back_office_user(db):
    """Staff with every permission on our apps except channels.change_credentials."""
    user = User.objects.create_user("backoffice", password="pw-backoffice-1", is_staff=True)
    perms = Permission.objects.filter(
        content_type__app_label__in=["channels", "erp", "mappings", "sync"]
    ).exclude(codename__in=["change_credentials", "activate_integration"])
    user.user_permissions.set(perms)
    return user


def change_url(channel):
    return reverse("admin:channels_saleschannel_change", args=[channel.pk])


@pytest.mark.django_db
def test_every_admin_page_loads_for_a_superuser(admin_client):
    channel = make_channel(connector="vtex", credentials=vtex_creds())
    make_sku(channel.company, code="A1")
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        base = f"admin:{opts.app_label}_{opts.model_name}"
        response = admin_client.get(reverse(f"{base}_changelist"))
        assert response.status_code == 200, f"{opts.label} changelist"
        if model_admin.has_add_permission(response.wsgi_request):
            assert admin_client.get(reverse(f"{base}_add")).status_code == 200, f"{opts.label} add"
        obj = model._default_manager.first()
        if obj is not None:
            response = admin_client.get(reverse(f"{base}_change", args=[obj.pk]))
            assert response.status_code == 200, f"{opts.label} change"


@pytest.mark.django_db
def test_change_page_never_shows_a_stored_secret(admin_client):
    channel = make_channel(connector="vtex", credentials=vtex_creds())
    html = admin_client.get(change_url(channel)).content.decode()
    assert SECRET not in html
    assert "appkey-admin-1" not in html  # app key is secret too
    assert "stored — leave blank to keep" in html
    assert "lojaadmin" in html  # non-secret field shows its value


@pytest.mark.django_db
def test_posting_blank_secrets_keeps_them_and_a_new_one_replaces(admin_client):
    channel = make_channel(connector="vtex", credentials=vtex_creds())
    url = change_url(channel)
    data = form_data(admin_client.get(url).content.decode(), "saleschannel_form")
    assert data["cred__vtex__app_token"] == ""
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert channel_credentials(channel=channel)["app_token"] == SECRET
    data["cred__vtex__app_token"] = "NEW-TOKEN-value-123456"
    response = admin_client.post(url, data)
    assert response.status_code == 302
    assert channel_credentials(channel=channel)["app_token"] == "NEW-TOKEN-value-123456"
    # The admin history names the fields, never the values.
    from django.contrib.admin.models import LogEntry

    messages = " ".join(e.change_message for e in LogEntry.objects.all())
    assert "NEW-TOKEN" not in messages and SECRET not in messages


@pytest.mark.django_db
def test_add_channel_with_credentials_through_the_admin(admin_client):
    company = make_company()
    warehouse = make_warehouse(company)
    price_list = make_price_list(company)
    url = reverse("admin:channels_saleschannel_add")
    page = admin_client.get(url).content.decode()
    assert "cred__mercadolivre__client_secret" in page and "cred__anymarket__gumga_token" in page
    data = form_data(page, "saleschannel_form")
    data.update(
        {
            "name": "Minha loja VTEX",
            "connector": "vtex",
            "company": str(company.pk),
            "environment": "sandbox",
            "price_list": str(price_list.pk),
            "warehouses": [str(warehouse.pk)],
            "safety_stock": "2",
            "cred__vtex__account_name": "minhaloja",
            "cred__vtex__app_key": "vtexappkey-minhaloja-XYZ",
            "cred__vtex__app_token": SECRET,
            "cred__anymarket__gumga_token": "must-be-ignored-for-vtex",
        }
    )
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    channel = SalesChannel.objects.get(name="Minha loja VTEX")
    assert channel.category == "platform"
    assert channel_credentials(channel=channel) == {
        "account_name": "minhaloja",
        "app_key": "vtexappkey-minhaloja-XYZ",
        "app_token": SECRET,
    }
    assert SyncSetting.objects.filter(channel=channel).count() == len(Flow.values)
    assert not Credential.objects.filter(connector="anymarket").exists()


@pytest.mark.django_db
def test_admin_refuses_another_companys_key_with_a_form_error(admin_client):
    make_channel(connector="vtex", credentials=vtex_creds())
    other = make_channel(company=make_company(), connector="vtex")
    url = change_url(other)
    data = form_data(admin_client.get(url).content.decode(), "saleschannel_form")
    data["cred__vtex__app_token"] = SECRET
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "belongs to another company" in response.content.decode()
    assert SECRET not in response.content.decode()  # not even the value just typed
    assert not Credential.objects.filter(channel=other).exists()


@pytest.mark.django_db
def test_back_office_user_without_permission_sees_and_posts_no_credentials(
    client, back_office_user
):
    channel = make_channel(connector="vtex", credentials=vtex_creds())
    make_member(back_office_user, channel.company)
    client.force_login(back_office_user)
    url = change_url(channel)
    html = client.get(url).content.decode()
    assert 'name="cred__vtex' not in html
    assert "lojaadmin" not in html
    assert "visible only to users allowed to change credentials" in html
    data = form_data(html, "saleschannel_form")
    data["name"] = "Renamed"
    data["cred__vtex__app_token"] = "SMUGGLED-token-value"
    data["cred__vtex__account_name"] = "smuggled"
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    channel.refresh_from_db()
    assert channel.name == "Renamed"
    assert channel_credentials(channel=channel)["app_token"] == SECRET
    assert channel_credentials(channel=channel)["account_name"] == "lojaadmin"
    add_html = client.get(reverse("admin:channels_saleschannel_add")).content.decode()
    assert 'name="cred__' not in add_html


@pytest.mark.django_db
def test_sync_settings_outside_vendor_limits_are_form_errors_naming_the_limit(admin_client):
    channel = make_channel(connector="anymarket")
    url = change_url(channel)
    data = form_data(admin_client.get(url).content.decode(), "saleschannel_form")
    rows = {data[f"sync_settings-{i}-id"]: i for i in range(len(Flow.values))}
    flows = dict(SyncSetting.objects.filter(channel=channel).values_list("pk", "flow"))
    index = {flows[int(pk)]: i for pk, i in rows.items()}
    data[f"sync_settings-{index['stock']}-batch_size"] = "9000"
    data[f"sync_settings-{index['price']}-interval_minutes"] = "1"
    response = admin_client.post(url, data)
    html = response.content.decode()
    assert response.status_code == 200
    assert (
        "ANYMARKET allows at most 5000 items per run for stock; 9000 is above that limit." in html
    )
    assert "ANYMARKET allows this flow at most every 5 minute(s); 1 is too often." in html


@pytest.mark.django_db
def test_catalog_publishing_is_off_on_a_new_channel_and_support_can_turn_it_on(admin_client):
    channel = make_channel(connector="mercadolivre")
    catalog = SyncSetting.objects.get(channel=channel, flow="catalog")
    assert not catalog.enabled  # publishing overwrites products at the vendor: opt in
    url = change_url(channel)
    data = form_data(admin_client.get(url).content.decode(), "saleschannel_form")
    flows = dict(SyncSetting.objects.filter(channel=channel).values_list("pk", "flow"))
    i = next(i for i in range(5) if flows[int(data[f"sync_settings-{i}-id"])] == "catalog")
    data[f"sync_settings-{i}-enabled"] = "on"
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    catalog.refresh_from_db()
    assert catalog.enabled


@pytest.mark.django_db
def test_price_list_of_another_company_is_refused(admin_client):
    channel = make_channel(connector="vtex")
    foreign = make_price_list(make_company(), name="Outra")
    url = change_url(channel)
    data = form_data(admin_client.get(url).content.decode(), "saleschannel_form")
    data["price_list"] = str(foreign.pk)
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "The price list belongs to another company." in response.content.decode()


def _changelist_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("admin:channels_saleschannel_changelist"))
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.django_db
def test_channel_changelist_runs_a_constant_number_of_queries(admin_client):
    company = make_company()
    for _ in range(5):
        make_channel(company=company, connector="vtex")
    with_5 = _changelist_queries(admin_client)
    companies = [make_company() for _ in range(2)]
    for i in range(195):
        make_channel(
            company=companies[i % 2], connector=["vtex", "anymarket", "mercadolivre"][i % 3]
        )
    assert SalesChannel.objects.count() == 200
    assert _changelist_queries(admin_client) == with_5


@pytest.mark.django_db
def test_a_view_only_user_sees_the_channel_page_without_credentials(client):
    channel = make_channel(connector="vtex", credentials=vtex_creds())
    user = User.objects.create_user("viewer", password="pw-viewer-1", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename="view_saleschannel"))
    make_member(user, channel.company)
    client.force_login(user)
    response = client.get(change_url(channel))
    html = response.content.decode()
    assert response.status_code == 200
    assert channel.name in html and 'name="cred__' not in html and SECRET not in html
    assert client.post(change_url(channel), {"name": "x"}).status_code == 403


@pytest.mark.django_db
def test_the_panels_follow_the_sync_settings_or_the_fieldsets_for_who_cannot_see_them(
    admin_client, client
):
    """Integration configuration — Authentication, — Sync settings and the sync status read as
    one group; the de-para comes after it."""
    channel = make_channel(connector="vtex", credentials=vtex_creds())
    html = admin_client.get(change_url(channel)).content.decode()
    assert html.count('id="sync-status"') == 1
    assert (
        html.index("Integration configuration — Authentication")
        < html.index('id="sync_settings-group"')
        < html.index('id="sync-status"')
        < html.index('id="carrierservicemapping_set-group"')
    )
    viewer = User.objects.create_user("viewer", password="pw-viewer-1", is_staff=True)
    viewer.user_permissions.set(Permission.objects.filter(codename="view_saleschannel"))
    make_member(viewer, channel.company)
    client.force_login(viewer)
    html = client.get(change_url(channel)).content.decode()
    assert 'id="sync_settings-group"' not in html
    assert html.count('id="sync-status"') == 1


@pytest.mark.django_db
def test_other_apps_extend_the_channel_page_in_installed_apps_order(admin_client):
    """Hooks are registered from AppConfig.ready() (mappings before sync), not at import
    time: the order is the one channels/admin.py documents."""
    from django.apps import apps

    from channels import admin as channel_admin

    channel = make_channel(connector="vtex", credentials=vtex_creds())
    response = admin_client.get(change_url(channel))
    assert response.status_code == 200
    inlines = [f.opts.__class__.__name__ for f in response.context["inline_admin_formsets"]]
    assert inlines == [
        "SyncSettingInline",
        "CarrierServiceMappingInline",
        "PaymentMethodMappingInline",
        "OrderStatusMappingInline",
        "StockLocationMappingInline",
        "CategoryMappingInline",
        "BrandMappingInline",
        "AttributeMappingInline",
        "AccessChangeInline",  # channels' own, last: the audit trail
    ]
    tools = [label for label, _url in response.context["channel_tools"]]
    assert tools == [
        "Product bindings",
        "Fill de-para from VTEX…",
        "Fill catalog de-para from VTEX…",
        "Test connection",
        "Activate…",
        "Activation history",
        "Run now",
    ]
    actions = [
        name
        for name, _label in admin.site._registry[SalesChannel].get_action_choices(
            response.wsgi_request
        )
        if name
    ]
    assert actions == [
        "delete_selected",
        "regenerate_notification_url",  # channels' own, before the other apps'
        "activate_integration",
        "deactivate_integration",
        "run_now",
        "full_resync",
    ]

    # ready() again (as a test runner or a reload may do) keeps one of each.
    before = [
        list(registry)
        for registry in (channel_admin.CHANNEL_INLINES, channel_admin.CHANNEL_OBJECT_TOOLS)
    ]
    apps.get_app_config("mappings").ready()
    apps.get_app_config("sync").ready()
    after = [
        list(registry)
        for registry in (channel_admin.CHANNEL_INLINES, channel_admin.CHANNEL_OBJECT_TOOLS)
    ]
    assert after == before
