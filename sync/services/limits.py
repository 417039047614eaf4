"""The channel's request pace: one token bucket per channel, its state kept in the channel's
lease row, used by every vendor call — sync runs, the activation's preflight and setup, test
connection, re-fetching quarantined orders.

A bucket is built from the saved state (`rate_limiter_for`) and its state saved back when the
caller is done (`limiter_save`; a run does it when it releases its lease), so a preflight that
follows a run, or ten test connections in a row, continue the same budget instead of each
starting with a full burst.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.utils import timezone

from channels.models import SalesChannel
from sync.models import ChannelLease
from sync.services.lease import lease_limiter_state
from vendors.ratelimit import TokenBucket

# The vendor counts arrival times, which jitter on the network: aim a little under its limit
# so a burst of queued requests never lands as one over it.
RATE_MARGIN = 0.95


def rate_limiter_for(
    channel: SalesChannel, *, sleep: Callable[[float], None] | None = None
) -> TokenBucket:
    """The channel's bucket at 95 % of the vendor's declared rate and half its burst,
    continuing from the state saved last (recovered by the time passed since). `sleep`: how
    it waits (default time.sleep)."""
    limits = channel.vendor.limits
    bucket = TokenBucket(
        rate=limits.requests_per_second * RATE_MARGIN,
        burst=max(1, limits.burst // 2),
        sleep=sleep or time.sleep,
        # A vendor whose 429 blocks the account holds every request until its Retry-After;
        # one whose limit is a rate with burst credits (VTEX) only the refused one.
        pause_on_retry_after=limits.retry_after_blocks_account,
    )
    saved = lease_limiter_state(channel_id=channel.pk)
    if saved is not None:
        tokens, rate, saved_at = saved
        bucket.restore(
            tokens=tokens,
            rate=rate or bucket.max_rate,
            seconds_ago=(timezone.now() - saved_at).total_seconds() if saved_at else 3600,
        )
    return bucket


def limiter_save(*, channel_id: int, limiter: TokenBucket | None) -> None:
    """Save `limiter`'s state on the channel's lease row, for whoever calls the vendor next.

    Outside a run (no lease held): only the limiter columns are written, never the holder. A
    run holding the lease meanwhile writes its own state when it releases it."""
    if limiter is None:
        return
    tokens, rate = limiter.state()
    try:
        with transaction.atomic():
            ChannelLease.objects.get_or_create(channel_id=channel_id)
    except IntegrityError:
        pass  # created concurrently: fine
    ChannelLease.objects.filter(channel_id=channel_id).update(
        limiter_tokens=tokens, limiter_rate=rate, limiter_saved_at=timezone.now()
    )
