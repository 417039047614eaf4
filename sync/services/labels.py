"""The shipping label of an order, downloaded from the channel for the order page.

The adapter is built the way the engine builds it (`sync.services.connectors.build_connector`)
and paced by the channel's own rate limiter (`sync.services.limits`), whose state is saved back
afterwards, so label downloads and the runs share one request budget. Nothing is stored: the
file goes straight to the person who asked for it.

Every failure is a `LabelUnavailable` with a sentence in the reader's language (and the
vendor's own words, redacted, when it refused): the label not released yet (Mercado Livre:
the shipment waits for the NF-e, `invoice_pending`, or is not `ready_to_ship`), the channel
printing no label for this order or at all, the channel not active, the vendor unreachable.
"""

from __future__ import annotations

import logging

from django.utils.translation import gettext

from channels.models import ChannelStatus
from erp.models import Order
from erpintegr.redaction import redact_truncate
from sync.services.connectors import build_connector
from sync.services.limits import limiter_save, rate_limiter_for
from vendors.errors import (
    AuthError,
    ConnectorError,
    NotFoundError,
    NotSupportedError,
    PermissionDeniedError,
    ValidationFailedError,
)
from vendors.spec import Capability
from vendors.types import LabelFormat, ShippingLabel

logger = logging.getLogger("sync.labels")

VENDOR_WORDS_CHARS = 300


class LabelUnavailable(Exception):
    """No label to hand out; str() is the translated reason, safe to show."""


def channel_prints_labels(order: Order) -> bool:
    """The order came from a channel whose vendor releases shipping labels."""
    channel = order.channel
    return channel is not None and Capability.SHIPPING_LABEL in channel.vendor.capabilities


def order_shipping_label(*, order: Order, label_format: LabelFormat) -> ShippingLabel:
    """The order's label from its channel. HTTP: never call it inside a transaction."""
    channel = order.channel
    if channel is None:
        raise LabelUnavailable(gettext("This order was not imported from a sales channel."))
    vendor = channel.vendor.label
    if Capability.SHIPPING_LABEL not in channel.vendor.capabilities:
        raise LabelUnavailable(
            gettext("%(vendor)s does not provide shipping labels through its API.")
            % {"vendor": vendor}
        )
    if channel.status != ChannelStatus.ACTIVE:
        raise LabelUnavailable(
            gettext("The channel is %(status)s: only an active channel talks to the vendor.")
            % {"status": channel.get_status_display().lower()}
        )
    connector = None
    try:
        connector = build_connector(channel, rate_limiter=rate_limiter_for(channel))
        return connector.shipping_label(order.external_id, label_format)
    except ConnectorError as exc:
        raise LabelUnavailable(_reason(vendor, exc)) from None
    finally:
        if connector is not None:
            limiter_save(channel_id=channel.pk, limiter=connector.rate_limiter)


def _reason(vendor: str, exc: ConnectorError) -> str:
    words = redact_truncate(str(exc), VENDOR_WORDS_CHARS)
    # The class only, never the text: a vendor's answer is not for the logs.
    logger.info("Shipping label not handed out: %s from %s", type(exc).__name__, vendor)
    if isinstance(exc, NotSupportedError):
        return gettext("%(vendor)s prints no label for this order: %(words)s") % {
            "vendor": vendor,
            "words": words,
        }
    if isinstance(exc, ValidationFailedError):
        return gettext(
            "%(vendor)s has not released the label yet. It is released once the channel has "
            "the invoice (NF-e) and the shipment is ready to ship. The channel said: %(words)s"
        ) % {"vendor": vendor, "words": words}
    if isinstance(exc, NotFoundError):
        return gettext("%(vendor)s does not know this order or its shipment: %(words)s") % {
            "vendor": vendor,
            "words": words,
        }
    if isinstance(exc, AuthError | PermissionDeniedError):
        return gettext("%(vendor)s refused our access: %(words)s") % {
            "vendor": vendor,
            "words": words,
        }
    return gettext("%(vendor)s did not answer with the label; try again shortly: %(words)s") % {
        "vendor": vendor,
        "words": words,
    }
