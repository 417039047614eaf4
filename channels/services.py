"""Writes and reads of sales channels: credentials, sync settings."""

import hashlib
import hmac
import logging
from collections.abc import Mapping
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from channels.models import (
    AccessChange,
    ChannelStatus,
    Credential,
    SalesChannel,
    SyncSetting,
    base_url_problem,
)
from erpintegr.redaction import register_secret
from vendors.spec import Flow

logger = logging.getLogger("channels")


def _fingerprint_key(key: str) -> bytes:
    # Derived from a Fernet key so there is one secret set to manage; domain-separated so the
    # HMAC key is never the encryption key itself.
    return hashlib.sha256(b"erpintegr credential fingerprint\x00" + key.encode()).digest()


def credential_fingerprints(*, connector: str, name: str, value: str) -> list[str]:
    """The value's fingerprint under every configured key, newest first.

    Rows are written with the newest key; during a key rotation older rows still carry
    fingerprints of an older key, so lookups compare against all of them.
    """
    message = f"{connector}\x00{name}\x00{value.strip()}".encode()
    return [
        hmac.new(_fingerprint_key(key), message, hashlib.sha256).hexdigest()
        for key in settings.FERNET_KEYS
    ]


def channel_credentials(*, channel: SalesChannel) -> dict[str, str]:
    """Decrypted credentials of a channel. Every value is registered for log redaction."""
    values = {c.name: c.value for c in channel.credentials.all()}
    for field in channel.vendor.credential_fields:
        if field.secret and values.get(field.name):
            register_secret(values[field.name])
    return values


def stored_credential_names(*, channel: SalesChannel) -> set[str]:
    """Names with a stored value, without decrypting anything."""
    if channel.pk is None:
        return set()
    return set(channel.credentials.values_list("name", flat=True))


def credential_conflicts(*, channel: SalesChannel, values: Mapping[str, str]) -> dict[str, str]:
    """Field name -> error for unique fields whose value another channel already holds."""
    connector = channel.vendor
    errors: dict[str, str] = {}
    for field in connector.credential_fields:
        value = (values.get(field.name) or "").strip()
        if not field.unique or not value:
            continue
        prints = credential_fingerprints(connector=connector.key, name=field.name, value=value)
        holder = (
            Credential.objects.filter(
                connector=connector.key, name=field.name, fingerprint__in=prints
            )
            .exclude(channel_id=channel.pk)
            .select_related("channel__company")
            .first()
        )
        if holder is None:
            continue
        other = holder.channel
        if other.company_id != channel.company_id:
            errors[field.name] = _(
                "This %(field)s belongs to another company's channel; a key is unique per "
                "company and environment and cannot be reused."
            ) % {"field": field.label}
        else:
            errors[field.name] = _(
                "This %(field)s is already used by channel “%(channel)s” (%(environment)s); "
                "one key may serve one channel only."
            ) % {
                "field": field.label,
                "channel": other.name,
                "environment": other.get_environment_display(),
            }
    return errors


@transaction.atomic
def channel_set_credentials(*, channel: SalesChannel, values: Mapping[str, str]) -> list[str]:
    """Store the given credential values (blank values are ignored: the stored one is kept).

    Returns the names written. Raises ValidationError (per field) when a unique value is
    already held by another channel; nothing is written then.
    """
    connector = channel.vendor
    known = {f.name: f for f in connector.credential_fields}
    unknown = set(values) - set(known)
    if unknown:
        raise ValidationError(
            _("%(vendor)s has no credential field named %(names)s.")
            % {"vendor": connector.label, "names": ", ".join(sorted(unknown))}
        )
    to_write = {name: str(v).strip() for name, v in values.items() if v not in (None, "")}
    conflicts = credential_conflicts(channel=channel, values=to_write)
    if conflicts:
        raise ValidationError(conflicts)
    for name, value in to_write.items():
        field = known[name]
        fingerprint = (
            credential_fingerprints(connector=connector.key, name=name, value=value)[0]
            if field.unique
            else None
        )
        try:
            with transaction.atomic():
                Credential.objects.update_or_create(
                    channel=channel,
                    name=name,
                    defaults={
                        "value": value,
                        "fingerprint": fingerprint,
                        "connector": connector.key,
                    },
                )
        except IntegrityError:
            # Lost a race with another channel saving the same key at the same moment.
            raise ValidationError(
                {
                    name: _("This %(field)s was just saved on another sales channel.")
                    % {"field": field.label}
                }
            ) from None
        if field.secret:
            register_secret(value)
    return sorted(to_write)


