"""Event-driven runs: a stored vendor notification or a pending ERP change runs the channel's
flow within seconds, through the same `run_flow` (lease, rate limiter, budget, SyncRun) as a
scheduled run. The schedule (every N minutes) stays as the safety net.

The guard is `SyncSetting.event_run_due_at`: one conditional UPDATE arms it (NULL -> now +
debounce) and only the caller whose UPDATE changed the row enqueues the task, so a burst of
500 changes (or a flood of 1,000 notifications) is one queued run per channel × flow. The task
waits out the debounce, disarms the guard and runs: a change that arrives during the run arms
the next one. A task the broker lost (Redis has no ack) leaves the guard armed; after
`STALE_AFTER` the next change re-arms it, and the schedule covers the gap meanwhile.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from channels.models import ChannelStatus, SyncSetting
from sync.models import ChannelLease, NotificationHint, RunTrigger
from vendors.registry import VENDORS, get_spec
from vendors.spec import Flow

logger = logging.getLogger("sync.events")

EVENT_TASK = "sync.tasks.run_event_flow"
STALE_AFTER = timedelta(minutes=10)
# Processed hints are kept this long (what came in lately), then deleted by the next run.
HINT_RETENTION = timedelta(days=1)
# The flow a hint of each kind runs, and the kinds a run of a flow consumes. Product hints
# run nothing by themselves: the ERP is the master of stock and prices, and a vendor-side edit
# is caught by the stock reconciliation; the next stock run marks them processed.
HINT_FLOW = {
    NotificationHint.Kind.ORDER: Flow.ORDERS,
    NotificationHint.Kind.SHIPMENT: Flow.ORDERS,
}
KINDS_OF_FLOW = {
    Flow.ORDERS: (NotificationHint.Kind.ORDER, NotificationHint.Kind.SHIPMENT),
    Flow.STOCK: (NotificationHint.Kind.PRODUCT,),
}


# The flows that can run on change (VendorSpec.runs_on_change says which, per vendor).
EVENT_FLOWS = (Flow.STOCK, Flow.PRICE, Flow.ORDERS)


def debounce_seconds() -> float:
    return float(getattr(settings, "ERPINTEGR_EVENT_DEBOUNCE_SECONDS", 2.0))


def event_run_request(*, channel_ids: Iterable[int], flow: str) -> list[int]:
    """Arm one event run of `flow` per channel (active, flow enabled) unless one is armed.
    One UPDATE per channel; the task is enqueued after commit for the channels armed now.
    Returns those channel ids."""
    if flow not in EVENT_FLOWS:
        return []
    connectors = [key for key in VENDORS if get_spec(key).runs_on_change(flow)]
    now = timezone.now()
    due = now + timedelta(seconds=debounce_seconds())
    armed = []
    for channel_id in channel_ids:
        changed = (
            SyncSetting.objects.filter(
                channel_id=channel_id,
                flow=flow,
                enabled=True,
                channel__status=ChannelStatus.ACTIVE,
                channel__connector__in=connectors,
            )
            .filter(Q(event_run_due_at__isnull=True) | Q(event_run_due_at__lt=now - STALE_AFTER))
            .update(event_run_due_at=due)
        )
        if changed:
            armed.append(channel_id)
            transaction.on_commit(lambda c=channel_id: _enqueue(c, flow))
    return armed


def _enqueue(channel_id: int, flow: str) -> None:
    from django_q.tasks import async_task

    async_task(EVENT_TASK, channel_id, str(flow), task_name=f"erpintegr:event:{channel_id}:{flow}")


def _lease_busy(channel_id: int) -> bool:
    return (
        ChannelLease.objects.filter(channel_id=channel_id, expires_at__gt=timezone.now())
        .exclude(holder="")
        .exists()
    )


def event_run_execute(*, channel_id: int, flow: str, run_flow, sleep=time.sleep, **run_options):
    """The queued event run: wait out the debounce, disarm, run (`run_flow`:
    sync.services.runs.run_flow, passed in by the task; runs imports this module). Returns the
    SyncRun, or None when nothing was armed (already run) or the channel is busy (then re-armed
    and queued again: the changes must not wait for the interval)."""
    due = (
        SyncSetting.objects.filter(channel_id=channel_id, flow=flow)
        .values_list("event_run_due_at", flat=True)
        .first()
    )
    if due is None:
        return None
    wait = (due - timezone.now()).total_seconds()
    if wait > 0:
        sleep(min(wait, debounce_seconds()))
    if _lease_busy(channel_id):
        # Another run holds the channel: try again after one more debounce.
        SyncSetting.objects.filter(channel_id=channel_id, flow=flow).update(
            event_run_due_at=timezone.now() + timedelta(seconds=debounce_seconds())
        )
        _enqueue(channel_id, flow)
        return None
    SyncSetting.objects.filter(channel_id=channel_id, flow=flow).update(event_run_due_at=None)
    return run_flow(channel_id=channel_id, flow=flow, trigger=RunTrigger.EVENT, **run_options)


def hints_mark_processed(*, channel_id: int, flow: str, before) -> int:
    """A run of `flow` started at `before` reads everything the hints received until then
    pointed at (it re-reads the vendor's feed / recent orders): mark them processed, and
    delete processed ones past the retention. Returns the count marked."""
    kinds = KINDS_OF_FLOW.get(flow)
    if not kinds:
        return 0
    marked = NotificationHint.objects.filter(
        channel_id=channel_id, kind__in=kinds, processed_at__isnull=True, received_at__lte=before
    ).update(processed_at=timezone.now())
    NotificationHint.objects.filter(
        channel_id=channel_id, processed_at__lt=timezone.now() - HINT_RETENTION
    ).delete()
    return marked
