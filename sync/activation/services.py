"""Activation by support: test connection, preflight, activate, deactivate.

Vendor calls (verify, listings, other integrations, reference values) are HTTP and never run
inside a database transaction. `activation_activate` therefore works in two phases:

1. the full preflight, vendor calls included, outside any transaction;
2. one transaction that locks the channel, re-runs the *database-side* blocking checks (the
   account active elsewhere, credentials stored, flows and limits, ERP duplicates: state may
   have changed since phase 1), then creates the bindings from the listing match fetched in
   phase 1 — moments before, in the same request — sets the channel Active, marks everything
   for a first push, reconciles its schedules and writes the ActivationRecord and LogEntry.

The check "no other channel active on this account" is also a partial unique constraint on
SalesChannel: two activations racing past phase 2's re-check still cannot both commit.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from django.contrib.admin.models import CHANGE, LogEntry
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from channels.models import ActivationAction, ActivationRecord, ChannelStatus, SalesChannel
from channels.services import channel_set_status
from erpintegr.redaction import redact
from mappings.services import listings_bind_many
from sync.activation import checks
from sync.activation.checks import Check, CheckStatus, MatchResult
from sync.services.connectors import build_connector
from vendors.base import Connector
from vendors.errors import (
    ConnectorError,
    PermissionDeniedError,
)

logger = logging.getLogger("sync.activation")

RACE_LOST = "Another channel was just activated on this vendor account; this one was not activated."
PROGRESS_EVERY = 500  # listings between two progress updates
CACHE_SECONDS = 6 * 3600


def progress_cache_key(channel_id: int) -> str:
    return f"erpintegr:activation:progress:{channel_id}"


def report_cache_key(channel_id: int) -> str:
    return f"erpintegr:activation:report:{channel_id}"


# --- test connection ------------------------------------------------------------------------


@dataclass
class ConnectionResult:
    ok: bool
    message: str
    account_id: str = ""


def activation_test_connection(
    *, channel: SalesChannel, connector: Connector | None = None
) -> ConnectionResult:
    """Verify the credentials live; store the account id; move a Draft channel to Ready.

    The vendor's refusal is returned in words (ConnectorError strings are redacted)."""
    label = channel.vendor.label
    try:
        connector = connector or build_connector(channel)
        account_id = str(connector.verify()).strip()
    except ConnectorError as exc:
        return ConnectionResult(False, f"{label} refused the connection: {exc}")
    if not account_id:
        return ConnectionResult(False, f"{label} answered without an account id.")
    channel.refresh_from_db(fields=["status", "external_account_id"])
    if (
        channel.status == ChannelStatus.ACTIVE
        and channel.external_account_id
        and channel.external_account_id != account_id
    ):
        # The engine pushes to whatever account the keys open: never switch an active
        # integration to another store silently.
        return ConnectionResult(
            False,
            f"These credentials open account {account_id}, but the channel is active on "
            f"account {channel.external_account_id}. Deactivate it, then activate again.",
            account_id,
        )
    channel.external_account_id = account_id
    channel.verified_at = timezone.now()
    channel.save(update_fields=["external_account_id", "verified_at", "updated_at"])
    if channel.status == ChannelStatus.DRAFT:
        channel_set_status(channel=channel, status=ChannelStatus.READY)
    return ConnectionResult(True, f"Connected to {label}: account {account_id}.", account_id)


# --- preflight -----------------------------------------------------------------------------


@dataclass
class PreflightReport:
    channel: SalesChannel
    checks: list[Check]
    account_id: str = ""
    match: MatchResult | None = None
    confirmation: str = ""
    at: datetime = field(default_factory=timezone.now)
    # The connector the preflight verified, reused for the vendor setup of the activation.
    connector: Connector | None = field(default=None, repr=False)

    @property
    def blocking(self) -> list[Check]:
        return [c for c in self.checks if c.blocks]

    @property
    def warnings(self) -> list[Check]:
        return [c for c in self.checks if c.status == CheckStatus.WARN]

    @property
    def can_activate(self) -> bool:
        return not self.blocking

    @property
    def needs_confirmation(self) -> bool:
        return any(c.needs_confirmation for c in self.blocking)

    @property
    def can_activate_with_confirmation(self) -> bool:
        """Nothing blocks but the confirmation support types on the same page."""
        return all(c.needs_confirmation for c in self.blocking)

    def checks_json(self) -> list[dict]:
        return [c.as_dict() for c in self.checks]


