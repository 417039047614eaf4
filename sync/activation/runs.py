"""The preflight as a durable run: queued by the confirmation page, run by a worker, read back
by the page (progress, then the checks) and by the activation.

A preflight reads every listing of the store (minutes for a large one), so it never runs
inside a web request: `preflight_start` queues it (django-q2, after commit), the task calls
`preflight_run_execute`, which reports its progress on the PreflightRun row and stores the
result there — in the database, because the worker and the web server are different
processes. The confirmation then acts on that stored result (`sync.activation.activate`),
re-checking only database facts.

A run that stops reporting (its worker was killed by the task timeout, or restarted) is
marked failed the next time someone looks at it, so the page never waits for it forever.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from channels.models import Credential, SalesChannel
from erpintegr.redaction import redact, redact_truncate
from sync.activation import checks as checks_module
from sync.activation.checks import Check, CheckVerdicts
from sync.activation.preflight import PreflightReport, activation_preflight
from sync.activation.report import report_csv
from sync.models import (
    CONFIRM_ACTIVE_STATES,
    PREFLIGHT_ACTIVE_STATES,
    ConfirmState,
    PreflightRun,
    PreflightState,
)
from vendors.base import Connector
from vendors.types import ExternalRef, ReferenceValue

logger = logging.getLogger("sync.activation")

TASK = "sync.tasks.run_preflight"
# A running preflight writes its progress at least this often while listings arrive…
PROGRESS_EVERY_SECONDS = 0.5
# …so one silent this long has lost its worker (killed by the task timeout, or restarted).
# Longer than any single vendor call with its retries.
STALLED_AFTER = timedelta(minutes=5)
# A queued run no worker took this long: the page says the task cluster may be down.
WORKER_LATE_AFTER = timedelta(seconds=30)
ERROR_LIMIT = 2000

STALLED_ERROR = gettext_lazy(
    "The preflight stopped reporting progress: the worker running it ended before finishing "
    "(killed by the task timeout, Q_TIMEOUT, or restarted). Run the checks again; for a store "
    "too large for the task timeout, run `manage.py activation_preflight <channel id>` on the "
    "server and confirm here afterwards."
)


ACTIVATING_PHASE = gettext_lazy(
    "Activating: creating the product bindings and queuing the first push"
)
CONFIRM_STALL_MARGIN = timedelta(minutes=2)
CONFIRM_STALLED = gettext_lazy(
    "The activation did not finish: the worker running it ended (killed by the task timeout, "
    "Q_TIMEOUT, or restarted) and its transaction was undone; nothing was activated. Confirm "
    "again."
)


def max_age() -> timedelta:
    return timedelta(minutes=settings.ACTIVATION_PREFLIGHT_MAX_AGE_MINUTES)


def _light():
    """Runs without the large parts (bindings, CSV): what pages and polls load."""
    return PreflightRun.objects.defer(*PreflightRun.HEAVY_FIELDS)


# --- reading ------------------------------------------------------------------------------


def preflight_latest(*, channel_id: int) -> PreflightRun | None:
    """The channel's newest run (a dead one marked failed first), without the large parts."""
    run = _light().filter(channel_id=channel_id).order_by("-created_at", "-id").first()
    if run is not None:
        _fail_if_stalled(run)
    return run


def preflight_get(*, channel_id: int, run_id: int) -> PreflightRun | None:
    """One run of this channel (None for another channel's run), without the large parts."""
    run = _light().filter(channel_id=channel_id, pk=run_id).first()
    if run is not None:
        _fail_if_stalled(run)
    return run


def _fail_if_stalled(run: PreflightRun) -> None:
    _fail_confirm_if_stalled(run)
    if run.state != PreflightState.RUNNING:
        return
    now = timezone.now()
    last = run.updated_at or run.started_at or run.created_at
    if now - last <= STALLED_AFTER:
        return
    # Conditional: a worker that reports in the meantime keeps its run.
    marked = PreflightRun.objects.filter(
        pk=run.pk, state=PreflightState.RUNNING, updated_at=run.updated_at
    ).update(state=PreflightState.FAILED, finished_at=now, phase="", error=str(STALLED_ERROR))
    if marked:
        run.state, run.finished_at, run.phase, run.error = (
            PreflightState.FAILED,
            now,
            "",
            str(STALLED_ERROR),
        )


