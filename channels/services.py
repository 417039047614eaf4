"""Writes and reads of sales channels: credentials, sync settings."""

import hashlib
import hmac
from collections.abc import Mapping

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from channels.models import Credential, SalesChannel, SyncSetting
from erpintegr.redaction import register_secret
from vendors.spec import Flow


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
            errors[field.name] = (
                f"This {field.label} belongs to another company's channel; a key is unique per "
                "company and environment and cannot be reused."
            )
        else:
            errors[field.name] = (
                f"This {field.label} is already used by channel “{other.name}” "
                f"({other.get_environment_display()}); one key may serve one channel only."
            )
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
            f"{connector.label} has no credential field named {', '.join(sorted(unknown))}."
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
                {name: f"This {field.label} was just saved on another sales channel."}
            ) from None
        if field.secret:
            register_secret(value)
    return sorted(to_write)


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
            enabled=True,
            interval_minutes=limits.default_interval_minutes,
            batch_size=limits.default_batch_size,
        )
    return [existing[f] for f in Flow.values]


def channel_announce_changed(*, channel: SalesChannel) -> None:
    """Tell the engine that status or sync settings changed (it reconciles schedules)."""
    from channels.signals import channel_changed

    channel_changed.send(sender=SalesChannel, channel_id=channel.pk)


@transaction.atomic
def channel_set_status(*, channel: SalesChannel, status: str, reason: str = "") -> SalesChannel:
    """Move a channel to `status` (with the reason shown on its page) and announce it."""
    from erpintegr.redaction import redact_truncate

    channel.status = status
    channel.status_reason = redact_truncate(reason, 2000)
    channel.save(update_fields=["status", "status_reason", "updated_at"])
    channel_announce_changed(channel=channel)
    return channel