def _progress_recorder(channel_id: int, extra: Callable[[int], None] | None):
    def record(fetched: int) -> None:
        if fetched % PROGRESS_EVERY == 0:
            cache.set(
                progress_cache_key(channel_id), {"fetched": fetched, "done": False}, CACHE_SECONDS
            )
        if extra is not None:
            extra(fetched)

    return record


def activation_preflight(
    *,
    channel: SalesChannel,
    confirmation: str = "",
    connector: Connector | None = None,
    progress: Callable[[int], None] | None = None,
) -> PreflightReport:
    """Run every check. Calls the vendor; writes nothing but the progress and the last report
    (both in the cache). `progress(n)` is called for every listing fetched."""
    label = channel.vendor.label
    result: list[Check] = [checks.check_credentials(channel)]
    account_id, connection_error = "", ""
    if result[0].blocks:
        connection_error = "Not checked: the credentials are incomplete."
    else:
        try:
            connector = connector or build_connector(channel)
            account_id = str(connector.verify()).strip()
            if not account_id:
                connection_error = f"{label} answered without an account id."
        except ConnectorError as exc:
            connection_error = f"{label} refused the connection: {exc}"
    result.append(checks.check_connection(account_id, connection_error))
    result.append(checks.check_same_account(channel, account_id))

    match: MatchResult | None = None
    if connection_error:
        reason = "the connection is not verified."
        result += [
            checks.not_checked(
                "other_back_office", "No other ERP connected to the account", reason
            ),
            checks.not_checked("de_para", "De-para complete", reason),
            checks.not_checked("data", "Data compatible", reason),
        ]
    else:
        result.append(_other_back_office(connector, label, confirmation))
        try:
            values = connector.reference_values()
        except ConnectorError as exc:
            result.append(
                checks.check_de_para(channel, None, f"Could not read {label}'s values: {exc}")
            )
        else:
            result.append(checks.check_de_para(channel, values))
        recorder = _progress_recorder(channel.pk, progress)
        try:
            erp = checks.erp_index(channel.company_id)
            match = checks.match_listings(connector.list_listings(), erp, progress=recorder)
        except ConnectorError as exc:
            result.append(
                checks.check_data(None, f"Could not read the listings from {label}: {exc}")
            )
        else:
            result.append(checks.check_data(match))
        cache.set(
            progress_cache_key(channel.pk),
            {"fetched": match.fetched if match else 0, "done": True},
            CACHE_SECONDS,
        )
    result.append(checks.check_settings(channel))
    report = PreflightReport(
        channel=channel,
        checks=result,
        account_id=account_id,
        match=match,
        confirmation=confirmation.strip(),
        connector=connector if not connection_error else None,
    )
    if match is not None:
        cache.set(report_cache_key(channel.pk), report_csv(match), CACHE_SECONDS)
    return report


def _other_back_office(connector: Connector, label: str, confirmation: str) -> Check:
    try:
        found = connector.other_integrations()
        if found is None:
            found = connector.probe_back_office()
    except PermissionDeniedError as exc:
        # The keys may not read the vendor's list (VTEX needs License Manager rights): the
        # vendor then tells us nothing, and support's confirmation is what we have.
        logger.info("Other integrations not readable for %s: %s", label, exc)
        check = checks.check_other_back_office(label=label, found=None, confirmation=confirmation)
        if check.blocks:
            check.message = (
                f"{label} refused to list the connected applications ({exc}); grant that "
                "permission, or type the previous ERP (or “none”) and confirm it is "
                "disconnected."
            )
        return check
    except ConnectorError as exc:
        return checks.check_other_back_office(
            label=label, found=None, error=f"Could not ask {label} about other applications: {exc}"
        )
    return checks.check_other_back_office(label=label, found=found, confirmation=confirmation)


