"""Keep django-q2 Schedules equal to the channels' settings. The only writer of them.

One Schedule per ACTIVE channel × enabled, supported flow, named `erpintegr:channel:<id>:<flow>`,
calling `sync.tasks.run_flow(<id>, '<flow>')` every `interval_minutes`. Schedule.name is not
unique in django-q2's table, so lookups happen under the channel's row lock and duplicates are
removed.
"""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django_q.models import Schedule

from channels.models import ChannelStatus, SalesChannel
from vendors.spec import Flow

PREFIX = "erpintegr:channel:"
TASK = "sync.tasks.run_flow"
# The stock reconciliation of a channel (sync.services.reconcile): `<prefix><id>:reconcile`.
RECONCILE_TASK = "sync.tasks.reconcile_stock"
RECONCILE = "reconcile"
# Housekeeping that belongs to no channel: name -> (task, minutes between runs).
MAINTENANCE = {
    "erpintegr:maintenance:prune-sync-runs": ("sync.tasks.prune_sync_runs", 24 * 60),
    "erpintegr:maintenance:fail-dead-runs": ("sync.tasks.fail_dead_runs", 5),
    "erpintegr:maintenance:resume-mapping-imports": ("mappings.tasks.resume_mapping_imports", 5),
}


def schedule_name(channel_id: int, flow: str) -> str:
    return f"{PREFIX}{channel_id}:{flow}"


def desired_schedules(channel: SalesChannel) -> dict[str, tuple[str, str, int]]:
    """name -> (task, args, minutes) for what should exist now: one per enabled, supported
    flow, and the stock reconciliation where the stock flow runs and its interval is set."""
    if channel.status != ChannelStatus.ACTIVE:
        return {}
    unsupported = channel.vendor.unsupported_flows
    desired = {
        schedule_name(channel.pk, s.flow): (
            TASK,
            repr((channel.pk, str(s.flow))),
            s.interval_minutes,
        )
        for s in channel.sync_settings.all()
        if s.enabled and s.flow not in unsupported
    }
    if channel.reconcile_interval_minutes and schedule_name(channel.pk, Flow.STOCK) in desired:
        desired[schedule_name(channel.pk, RECONCILE)] = (
            RECONCILE_TASK,
            repr((channel.pk,)),
            channel.reconcile_interval_minutes,
        )
    return desired


@transaction.atomic
def schedules_reconcile_channel(*, channel_id: int) -> dict[str, int]:
    """Create, update and delete this channel's schedules. Returns counts."""
    channel = SalesChannel.objects.select_for_update().filter(pk=channel_id).first()
    desired = desired_schedules(channel) if channel is not None else {}
    existing = list(Schedule.objects.filter(name__startswith=f"{PREFIX}{channel_id}:"))
    counts = {"created": 0, "updated": 0, "deleted": 0}
    seen: set[str] = set()
    for schedule in existing:
        if schedule.name not in desired or schedule.name in seen:
            schedule.delete()
            counts["deleted"] += 1
            continue
        seen.add(schedule.name)
        func, args, minutes = desired[schedule.name]
        if (schedule.minutes, schedule.args, schedule.func) != (minutes, args, func):
            schedule.minutes, schedule.args, schedule.func = minutes, args, func
            schedule.schedule_type = Schedule.MINUTES
            schedule.save()
            counts["updated"] += 1
    for name, (func, args, minutes) in desired.items():
        if name in seen:
            continue
        # Flows start at once; the reconciliation (low priority) one interval from now.
        first = timezone.now()
        if func == RECONCILE_TASK:
            first += timedelta(minutes=minutes)
        Schedule.objects.create(
            name=name,
            func=func,
            args=args,
            schedule_type=Schedule.MINUTES,
            minutes=minutes,
            repeats=-1,
            next_run=first,
        )
        counts["created"] += 1
    return counts


@transaction.atomic
def schedules_reconcile_maintenance() -> dict[str, int]:
    """Exactly one schedule per maintenance task (names are not unique in django-q2)."""
    counts = {"created": 0, "updated": 0, "deleted": 0}
    for name, (func, minutes) in MAINTENANCE.items():
        existing = list(Schedule.objects.select_for_update().filter(name=name).order_by("pk"))
        for duplicate in existing[1:]:
            duplicate.delete()
            counts["deleted"] += 1
        if not existing:
            Schedule.objects.create(
                name=name,
                func=func,
                schedule_type=Schedule.MINUTES,
                minutes=minutes,
                repeats=-1,
                next_run=timezone.now(),
            )
            counts["created"] += 1
        elif (existing[0].func, existing[0].minutes) != (func, minutes):
            existing[0].func, existing[0].minutes = func, minutes
            existing[0].schedule_type = Schedule.MINUTES
            existing[0].save()
            counts["updated"] += 1
    return counts


def schedules_reconcile_all() -> dict[str, int]:
    """Every channel, plus schedules left by channels that no longer exist, plus the
    maintenance schedules."""
    totals = schedules_reconcile_maintenance()
    channel_ids = set(SalesChannel.objects.values_list("pk", flat=True))
    for name in Schedule.objects.filter(name__startswith=PREFIX).values_list("name", flat=True):
        try:
            channel_ids.add(int(name[len(PREFIX) :].split(":")[0]))
        except ValueError:
            continue
    for channel_id in sorted(channel_ids):
        for key, value in schedules_reconcile_channel(channel_id=channel_id).items():
            totals[key] += value
    return totals
