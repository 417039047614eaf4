"""One run of one flow for one channel: lease, connector, budget, the run log."""

import logging
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from channels.models import ChannelStatus, SalesChannel
from channels.services import channel_set_status, sync_setting_record_request_size
from erpintegr.redaction import redact
from sync.models import PendingChange, RunState, RunTrigger, SyncRun
from sync.services.connectors import build_connector
from sync.services.context import ChannelStopped, LeaseLost, RunContext
from sync.services.lease import Lease, lease_claim
from sync.services.limits import rate_limiter_for
from sync.services.push import PUSH_PLANS, ChannelConfigError, push_pending
from vendors.errors import (
    AuthError,
    ConnectorError,
    InvalidVendorData,
    PermissionDeniedError,
)
from vendors.ratelimit import TokenBucket
from vendors.spec import Flow

logger = logging.getLogger("sync.runs")


def run_budget_seconds() -> float:
    """How long one run may keep starting requests: below the task timeout, with room to
    commit, so django-q2 never kills a run in the middle of its bookkeeping."""
    configured = getattr(settings, "SYNC_RUN_BUDGET_SECONDS", None)
    if configured:
        return float(configured)
    return max(settings.Q_CLUSTER.get("timeout", 600) * 0.8, 10)


def lease_ttl(budget: float) -> timedelta:
    """Renewed at every checkpoint (every few seconds), so the lease only has to outlive the
    longest single vendor call between checkpoints (an order page at a slow vendor), not the
    whole run: a killed worker then blocks its channel for minutes at most."""
    return timedelta(seconds=min(max(budget * 1.5, LEASE_TTL_MIN), LEASE_TTL_MAX))


LEASE_TTL_MIN, LEASE_TTL_MAX = 60, 300


# A retry wait at least this long first renews the lease and saves progress (a checkpoint),
# so a vendor's Retry-After never outlives the lease; the HTTP client caps every wait by the
# run's deadline.
LONG_WAIT_SECONDS = 5.0


class _BudgetedWait:
    """The sleep an adapter's retries use during a run.

    The checkpoint (database writes) runs only on the run's own thread: requests that an
    adapter keeps open at once (`Connector.each_request`) wait on pool threads, which never
    touch the database; meanwhile the run's thread renews the lease through `heartbeat`."""

    def __init__(self, sleep) -> None:
        self.sleep = sleep
        self.ctx: RunContext | None = None
        self.thread = threading.get_ident()

    def __call__(self, seconds: float) -> None:
        if seconds >= LONG_WAIT_SECONDS and threading.get_ident() == self.thread:
            self.heartbeat(force=True)
        self.sleep(seconds)

    def heartbeat(self, *, force: bool = False) -> None:
        """Save progress and renew the lease (at most every few seconds unless forced)."""
        if self.ctx is not None:
            self.ctx.checkpoint(force=force)


def _skip(channel_id: int, flow: str, trigger: str, reason: str) -> SyncRun:
    now = timezone.now()
    return SyncRun.objects.create(
        channel_id=channel_id,
        flow=flow,
        trigger=trigger,
        state=RunState.SKIPPED,
        finished_at=now,
        detail={"reason": reason},
    )


def channel_suspend(*, channel: SalesChannel, reason: str) -> bool:
    """The vendor refused us (revoked access, integration disabled): stop and say why.

    Only an Active channel is suspended, checked under the channel's row lock: support may have
    paused or deactivated it while this run was talking to the vendor, and their decision
    stands (a paused channel must not come back as "suspended by the vendor")."""
    with transaction.atomic():
        status = (
            SalesChannel.objects.select_for_update()
            .filter(pk=channel.pk)
            .values_list("status", flat=True)
            .first()
        )
        if status != ChannelStatus.ACTIVE:
            logger.info("Channel %s is %s now; not suspending it: %s", channel.pk, status, reason)
            return False
        channel_set_status(channel=channel, status=ChannelStatus.SUSPENDED, reason=reason)
    logger.warning("Channel %s suspended: %s", channel.pk, reason)
    return True