class _SafeWriter:
    """csv.writer that defuses cells a spreadsheet would run as a formula (vendor titles are
    typed by whoever runs the store)."""

    def __init__(self, out: io.StringIO) -> None:
        self.writer = csv.writer(out)

    def writerow(self, row: list) -> None:
        self.writer.writerow(
            ["'" + c if isinstance(c, str) and c[:1] in ("=", "+", "@") else c for c in row]
        )


def report_csv(match: MatchResult) -> str:
    """Listings that match nothing and ERP SKUs absent from the channel, every row."""
    out = io.StringIO()
    writer = _SafeWriter(out)
    writer.writerow(
        ["problem", "seller_sku", "ean", "item_id", "variation_id", "sku_id", "title_or_name"]
    )
    for listing in match.unmatched + match.unbindable:
        ref = listing.ref
        writer.writerow(
            [
                "listing matches no ERP SKU",
                listing.seller_sku,
                listing.ean,
                ref.item_id,
                ref.variation_id,
                ref.sku_id,
                listing.title,
            ]
        )
    for row in match.absent:
        writer.writerow(["ERP SKU not on the channel", row.code, row.ean, "", "", "", row.name])
    for code, listings in match.duplicate_listing_codes.items():
        for listing in listings:
            ref = listing.ref
            writer.writerow(
                [
                    f"duplicate SKU code {code} on the channel",
                    listing.seller_sku,
                    listing.ean,
                    ref.item_id,
                    ref.variation_id,
                    ref.sku_id,
                    listing.title,
                ]
            )
    return out.getvalue()


def activation_report_csv(*, channel: SalesChannel) -> str:
    """The last preflight's CSV, or a fresh listing match when it is no longer cached."""
    cached = cache.get(report_cache_key(channel.pk))
    if cached is not None:
        return cached
    connector = build_connector(channel)
    match = checks.match_listings(
        connector.list_listings(),
        checks.erp_index(channel.company_id),
        progress=_progress_recorder(channel.pk, None),
    )
    text = report_csv(match)
    cache.set(report_cache_key(channel.pk), text, CACHE_SECONDS)
    return text


def activation_progress(*, channel: SalesChannel) -> dict | None:
    return cache.get(progress_cache_key(channel.pk))


# --- activate / deactivate ---------------------------------------------------------------------


@dataclass
class ActivationOutcome:
    channel: SalesChannel
    ok: bool
    message: str
    report: PreflightReport | None = None
    record: ActivationRecord | None = None
    bindings_created: int = 0


class _Blocked(Exception):
    def __init__(self, blocking: list[Check]) -> None:
        self.blocking = blocking
        super().__init__("; ".join(c.message for c in blocking))


def _blocked_message(channel: SalesChannel, blocking: Iterable[Check]) -> str:
    return f"“{channel}” was not activated: " + " ".join(
        f"{c.title}: {c.message}" for c in blocking
    )


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
    """Preflight (vendor calls, outside any transaction), then activate in one transaction."""
    channel.refresh_from_db()
    if channel.status == ChannelStatus.ACTIVE:
        return ActivationOutcome(channel, False, f"“{channel}” is already active.")
    report = activation_preflight(channel=channel, confirmation=confirmation, connector=connector)
    if report.blocking:
        return ActivationOutcome(channel, False, _blocked_message(channel, report.blocking), report)
    try:
        _prepare_vendor(report.connector, channel)
    except ConnectorError as exc:
        return ActivationOutcome(
            channel, False, f"“{channel}” was not activated: the vendor setup failed: {exc}", report
        )
    try:
        with transaction.atomic():
            record, created = _activate_locked(channel, user, report)
    except _Blocked as exc:
        return ActivationOutcome(channel, False, _blocked_message(channel, exc.blocking), report)
    except IntegrityError as exc:
        channel.refresh_from_db()
        if _active_elsewhere(channel, report.account_id):
            return ActivationOutcome(channel, False, f"“{channel}”: {RACE_LOST}", report)
        logger.warning("Activation of channel %s refused by the database: %s", channel.pk, exc)
        return ActivationOutcome(
            channel,
            False,
            f"“{channel}” was not activated: the data changed during the activation "
            "(a SKU or binding was changed meanwhile). Run the activation again.",
            report,
        )
    return ActivationOutcome(
        channel,
        True,
        f"“{channel}” is active on account {report.account_id}: {created} product binding(s) "
        "created, schedules set, every bound SKU queued for a first push.",
        report,
        record,
        created,
    )


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


