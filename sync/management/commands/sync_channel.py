"""Run a channel's flow(s) now, in this process, with a live progress line."""

import threading

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connections
from django.db.models import Max
from django.utils.translation import gettext as _

from channels.models import SalesChannel
from sync.models import RunState, RunTrigger, SyncRun
from sync.selectors import FLOW_ORDER
from sync.services import runs
from vendors.spec import Flow


def progress_line(flow: str, run: SyncRun) -> str:
    return _(
        "%(flow)s: %(done)s/%(total)s (%(percent)s%%) requests %(requests)s retries %(retries)s"
    ) % {
        "flow": flow,
        "done": run.done,
        "total": run.total,
        "percent": run.progress_percent,
        "requests": run.requests,
        "retries": run.retries,
    }


class Command(BaseCommand):
    help = (
        "Run one flow (--flow) or every enabled flow (--all-flows) of a sales channel now, "
        "synchronously, like a scheduled run (same lease, batch sizes and vendor limits). "
        "Exits non-zero when a run fails or is skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("channel_id", type=int, help="The sales channel's id.")
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--flow", choices=Flow.values, help="The flow to run.")
        which.add_argument(
            "--all-flows",
            action="store_true",
            help="Every enabled flow the connector supports, one after the other.",
        )
        parser.add_argument(
            "--poll-interval",
            type=float,
            default=0.5,
            help="Seconds between progress updates (default 0.5).",
        )

    def handle(self, *args, channel_id, flow, all_flows, poll_interval, **options):
        channel = (
            SalesChannel.objects.prefetch_related("sync_settings").filter(pk=channel_id).first()
        )
        if channel is None:
            raise CommandError(_("No sales channel with id %(id)s.") % {"id": channel_id})
        connector = channel.vendor
        if flow:
            reason = connector.unsupported_flows.get(flow)
            if reason:
                raise CommandError(
                    _("%(vendor)s does not support %(flow)s: %(reason)s")
                    % {"vendor": connector.label, "flow": flow, "reason": reason}
                )
            flows = [flow]
        else:
            enabled = {s.flow for s in channel.sync_settings.all() if s.enabled}
            flows = [
                str(f) for f in FLOW_ORDER if f in enabled and f not in connector.unsupported_flows
            ]
            if not flows:
                raise CommandError(
                    _("Channel “%(channel)s” has no enabled flow.") % {"channel": channel}
                )
        self.stdout.write(
            _("Channel “%(channel)s” (%(status)s):")
            % {"channel": channel, "status": channel.get_status_display().lower()}
        )
        problems = []
        for name in flows:
            problem = self.run_one(channel.pk, name, poll_interval)
            if problem:
                problems.append(problem)
        if problems:
            raise CommandError("; ".join(problems))

    def run_one(self, channel_id: int, flow: str, poll_interval: float) -> str | None:
        """Run one flow; return what went wrong, or None."""
        before = (
            SyncRun.objects.filter(channel_id=channel_id, flow=flow).aggregate(last=Max("pk"))[
                "last"
            ]
            or 0
        )
        stop = threading.Event()
        poller = threading.Thread(
            target=self._poll,
            args=(channel_id, flow, before, stop, poll_interval),
            name=f"sync_channel-progress-{flow}",
            daemon=True,
        )
        poller.start()
        try:
            run = runs.run_flow(channel_id=channel_id, flow=flow, trigger=RunTrigger.COMMAND)
        finally:
            stop.set()
            poller.join()
        if run is None:
            self.stdout.write("")
            return _("%(flow)s: the channel no longer exists") % {"flow": flow}
        elapsed = ""
        if run.finished_at and run.started_at:
            seconds = (run.finished_at - run.started_at).total_seconds()
            elapsed = " " + _("in %(seconds)ss") % {"seconds": f"{seconds:.1f}"}
        self.write_progress(
            _("%(progress)s 429s %(rate_limited)s — %(state)s")
            % {
                "progress": progress_line(flow, run),
                "rate_limited": run.rate_limited,
                "state": run.get_state_display().lower(),
            }
            + elapsed
        )
        self.stdout.write("")
        if run.state == RunState.FAILED:
            reason = run.error or _("no reason recorded")
            self.stderr.write(_("%(flow)s failed: %(reason)s") % {"flow": flow, "reason": reason})
            return _("%(flow)s failed (run #%(run)s): %(reason)s") % {
                "flow": flow,
                "run": run.pk,
                "reason": reason,
            }
        if run.state == RunState.SKIPPED:
            reason = (run.detail or {}).get("reason") or _("no reason recorded")
            self.stderr.write(_("%(flow)s skipped: %(reason)s") % {"flow": flow, "reason": reason})
            return _("%(flow)s skipped (run #%(run)s): %(reason)s") % {
                "flow": flow,
                "run": run.pk,
                "reason": reason,
            }
        rejected = ((run.detail or {}).get("counts") or {}).get("rejected")
        if rejected:
            self.stdout.write(
                self.style.WARNING(
                    _("%(flow)s: %(count)s item(s) rejected by the vendor; see run #%(run)s.")
                    % {"flow": flow, "count": rejected, "run": run.pk}
                )
            )
        return None

    def write_progress(self, text: str) -> None:
        # "\r" rewrites the line in a terminal; the final line ends it.
        self.stdout.write(f"\r {text}", ending="")
        self.stdout.flush()

    def _poll(
        self, channel_id: int, flow: str, after_pk: int, stop: threading.Event, interval: float
    ) -> None:
        """Background thread: show the run row's progress as the run checkpoints it."""
        last = None
        try:
            while not stop.wait(interval):
                try:
                    run = (
                        SyncRun.objects.filter(channel_id=channel_id, flow=flow, pk__gt=after_pk)
                        .order_by("-pk")
                        .first()
                    )
                except DatabaseError:
                    continue  # only the display suffers; the run itself goes on
                if run is None:
                    continue
                line = progress_line(flow, run)
                if line != last:
                    self.write_progress(line)
                    last = line
        finally:
            # This thread's own connection; the main thread's stays open.
            connections.close_all()
