import pytest
from django_q.models import Schedule

from channels.models import SalesChannel
from channels.services import channel_announce_changed, channel_set_status
from sync.services.schedules import (
    RECONCILE_TASK,
    TASK,
    schedule_name,
    schedules_reconcile_all,
    schedules_reconcile_channel,
)
from tests.factories import make_channel


def rows(channel):
    return {
        s.name: (s.func, s.args, s.minutes, s.schedule_type)
        for s in Schedule.objects.filter(name__startswith=f"erpintegr:channel:{channel.pk}:")
    }


@pytest.mark.django_db
def test_activating_creates_one_schedule_per_enabled_supported_flow(
    django_capture_on_commit_callbacks,
):
    channel = make_channel(connector="anymarket")
    assert rows(channel) == {}
    with django_capture_on_commit_callbacks(execute=True):
        channel_set_status(channel=channel, status="active")
    expected = {
        schedule_name(channel.pk, s.flow): (
            TASK,
            repr((channel.pk, s.flow)),
            s.interval_minutes,
            "I",
        )
        for s in channel.sync_settings.filter(enabled=True)
    }
    assert set(expected) == {
        schedule_name(channel.pk, f) for f in ("stock", "price", "orders", "fulfilment")
    }
    # The stock reconciliation, at its own (long) interval, first run one interval from now.
    expected[schedule_name(channel.pk, "reconcile")] = (
        RECONCILE_TASK,
        repr((channel.pk,)),
        channel.reconcile_interval_minutes,
        "I",
    )
    assert rows(channel) == expected  # catalog is off on a new channel: no schedule
    reconcile = Schedule.objects.get(name=schedule_name(channel.pk, "reconcile"))
    assert (
        reconcile.next_run > Schedule.objects.get(name=schedule_name(channel.pk, "stock")).next_run
    )


@pytest.mark.django_db
def test_interval_change_disable_and_pause_each_leave_exactly_the_expected_rows(
    django_capture_on_commit_callbacks,
):
    channel = make_channel(connector="vtex")
    channel_set_status(channel=channel, status="active")
    schedules_reconcile_channel(channel_id=channel.pk)
    stock = schedule_name(channel.pk, "stock")

    channel.sync_settings.filter(flow="stock").update(interval_minutes=17)
    with django_capture_on_commit_callbacks(execute=True):
        channel_announce_changed(channel=channel)
    assert rows(channel)[stock][2] == 17
    assert Schedule.objects.filter(name=stock).count() == 1  # updated, not duplicated

    channel.sync_settings.filter(flow="price").update(enabled=False)
    schedules_reconcile_channel(channel_id=channel.pk)
    reconcile = schedule_name(channel.pk, "reconcile")
    assert set(rows(channel)) == {
        stock,
        schedule_name(channel.pk, "orders"),
        schedule_name(channel.pk, "fulfilment"),
        reconcile,
    }

    SalesChannel.objects.filter(pk=channel.pk).update(reconcile_interval_minutes=30)
    schedules_reconcile_channel(channel_id=channel.pk)
    assert rows(channel)[reconcile][2] == 30
    # No stock flow, or the reconciliation switched off (0): no reconciliation.
    channel.sync_settings.filter(flow="stock").update(enabled=False)
    schedules_reconcile_channel(channel_id=channel.pk)
    orders_and_fulfilment = {
        schedule_name(channel.pk, "orders"),
        schedule_name(channel.pk, "fulfilment"),
    }
    assert set(rows(channel)) == orders_and_fulfilment
    channel.sync_settings.filter(flow="stock").update(enabled=True)
    SalesChannel.objects.filter(pk=channel.pk).update(reconcile_interval_minutes=0)
    schedules_reconcile_channel(channel_id=channel.pk)
    assert set(rows(channel)) == {stock, *orders_and_fulfilment}

    with django_capture_on_commit_callbacks(execute=True):
        channel_set_status(channel=channel, status="paused")
    assert rows(channel) == {}


@pytest.mark.django_db
def test_reconcile_removes_duplicates_and_schedules_of_deleted_channels():
    channel = make_channel(connector="vtex")
    channel_set_status(channel=channel, status="active")
    schedules_reconcile_channel(channel_id=channel.pk)
    stock = Schedule.objects.get(name=schedule_name(channel.pk, "stock"))
    Schedule.objects.create(
        name=stock.name, func=TASK, args=stock.args, minutes=5, schedule_type="I"
    )  # django-q2 does not stop duplicates
    Schedule.objects.create(
        name="erpintegr:channel:99999:stock",
        func=TASK,
        args="(99999, 'stock')",
        minutes=5,
        schedule_type="I",
    )
    Schedule.objects.create(name="someone-elses", func="math.floor", args="(1,)", schedule_type="O")
    totals = schedules_reconcile_all()
    assert totals["deleted"] == 2
    assert Schedule.objects.filter(name=stock.name).count() == 1
    assert not Schedule.objects.filter(name__startswith="erpintegr:channel:99999:").exists()
    assert Schedule.objects.filter(name="someone-elses").exists()