@transaction.atomic
def channel_store_rotated_credentials(*, channel: SalesChannel, values: Mapping[str, str]) -> None:
    """Store credentials the vendor itself just issued (a rotated refresh token, its access
    token): no validation that could refuse them.

    `channel_set_credentials` checks that a unique value belongs to no other channel — right
    for what a person types, wrong here: the vendor has already spent the old token, so
    refusing the new one would lock the channel out of the seller's account. The value is
    stored whatever another row holds; only its fingerprint (the uniqueness guard) is left
    blank when another channel's row claims the same one, and that is logged (never the
    value). Unknown field names are ignored with a warning for the same reason."""
    connector = channel.vendor
    known = {f.name: f for f in connector.credential_fields}
    for name, value in values.items():
        value = str(value or "").strip()
        if not value:
            continue
        field = known.get(name)
        if field is None:
            logger.warning(
                "%s issued a credential named %s that %s does not declare; not stored.",
                connector.label,
                name,
                connector.key,
            )
            continue
        fingerprint = (
            credential_fingerprints(connector=connector.key, name=name, value=value)[0]
            if field.unique
            else None
        )
        if field.secret:
            register_secret(value)
        defaults = {"value": value, "fingerprint": fingerprint, "connector": connector.key}
        try:
            with transaction.atomic():
                Credential.objects.update_or_create(channel=channel, name=name, defaults=defaults)
        except IntegrityError:
            logger.error(
                "Channel %s: the %s %s issued is also claimed by another channel's stored "
                "value; stored without its fingerprint (check the channels sharing this key).",
                channel.pk,
                field.name,
                connector.label,
            )
            Credential.objects.update_or_create(
                channel=channel, name=name, defaults={**defaults, "fingerprint": None}
            )


def channel_ensure_sync_settings(*, channel: SalesChannel) -> list[SyncSetting]:
    """Create the missing per-flow rows with the connector's defaults."""
    connector = channel.vendor
    existing = {s.flow: s for s in channel.sync_settings.all()}
    for flow in Flow.values:
        if flow in existing:
            continue
        if flow in connector.unsupported_flows:
            existing[flow] = SyncSetting.objects.create(
                channel=channel, flow=flow, enabled=False, interval_minutes=60, batch_size=1
            )
            continue
        limits = connector.limits.for_flow(flow)
        existing[flow] = SyncSetting.objects.create(
            channel=channel,
            flow=flow,
            # Catalog publishing creates and overwrites products at the vendor: support turns
            # it on deliberately (a store whose products were made by hand keeps them).
            enabled=flow != Flow.CATALOG,
            interval_minutes=limits.default_interval_minutes,
            batch_size=limits.default_batch_size,
        )
    return [existing[f] for f in Flow.values]


def channel_announce_changed(*, channel: SalesChannel) -> None:
    """Tell the engine that status or sync settings changed (it reconciles schedules)."""
    from channels.signals import channel_changed

    channel_changed.send(sender=SalesChannel, channel_id=channel.pk)


@transaction.atomic
def channel_set_flow_enabled(*, channel: SalesChannel, flow: str, enabled: bool) -> bool:
    """Switch one flow of the channel on or off (as its sync settings row does) and announce
    it. Returns whether anything changed."""
    changed = (
        SyncSetting.objects.filter(channel=channel, flow=flow)
        .exclude(enabled=enabled)
        .update(enabled=enabled)
    )
    if changed:
        channel_announce_changed(channel=channel)
    return bool(changed)


