"""manage.py sync_channel and manage.py reconcile_schedules."""

import threading
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from django_q.models import Schedule

from channels.models import SyncSetting
from channels.services import channel_set_status
from sync.management.commands.sync_channel import Command as SyncChannelCommand
from sync.models import RunState, RunTrigger, SyncRun
from sync.services import runs
from sync.services.pending import pending_upsert
from sync.services.schedules import PREFIX, schedule_name
from tests.factories import make_channel, make_sku

_seq = iter(range(1, 10_000))


def active_channel(**kwargs):
    n = next(_seq)
    channel = make_channel(
        connector="vtex",
        credentials={
            "account_name": f"lojacmd{n}",
            "app_key": f"appkey-cmd-{n}",
            "app_token": f"apptoken-cmd-{n}-secret",
        },
        **kwargs,
    )
    channel_set_status(channel=channel, status="active")
    return channel


def sync_channel(*args, **options):
    out, err = StringIO(), StringIO()
    try:
        call_command("sync_channel", *args, poll_interval=0.01, stdout=out, stderr=err, **options)
    except CommandError as exc:
        return out.getvalue(), err.getvalue(), exc
    return out.getvalue(), err.getvalue(), None


# --- sync_channel ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_sync_channel_reports_a_failed_run_and_exits_non_zero():
    # No stock warehouses on the channel: the stock run fails before any HTTP request.
    channel = active_channel()
    pending_upsert(channel_ids=[channel.pk], flow="stock", sku_ids=[make_sku(channel.company).pk])
    out, err, exc = sync_channel(str(channel.pk), flow="stock")

    assert exc is not None
    assert "stock failed" in str(exc) and "no stock warehouses" in str(exc)
    assert "\r stock: 0/1 (0%) requests 0 retries 0 429s 0 — failed" in out
    assert "stock failed: " in err and "no stock warehouses" in err
    run = SyncRun.objects.get(channel=channel)
    assert run.trigger == RunTrigger.COMMAND and run.state == RunState.FAILED


@pytest.mark.django_db
def test_sync_channel_reports_a_skipped_run_and_exits_non_zero():
    channel = active_channel()
    channel_set_status(channel=channel, status="paused")
    out, err, exc = sync_channel(str(channel.pk), flow="orders")
    assert exc is not None and "orders skipped" in str(exc) and "channel is paused" in str(exc)
    assert "— skipped" in out


@pytest.mark.django_db
def test_sync_channel_refuses_unknown_channel_and_missing_choice_and_skips_a_disabled_flow():
    channel = active_channel()
    _, _, exc = sync_channel("999999", flow="stock")
    assert "No sales channel with id 999999" in str(exc)
    _, _, exc = sync_channel(str(channel.pk))
    assert "--flow" in str(exc) and "--all-flows" in str(exc)
    assert not SyncRun.objects.exists()
    # The catalog is supported but off on a new channel (support turns publishing on).
    _, _, exc = sync_channel(str(channel.pk), flow="catalog")
    assert "catalog skipped" in str(exc) and "flow is disabled" in str(exc)


def fake_run(channel_id: int, flow: str, state: str = RunState.SUCCEEDED) -> SyncRun:
    return SyncRun.objects.create(
        channel_id=channel_id,
        flow=flow,
        trigger=RunTrigger.COMMAND,
        state=state,
        total=2,
        done=2,
        finished_at=timezone.now(),
    )


@pytest.mark.django_db
def test_sync_channel_all_flows_runs_each_enabled_supported_flow(monkeypatch):
    channel = active_channel()
    SyncSetting.objects.filter(channel=channel, flow="price").update(enabled=False)
    calls = []

    def record(*, channel_id, flow, trigger):
        calls.append((channel_id, flow, trigger))
        return fake_run(channel_id, flow)

    monkeypatch.setattr(runs, "run_flow", record)
    out, _, exc = sync_channel(str(channel.pk), all_flows=True)
    assert exc is None
    assert calls == [
        (channel.pk, "stock", "command"),
        (channel.pk, "orders", "command"),
        (channel.pk, "fulfilment", "command"),
    ]
    assert "stock: 2/2 (100%)" in out and "orders: 2/2 (100%)" in out


@pytest.mark.django_db
def test_sync_channel_all_flows_fails_if_any_flow_fails(monkeypatch):
    channel = active_channel()

    def record(*, channel_id, flow, trigger):
        state = RunState.FAILED if flow == "price" else RunState.SUCCEEDED
        run = fake_run(channel_id, flow, state)
        if state == RunState.FAILED:
            SyncRun.objects.filter(pk=run.pk).update(error="Vendor said 503")
            run.refresh_from_db()
        return run

    monkeypatch.setattr(runs, "run_flow", record)
    out, _, exc = sync_channel(str(channel.pk), all_flows=True)
    assert exc is not None and "price failed" in str(exc) and "Vendor said 503" in str(exc)
    assert "stock failed" not in str(exc) and "orders" not in str(exc)
    assert "orders: 2/2" in out  # the flows after the failed one still ran


@pytest.mark.django_db(transaction=True)
def test_sync_channel_shows_live_progress_while_the_run_works(monkeypatch):
    """The run advances to 350/1000 and waits until the progress thread has shown it."""
    channel = active_channel()
    shown = threading.Event()
    original = SyncChannelCommand.write_progress

    def write_progress(self, text):
        original(self, text)
        if "350/1000" in text:
            shown.set()

    def slow_run(*, channel_id, flow, trigger):
        run = SyncRun.objects.create(channel_id=channel_id, flow=flow, trigger=trigger)
        SyncRun.objects.filter(pk=run.pk).update(total=1000, done=350, requests=40)
        assert shown.wait(timeout=10), "the progress line never showed 350/1000"
        SyncRun.objects.filter(pk=run.pk).update(
            done=1000, requests=110, state=RunState.SUCCEEDED, finished_at=timezone.now()
        )
        run.refresh_from_db()
        return run

    monkeypatch.setattr(SyncChannelCommand, "write_progress", write_progress)
    monkeypatch.setattr(runs, "run_flow", slow_run)
    out, _, exc = sync_channel(str(channel.pk), flow="stock")
    assert exc is None
    assert "\r stock: 350/1000 (35%) requests 40 retries 0" in out
    assert "\r stock: 1000/1000 (100%) requests 110 retries 0 429s 0 — succeeded" in out
    assert out.index("350/1000") < out.index("1000/1000")


# --- reconcile_schedules --------------------------------------------------------------------


@pytest.mark.django_db
def test_reconcile_schedules_prints_counts():
    # channel_set_status reconciles on commit, which never comes inside a test transaction:
    # the command is what creates the schedules here.
    channel = active_channel()
    Schedule.objects.create(
        name=f"{PREFIX}999999:stock", func="sync.tasks.run_flow", schedule_type=Schedule.MINUTES
    )
    out = StringIO()
    call_command("reconcile_schedules", stdout=out)
    assert (
        "Schedules reconciled: 5 created, 0 updated, 1 deleted; 5 channel schedule(s) in place."
        in out.getvalue()
    )
    names = set(Schedule.objects.filter(name__startswith=PREFIX).values_list("name", flat=True))
    flows = ("stock", "price", "orders", "fulfilment", "reconcile")  # and the stock reconciliation
    assert names == {schedule_name(channel.pk, f) for f in flows}

    SyncSetting.objects.filter(channel=channel, flow="stock").update(interval_minutes=30)
    out = StringIO()
    call_command("reconcile_schedules", stdout=out)
    assert "0 created, 1 updated, 0 deleted; 5 channel schedule(s)" in out.getvalue()
