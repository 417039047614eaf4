"""Runs log, held and quarantined orders, the channel page's sync panel and actions, and the
health page."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_q.models import OrmQ, Schedule

from channels.models import SalesChannel, SyncSetting
from channels.services import channel_credentials, channel_set_status
from erp.models import Product, Sku
from mappings.models import Listing, UnmappedValue
from sync.models import (
    HeldOrder,
    PendingChange,
    QuarantinedOrder,
    QuarantineResolution,
    RunState,
    RunTrigger,
    SyncRun,
)
from sync.services.pending import pending_upsert
from sync.services.schedules import schedule_name, schedules_reconcile_channel
from tests.factories import make_channel, make_company, make_member, make_sku

SECRET = "VTEX-APPTOKEN-visibility-9f8e7d6c5b"


def vtex_creds(n: int = 1) -> dict:
    return {
        "account_name": f"lojavis{n}",
        "app_key": f"appkey-visibility-{n}",
        "app_token": f"{SECRET}-{n}",
    }


_creds_seq = iter(range(1, 10_000))


def active_channel(company=None, **kwargs):
    channel = make_channel(company, connector="vtex", credentials=vtex_creds(next(_creds_seq)))
    channel_set_status(channel=channel, status="active")
    for flow, values in kwargs.items():
        SyncSetting.objects.filter(channel=channel, flow=flow).update(**values)
    return channel


def bulk_skus(company, n: int, prefix: str = "B") -> list[int]:
    product = Product.objects.create(company=company, name=f"Produto {prefix}")
    Sku.objects.bulk_create(
        [
            Sku(company=company, product=product, code=f"{prefix}{i}", code_key=f"{prefix}{i}")
            for i in range(n)
        ]
    )
    return list(
        Sku.objects.filter(company=company, code__startswith=prefix).values_list("pk", flat=True)
    )


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


def change_url(channel) -> str:
    return reverse("admin:channels_saleschannel_change", args=[channel.pk])


def panel_html(client, channel) -> str:
    html = client.get(change_url(channel)).content.decode()
    start = html.index('id="sync-status"')
    return html[start : html.index("</fieldset>", start)]


def flow_row(html: str, flow: str) -> str:
    start = html.index(f"sync-flow-{flow}")
    return html[start : html.index("</tr>", start)]


@pytest.fixture
def viewer(db):
    """Staff who may only look at the engine's pages and channels."""
    user = User.objects.create_user("viewer", password="pw-viewer-1", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label__in=["sync", "channels", "mappings"],
            codename__startswith="view_",
        )
    )
    return user


# --- runs log -------------------------------------------------------------------------------


def make_runs(channels, n: int, **fields) -> None:
    SyncRun.objects.bulk_create(
        [
            SyncRun(
                channel=channels[i % len(channels)],
                flow=["stock", "price", "orders"][i % 3],
                state=[RunState.SUCCEEDED, RunState.FAILED, RunState.RUNNING][i % 3],
                total=10,
                done=i % 11,
                finished_at=timezone.now() if i % 3 != 2 else None,
                error="Vendor said 503" if i % 3 == 1 else "",
                **fields,
            )
            for i in range(n)
        ]
    )


@pytest.mark.django_db
def test_syncrun_changelist_queries_do_not_grow_with_runs(admin_client):
    company = make_company()
    channels = [make_channel(company, name=f"Loja {i}") for i in range(3)]
    url = reverse("admin:sync_syncrun_changelist")
    make_runs(channels, 5)
    few = count_queries(admin_client, url)
    make_runs(channels, 195)
    assert SyncRun.objects.count() == 200
    many = count_queries(admin_client, url)
    assert few == many


@pytest.mark.django_db
def test_syncrun_changelist_shows_progress_state_and_short_error(admin_client):
    channel = make_channel(name="Loja Progresso")
    SyncRun.objects.create(
        channel=channel, flow="stock", total=1000, done=350, requests=40, retries=2
    )
    SyncRun.objects.create(
        channel=channel,
        flow="price",
        state=RunState.FAILED,
        finished_at=timezone.now(),
        error="Vendor rejected the request: " + "x" * 300,
    )
    html = admin_client.get(reverse("admin:sync_syncrun_changelist")).content.decode()
    assert '<progress class="sync-progress" value="35" max="100">' in html
    assert "350/1000 (35%)" in html
    assert "sync-state-failed" in html and "Failed" in html
    assert "Vendor rejected the request: xxx" in html
    assert "x" * 100 not in html  # the list shows a short error only
    assert reverse("sync_health") in html  # linked from the runs log


