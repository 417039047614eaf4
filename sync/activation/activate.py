"""Activate and deactivate an integration (support only).

Vendor calls never run inside a database transaction, and reading a store's listings never
runs inside a web request, so an activation works on a stored preflight result:

1. the preflight (`sync.activation.runs`: a worker, or this process for the command line and
   `activation_activate`) reads the vendor and stores its checks and matches on a
   PreflightRun;
2. `activation_confirm` refuses a result that is missing, failed, older than
   ACTIVATION_PREFLIGHT_MAX_AGE_MINUTES, superseded or blocked (support's typed confirmation
   applied), runs the vendor-side setup the first runs need, then opens one transaction that
   locks the channel, re-runs the *database-side* checks (credentials stored, the account
   active elsewhere, de-para of the values the vendor listed, flows and limits, ERP
   duplicates: state may have changed since step 1), binds the stored matches through
   `mappings.services.listings_bind_many`, sets the channel Active, marks everything for a
   first push, reconciles its schedules and writes the ActivationRecord and LogEntry.

The check "no other channel active on this account" is also a partial unique constraint on
SalesChannel: two activations racing past step 2's re-check still cannot both commit.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from django.conf import settings
from django.contrib.admin.models import CHANGE, LogEntry
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from channels.models import ActivationAction, ActivationRecord, ChannelStatus, SalesChannel
from channels.services import channel_set_status
from erp.models import Sku
from erp.selectors import visible_company_ids
from erpintegr.redaction import redact
from mappings.services import listings_bind_many
from sync.activation import checks
from sync.activation.checks import Check, CheckStatus
from sync.activation.connection import paced_connector
from sync.activation.matching import erp_index
from sync.activation.notification_setup import notifications_register
from sync.activation.runs import (
    PreflightResult,
    confirm_finish,
    preflight_bindings,
    preflight_latest,
    preflight_reference_values,
    preflight_refusal,
    preflight_run_now,
)
from sync.models import CONFIRM_ACTIVE_STATES, ConfirmState, PreflightRun
from sync.services.pending import pending_full_resync
from sync.services.schedules import schedules_reconcile_channel
from vendors.base import Connector
from vendors.errors import ConnectorError
from vendors.types import ExternalRef, ReferenceValue

logger = logging.getLogger("sync.activation")

CONFIRM_TASK = "sync.tasks.run_activation"
RACE_LOST = gettext_noop(
    "Another channel was just activated on this vendor account; this one was not activated."
)


def _not_activated(channel: SalesChannel, reason) -> str:
    return _("“%(channel)s” was not activated: %(reason)s") % {"channel": channel, "reason": reason}


def _already_active(channel: SalesChannel) -> str:
    return _("“%(channel)s” is already active.") % {"channel": channel}


@dataclass
class ActivationOutcome:
    channel: SalesChannel
    ok: bool
    message: str
    report: PreflightResult | None = None
    record: ActivationRecord | None = None
    bindings_created: int = 0
    # Handed to a worker (activation_request): the page follows the run's confirm_state.
    queued: bool = False


class _Blocked(Exception):
    def __init__(self, blocking: list[Check]) -> None:
        self.blocking = blocking
        super().__init__("; ".join(c.message for c in blocking))


def _blocked_message(channel: SalesChannel, blocking: Iterable[Check]) -> str:
    return _not_activated(channel, " ".join(f"{c.display_title}: {c.message}" for c in blocking))


def _prepare_vendor(connector: Connector, channel: SalesChannel) -> None:
    """Vendor-side setup the first runs need (VTEX: the orders feed must exist before the
    first fetch). Idempotent; HTTP, so called before the transaction."""
    enabled = set(channel.sync_settings.filter(enabled=True).values_list("flow", flat=True))
    connector.on_activate(enabled_flows=enabled)


def _log(user, channel: SalesChannel, message: str) -> None:
    if user is None or user.pk is None:
        return
    LogEntry.objects.log_actions(
        user_id=user.pk,
        queryset=[channel],
        action_flag=CHANGE,
        change_message=message,
        single_object=True,
    )


def activation_activate(
    *,
    channel: SalesChannel,
    user,
    confirmation: str = "",
    connector: Connector | None = None,
) -> ActivationOutcome:
    """Preflight in this process (vendor calls, outside any transaction; stored as a run),
    then `activation_confirm` against it: the page's two steps at once, for the command
    line, the tests and scripts. Never from a web request: it reads every listing."""
    channel.refresh_from_db()
    if channel.status == ChannelStatus.ACTIVE:
        return ActivationOutcome(channel, False, _already_active(channel))
    run = preflight_run_now(channel=channel, user=user, connector=connector)
    return activation_confirm(
        channel=channel, run=run, user=user, confirmation=confirmation, connector=connector
    )


@dataclass
class _Plan:
    """What the activation transaction acts on, read before it (the bindings may be many)."""

    result: PreflightResult
    bindings: list[tuple[int, ExternalRef]]
    reference_values: list[ReferenceValue] | None


def _confirmable(
    channel: SalesChannel,
    run: PreflightRun | None,
    user,
    confirmation: str,
    requested_at: datetime | None = None,
) -> tuple[PreflightResult | None, ActivationOutcome | None]:
    """The stored result support confirms, or the outcome refusing it. Database facts only."""
    channel.refresh_from_db()
    if channel.status == ChannelStatus.ACTIVE:
        return None, ActivationOutcome(channel, False, _already_active(channel))
    # The report shown to `user` names only channels of the companies they see.
    scope = None if user is None else visible_company_ids(user)  # None: every company
    refusal = preflight_refusal(run, channel=channel, now=requested_at)
    if refusal:
        shown = None
        if run is not None and run.channel_id == channel.pk and not run.is_active:
            shown = PreflightResult.of(run, reader_scope=scope)
        return None, ActivationOutcome(channel, False, _not_activated(channel, refusal), shown)
    result = PreflightResult.of(run, reader_scope=scope).confirmed(
        label=channel.vendor.label, confirmation=confirmation
    )
    if result.blocking:
        return None, ActivationOutcome(
            channel, False, _blocked_message(channel, result.blocking), result
        )
    return result, None


def activation_confirm(
    *,
    channel: SalesChannel,
    run: PreflightRun | None,
    user,
    confirmation: str = "",
    connector: Connector | None = None,
    requested_at: datetime | None = None,
) -> ActivationOutcome:
    """Activate against a stored preflight result, in this process: no listing is read; the
    database facts are checked again inside the activation transaction. `requested_at`: when
    support confirmed (a worker running it later judges the result's age at that moment)."""
    result, refused = _confirmable(channel, run, user, confirmation, requested_at)
    if refused is not None:
        return refused
    return _activate(channel, run, result, user, connector)


def _activate(
    channel: SalesChannel,
    run: PreflightRun,
    result: PreflightResult,
    user,
    connector: Connector | None = None,
) -> ActivationOutcome:
    """The vendor setup, then the activation transaction, on a result `_confirmable` passed."""
    try:
        _prepare_vendor(connector or paced_connector(channel), channel)
    except ConnectorError as exc:
        return ActivationOutcome(
            channel,
            False,
            _not_activated(channel, _("the vendor setup failed: %(error)s") % {"error": exc}),
            result,
        )
    plan = _Plan(result, preflight_bindings(run), preflight_reference_values(run))
    try:
        with transaction.atomic():
            record, created = _activate_locked(channel, user, plan)
    except _Blocked as exc:
        return ActivationOutcome(channel, False, _blocked_message(channel, exc.blocking), result)
    except IntegrityError as exc:
        channel.refresh_from_db()
        if _active_elsewhere(channel, result.account_id):
            return ActivationOutcome(channel, False, f"“{channel}”: {_(RACE_LOST)}", result)
        logger.warning("Activation of channel %s refused by the database: %s", channel.pk, exc)
        return ActivationOutcome(
            channel,
            False,
            _not_activated(
                channel,
                _(
                    "the data changed during the activation (a SKU or binding was changed "
                    "meanwhile). Run the activation again."
                ),
            ),
            result,
        )
    message = _(
        "“%(channel)s” is active on account %(account)s: %(created)s product binding(s) "
        "created, schedules set, every bound SKU queued for a first push."
    ) % {
        "channel": channel,
        "account": result.account_id or _("(not named by the vendor)"),
        "created": created,
    }
    # After the commit: the vendor may call the URL at once (VTEX pings it), and the hints it
    # sends are kept only for an active channel.
    registered = notifications_register(channel=channel, connector=connector)
    if registered:
        message = f"{message} {registered}"
    return ActivationOutcome(channel, True, message, result, record, created)


def activation_request(
    *, channel: SalesChannel, run: PreflightRun | None, user, confirmation: str = ""
) -> ActivationOutcome:
    """Support's confirmation (the page's POST). A refused or blocked result is answered at
    once. A store with more matches than ACTIVATION_INLINE_MAX_BINDINGS is activated by a
    worker (`activation_confirm_execute`) so the request answers at once and the page follows
    it (`outcome.queued`); a smaller one is activated here."""
    result, refused = _confirmable(channel, run, user, confirmation)
    if refused is not None:
        return refused
    matched = int((run.summary or {}).get("matched", 0))
    if matched <= settings.ACTIVATION_INLINE_MAX_BINDINGS:
        return _activate(channel, run, result, user)
    with transaction.atomic():
        # Conditional: two POSTs at once (a double click) queue one activation.
        claimed = (
            PreflightRun.objects.filter(pk=run.pk)
            .exclude(confirm_state__in=CONFIRM_ACTIVE_STATES)
            .update(
                confirm_state=ConfirmState.QUEUED,
                confirmation=confirmation.strip()[:200],
                confirmed_by=user if getattr(user, "pk", None) else None,
                confirm_requested_at=timezone.now(),
                confirm_finished_at=None,
                confirm_ok=None,
                confirm_message="",
            )
        )
        if claimed:
            transaction.on_commit(partial(_enqueue_confirm, run.pk))
    return ActivationOutcome(
        channel,
        False,
        _(
            "“%(channel)s” is being activated by a worker (%(matched)s product binding(s) to "
            "create); this page follows it."
        )
        % {"channel": channel, "matched": matched},
        result,
        queued=True,
    )


def _enqueue_confirm(run_id: int) -> None:
    from django_q.tasks import async_task

    try:
        async_task(CONFIRM_TASK, run_id, task_name=f"erpintegr:activate:{run_id}")
    except Exception as exc:  # the broker is down: say so on the run, not a 500 after commit
        logger.exception("Could not queue the activation of preflight run %s", run_id)
        confirm_finish(
            run_id, False, _("Could not queue the activation: %(error)s") % {"error": exc}
        )


def activation_confirm_execute(*, run_id: int) -> PreflightRun | None:
    """The worker's side of `activation_request`: claim the queued confirmation, activate
    against the run as support confirmed it, store the outcome for the page."""
    claimed = PreflightRun.objects.filter(pk=run_id, confirm_state=ConfirmState.QUEUED).update(
        confirm_state=ConfirmState.RUNNING
    )
    if not claimed:
        return None  # already taken, or the run is gone
    run = (
        PreflightRun.objects.defer(*PreflightRun.HEAVY_FIELDS)
        .select_related("channel", "confirmed_by")
        .get(pk=run_id)
    )
    try:
        outcome = activation_confirm(
            channel=run.channel,
            run=run,
            user=run.confirmed_by,
            confirmation=run.confirmation,
            requested_at=run.confirm_requested_at,
        )
        ok, message = outcome.ok, outcome.message
    except Exception as exc:  # a bug or the database: the page shows it
        logger.exception("Activation of preflight run %s failed", run_id)
        ok, message = False, _not_activated(run.channel, exc)
    confirm_finish(run_id, ok, message)
    run.refresh_from_db(fields=["confirm_state", "confirm_ok", "confirm_message"])
    return run


def _active_elsewhere(channel: SalesChannel, account_id: str) -> bool:
    return (
        SalesChannel.objects.filter(
            connector=channel.connector,
            external_account_id=account_id,
            status=ChannelStatus.ACTIVE,
        )
        .exclude(pk=channel.pk)
        .exists()
    )


def _activate_locked(channel: SalesChannel, user, plan: _Plan) -> tuple[ActivationRecord, int]:
    report = plan.result
    locked = SalesChannel.objects.select_for_update().select_related("company").get(pk=channel.pk)
    if locked.status == ChannelStatus.ACTIVE:
        raise _Blocked(
            [
                Check(
                    "status",
                    checks.title_of("status"),
                    CheckStatus.BLOCK,
                    _("It was activated meanwhile."),
                )
            ]
        )
    # Database-side facts that may have changed since the preflight; no vendor call.
    again = checks.apply_confirmation(
        [
            checks.check_credentials(locked),
            checks.check_same_account(locked, report.account_id),
            checks.check_de_para(locked, plan.reference_values),
            checks.check_settings(locked),
        ],
        label=locked.vendor.label,
        confirmation=report.confirmation,
    )
    # ERP duplicates: the preflight found none among the SKUs it read; only a SKU written
    # since can make one (every SKU write goes through save(), which stamps updated_at), so
    # the whole catalog is read again only then — on a large store that read is the cost.
    if Sku.objects.filter(
        company_id=locked.company_id,
        updated_at__gte=plan.result.run.started_at or plan.result.run.created_at,
    ).exists():
        duplicates = checks.check_erp_duplicates(erp_index(locked.company_id))
        if duplicates is not None:
            again.append(duplicates)
    blocking = [c for c in again if c.blocks]
    if blocking:
        raise _Blocked(blocking)

    locked.external_account_id = report.account_id
    locked.verified_at = timezone.now()
    locked.save(update_fields=["external_account_id", "verified_at", "updated_at"])
    # Existing bindings (a re-activation) are kept as they are.
    created = listings_bind_many(channel=locked, refs=plan.bindings)
    # Saving status=ACTIVE is where the unique constraint bites if another channel won a race.
    channel_set_status(channel=locked, status=ChannelStatus.ACTIVE)
    pending_full_resync(channel=locked)
    schedules_reconcile_channel(channel_id=locked.pk)
    record = ActivationRecord.objects.create(
        channel=locked,
        action=ActivationAction.ACTIVATE,
        user=user if getattr(user, "pk", None) else None,
        account_id=report.account_id,
        checks=report.checks_json(),
        confirmation=report.confirmation,
    )
    _log(
        user,
        locked,
        _(
            "Activated the integration on account %(account)s (%(created)s product binding(s) "
            "created)."
        )
        % {"account": report.account_id, "created": created},
    )
    channel.refresh_from_db()
    return record, created


def activation_deactivate(*, channel: SalesChannel, user, reason: str = "") -> ActivationOutcome:
    """Pause: schedules removed, bindings and de-para kept; recorded like an activation."""
    with transaction.atomic():
        locked = SalesChannel.objects.select_for_update().get(pk=channel.pk)
        if locked.status not in (ChannelStatus.ACTIVE, ChannelStatus.SUSPENDED):
            return ActivationOutcome(
                channel,
                False,
                _("“%(channel)s” is not active (%(status)s).")
                % {"channel": locked, "status": locked.get_status_display()},
            )
        who = getattr(user, "get_username", lambda: "")() or "support"
        channel_set_status(
            channel=locked,
            status=ChannelStatus.PAUSED,
            reason=reason or _("Deactivated by %(user)s.") % {"user": who},
        )
        schedules_reconcile_channel(channel_id=locked.pk)
        record = ActivationRecord.objects.create(
            channel=locked,
            action=ActivationAction.DEACTIVATE,
            user=user if getattr(user, "pk", None) else None,
            account_id=locked.external_account_id,
            checks=[],
            confirmation=reason,
        )
        _log(user, locked, _("Deactivated the integration (schedules removed, bindings kept)."))
    channel.refresh_from_db()
    return ActivationOutcome(
        channel,
        True,
        _("“%(channel)s” is paused: its schedules are removed; bindings and de-para are kept.")
        % {"channel": channel},
        record=record,
    )


def activation_activate_many(
    *,
    channels: Iterable[SalesChannel],
    user,
    confirmations: dict[int, str] | None = None,
    runs: dict[int, PreflightRun | None] | None = None,
) -> list[ActivationOutcome]:
    """Each channel against its stored preflight (`runs`: the one support saw; otherwise
    the latest), on its own: one failing never stops or undoes another. No vendor listing is
    read (the changelist action's confirmation)."""
    confirmations = confirmations or {}
    outcomes = []
    for channel in channels:
        try:
            run = (
                runs[channel.pk]
                if runs is not None and channel.pk in runs
                else preflight_latest(channel_id=channel.pk)
            )
            outcomes.append(
                activation_request(
                    channel=channel,
                    run=run,
                    user=user,
                    confirmation=confirmations.get(channel.pk, ""),
                )
            )
        except Exception as exc:  # one channel's bug must not hide the others' outcomes
            logger.exception("Activation of channel %s failed", channel.pk)
            outcomes.append(ActivationOutcome(channel, False, _not_activated(channel, redact(exc))))
    return outcomes