def run_flow(
    *,
    channel_id: int,
    flow: str,
    trigger: str = RunTrigger.SCHEDULE,
    connector_options: dict | None = None,
    budget_seconds: float | None = None,
) -> SyncRun | None:
    channel = SalesChannel.objects.select_related("company").filter(pk=channel_id).first()
    if channel is None:
        logger.info("run_flow for deleted channel %s ignored", channel_id)
        return None
    if channel.status != ChannelStatus.ACTIVE:
        return _skip(
            channel_id, flow, trigger, f"channel is {channel.get_status_display().lower()}"
        )
    setting = channel.sync_settings.filter(flow=flow).first()
    if setting is None or not setting.enabled:
        return _skip(channel_id, flow, trigger, "flow is disabled on the channel")
    budget = budget_seconds if budget_seconds is not None else run_budget_seconds()
    lease = lease_claim(channel_id=channel_id, flow=flow, ttl=lease_ttl(budget))
    if lease is None:
        return _skip(channel_id, flow, trigger, "another run of this channel is in progress")
    # Holding the lease means no live run of this channel exists: any run still marked
    # running was left by a worker that died (its lease expired). Say so on it.
    SyncRun.objects.filter(channel_id=channel_id, state=RunState.RUNNING).update(
        state=RunState.FAILED,
        finished_at=timezone.now(),
        error="Abandoned: the worker stopped before finishing (its lease expired). "
        "Nothing was lost: unfinished changes stayed pending for the next run.",
    )
    options = dict(connector_options or {})
    waits = _BudgetedWait(options.pop("sleep", time.sleep))
    # The bucket's waits (a Retry-After pause) go through the same wait as the connector's
    # retries: a long one renews the lease first, and tests compress time through it.
    limiter = rate_limiter_for(channel, sleep=waits)
    run = SyncRun.objects.create(channel=channel, flow=flow, trigger=trigger)
    ctx = None
    try:
        deadline = time.monotonic() + budget
        connector = build_connector(
            channel,
            rate_limiter=limiter,
            sleep=waits,
            deadline=lambda: deadline,
            request_sizes=_learned_request_sizes(channel),
            heartbeat=waits.heartbeat,
            **options,
        )
        ctx = RunContext(
            run=run,
            channel=channel,
            connector=connector,
            lease=lease,
            deadline=deadline,
        )
        waits.ctx = ctx
        _execute(ctx, flow=flow, limit=setting.batch_size)
        issues = (
            ctx.counts.get("rejected")
            or ctx.counts.get("deferred")
            or ctx.counts.get("quarantined")
            or ctx.counts.get("held_events")
            or ctx.counts.get("waiting")
        )
        run.state = RunState.PARTIAL if issues else RunState.SUCCEEDED
    except (AuthError, PermissionDeniedError) as exc:
        run.state = RunState.FAILED
        run.error = redact(f"The vendor refused our access: {exc}")
        channel_suspend(
            channel=channel,
            reason=f"{channel.vendor.label} refused access "
            f"({exc.status}): {exc}. Check the credentials, test the connection and "
            "reactivate.",
        )
    except InvalidVendorData as exc:
        # A value outside any one order cannot be read (a page envelope: the paging total, a
        # feed that is not a list). An unreadable order never gets here: it is quarantined
        # with its page (sync.services.orders). The answer holding this value was neither
        # stored nor acknowledged and the cursor stayed before it; the next run asks again.
        run.state = RunState.FAILED
        run.error = redact(
            f"{exc}. Nothing from the vendor's answer holding it was stored or acknowledged "
            "(the order cursor or feed stays before it); the next run reads it again."
        )
        logger.warning("Run %s of channel %s: %s", run.pk, channel_id, run.error)
    except ConnectorError as exc:
        run.state = RunState.FAILED
        run.error = redact(str(exc))
    except ChannelStopped as exc:
        run.state = RunState.STOPPED
        run.error = str(exc)
    except (ChannelConfigError, LeaseLost) as exc:
        run.state = RunState.FAILED
        run.error = str(exc)
    except Exception as exc:  # recorded, not re-raised: a crash loop helps nobody
        logger.exception("Run %s of channel %s failed", run.pk, channel_id)
        run.state = RunState.FAILED
        run.error = redact(f"Unexpected error: {type(exc).__name__}: {exc}")
    finally:
        if ctx is not None:
            _keep_learned_request_sizes(ctx)
            ctx.sync_counters()
        run.finished_at = timezone.now()
        run.save()
        _release(lease, limiter)
    return run


def _learned_request_sizes(channel: SalesChannel) -> dict[str, int]:
    """flow -> items per request an earlier run learned the vendor accepts, capped by the
    flow's batch size. One query."""
    return {
        flow: min(learned, batch_size)
        for flow, learned, batch_size in channel.sync_settings.filter(
            learned_request_size__isnull=False
        ).values_list("flow", "learned_request_size", "batch_size")
    }


def _keep_learned_request_sizes(ctx: RunContext) -> None:
    """What this run learned about the vendor's batch size stays with the channel (even when
    the run failed later: the vendor's answer was real)."""
    learned = getattr(ctx.connector, "learned_request_sizes", None) or {}
    for flow, size in learned.items():
        sync_setting_record_request_size(channel_id=ctx.channel.pk, flow=flow, size=size)
        ctx.extra.setdefault("learned_request_size", {})[str(flow)] = size


def _release(lease: Lease, limiter: TokenBucket) -> None:
    lease.release(limiter_state=limiter.state())


def _execute(ctx: RunContext, *, flow: str, limit: int) -> None:
    if ctx.run.trigger == RunTrigger.RECONCILE:
        # Low priority: only when nothing else holds the channel (the lease), a few pages.
        from sync.services.reconcile import reconcile_stock

        reconcile_stock(ctx, pages=ctx.channel.reconcile_pages_per_run)
        return
    from sync.services.events import hints_mark_processed

    # The hints received until now point at what this run reads anyway (it re-reads the
    # vendor): processed, whatever the run finds.
    hints_mark_processed(channel_id=ctx.channel.pk, flow=flow, before=ctx.run.started_at)
    if flow == Flow.ORDERS:
        from sync.services.orders import orders_import
        from sync.services.sweep import orders_sweep, sweep_due

        drained = orders_import(ctx, limit=limit)
        # The missed-order sweep on its own interval, once the regular import has read all
        # there was (an order still waiting in the stream is not missed).
        if drained and ctx.has_time() and sweep_due(channel=ctx.channel):
            orders_sweep(ctx)
        return
    if flow == Flow.FULFILMENT:
        from sync.services.fulfilment import fulfilment_send

        fulfilment_send(ctx, limit=limit)
        return
    # Time-critical flows first (FlowPlan.push_first): a price or catalog run that finds stock
    # pending pushes stock first with its budget (orders have their own frequent schedule).
    for first in PUSH_PLANS[flow].push_first:
        setting = ctx.channel.sync_settings.filter(flow=first, enabled=True).first()
        if setting and PendingChange.objects.filter(channel=ctx.channel, flow=first).exists():
            ctx.extra.setdefault("also_pushed", []).append(str(first))
            push_pending(ctx, flow=first, limit=setting.batch_size)
    if flow == Flow.CATALOG:
        from sync.services.catalog import catalog_publish_pending

        catalog_publish_pending(ctx, limit=limit)
        return
    push_pending(ctx, flow=flow, limit=limit)