def _activate_locked(
    channel: SalesChannel, user, report: PreflightReport
) -> tuple[ActivationRecord, int]:
    from sync.services.pending import pending_full_resync
    from sync.services.schedules import schedules_reconcile_channel

    locked = SalesChannel.objects.select_for_update().select_related("company").get(pk=channel.pk)
    if locked.status == ChannelStatus.ACTIVE:
        raise _Blocked(
            [Check("status", "Channel status", CheckStatus.BLOCK, "It was activated meanwhile.")]
        )
    # Database-side facts that may have changed since the preflight.
    again = [
        checks.check_credentials(locked),
        checks.check_same_account(locked, report.account_id),
        checks.check_settings(locked),
    ]
    duplicates = checks.check_erp_duplicates(checks.erp_index(locked.company_id))
    if duplicates is not None:
        again.append(duplicates)
    blocking = [c for c in again if c.blocks]
    if blocking:
        raise _Blocked(blocking)

    locked.external_account_id = report.account_id
    locked.verified_at = timezone.now()
    locked.save(update_fields=["external_account_id", "verified_at", "updated_at"])
    created = _create_bindings(locked, report.match)
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
        f"Activated the integration on account {report.account_id} "
        f"({created} product binding(s) created).",
    )
    channel.refresh_from_db()
    return record, created


def _create_bindings(channel: SalesChannel, match: MatchResult | None) -> int:
    """Bindings from the match. Existing bindings (a re-activation) are kept as they are."""
    if match is None:
        return 0
    return listings_bind_many(
        channel=channel,
        refs=[
            (sku_id, replace(remote.ref, seller_sku=remote.seller_sku or remote.ref.seller_sku))
            for remote, sku_id, _by in match.matches
        ],
    )


def activation_deactivate(*, channel: SalesChannel, user, reason: str = "") -> ActivationOutcome:
    """Pause: schedules removed, bindings and de-para kept; recorded like an activation."""
    from sync.services.schedules import schedules_reconcile_channel

    with transaction.atomic():
        locked = SalesChannel.objects.select_for_update().get(pk=channel.pk)
        if locked.status not in (ChannelStatus.ACTIVE, ChannelStatus.SUSPENDED):
            return ActivationOutcome(
                channel, False, f"“{locked}” is not active ({locked.get_status_display()})."
            )
        who = getattr(user, "get_username", lambda: "")() or "support"
        channel_set_status(
            channel=locked,
            status=ChannelStatus.PAUSED,
            reason=reason or f"Deactivated by {who}.",
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
        _log(user, locked, "Deactivated the integration (schedules removed, bindings kept).")
    channel.refresh_from_db()
    return ActivationOutcome(
        channel,
        True,
        f"“{channel}” is paused: its schedules are removed; bindings and de-para are kept.",
        record=record,
    )


def activation_activate_many(
    *,
    channels: Iterable[SalesChannel],
    user,
    confirmations: dict[int, str] | None = None,
) -> list[ActivationOutcome]:
    """Each channel on its own: one failing never stops or undoes another."""
    confirmations = confirmations or {}
    outcomes = []
    for channel in channels:
        try:
            outcomes.append(
                activation_activate(
                    channel=channel, user=user, confirmation=confirmations.get(channel.pk, "")
                )
            )
        except Exception as exc:  # one channel's bug must not hide the others' outcomes
            logger.exception("Activation of channel %s failed", channel.pk)
            outcomes.append(
                ActivationOutcome(channel, False, f"“{channel}” was not activated: {redact(exc)}")
            )
    return outcomes
