"""Telling the vendor where to send its notifications (issue 16), for vendors whose API lets
the integration register itself (`Connector.registers_notifications`: VTEX's orders hook).
The others (Mercado Livre, ANYMARKET) are registered by hand in the vendor's screens: the
channel page shows the URL to paste and the README says where.

Called after an activation commits and when a channel's notification URL is regenerated
(a task). A failure never undoes anything: the schedules keep reading the vendor, so the
result is a sentence for the activation's message, not an exception. Neither the URL (its
token) nor the secret is ever logged or shown: the vendor layer registers both as secrets
and its errors are redacted."""

from __future__ import annotations

import logging

from django.utils.translation import gettext as _

from channels.models import ChannelStatus, SalesChannel
from channels.services import channel_notification_url
from sync.activation.connection import paced_connector, save_pace
from vendors.base import Connector
from vendors.errors import ConnectorError
from vendors.registry import get_adapter_class

logger = logging.getLogger("sync.notifications")


def notifications_register(*, channel: SalesChannel, connector: Connector | None = None) -> str:
    """Register the channel's notification URL at the vendor when the vendor allows it and
    the channel is active. Returns what happened in the user's words ("" when the vendor's
    notifications are registered by hand)."""
    registers = get_adapter_class(channel.connector).registers_notifications
    if not registers or channel.status != ChannelStatus.ACTIVE:
        return ""
    url = channel_notification_url(channel=channel)
    if not url.startswith(("https://", "http://")):
        return _(
            "%(vendor)s notifications were not registered: set ERPINTEGR_PUBLIC_URL (the "
            "address the vendor reaches this server at); until then the schedules read the "
            "vendor."
        ) % {"vendor": channel.vendor.label}
    try:
        connector = connector or paced_connector(channel)
        connector.register_notifications(url, channel.notification_secret)
    except ConnectorError as exc:
        logger.warning(
            "Channel %s: notifications not registered at the vendor: %s", channel.pk, exc
        )
        return _(
            "%(vendor)s notifications were not registered (%(error)s); the schedules keep "
            "reading the vendor."
        ) % {"vendor": channel.vendor.label, "error": exc}
    finally:
        save_pace(channel, connector)
    logger.info("Channel %s: notifications registered at the vendor", channel.pk)
    return _("%(vendor)s sends its notifications to this channel's URL (registered now).") % {
        "vendor": channel.vendor.label
    }
