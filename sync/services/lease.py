"""One run per channel at a time: a lease row claimed with a conditional UPDATE."""

import socket
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from sync.models import ChannelLease

DEFAULT_TTL = timedelta(minutes=5)


@dataclass
class Lease:
    channel_id: int
    holder: str
    ttl: timedelta

    def renew(self) -> bool:
        """Extend the lease; False if it was lost (expired and taken by someone else)."""
        return bool(
            ChannelLease.objects.filter(channel_id=self.channel_id, holder=self.holder).update(
                expires_at=timezone.now() + self.ttl
            )
        )

    def release(self, *, limiter_state: tuple[float, float] | None = None) -> None:
        updates = {"holder": "", "flow": "", "expires_at": None}
        if limiter_state is not None:
            updates.update(
                limiter_tokens=limiter_state[0],
                limiter_rate=limiter_state[1],
                limiter_saved_at=timezone.now(),
            )
        ChannelLease.objects.filter(channel_id=self.channel_id, holder=self.holder).update(
            **updates
        )


def lease_claim(*, channel_id: int, flow: str = "", ttl: timedelta = DEFAULT_TTL) -> Lease | None:
    """Claim the channel, or return None if a live lease is held by someone else.

    The claim is one UPDATE … WHERE (free OR expired): the database decides the winner, on
    SQLite and PostgreSQL alike, without holding a transaction open during the run.
    """
    try:
        with transaction.atomic():
            ChannelLease.objects.get_or_create(channel_id=channel_id)
    except IntegrityError:
        pass  # created concurrently by another worker: fine
    holder = f"{socket.gethostname()}:{uuid.uuid4().hex[:12]}"
    now = timezone.now()
    claimed = ChannelLease.objects.filter(
        Q(holder="") | Q(expires_at__lt=now), channel_id=channel_id
    ).update(holder=holder, flow=flow, expires_at=now + ttl)
    if claimed != 1:
        return None
    return Lease(channel_id=channel_id, holder=holder, ttl=ttl)


def lease_limiter_state(*, channel_id: int) -> tuple[float, float, object] | None:
    row = (
        ChannelLease.objects.filter(channel_id=channel_id)
        .values_list("limiter_tokens", "limiter_rate", "limiter_saved_at")
        .first()
    )
    if not row or row[0] is None:
        return None
    return row