def _fail_confirm_if_stalled(run: PreflightRun) -> None:
    """An activation a worker took and never finished (killed by the task timeout, or
    restarted: its transaction was undone) is marked failed, so the page says so and support
    may confirm again."""
    if run.confirm_state != ConfirmState.RUNNING or not run.confirm_requested_at:
        return
    limit = timedelta(seconds=settings.Q_CLUSTER["timeout"]) + CONFIRM_STALL_MARGIN
    if timezone.now() - run.confirm_requested_at <= limit:
        return
    confirm_finish(run.pk, False, str(CONFIRM_STALLED))
    run.refresh_from_db(fields=["confirm_state", "confirm_ok", "confirm_message"])


def confirm_finish(run_id: int, ok: bool, message: str) -> None:
    """Store the outcome of an activation a worker ran (sync.activation.activate)."""
    PreflightRun.objects.filter(pk=run_id, confirm_state__in=CONFIRM_ACTIVE_STATES).update(
        confirm_state=ConfirmState.DONE if ok else ConfirmState.FAILED,
        confirm_ok=ok,
        confirm_message=redact_truncate(message, ERROR_LIMIT),
        confirm_finished_at=timezone.now(),
    )


def is_fresh(run: PreflightRun, *, now: datetime | None = None) -> bool:
    """A finished run young enough to confirm against."""
    if run.finished_at is None:
        return False
    return (now or timezone.now()) - run.finished_at <= max_age()


