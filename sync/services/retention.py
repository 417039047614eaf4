"""Keep the runs log true and bounded.

Runs left "running" by a worker that died (killed by django-q2's timeout, OOM, a machine gone)
are marked failed by a frequent sweep: a run is alive only while its channel's lease is held.

A year of 1-minute runs would otherwise grow SyncRun forever:

Runs older than SYNC_RUN_RETENTION_DAYS are deleted by a daily maintenance task, in batches
(short transactions, no long write lock on SQLite). The newest run of each channel × flow is
kept whatever its age: the channel page and the health page read "last run" from it.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Max
from django.utils import timezone

from sync.models import ChannelLease, RunState, SyncRun

DEAD_RUN_ERROR = (
    "Stopped: the worker running it ended before finishing (killed by the task timeout, or "
    "crashed). Nothing was lost: unfinished changes stayed pending for the next run."
)


def sync_runs_fail_dead() -> int:
    """Mark failed every run still "running" whose channel lease nobody holds any more (the
    one live run of a channel always holds an unexpired lease). Returns how many."""
    now = timezone.now()
    live = ChannelLease.objects.exclude(holder="").filter(expires_at__gte=now)
    return (
        SyncRun.objects.filter(state=RunState.RUNNING)
        .exclude(channel_id__in=live.values("channel_id"))
        .update(state=RunState.FAILED, finished_at=now, error=DEAD_RUN_ERROR)
    )


PRUNE_BATCH = 5_000


def sync_runs_prune(*, retention_days: int | None = None, batch_size: int = PRUNE_BATCH) -> int:
    """Delete finished runs older than the retention. Returns how many were deleted."""
    days = settings.SYNC_RUN_RETENTION_DAYS if retention_days is None else retention_days
    cutoff = timezone.now() - timedelta(days=days)
    newest = set(
        SyncRun.objects.order_by()
        .values("channel_id", "flow")
        .annotate(newest=Max("pk"))
        .values_list("newest", flat=True)
    )
    deleted = 0
    while True:
        ids = list(
            SyncRun.objects.filter(started_at__lt=cutoff)
            .exclude(state=RunState.RUNNING)
            .exclude(pk__in=newest)
            .order_by("started_at")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return deleted
        deleted += SyncRun.objects.filter(pk__in=ids).delete()[0]