@pytest.mark.django_db
def test_a_run_that_quarantined_orders_says_so_in_the_runs_log(admin_client):
    channel = make_channel()
    SyncRun.objects.create(
        channel=channel,
        flow="orders",
        state=RunState.PARTIAL,
        finished_at=timezone.now(),
        detail={"counts": {"quarantined": 2, "held": 1}},
    )
    html = admin_client.get(reverse("admin:sync_syncrun_changelist")).content.decode()
    assert "Finished with item errors" in html
    assert "2 order(s) quarantined: the vendor sent values that cannot" in html


@pytest.mark.django_db
def test_syncrun_admin_is_read_only_and_shows_detail(admin_client):
    channel = make_channel()
    run = SyncRun.objects.create(
        channel=channel,
        flow="stock",
        state=RunState.PARTIAL,
        finished_at=timezone.now(),
        detail={"counts": {"rejected": 2}, "issues": {"rejected": ["SKU-1", "SKU-2"]}},
    )
    url = reverse("admin:sync_syncrun_change", args=[run.pk])
    html = admin_client.get(url).content.decode()
    assert '<pre class="sync-detail">' in html
    assert "&quot;rejected&quot;: 2" in html
    assert "2 item(s) rejected by the vendor" in html
    assert 'name="_save"' not in html
    assert admin_client.get(reverse("admin:sync_syncrun_add")).status_code == 403
    assert admin_client.post(url, {"state": "failed"}).status_code == 403
    delete = reverse("admin:sync_syncrun_delete", args=[run.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    run.refresh_from_db()
    assert run.state == RunState.PARTIAL


@pytest.mark.django_db
def test_every_sync_admin_page_loads_for_superuser_and_viewer(admin_client, client, viewer):
    channel = make_channel()
    SyncRun.objects.create(channel=channel, flow="stock")
    HeldOrder.objects.create(
        channel=channel,
        external_id="ORD-1",
        payload={"external_id": "ORD-1"},
        missing=[{"kind": "payment_method", "code": "pix-x", "label": "Pix X"}],
    )
    quarantine(channel, "ORD-2")
    make_member(viewer, channel.company)
    client.force_login(viewer)
    models = {"syncrun": SyncRun, "heldorder": HeldOrder, "quarantinedorder": QuarantinedOrder}
    for who in (admin_client, client):
        for model, model_class in models.items():
            obj = model_class.objects.get()
            changelist = reverse(f"admin:sync_{model}_changelist")
            assert who.get(changelist).status_code == 200, model
            change = reverse(f"admin:sync_{model}_change", args=[obj.pk])
            assert who.get(change).status_code == 200, model
        assert who.get(reverse("sync_health")).status_code == 200
    # The channel page (with the sync panel) as a superuser; for a view-only user it is the
    # channels app's page to test.
    assert admin_client.get(change_url(channel)).status_code == 200


# --- held orders ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_held_order_changelist_shows_missing_values_and_filters_open(admin_client):
    channel = make_channel()
    HeldOrder.objects.create(
        channel=channel,
        external_id="ORD-OPEN",
        payload={},
        missing=[{"kind": "carrier_service", "code": "ECT/40215", "label": "SEDEX"}],
    )
    HeldOrder.objects.create(
        channel=channel, external_id="ORD-DONE", payload={}, resolved_at=timezone.now()
    )
    url = reverse("admin:sync_heldorder_changelist")
    html = admin_client.get(f"{url}?resolved_at__isnull=True").content.decode()
    assert "carrier_service: ECT/40215 (SEDEX)" in html
    assert "ORD-OPEN" in html and "ORD-DONE" not in html


@pytest.mark.django_db
def test_reprocess_now_runs_once_per_distinct_channel_and_reports(admin_client, monkeypatch):
    import sync.services.orders as orders

    one, two = make_channel(name="Loja Um"), make_channel(name="Loja Dois")
    held = [
        HeldOrder.objects.create(channel=channel, external_id=f"O-{i}", payload={})
        for i, channel in enumerate([one, one, two])
    ]
    calls = []

    def fake_reprocess(*, channel_id):
        calls.append(channel_id)
        return (
            {"imported": 2, "still_held": 0}
            if channel_id == one.pk
            else {
                "imported": 0,
                "still_held": 1,
            }
        )

    monkeypatch.setattr(orders, "held_orders_reprocess", fake_reprocess)
    response = admin_client.post(
        reverse("admin:sync_heldorder_changelist"),
        {"action": "reprocess_now", "_selected_action": [h.pk for h in held]},
        follow=True,
    )
    assert sorted(calls) == sorted([one.pk, two.pk])
    texts = [str(m) for m in response.context["messages"]]
    assert "Loja Um: 2 imported, 0 still held." in texts
    assert "Loja Dois: 0 imported, 1 still held." in texts


# --- quarantined orders ---------------------------------------------------------------------


def quarantine(channel, external_id: str, **fields) -> QuarantinedOrder:
    values = {
        "payload": {"id": external_id, "items": [{"unit": "NaN"}]},
        "reason": f"ANYMARKET order {external_id}: items[0].unit is NaN, not an amount",
        "field_path": "items[0].unit",
        **fields,
    }
    return QuarantinedOrder.objects.create(channel=channel, external_id=external_id, **values)


@pytest.mark.django_db
def test_quarantined_order_changelist_queries_do_not_grow_with_rows(admin_client):
    channels = [make_channel(name=f"Loja Q{i}") for i in range(3)]
    url = reverse("admin:sync_quarantinedorder_changelist")

    def add(n: int, start: int) -> None:
        QuarantinedOrder.objects.bulk_create(
            [
                QuarantinedOrder(
                    channel=channels[i % 3],
                    external_id=f"Q-{start + i}",
                    payload={"id": i},
                    reason="bad",
                    field_path="items[0].unit",
                )
                for i in range(n)
            ]
        )

    add(5, 0)
    few = count_queries(admin_client, url)
    add(95, 5)
    many = count_queries(admin_client, url)
    assert few == many
    assert admin_client.get(url).content.decode().count('class="action-checkbox"') == 100


@pytest.mark.django_db
def test_quarantined_order_list_names_the_field_and_the_reason_and_filters_open(admin_client):
    channel = make_channel()
    quarantine(channel, "ORD-OPEN")
    quarantine(
        channel,
        "ORD-DONE",
        resolved_at=timezone.now(),
        resolved_how=QuarantineResolution.REFETCHED,
    )
    url = reverse("admin:sync_quarantinedorder_changelist")
    html = admin_client.get(f"{url}?resolved_at__isnull=True").content.decode()
    assert "ORD-OPEN" in html and "ORD-DONE" not in html
    assert "items[0].unit" in html
    assert "ANYMARKET order ORD-OPEN: items[0].unit is NaN, not an amount" in html
    assert "Fetch again from the vendor" in html
    # Read-only: nothing to add, change or delete by hand.
    assert admin_client.get(reverse("admin:sync_quarantinedorder_add")).status_code == 403
    row = QuarantinedOrder.objects.get(external_id="ORD-OPEN")
    change = reverse("admin:sync_quarantinedorder_change", args=[row.pk])
    page = admin_client.get(change).content.decode()
    assert '<pre class="sync-detail">' in page and "&quot;unit&quot;: &quot;NaN&quot;" in page
    assert 'name="_save"' not in page


@pytest.mark.django_db
def test_fetch_again_calls_the_service_once_per_channel_with_the_selected_rows(
    admin_client, monkeypatch
):
    import sync.services.quarantine as quarantine_service

    one, two = make_channel(name="Loja Um"), make_channel(name="Loja Dois")
    rows = [quarantine(channel, f"Q-{i}") for i, channel in enumerate([one, one, two])]
    calls = {}

    def fake_refetch(*, channel_id, quarantined_ids):
        calls[channel_id] = sorted(quarantined_ids)
        if channel_id == one.pk:
            return quarantine_service.RefetchResult(imported=2)
        return quarantine_service.RefetchResult(still_invalid=1)

    monkeypatch.setattr(quarantine_service, "quarantined_orders_refetch", fake_refetch)
    response = admin_client.post(
        reverse("admin:sync_quarantinedorder_changelist"),
        {"action": "fetch_again", "_selected_action": [r.pk for r in rows]},
        follow=True,
    )
    assert calls == {one.pk: [rows[0].pk, rows[1].pk], two.pk: [rows[2].pk]}
    messages = {str(m): m.level_tag for m in response.context["messages"]}
    assert messages == {
        "Loja Um: 2 imported.": "success",
        "Loja Dois: 0 imported, 1 still invalid (reason updated).": "warning",
    }


@pytest.mark.django_db
def test_fetch_again_needs_permission_to_change_the_channel(client, viewer, monkeypatch):
    import sync.services.quarantine as quarantine_service

    row = quarantine(make_channel(), "Q-1")
    monkeypatch.setattr(
        quarantine_service,
        "quarantined_orders_refetch",
        lambda **kwargs: pytest.fail("a viewer fetched from the vendor"),
    )
    client.force_login(viewer)
    url = reverse("admin:sync_quarantinedorder_changelist")
    assert "fetch_again" not in client.get(url).content.decode()
    client.post(url, {"action": "fetch_again", "_selected_action": [row.pk]})


# --- channel panel --------------------------------------------------------------------------


@pytest.mark.django_db
def test_channel_panel_shows_pending_last_run_and_next_run(admin_client):
    channel = active_channel()
    schedules_reconcile_channel(channel_id=channel.pk)
    Schedule.objects.filter(name=schedule_name(channel.pk, "stock")).update(
        next_run=timezone.now() + timedelta(minutes=10, seconds=30)
    )
    sku_ids = bulk_skus(channel.company, 5)
    pending_upsert(channel_ids=[channel.pk], flow="stock", sku_ids=sku_ids[:3])
    pending_upsert(channel_ids=[channel.pk], flow="price", sku_ids=sku_ids[:2])
    SyncRun.objects.create(
        channel=channel,
        flow="stock",
        state=RunState.SUCCEEDED,
        total=40,
        done=40,
        finished_at=timezone.now(),
    )
    SyncRun.objects.create(
        channel=channel,
        flow="price",
        state=RunState.FAILED,
        finished_at=timezone.now(),
        error="Channel has no price list; choose one on the channel page.",
    )
    html = panel_html(admin_client, channel)

    stock = flow_row(html, "stock")
    assert 'class="sync-pending">3<' in stock
    assert "Succeeded" in stock and "40/40 done" in stock
    assert re.search(r"in 10\xa0minutes", stock), stock
    price = flow_row(html, "price")
    assert 'class="sync-pending">2<' in price
    assert "Failed" in price and "no price list" in price
    assert "due now" in price  # a fresh schedule's next_run is now
    orders = flow_row(html, "orders")
    assert "never ran" in orders
    catalog = flow_row(html, "catalog")
    assert "Not supported" not in catalog and "not scheduled" in catalog  # off on a new channel


@pytest.mark.django_db
def test_channel_panel_without_schedules_and_stopped_reason(admin_client):
    channel = active_channel()
    channel_set_status(
        channel=channel, status="suspended", reason="VTEX refused access (401): revoked key."
    )
    html = panel_html(admin_client, channel)
    assert 'class="errornote sync-stopped"' in html
    assert "VTEX refused access (401): revoked key." in html
    assert "not scheduled" in flow_row(html, "stock")


@pytest.mark.django_db
def test_channel_panel_counts_open_held_orders_and_unmapped_values(admin_client):
    channel = active_channel()
    now = timezone.now()
    HeldOrder.objects.create(channel=channel, external_id="A", payload={})
    HeldOrder.objects.create(channel=channel, external_id="B", payload={})
    HeldOrder.objects.create(channel=channel, external_id="C", payload={}, resolved_at=now)
    UnmappedValue.objects.create(
        channel=channel, kind="payment_method", code="pix", first_seen=now, last_seen=now
    )
    UnmappedValue.objects.create(
        channel=channel,
        kind="payment_method",
        code="boleto",
        code_key="BOLETO",
        first_seen=now,
        last_seen=now,
        resolved_at=now,
    )
    other = active_channel(channel.company)
    HeldOrder.objects.create(channel=other, external_id="A", payload={})
    html = panel_html(admin_client, channel)
    held_link = (
        f"{reverse('admin:sync_heldorder_changelist')}?channel__id__exact={channel.pk}"
        "&amp;resolved_at__isnull=True"
    )
    assert f'href="{held_link}" class="sync-held">2 open<' in html
    assert re.search(r'class="sync-unmapped">1 open<', html)


@pytest.mark.django_db
def test_channel_panel_and_health_page_count_open_quarantined_orders(admin_client):
    channel = active_channel()
    quarantine(channel, "A")
    quarantine(channel, "B")
    quarantine(
        channel, "C", resolved_at=timezone.now(), resolved_how=QuarantineResolution.READ_VALID
    )
    quarantine(active_channel(channel.company), "A")

    html = panel_html(admin_client, channel)
    link = (
        f"{reverse('admin:sync_quarantinedorder_changelist')}?channel__id__exact={channel.pk}"
        "&amp;resolved_at__isnull=True"
    )
    assert f'href="{link}" class="sync-quarantined">2 open<' in html

    row = health_row(admin_client.get(reverse("sync_health")).content.decode(), channel)
    assert f'<a href="{link}">2</a>' in row


@pytest.mark.django_db
def test_channel_change_page_queries_do_not_grow_with_pending_rows_or_runs(admin_client):
    channel = active_channel()
    schedules_reconcile_channel(channel_id=channel.pk)
    sku_ids = bulk_skus(channel.company, 500)
    url = change_url(channel)

    pending_upsert(channel_ids=[channel.pk], flow="stock", sku_ids=sku_ids[:10])
    make_runs([channel], 3)
    few = count_queries(admin_client, url)

    pending_upsert(channel_ids=[channel.pk], flow="stock", sku_ids=sku_ids)
    pending_upsert(channel_ids=[channel.pk], flow="price", sku_ids=sku_ids)
    make_runs([channel], 100)
    assert PendingChange.objects.filter(channel=channel, flow="stock").count() == 500
    many = count_queries(admin_client, url)
    assert few == many
    assert 'class="sync-pending">500<' in panel_html(admin_client, channel)


# --- Run now, Full resync -------------------------------------------------------------------


def queued_tasks() -> list[tuple]:
    return sorted(tuple(q.task["args"]) for q in OrmQ.objects.all())


@pytest.mark.django_db
def test_run_now_action_queues_enabled_supported_flows_of_active_channels_only(
    admin_client, django_capture_on_commit_callbacks
):
    company = make_company()
    full = active_channel(company)
    no_price = active_channel(company, price={"enabled": False})
    paused = active_channel(company)
    channel_set_status(channel=paused, status="paused")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:channels_saleschannel_changelist"),
            {"action": "run_now", "_selected_action": [full.pk, no_price.pk, paused.pk]},
            follow=True,
        )
    manual = str(RunTrigger.MANUAL)
    assert queued_tasks() == sorted(
        [
            (full.pk, "stock", manual),
            (full.pk, "price", manual),
            (full.pk, "orders", manual),
            (full.pk, "fulfilment", manual),
            (no_price.pk, "stock", manual),
            (no_price.pk, "orders", manual),
            (no_price.pk, "fulfilment", manual),
        ]
    )
    assert {q.task["func"] for q in OrmQ.objects.all()} == {"sync.tasks.run_flow"}
    texts = [str(m) for m in response.context["messages"]]
    assert (
        f"{full}: queued Stock, Prices, Orders, Fulfilment (invoice, shipping, delivery)." in texts
    )
    assert f"{no_price}: queued Stock, Orders, Fulfilment (invoice, shipping, delivery)." in texts
    assert f"{paused}: not active (paused): skipped." in texts


@pytest.mark.django_db
def test_run_now_needs_change_permission(client, viewer, rf, django_capture_on_commit_callbacks):
    from sync.admin import run_now_tools

    channel = active_channel()
    make_member(viewer, channel.company)
    request = rf.get("/")
    request.user = viewer
    assert run_now_tools(channel, request) == []  # no button
    client.force_login(viewer)
    run_now_url = reverse("admin:sync_channel_run_now", args=[channel.pk])
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(run_now_url).status_code == 403
        client.post(
            reverse("admin:channels_saleschannel_changelist"),
            {"action": "run_now", "_selected_action": [channel.pk]},
        )
    assert OrmQ.objects.count() == 0


@pytest.mark.django_db
def test_run_now_button_confirms_then_queues(admin_client, django_capture_on_commit_callbacks):
    channel = active_channel()
    run_now_url = reverse("admin:sync_channel_run_now", args=[channel.pk])
    assert run_now_url in admin_client.get(change_url(channel)).content.decode()

    page = admin_client.get(run_now_url).content.decode()
    assert (
        "<li>Stock</li><li>Prices</li><li>Orders</li>"
        "<li>Fulfilment (invoice, shipping, delivery)</li>" in page
    )
    assert OrmQ.objects.count() == 0  # GET only asks

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(run_now_url)
    assert response.status_code == 302 and response["Location"] == change_url(channel)
    assert [args[1] for args in queued_tasks()] == ["fulfilment", "orders", "price", "stock"]


@pytest.mark.django_db
def test_run_now_page_of_a_paused_channel_queues_nothing(
    admin_client, django_capture_on_commit_callbacks
):
    channel = active_channel()
    channel_set_status(channel=channel, status="paused", reason="Black Friday freeze")
    url = reverse("admin:sync_channel_run_now", args=[channel.pk])
    page = admin_client.get(url).content.decode()
    assert "only active channels run" in page and "Black Friday freeze" in page
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(url)
    assert OrmQ.objects.count() == 0


@pytest.mark.django_db
def test_full_resync_marks_every_listing_pending_for_enabled_push_flows(admin_client):
    channel = active_channel()
    skus = [make_sku(channel.company, code=f"R{i}") for i in range(3)]
    for i, sku in enumerate(skus):
        Listing.objects.create(channel=channel, sku=sku, external_sku_id=f"{100 + i}")
    unbound = make_sku(channel.company, code="R-unbound")
    response = admin_client.post(
        reverse("admin:channels_saleschannel_changelist"),
        {"action": "full_resync", "_selected_action": [channel.pk]},
        follow=True,
    )
    pending = set(PendingChange.objects.filter(channel=channel).values_list("flow", "sku_id"))
    expected = {(flow, sku.pk) for flow in ("stock", "price") for sku in skus}
    assert pending == expected  # catalog is off on a new channel; unbound SKUs stay out
    assert unbound.pk not in {sku_id for _, sku_id in pending}
    texts = [str(m) for m in response.context["messages"]]
    assert f"{channel}: marked pending: 3 Stock, 3 Prices." in texts


# --- health page ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_health_page_needs_permission_to_view_sales_channels(client):
    channel = active_channel(make_company())
    channel.name = "Loja secreta"
    channel.save(update_fields=["name"])
    staff = User.objects.create_user("staff-only", password="pw-staff-1", is_staff=True)
    make_member(staff, channel.company)
    client.force_login(staff)
    response = client.get(reverse("sync_health"))
    assert response.status_code == 403
    assert b"Loja secreta" not in response.content
    staff.user_permissions.add(Permission.objects.get(codename="view_saleschannel"))
    staff = User.objects.get(pk=staff.pk)  # drop the permission cache
    client.force_login(staff)
    assert b"Loja secreta" in client.get(reverse("sync_health")).content


def health_row(html: str, channel) -> str:
    start = html.index(f'data-channel="{channel.pk}"')
    return html[html.rindex("<tr", 0, start) : html.index("</tr>", start)]


@pytest.mark.django_db
def test_health_marks_a_channel_late_when_its_oldest_pending_change_is_old(admin_client):
    company = make_company()
    late, fresh = active_channel(company), active_channel(company)
    sku_ids = bulk_skus(company, 2)
    pending_upsert(channel_ids=[late.pk, fresh.pk], flow="stock", sku_ids=sku_ids)
    # Stock every 5 minutes: late after max(3 × 5, 15) = 15 minutes.
    PendingChange.objects.filter(channel=late, sku_id=sku_ids[0]).update(
        changed_at=timezone.now() - timedelta(minutes=16)
    )
    PendingChange.objects.filter(channel=fresh).update(
        changed_at=timezone.now() - timedelta(minutes=14)
    )
    html = admin_client.get(reverse("sync_health")).content.decode()

    late_row = health_row(html, late)
    assert 'class="sync-channel late"' in late_row
    assert 'class="age late" data-flow="stock"' in late_row and "— late" in late_row
    assert "late: stock" in late_row
    fresh_row = health_row(html, fresh)
    assert 'class="sync-channel"' in fresh_row
    assert "late" not in fresh_row.replace("sync-channel", "")
    assert '<td class="verdict">ok</td>' in fresh_row
    assert "1 channel late." in html


@pytest.mark.django_db
def test_health_marks_orders_late_when_no_recent_successful_run(admin_client):
    company = make_company()
    stale, recent, never = (active_channel(company) for _ in range(3))
    long_ago = timezone.now() - timedelta(hours=3)
    SalesChannel.objects.filter(pk__in=[stale.pk, recent.pk, never.pk]).update(updated_at=long_ago)
    SyncRun.objects.create(
        channel=stale, flow="orders", state=RunState.SUCCEEDED, finished_at=long_ago
    )
    SyncRun.objects.create(
        channel=recent,
        flow="orders",
        state=RunState.SUCCEEDED,
        finished_at=timezone.now() - timedelta(minutes=5),
    )
    # A failed run does not count as fresh.
    SyncRun.objects.create(
        channel=recent, flow="orders", state=RunState.FAILED, finished_at=timezone.now()
    )
    html = admin_client.get(reverse("sync_health")).content.decode()
    assert "late: orders" in health_row(html, stale)
    assert "late: orders" in health_row(html, never)  # active 3 h, never imported
    assert '<td class="verdict">ok</td>' in health_row(html, recent)
    assert "5\xa0minutes ago" in health_row(html, recent)


@pytest.mark.django_db
def test_health_lists_every_channel_but_drafts(admin_client):
    company = make_company()
    draft = make_channel(company, name="Rascunho")
    paused = active_channel(company)
    channel_set_status(channel=paused, status="paused")
    suspended = active_channel(company)
    channel_set_status(channel=suspended, status="suspended", reason="revoked")
    html = admin_client.get(reverse("sync_health")).content.decode()
    assert f'data-channel="{draft.pk}"' not in html
    assert '<td class="verdict">paused</td>' in health_row(html, paused)
    suspended_row = health_row(html, suspended)
    assert 'class="sync-channel late"' in suspended_row
    assert "suspended by the vendor" in suspended_row


@pytest.mark.django_db
def test_health_page_queries_do_not_grow_with_channels(admin_client):
    company = make_company()
    sku_ids = bulk_skus(company, 3)

    def add_channels(n: int) -> None:
        channels = [make_channel(company) for _ in range(n)]
        ids = [c.pk for c in channels]
        SalesChannel.objects.filter(pk__in=ids).update(status="active")
        pending_upsert(channel_ids=ids, flow="stock", sku_ids=sku_ids)
        make_runs(channels, n)
        for channel in channels:
            HeldOrder.objects.create(channel=channel, external_id="H", payload={})
            quarantine(channel, "Q")

    add_channels(5)
    url = reverse("sync_health")
    few = count_queries(admin_client, url)
    add_channels(95)
    many = count_queries(admin_client, url)
    assert few == many
    assert admin_client.get(url).content.decode().count('class="sync-channel') == 100


@pytest.mark.django_db
def test_health_page_is_staff_only(client):
    url = reverse("sync_health")
    response = client.get(url)
    assert response.status_code == 302 and "/login/" in response["Location"]
    User.objects.create_user("shopper", password="pw-shopper-1", is_staff=False)
    client.login(username="shopper", password="pw-shopper-1")
    response = client.get(url)
    assert response.status_code == 302 and "/login/" in response["Location"]


# --- secrets --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_sync_pages_never_show_a_secret(admin_client):
    channel = active_channel()
    secret = channel_credentials(channel=channel)["app_token"]  # registers it for redaction
    assert secret.startswith(SECRET)
    # A stored error should never hold a secret; if one slipped in, the pages still mask it.
    run = SyncRun.objects.create(
        channel=channel,
        flow="stock",
        state=RunState.FAILED,
        finished_at=timezone.now(),
        error=f"Unexpected error: header {secret} rejected",
        detail={"echo": secret},
    )
    held = HeldOrder.objects.create(channel=channel, external_id="S1", payload={"x": secret})
    quarantined = quarantine(channel, "S2", payload={"x": secret}, reason=f"echo {secret}")
    pages = [
        reverse("admin:sync_syncrun_changelist"),
        reverse("admin:sync_syncrun_change", args=[run.pk]),
        reverse("admin:sync_heldorder_change", args=[held.pk]),
        reverse("admin:sync_quarantinedorder_changelist"),
        reverse("admin:sync_quarantinedorder_change", args=[quarantined.pk]),
        change_url(channel),
        reverse("admin:sync_channel_run_now", args=[channel.pk]),
        reverse("sync_health"),
    ]
    for url in pages:
        html = admin_client.get(url).content.decode()
        assert SECRET not in html, url
    detail = admin_client.get(pages[1]).content.decode()
    assert "header [REDACTED] rejected" in detail