def waiting_for_worker(run: PreflightRun, *, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    if run.confirm_state == ConfirmState.QUEUED and run.confirm_requested_at:
        return now - run.confirm_requested_at > WORKER_LATE_AFTER
    return run.state == PreflightState.QUEUED and now - run.created_at > WORKER_LATE_AFTER


# PreflightResult.of: show the checks as the worker stored them (named: the channel's company).
AS_STORED = object()


@dataclass
class PreflightResult(CheckVerdicts):
    """A finished run's result, decoded: what the page shows and the activation acts on."""

    run: PreflightRun
    checks: list[Check]
    account_id: str = ""
    summary: dict = field(default_factory=dict)
    confirmation: str = ""

    @classmethod
    def of(cls, run: PreflightRun, *, reader_scope=AS_STORED) -> PreflightResult:
        """Decode `run`. With `reader_scope` (the reader's company ids, None for every
        company: erp.selectors.visible_company_ids), the same-account check is read again from
        the database and names only the other channels the reader may see: a stored result is
        never shown with another reader's scope."""
        checks = [Check.from_dict(data) for data in run.checks or []]
        if reader_scope is not AS_STORED and run.account_id:
            checks = [
                checks_module.check_same_account(run.channel, run.account_id, reader_scope)
                if check.key == "same_account"
                else check
                for check in checks
            ]
        return cls(
            run=run,
            checks=checks,
            account_id=run.account_id,
            summary=dict(run.summary or {}),
        )

    def confirmed(self, *, label: str, confirmation: str) -> PreflightResult:
        """The result with support's typed confirmation applied (see checks.apply_confirmation)."""
        return PreflightResult(
            run=self.run,
            checks=checks_module.apply_confirmation(
                self.checks, label=label, confirmation=confirmation
            ),
            account_id=self.account_id,
            summary=self.summary,
            confirmation=confirmation.strip(),
        )

    @property
    def has_report(self) -> bool:
        """The listings were read, so there is a CSV report to download."""
        return "fetched" in self.summary

    def checks_json(self) -> list[dict]:
        return [c.as_dict() for c in self.checks]


def preflight_status(run: PreflightRun) -> dict:
    """The progress of a run, for the page's poll (a few hundred bytes, no large field)."""
    now = timezone.now()
    return {
        "id": run.pk,
        "state": run.state,
        "state_label": run.get_state_display(),
        "finished": not run.is_active and not run.is_activating,
        "activating": run.is_activating,
        "phase": str(ACTIVATING_PHASE) if run.is_activating else run.phase,
        "done": run.done,
        "total": run.total,
        "percent": run.progress_percent,
        "waiting_for_worker": waiting_for_worker(run, now=now),
        "error": run.error,
        "elapsed_seconds": round(
            ((run.finished_at or now) - (run.started_at or run.created_at)).total_seconds(), 1
        ),
    }


# --- starting -----------------------------------------------------------------------------


def preflight_start(*, channel: SalesChannel, user, rerun: bool = False) -> PreflightRun:
    """The run the confirmation page shows: the channel's queued or running one, else (unless
    `rerun`) its latest finished one while fresh, else a new run queued for a worker.

    Two page loads at once get the same run: the channel row is locked while looking (on
    SQLite the IMMEDIATE transaction is that lock)."""
    with transaction.atomic():
        SalesChannel.objects.select_for_update().filter(pk=channel.pk).exists()
        latest = preflight_latest(channel_id=channel.pk)
        if latest is not None and (
            latest.is_active or latest.is_activating or (not rerun and is_fresh(latest))
        ):
            return latest
        if latest is not None:
            # Runs older than the one this replaces can never be confirmed (superseded); the
            # activation records keep what was checked. Bounded: two runs per channel.
            PreflightRun.objects.filter(channel=channel, created_at__lt=latest.created_at).exclude(
                state__in=PREFLIGHT_ACTIVE_STATES
            ).delete()
        run = _create(channel, user)
        # The worker writes the checks in the language of whoever asked for them.
        transaction.on_commit(partial(_enqueue, run.pk, translation.get_language()))
    return run


def _create(channel: SalesChannel, user) -> PreflightRun:
    previous = (
        PreflightRun.objects.filter(channel=channel, state=PreflightState.DONE)
        .order_by("-created_at", "-id")
        .values_list("summary", flat=True)
        .first()
    )
    return PreflightRun.objects.create(
        channel=channel,
        requested_by=user if getattr(user, "pk", None) else None,
        phase=_("Waiting for a worker"),
        # The previous count is the best guess of how many listings there are: the vendors
        # page without telling the total.
        total=(previous or {}).get("fetched", 0),
    )


def _enqueue(run_id: int, language: str | None = None) -> None:
    from django_q.tasks import async_task

    try:
        async_task(TASK, run_id, language=language, task_name=f"erpintegr:preflight:{run_id}")
    except Exception as exc:  # the broker is down: say so on the run, not a 500 after commit
        logger.exception("Could not queue preflight run %s", run_id)
        now = timezone.now()
        PreflightRun.objects.filter(pk=run_id, state=PreflightState.QUEUED).update(
            state=PreflightState.FAILED,
            finished_at=now,
            phase="",
            error=redact_truncate(
                _("Could not queue the preflight: %(error)s") % {"error": exc}, ERROR_LIMIT
            ),
        )


# --- running ------------------------------------------------------------------------------


class _Progress:
    """Writes a run's progress at most every PROGRESS_EVERY_SECONDS (plus each phase change),
    outside any transaction, so the page's poll sees it while the worker reads listings."""

    def __init__(self, run_id: int, listener: Callable[[int], None] | None) -> None:
        self.run_id = run_id
        self.listener = listener
        self.done = 0
        self.phase_text = ""
        self.written_at = 0.0

    def _write(self) -> None:
        self.written_at = time.monotonic()
        PreflightRun.objects.filter(pk=self.run_id, state=PreflightState.RUNNING).update(
            done=self.done, phase=self.phase_text[:200], updated_at=timezone.now()
        )

    def phase(self, text: str) -> None:
        self.phase_text = text
        self._write()

    def listing(self, fetched: int) -> None:
        self.done = fetched
        if self.listener is not None:
            self.listener(fetched)
        if time.monotonic() - self.written_at >= PROGRESS_EVERY_SECONDS:
            self._write()


def preflight_run_execute(
    *,
    run_id: int,
    connector: Connector | None = None,
    progress: Callable[[int], None] | None = None,
    language: str | None = None,
) -> PreflightRun | None:
    """Run a queued preflight and store its result. None when the run was not queued (a
    second delivery of the task, or already taken): it runs once. `language`: the one its
    texts are written in (the requester's; None: the current one, LANGUAGE_CODE in a worker).

    Vendor calls, outside any transaction; the result is written in one UPDATE."""
    if language:
        with translation.override(language):
            return preflight_run_execute(run_id=run_id, connector=connector, progress=progress)
    now = timezone.now()
    claimed = PreflightRun.objects.filter(pk=run_id, state=PreflightState.QUEUED).update(
        state=PreflightState.RUNNING, started_at=now, updated_at=now, phase=_("Starting")
    )
    if not claimed:
        return None
    run = _light().select_related("channel", "channel__company").get(pk=run_id)
    reporter = _Progress(run_id, progress)
    try:
        report = activation_preflight(
            channel=run.channel,
            connector=connector,
            progress=reporter.listing,
            phase=reporter.phase,
            # Stored, the result names only this company's channels; each reader's page
            # re-scopes the same-account check to what they see (PreflightResult.of).
            company_ids=[run.channel.company_id],
        )
        reporter.phase(_("Saving the result"))
        result = stored_result(report)
    except Exception as exc:  # a bug or the database: the page shows it, the worker goes on
        logger.exception("Preflight run %s failed", run_id)
        PreflightRun.objects.filter(pk=run_id, state=PreflightState.RUNNING).update(
            state=PreflightState.FAILED,
            finished_at=timezone.now(),
            updated_at=timezone.now(),
            phase="",
            error=redact_truncate(f"{type(exc).__name__}: {exc}", ERROR_LIMIT),
        )
    else:
        finished = timezone.now()
        stored = PreflightRun.objects.filter(pk=run_id, state=PreflightState.RUNNING).update(
            state=PreflightState.DONE,
            finished_at=finished,
            updated_at=finished,
            phase="",
            done=result.pop("fetched"),
            **result,
        )
        if not stored:
            logger.warning("Preflight run %s finished after it was given up; not stored", run_id)
    return _light().get(pk=run_id)


def preflight_run_now(
    *,
    channel: SalesChannel,
    user=None,
    connector: Connector | None = None,
    progress: Callable[[int], None] | None = None,
) -> PreflightRun:
    """A preflight run in this process, stored like a worker's (the command line, and the
    activation service when called without a page)."""
    run = _create(channel, user)
    executed = preflight_run_execute(run_id=run.pk, connector=connector, progress=progress)
    return executed or _light().get(pk=run.pk)


def stored_result(report: PreflightReport) -> dict:
    """The columns a finished run stores. Every text is redacted again here: the messages
    carry vendor answers, which were redacted where they were raised — this makes sure."""
    match = report.match
    checks = [
        {
            **data,
            "title": redact(data["title"]),
            "message": redact(data["message"]),
            "details": [redact(line) for line in data["details"]],
        }
        for data in report.checks_json()
    ]
    result = {
        "checks": checks,
        "account_id": redact(report.account_id)[:120],
        "needs_confirmation": report.needs_confirmation,
        "reference_values": (
            None
            if report.reference_values is None
            else [asdict(value) for value in report.reference_values]
        ),
        "fetched": 0,
        "summary": {},
        "bindings": [],
        "report_csv": "",
    }
    if match is not None:
        result["fetched"] = match.fetched
        result["summary"] = {
            "fetched": match.fetched,
            "matched": len(match.matches),
            "unmatched": len(match.unmatched) + len(match.unbindable),
            "absent": len(match.absent),
        }
        result["bindings"] = [
            [
                sku_id,
                remote.ref.item_id,
                remote.ref.variation_id,
                remote.ref.sku_id,
                remote.seller_sku or remote.ref.seller_sku,
            ]
            for remote, sku_id, _by in match.matches
        ]
        result["report_csv"] = redact(report_csv(match))
    return result


# --- acting on a result -------------------------------------------------------------------


def preflight_refusal(
    run: PreflightRun | None, *, channel: SalesChannel, now: datetime | None = None
) -> str:
    """Why this run's result may not be confirmed ("" when it may). Database facts only."""
    now = now or timezone.now()
    if run is None:
        return _("there is no preflight result to confirm; open the activation page to run it.")
    if run.channel_id != channel.pk:
        return _("that preflight result belongs to another channel.")
    if run.is_active:
        return _("the checks are still running; wait for them to finish.")
    newer = PreflightRun.objects.filter(channel_id=channel.pk, created_at__gt=run.created_at)
    if newer.exists():
        return _(
            "a newer preflight of this channel exists; review its result and confirm that one."
        )
    if run.state == PreflightState.FAILED:
        return _("the preflight failed (%(error)s); run the checks again.") % {"error": run.error}
    if not is_fresh(run, now=now):
        return _(
            "the preflight result is older than %(minutes)s minutes and the store may have "
            "changed since; run the checks again."
        ) % {"minutes": settings.ACTIVATION_PREFLIGHT_MAX_AGE_MINUTES}
    changed = Credential.objects.filter(channel_id=channel.pk, updated_at__gt=run.finished_at)
    if changed.exists():
        return _("the channel's credentials changed after the checks ran; run the checks again.")
    return ""


def preflight_bindings(run: PreflightRun) -> list[tuple[int, ExternalRef]]:
    """The matches a run stored, as `mappings.services.listings_bind_many` takes them."""
    rows = PreflightRun.objects.filter(pk=run.pk).values_list("bindings", flat=True).get()
    return [
        (
            int(sku_id),
            ExternalRef(
                item_id=item_id, variation_id=variation_id, sku_id=sku_id_ext, seller_sku=seller
            ),
        )
        for sku_id, item_id, variation_id, sku_id_ext, seller in rows or []
    ]


def preflight_reference_values(run: PreflightRun) -> list[ReferenceValue] | None:
    values = PreflightRun.objects.filter(pk=run.pk).values_list("reference_values", flat=True).get()
    if values is None:
        return None
    return [ReferenceValue(**value) for value in values]
