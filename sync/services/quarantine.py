"""Quarantined orders fetched again from the vendor, once it says it corrected them.

A quarantined order (`sync.services.orders`) waits for the vendor: a later page that brings it
readable resolves it on its own, but a vendor that corrects an order without changing it on its
feed (or past a search cursor) never sends it again. "Fetch again" asks for it by id
(`Connector.fetch_order_or_invalid`) and stores the answer through the normal page path —
translation, held orders, stock reservation, upsert by channel + id — so an order imported
meanwhile is never duplicated. Still unreadable: its reason and document are updated.

The vendor is called outside any transaction, under the channel's lease (a run of the channel
and a re-fetch never store the same order at once), with the run's rate limiter and a short
budget: this runs while an admin page waits.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field

from django.utils.translation import gettext

from channels.models import ChannelStatus, SalesChannel
from erpintegr.redaction import redact
from sync.models import QuarantinedOrder, QuarantineResolution
from sync.services.connectors import build_connector
from sync.services.lease import lease_claim
from sync.services.orders import orders_store_page
from sync.services.runs import lease_ttl, rate_limiter_for
from vendors.errors import AuthError, ConnectorError, NotFoundError, PermissionDeniedError
from vendors.ratelimit import TokenBucket
from vendors.spec import Flow
from vendors.types import InvalidOrder, NormalizedOrder

logger = logging.getLogger("sync.quarantine")

# How long one re-fetch may keep asking the vendor (an admin request is waiting). What is not
# reached stays quarantined for the next attempt.
REFETCH_BUDGET_SECONDS = 30.0
REFETCH_MAX_ORDERS = 100


@dataclass
class RefetchResult:
    imported: int = 0  # read valid and stored (imported, updated, or held for de-para)
    still_invalid: int = 0  # reason and document updated
    not_found: int = 0  # the vendor has no such order (left quarantined)
    unfetchable: int = 0  # the id itself is unreadable: nothing to ask the vendor for
    left: int = 0  # not reached within the budget
    error: str = ""  # why nothing (more) could be fetched

    @property
    def problems(self) -> bool:
        return bool(
            self.still_invalid or self.not_found or self.unfetchable or self.left or self.error
        )

    def summary(self) -> str:
        # Shown to the user in the admin: in their language.
        parts = [gettext("%(count)s imported") % {"count": self.imported}]
        for count, text in (
            (self.still_invalid, gettext("%(count)s still invalid (reason updated)")),
            (self.not_found, gettext("%(count)s not found at the vendor")),
            (
                self.unfetchable,
                gettext("%(count)s with an unreadable id (cannot be fetched by id)"),
            ),
            (self.left, gettext("%(count)s not reached (try again)")),
        ):
            if count:
                parts.append(text % {"count": count})
        text = ", ".join(parts) + "."
        return f"{text} {self.error}" if self.error else text


@dataclass
class _Fetched:
    orders: list[NormalizedOrder] = field(default_factory=list)
    invalid: list[InvalidOrder] = field(default_factory=list)


def quarantined_orders_refetch(
    *, channel_id: int, quarantined_ids: list[int] | None = None
) -> RefetchResult:
    """Fetch the channel's open quarantined orders (those of `quarantined_ids`, or all) again
    from the vendor and store what comes back: readable ones are imported the normal way and
    resolved (REFETCHED); unreadable ones get their new reason and document."""
    result = RefetchResult()
    channel = SalesChannel.objects.select_related("company").filter(pk=channel_id).first()
    if channel is None:
        result.error = gettext("The channel no longer exists.")
        return result
    open_rows = QuarantinedOrder.objects.filter(channel=channel, resolved_at__isnull=True)
    if quarantined_ids is not None:
        open_rows = open_rows.filter(pk__in=quarantined_ids)
    rows = list(open_rows.order_by("pk").only("pk", "external_id")[:REFETCH_MAX_ORDERS])
    if len(rows) == REFETCH_MAX_ORDERS:
        result.left += open_rows.count() - len(rows)
    if not rows:
        return result
    if channel.status != ChannelStatus.ACTIVE:
        result.error = gettext(
            "The channel is %(status)s: only an active channel talks to the vendor."
        ) % {"status": channel.get_status_display().lower()}
        result.left += len(rows)
        return result
    lease = lease_claim(
        channel_id=channel.pk, flow=Flow.ORDERS, ttl=lease_ttl(REFETCH_BUDGET_SECONDS)
    )
    if lease is None:
        result.error = gettext(
            "A run of this channel is in progress; try again when it has finished."
        )
        result.left += len(rows)
        return result
    limiter = rate_limiter_for(channel)
    try:
        fetched = _fetch(channel, rows, limiter, result)
        if fetched.orders or fetched.invalid:
            stored = orders_store_page(
                channel=channel,
                orders=fetched.orders,
                invalid=fetched.invalid,
                save_cursor=False,
                resolves_quarantine=QuarantineResolution.REFETCHED,
            )
            result.imported += stored.unquarantined
            result.still_invalid += stored.quarantined
    finally:
        lease.release(limiter_state=limiter.state())
    return result


def _fetch(
    channel: SalesChannel,
    rows: list[QuarantinedOrder],
    limiter: TokenBucket,
    result: RefetchResult,
) -> _Fetched:
    fetched = _Fetched()
    deadline = time.monotonic() + REFETCH_BUDGET_SECONDS
    try:
        connector = build_connector(channel, rate_limiter=limiter, deadline=lambda: deadline)
    except ConnectorError as exc:
        result.error = redact(gettext("The connector cannot be built: %(error)s") % {"error": exc})
        result.left += len(rows)
        return fetched
    for index, row in enumerate(rows):
        if time.monotonic() >= deadline:
            result.left += len(rows) - index
            break
        if not row.refetchable:
            result.unfetchable += 1
            continue
        try:
            answer = connector.fetch_order_or_invalid(row.external_id)
        except NotFoundError:
            result.not_found += 1
            continue
        except ConnectorError as exc:
            # Account or transport trouble: what was fetched so far is still stored; the rest
            # waits. (A refused access is the runs' business: they suspend the channel.)
            refused = isinstance(exc, AuthError | PermissionDeniedError)
            text = (
                gettext("The vendor refused our access: %(error)s")
                if refused
                else gettext("The vendor answered with an error: %(error)s")
            )
            result.error = redact(text % {"error": exc})
            result.left += len(rows) - index
            break
        if isinstance(answer, InvalidOrder):
            # Keep the row's key: the answer's own id may be the one that cannot be read.
            fetched.invalid.append(dataclasses.replace(answer, external_id=row.external_id))
        else:
            fetched.orders.append(answer)
    return fetched
