"""Test connection: verify the credentials live, learn the account id (Draft → Ready).

`verify_account` is the one place an activation asks the vendor who we are; the preflight
uses it too. Every adapter built here paces its calls with the channel's own rate limiter
(`sync.services.limits`: the bucket and saved state the sync runs use), and its state is saved
back when the step is done, so test connections, a preflight and the runs share one budget.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from channels.models import ChannelStatus, SalesChannel
from channels.services import channel_set_status
from sync.services.connectors import build_connector
from sync.services.limits import limiter_save, rate_limiter_for
from vendors.base import Connector
from vendors.errors import ConnectorError


@dataclass
class ConnectionResult:
    ok: bool
    message: str
    account_id: str = ""


def paced_connector(channel: SalesChannel) -> Connector:
    """The channel's adapter, its calls paced by the channel's rate limiter."""
    return build_connector(channel, rate_limiter=rate_limiter_for(channel))


def save_pace(channel: SalesChannel, connector: Connector | None) -> None:
    """Leave the limiter's state for whoever calls the vendor next (a run, a preflight)."""
    if connector is not None and channel.pk is not None:
        limiter_save(channel_id=channel.pk, limiter=connector.rate_limiter)


def verify_account(
    channel: SalesChannel, connector: Connector | None = None
) -> tuple[Connector | None, str, str]:
    """(the adapter, the account id, what went wrong in words). HTTP: never call it inside a
    transaction. ConnectorError strings are redacted, so the error may be shown as is."""
    label = channel.vendor.label
    try:
        connector = connector or paced_connector(channel)
        account_id = str(connector.verify()).strip()
    except ConnectorError as exc:
        return (
            connector,
            "",
            _("%(vendor)s refused the connection: %(error)s") % {"vendor": label, "error": exc},
        )
    if not account_id and channel.vendor.identifies_account:
        return connector, "", _("%(vendor)s answered without an account id.") % {"vendor": label}
    return connector, account_id, ""


def activation_test_connection(
    *, channel: SalesChannel, connector: Connector | None = None
) -> ConnectionResult:
    """Verify the credentials live; store the account id; move a Draft channel to Ready."""
    label = channel.vendor.label
    connector, account_id, error = verify_account(channel, connector)
    save_pace(channel, connector)
    if error:
        return ConnectionResult(False, error)
    channel.refresh_from_db(fields=["status", "external_account_id"])
    if (
        account_id
        and channel.status == ChannelStatus.ACTIVE
        and channel.external_account_id
        and channel.external_account_id != account_id
    ):
        # The engine pushes to whatever account the keys open: never switch an active
        # integration to another store silently.
        return ConnectionResult(
            False,
            _(
                "These credentials open account %(account)s, but the channel is active on "
                "account %(active)s. Deactivate it, then activate again."
            )
            % {"account": account_id, "active": channel.external_account_id},
            account_id,
        )
    channel.external_account_id = account_id
    channel.verified_at = timezone.now()
    channel.save(update_fields=["external_account_id", "verified_at", "updated_at"])
    if channel.status == ChannelStatus.DRAFT:
        channel_set_status(channel=channel, status=ChannelStatus.READY)
    if not account_id:
        return ConnectionResult(
            True,
            _(
                "Connected to %(vendor)s: the credentials work. %(vendor)s does not name the "
                "account they open; the activation asks support to confirm it instead."
            )
            % {"vendor": label},
        )
    return ConnectionResult(
        True,
        _("Connected to %(vendor)s: account %(account)s.")
        % {"vendor": label, "account": account_id},
        account_id,
    )