@pytest.mark.django_db
def test_saving_the_channel_in_the_admin_reconciles(
    admin_client, django_capture_on_commit_callbacks
):
    from django.urls import reverse

    from tests.admin_forms import form_data

    channel = make_channel(connector="vtex")
    channel_set_status(channel=channel, status="active")
    url = reverse("admin:channels_saleschannel_change", args=[channel.pk])
    data = form_data(admin_client.get(url).content.decode(), "saleschannel_form")
    flows = dict(channel.sync_settings.values_list("pk", "flow"))
    index = next(i for i in range(4) if flows[int(data[f"sync_settings-{i}-id"])] == "orders")
    data[f"sync_settings-{index}-interval_minutes"] = "9"
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, data)
    assert response.status_code == 302
    assert rows(channel)[schedule_name(channel.pk, "orders")][2] == 9


# --- maintenance: the runs log stays bounded ---------------------------------------------------


@pytest.mark.django_db
def test_the_prune_schedule_exists_once_after_migrate_and_reconcile():
    from sync.services.schedules import MAINTENANCE, schedules_reconcile_all

    name = "erpintegr:maintenance:prune-sync-runs"
    assert name in MAINTENANCE
    # post_migrate created it for the test database already; reconciling twice adds nothing.
    assert Schedule.objects.filter(name=name).count() == 1
    Schedule.objects.create(name=name, func="sync.tasks.prune_sync_runs", minutes=5)
    schedules_reconcile_all()
    schedules_reconcile_all()
    (schedule,) = Schedule.objects.filter(name=name)
    assert (schedule.func, schedule.minutes) == ("sync.tasks.prune_sync_runs", 24 * 60)


@pytest.mark.django_db
def test_pruning_deletes_old_finished_runs_but_keeps_each_flows_newest_and_running_ones(settings):
    from datetime import timedelta

    from django.utils import timezone

    from sync.models import RunState, SyncRun
    from sync.tasks import prune_sync_runs

    settings.SYNC_RUN_RETENTION_DAYS = 30
    channel = make_channel()
    old = timezone.now() - timedelta(days=31)

    def run(flow, state, started_at):
        created = SyncRun.objects.create(channel=channel, flow=flow, state=state)
        SyncRun.objects.filter(pk=created.pk).update(started_at=started_at)
        return created.pk

    doomed = [run("stock", RunState.SUCCEEDED, old) for _ in range(3)]
    stuck = run("stock", RunState.RUNNING, old)
    recent = run("stock", RunState.SUCCEEDED, timezone.now() - timedelta(days=1))
    only_orders_run = run("orders", RunState.FAILED, old)  # the newest orders run: kept

    assert prune_sync_runs() == 3
    kept = set(SyncRun.objects.values_list("pk", flat=True))
    assert kept == {stuck, recent, only_orders_run}
    assert not kept & set(doomed)


@pytest.mark.django_db
def test_a_run_left_running_by_a_killed_worker_is_marked_failed_by_the_sweep():
    from datetime import timedelta

    from django.utils import timezone

    from sync.models import ChannelLease, RunState, SyncRun
    from sync.services.lease import lease_claim
    from sync.tasks import fail_dead_runs

    dead_channel, live_channel = make_channel(), make_channel(name="Live")
    # A worker killed by django-q2's timeout: its run says "running", its lease expired.
    dead = SyncRun.objects.create(channel=dead_channel, flow="stock")
    assert lease_claim(channel_id=dead_channel.pk, flow="stock") is not None
    ChannelLease.objects.filter(channel=dead_channel).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    # A live run holds its lease: left alone.
    live = SyncRun.objects.create(channel=live_channel, flow="stock")
    assert lease_claim(channel_id=live_channel.pk, flow="stock") is not None

    assert fail_dead_runs() == 1
    dead.refresh_from_db()
    live.refresh_from_db()
    assert dead.state == RunState.FAILED and "task timeout" in dead.error
    assert dead.finished_at is not None
    assert live.state == RunState.RUNNING
