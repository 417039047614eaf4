"""The per-channel dirty set: ERP announcements become PendingChange rows."""

import secrets
from collections.abc import Iterable

from django.db.models import Exists, OuterRef
from django.utils import timezone

from channels.models import ChannelStatus, SalesChannel, SyncSetting
from erp.signals import ChangeKind
from sync.services.events import event_run_request
from sync.services.push import PUSH_FLOWS, PUSH_PLANS
from sync.sql import (
    upsert_pending,
    upsert_pending_for_bindings,
    upsert_pending_for_company_skus,
)
from vendors.spec import Flow

# Channels that have been activated keep collecting changes while paused or suspended, so
# a resume pushes what changed meanwhile instead of leaving the vendor stale.
TRACKED_STATUSES = (ChannelStatus.ACTIVE, ChannelStatus.PAUSED, ChannelStatus.SUSPENDED)
FLOW_FOR_KIND = {plan.change_kind: flow for flow, plan in PUSH_PLANS.items()}


def new_version() -> int:
    return secrets.randbits(62)


def pending_upsert(*, channel_ids: Iterable[int], flow: str, sku_ids: Iterable[int]) -> int:
    """Mark SKUs pending. An existing row gets a new version (so a push in flight will not
    delete it) but keeps its `changed_at`: that is when the channel first went stale."""
    channel_ids, sku_ids = list(channel_ids), list(sku_ids)
    if not channel_ids or not sku_ids:
        return 0
    version, now = new_version(), timezone.now()
    rows = [(c, str(flow), s, version, now) for c in channel_ids for s in sku_ids]
    upsert_pending(rows)
    return len(rows)


def pending_record_announcement(
    *,
    company_id: int,
    kind: str,
    sku_ids: Iterable[int],
    warehouse_ids: Iterable[int] | None = None,
    price_list_id: int | None = None,
    source_channel_id: int | None = None,
) -> list[int]:
    """Receiver of erp.signals.skus_changed. Returns the channel ids marked."""
    flow = FLOW_FOR_KIND[ChangeKind(kind)]
    enabled = SyncSetting.objects.filter(channel=OuterRef("pk"), flow=flow, enabled=True)
    channels = SalesChannel.objects.filter(
        company_id=company_id, status__in=TRACKED_STATUSES
    ).filter(Exists(enabled))
    channels = PUSH_PLANS[flow].concerned(
        channels, warehouse_ids=warehouse_ids, price_list_id=price_list_id
    )
    # The channel that sold (source_channel_id) is marked too, on purpose: it lowered its own
    # stock, but a stock run of that channel may already have pushed the ERP value computed
    # before this order was imported, leaving it showing more than the ERP has. One more
    # write per sold SKU (coalesced) is the price of never overselling there.
    channel_ids = sorted(set(channels.values_list("pk", flat=True)))
    if pending_upsert(channel_ids=channel_ids, flow=flow, sku_ids=sku_ids):
        # The flow runs on change (after a short debounce), not only on its interval.
        event_run_request(channel_ids=channel_ids, flow=flow)
    return channel_ids


def pending_full_resync(*, channel: SalesChannel) -> dict[str, int]:
    """Mark every bound SKU of the channel pending for each enabled push flow — and for the
    catalog, every SKU of the company (an unbound product is one to create): one statement
    per flow, whatever the size of the catalog."""
    flows = list(
        channel.sync_settings.filter(enabled=True, flow__in=PUSH_FLOWS).values_list(
            "flow", flat=True
        )
    )
    version, now = new_version(), timezone.now()
    return {
        flow: upsert_pending_for_company_skus(
            channel_id=channel.pk,
            company_id=channel.company_id,
            flow=flow,
            version=version,
            now=now,
        )
        if flow == Flow.CATALOG
        else upsert_pending_for_bindings(channel_id=channel.pk, flow=flow, version=version, now=now)
        for flow in flows
    }