@transaction.atomic
def channel_set_status(*, channel: SalesChannel, status: str, reason: str = "") -> SalesChannel:
    """Move a channel to `status` (with the reason shown on its page) and announce it."""
    from erpintegr.redaction import redact_truncate

    channel.status = status
    channel.status_reason = redact_truncate(reason, 2000)
    channel.save(update_fields=["status", "status_reason", "updated_at"])
    channel_announce_changed(channel=channel)
    return channel


def url_host(url: str) -> str:
    """scheme://host[:port] of an address, never its path or query (they may carry a token).
    Blank means the vendor's own address."""
    if not url:
        return ""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


@transaction.atomic
def channel_record_access_change(
    *,
    channel: SalesChannel,
    user,
    credential_fields: list[str],
    old_base_url: str,
    new_base_url: str,
) -> AccessChange | None:
    """Record a person's change of credentials or API address, and send an Active channel
    back to Ready: what was verified and activated is no longer what runs."""
    base_url_changed = (old_base_url or "") != (new_base_url or "")
    if not credential_fields and not base_url_changed:
        return None
    change = AccessChange.objects.create(
        channel=channel,
        user=user,
        credential_fields=sorted(credential_fields),
        old_host=url_host(old_base_url) if base_url_changed else "",
        new_host=url_host(new_base_url) if base_url_changed else "",
    )
    if channel.status == ChannelStatus.ACTIVE:
        channel_set_status(
            channel=channel,
            status=ChannelStatus.READY,
            reason=_(
                "The credentials or the API address changed: test the connection and "
                "activate again."
            ),
        )
    return change


def channel_base_url(*, channel: SalesChannel) -> str | None:
    """The override the channel's credentials may be sent to (None = the vendor's own), checked
    again at use: the allow-list may have changed since the channel was saved."""
    problem = base_url_problem(channel.environment, channel.api_base_url)
    if problem:
        raise ValidationError({"api_base_url": problem})
    return channel.api_base_url or None


def sync_setting_record_request_size(*, channel_id: int, flow: str, size: int) -> int:
    """Keep the items per request the vendor was seen to accept for a batch write (set by the
    engine after a run learned it), never above the flow's batch size. One UPDATE."""
    setting = SyncSetting.objects.filter(channel_id=channel_id, flow=flow)
    batch_size = setting.values_list("batch_size", flat=True).first()
    if batch_size is None:
        return 0
    return setting.update(learned_request_size=max(1, min(int(size), batch_size)))


def channel_notification_url(*, channel: SalesChannel) -> str:
    """Where the channel's vendor sends its notifications: ERPINTEGR_PUBLIC_URL + the
    channel's path (the path alone while the public address is not set). It holds the
    channel's token: shown only to users who may see credentials, never logged."""
    from django.urls import reverse

    path = reverse("notification_receive", args=[channel.notification_token])
    return f"{settings.ERPINTEGR_PUBLIC_URL}{path}"


def channel_regenerate_notification_token(*, channel_ids) -> int:
    """A new notification token (URL) and hook secret per channel: the old URL answers 404
    from now on. Vendors the integration registers itself with (VTEX's orders hook) are
    given the new URL by the engine (channel_notification_url_changed); the others must be
    given it by hand. Returns the count of channels changed."""
    from channels.models import new_notification_secret, new_notification_token
    from channels.signals import notification_url_changed

    count = 0
    for channel in SalesChannel.objects.filter(pk__in=list(channel_ids)):
        channel.notification_token = new_notification_token()
        channel.notification_secret = new_notification_secret()
        channel.save(update_fields=["notification_token", "notification_secret", "updated_at"])
        notification_url_changed.send(sender=SalesChannel, channel_id=channel.pk)
        count += 1
    return count
