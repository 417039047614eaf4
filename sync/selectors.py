"""Reads for the channel page's sync panel and the health page.

Both answer in a constant number of queries whatever the number of channels, runs or pending
rows: per-channel figures come from correlated subqueries on one channel (or sync setting)
query, never from a query per row.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Count, F, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django_q.models import Schedule

from channels.models import ChannelStatus, SalesChannel, SyncSetting
from sync.models import (
    HeldOrder,
    PendingChange,
    QuarantinedOrder,
    RunState,
    RunTrigger,
    SyncRun,
)
from sync.services.push import PUSH_FLOWS
from sync.services.schedules import schedule_name
from sync.services.sweep import SWEEP_ALERT_DAYS
from vendors.spec import Flow

# A flow is late when it is this many intervals behind…
LATE_INTERVALS = 3
# …but never sooner than this: the scheduler wakes about every 30 s and a run takes a while,
# so "3 × 1 minute" would flag healthy channels.
LATE_MINIMUM = timedelta(minutes=15)
# An orders run that finished with item errors still read the feed and moved the cursor.
SUCCESSFUL_STATES = (RunState.SUCCEEDED, RunState.PARTIAL)
FLOW_ORDER = (Flow.CATALOG, Flow.STOCK, Flow.PRICE, Flow.ORDERS)


def late_threshold(interval_minutes: int) -> timedelta:
    return max(timedelta(minutes=LATE_INTERVALS * interval_minutes), LATE_MINIMUM)


def _count(queryset: QuerySet) -> Coalesce:
    """COUNT(*) of a queryset filtered on one channel (OuterRef), as an annotation; 0 when
    empty. Grouped by channel: the filter leaves a single group."""
    counted = queryset.order_by().values("channel").annotate(n=Count("pk")).values("n")[:1]
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def _open_quarantined() -> Coalesce:
    """Open quarantined orders of the channel (OuterRef "pk"), as an annotation."""
    return _count(QuarantinedOrder.objects.filter(channel=OuterRef("pk"), resolved_at__isnull=True))


def _oldest_changed_at(queryset: QuerySet) -> Subquery:
    return Subquery(queryset.order_by("changed_at").values("changed_at")[:1])


def _last_success_finished(channel_ref: str, flow_ref) -> Subquery:
    return Subquery(
        SyncRun.objects.filter(
            channel=OuterRef(channel_ref), flow=flow_ref, state__in=SUCCESSFUL_STATES
        )
        .exclude(trigger=RunTrigger.RECONCILE)  # reads the vendor's stock, pushes nothing
        .order_by("-finished_at")
        .values("finished_at")[:1]
    )


# --- channel page panel ---------------------------------------------------------------------


@dataclass
class FlowPanelRow:
    flow: str
    label: str
    supported: bool
    unsupported_reason: str
    enabled: bool
    interval_minutes: int | None
    last_run: SyncRun | None
    last_success_at: datetime | None
    next_run: datetime | None
    scheduled: bool
    pending_count: int
    oldest_pending_at: datetime | None
    late: bool

    @property
    def oldest_pending_age(self) -> timedelta | None:
        if self.oldest_pending_at is None:
            return None
        return timezone.now() - self.oldest_pending_at


@dataclass
class ChannelPanel:
    channel: SalesChannel
    flows: list[FlowPanelRow]
    held_open: int
    unmapped_open: int
    quarantined_open: int = 0


def channel_sync_panel(*, channel: SalesChannel, now: datetime | None = None) -> ChannelPanel:
    """Per flow: setting, last run, next run, pending; plus open held orders, quarantined
    orders and unmapped values. Four queries whatever the number of runs and pending rows."""
    from mappings.models import UnmappedValue

    now = now or timezone.now()
    pending = PendingChange.objects.filter(channel=OuterRef("channel"), flow=OuterRef("flow"))
    settings = {
        s.flow: s
        for s in SyncSetting.objects.filter(channel=channel).annotate(
            last_run_id=Subquery(
                SyncRun.objects.filter(channel=OuterRef("channel"), flow=OuterRef("flow"))
                .exclude(trigger=RunTrigger.RECONCILE)
                .order_by("-started_at", "-id")
                .values("pk")[:1]
            ),
            last_success_at=_last_success_finished("channel", OuterRef("flow")),
            pending_count=_count(pending),
            oldest_pending_at=_oldest_changed_at(pending),
        )
    }
    # Query 2: the last runs themselves (one row per flow at most).
    run_ids = [s.last_run_id for s in settings.values() if s.last_run_id]
    runs = SyncRun.objects.in_bulk(run_ids) if run_ids else {}
    # Query 3: next runs.
    names = {schedule_name(channel.pk, flow): flow for flow in FLOW_ORDER}
    next_runs: dict[str, datetime | None] = {}
    for name, next_run in Schedule.objects.filter(name__in=list(names)).values_list(
        "name", "next_run"
    ):
        next_runs[names[name]] = next_run
    # Query 4: the channel-wide counts, in one statement.
    counts = (
        SalesChannel.objects.filter(pk=channel.pk)
        .annotate(
            held_open=_count(
                HeldOrder.objects.filter(channel=OuterRef("pk"), resolved_at__isnull=True)
            ),
            unmapped_open=_count(
                UnmappedValue.objects.filter(channel=OuterRef("pk"), resolved_at__isnull=True)
            ),
            quarantined_open=_open_quarantined(),
        )
        .values("held_open", "unmapped_open", "quarantined_open")
        .first()
    ) or {"held_open": 0, "unmapped_open": 0, "quarantined_open": 0}

    connector = channel.vendor
    active = channel.status == ChannelStatus.ACTIVE
    rows = []
    for flow in FLOW_ORDER:
        setting = settings.get(flow)
        reason = connector.unsupported_flows.get(flow, "")
        enabled = bool(setting and setting.enabled and not reason)
        interval = setting.interval_minutes if setting else None
        oldest = setting.oldest_pending_at if setting else None
        last_success = setting.last_success_at if setting else None
        late = False
        if active and enabled and interval:
            late = _flow_late(
                flow=flow,
                interval_minutes=interval,
                oldest_pending_at=oldest,
                last_success_at=last_success,
                active_since=channel.updated_at,
                now=now,
            )
        rows.append(
            FlowPanelRow(
                flow=flow,
                label=Flow(flow).label,
                supported=not reason,
                unsupported_reason=reason,
                enabled=enabled,
                interval_minutes=interval,
                last_run=runs.get(setting.last_run_id) if setting else None,
                last_success_at=last_success,
                next_run=next_runs.get(flow),
                scheduled=flow in next_runs,
                pending_count=setting.pending_count if setting else 0,
                oldest_pending_at=oldest,
                late=late,
            )
        )
    return ChannelPanel(
        channel=channel,
        flows=rows,
        held_open=counts["held_open"],
        unmapped_open=counts["unmapped_open"],
        quarantined_open=counts["quarantined_open"],
    )


def _flow_late(
    *,
    flow: str,
    interval_minutes: int,
    oldest_pending_at: datetime | None,
    last_success_at: datetime | None,
    active_since: datetime | None,
    now: datetime,
) -> bool:
    threshold = late_threshold(interval_minutes)
    if flow == Flow.ORDERS:
        # The newest of "last success" and "active since": a channel just (re)activated gets
        # its grace period even if its last success is old; one that never succeeded since
        # activation is late once the threshold passes.
        reference = max((t for t in (last_success_at, active_since) if t), default=None)
        return reference is not None and now - reference > threshold
    return oldest_pending_at is not None and now - oldest_pending_at > threshold


# --- health page ----------------------------------------------------------------------------


@dataclass
class FlowHealth:
    flow: str
    label: str
    supported: bool
    enabled: bool
    interval_minutes: int | None
    pending_count: int = 0
    oldest_pending_at: datetime | None = None
    age: timedelta | None = None
    late: bool = False


@dataclass
class ChannelHealth:
    channel: SalesChannel
    push_flows: list[FlowHealth]
    orders: FlowHealth
    orders_last_success_at: datetime | None
    orders_age: timedelta | None
    held_open: int
    quarantined_open: int = 0
    late_flows: list[str] = field(default_factory=list)
    # The last missed-order sweep that found orders the import had not read, while recent
    # (sync.services.sweep.SWEEP_ALERT_DAYS): when, and how many.
    sweep_found_at: datetime | None = None
    sweep_found: int = 0
    swept_at: datetime | None = None

    @property
    def reconciliation(self):
        """The channel's StockReconciliation row (joined, no query), or None before its first
        run."""
        try:
            return self.channel.stock_reconciliation
        except ObjectDoesNotExist:
            return None

    @property
    def late(self) -> bool:
        return bool(self.late_flows)

    @property
    def missed_orders(self) -> bool:
        return bool(self.sweep_found_at and self.sweep_found)

    @property
    def attention(self) -> bool:
        """Red row: a late flow, a channel the vendor switched off, or orders the missed-order
        sweep had to bring in recently."""
        return self.late or self.channel.status == ChannelStatus.SUSPENDED or self.missed_orders

    @property
    def verdict(self) -> str:
        status = self.channel.status
        if status == ChannelStatus.SUSPENDED:
            return gettext("suspended by the vendor")
        if status == ChannelStatus.PAUSED:
            return gettext("paused")
        if status != ChannelStatus.ACTIVE:
            return gettext("not active")
        if self.late_flows:
            return gettext("late: %(flows)s") % {
                "flows": ", ".join(str(Flow(flow).label).lower() for flow in self.late_flows)
            }
        if self.missed_orders:
            return str(
                ngettext(
                    "the sweep found %(count)d missed order",
                    "the sweep found %(count)d missed orders",
                    self.sweep_found,
                )
                % {"count": self.sweep_found}
            )
        return gettext("ok")


def _health_queryset(company_ids: Collection[int] | None) -> QuerySet:
    annotations = {}
    for flow in PUSH_FLOWS:
        pending = PendingChange.objects.filter(channel=OuterRef("pk"), flow=flow)
        annotations[f"pending_{flow}_count"] = _count(pending)
        annotations[f"pending_{flow}_oldest"] = _oldest_changed_at(pending)
    annotations["orders_last_success"] = _last_success_finished("pk", Flow.ORDERS)
    annotations["held_open"] = _count(
        HeldOrder.objects.filter(channel=OuterRef("pk"), resolved_at__isnull=True)
    )
    annotations["quarantined_open"] = _open_quarantined()
    annotations["swept_at"] = F("order_cursor__swept_at")
    annotations["sweep_found_at"] = F("order_cursor__sweep_found_at")
    annotations["sweep_found"] = F("order_cursor__sweep_found")
    channels = SalesChannel.objects.exclude(status=ChannelStatus.DRAFT)
    if company_ids is not None:
        channels = channels.filter(company_id__in=sorted(company_ids))
    return (
        channels.select_related("company", "stock_reconciliation")
        .prefetch_related("sync_settings")
        .annotate(**annotations)
        .order_by("name", "pk")
    )


def channels_health(
    *, company_ids: Collection[int] | None, now: datetime | None = None
) -> list[ChannelHealth]:
    """Freshness of every non-draft channel of `company_ids` (None: every company; the
    caller passes the user's scope, erp.selectors.visible_company_ids). Two queries whatever
    the number of channels."""
    now = now or timezone.now()
    result = []
    for channel in _health_queryset(company_ids):
        settings = {s.flow: s for s in channel.sync_settings.all()}
        connector = channel.vendor
        active = channel.status == ChannelStatus.ACTIVE

        def flow_health(flow: str, _settings=settings, _connector=connector) -> FlowHealth:
            setting = _settings.get(flow)
            supported = flow not in _connector.unsupported_flows
            return FlowHealth(
                flow=flow,
                label=Flow(flow).label,
                supported=supported,
                enabled=bool(setting and setting.enabled and supported),
                interval_minutes=setting.interval_minutes if setting else None,
            )

        late_flows = []
        push = []
        for flow in PUSH_FLOWS:
            health = flow_health(flow)
            health.pending_count = getattr(channel, f"pending_{flow}_count")
            health.oldest_pending_at = getattr(channel, f"pending_{flow}_oldest")
            if health.oldest_pending_at is not None:
                health.age = now - health.oldest_pending_at
            if active and health.enabled:
                health.late = _flow_late(
                    flow=flow,
                    interval_minutes=health.interval_minutes,
                    oldest_pending_at=health.oldest_pending_at,
                    last_success_at=None,
                    active_since=None,
                    now=now,
                )
            if health.late:
                late_flows.append(str(flow))
            push.append(health)
        orders = flow_health(Flow.ORDERS)
        last_success = channel.orders_last_success
        if active and orders.enabled:
            orders.late = _flow_late(
                flow=Flow.ORDERS,
                interval_minutes=orders.interval_minutes,
                oldest_pending_at=None,
                last_success_at=last_success,
                # No activation timestamp on the channel yet: the last status change (saved
                # with updated_at) is the closest upper bound, so this never flags too early.
                active_since=channel.updated_at,
                now=now,
            )
        if orders.late:
            late_flows.append(str(Flow.ORDERS))
        result.append(
            ChannelHealth(
                channel=channel,
                push_flows=push,
                orders=orders,
                orders_last_success_at=last_success,
                orders_age=(now - last_success) if last_success else None,
                held_open=channel.held_open,
                quarantined_open=channel.quarantined_open,
                late_flows=late_flows,
                swept_at=channel.swept_at,
                **(
                    {"sweep_found_at": channel.sweep_found_at, "sweep_found": channel.sweep_found}
                    if channel.sweep_found_at
                    and now - channel.sweep_found_at <= timedelta(days=SWEEP_ALERT_DAYS)
                    else {}
                ),
            )
        )
    return result
