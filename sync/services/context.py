"""What one run carries: the run row, the connector, the lease, the time budget."""

import time
from dataclasses import dataclass, field

from channels.models import ChannelStatus, SalesChannel
from sync.models import SyncRun
from sync.services.lease import Lease

CHECKPOINT_SECONDS = 5.0


class LeaseLost(Exception):
    """The run's lease expired and was taken by another run."""


class ChannelStopped(Exception):
    """Support paused or deactivated the channel while this run was in progress."""


MAX_REPORTED = 20  # first rows kept in SyncRun.detail for each kind of issue


@dataclass
class RunContext:
    run: SyncRun
    channel: SalesChannel
    connector: object
    lease: Lease | None
    deadline: float  # time.monotonic() value after which no new request batch starts
    issues: dict[str, list] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    _last_checkpoint: float = field(default_factory=time.monotonic)

    def has_time(self) -> bool:
        return time.monotonic() < self.deadline

    def note(self, kind: str, item: object) -> None:
        """Count an issue (unbound SKU, rejected item…) and keep the first few rows."""
        self.counts[kind] = self.counts.get(kind, 0) + 1
        rows = self.issues.setdefault(kind, [])
        if len(rows) < MAX_REPORTED:
            rows.append(item)

    def sync_counters(self) -> None:
        stats = self.connector.request_stats()
        self.run.requests = stats["requests"]
        self.run.retries = stats["retries"]
        self.run.rate_limited = stats["rate_limited"]
        self.run.detail = {"counts": self.counts, "issues": self.issues, **self.extra}

    def checkpoint(self, *, force: bool = False) -> None:
        """Save progress and renew the lease — at most every few seconds, so the number of
        queries a run makes does not grow with its batch."""
        now = time.monotonic()
        if not force and now - self._last_checkpoint < CHECKPOINT_SECONDS:
            return
        self._last_checkpoint = now
        self.sync_counters()
        self.run.save(
            update_fields=["total", "done", "requests", "retries", "rate_limited", "detail"]
        )
        if self.lease is not None and not self.lease.renew():
            # Stalled past the lease and another run took the channel: stop here rather than
            # overlap it. What was pushed so far is committed by the caller's finally block
            # (version-guarded), the rest stays pending.
            raise LeaseLost(
                "This run lost its lease (it stalled past its expiry) and stopped so that it "
                "would not overlap the run that took over; its unfinished work stays pending."
            )
        if not SalesChannel.objects.filter(
            pk=self.channel.pk, status=ChannelStatus.ACTIVE
        ).exists():
            raise ChannelStopped(
                "The channel was paused or deactivated while this run was in progress; the run "
                "stopped there. Unfinished work stays pending for when it is active again."
            )
