"""Building a vendor adapter for a channel, and the credential store it writes rotated tokens to.

The vendor layer never sees a model: here the engine reads the channel's decrypted credentials,
picks the base address (the channel's override, or the vendor's for its environment) and hands
the adapter a `ChannelCredentialStore` for token rotation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction

from channels.models import SalesChannel
from channels.rescue import rescue_discard, rescue_write
from channels.services import (
    channel_base_url,
    channel_credentials,
    channel_store_rotated_credentials,
)
from vendors.base import Connector
from vendors.errors import ConnectorError
from vendors.registry import get_adapter_class

logger = logging.getLogger("sync.connectors")


class ChannelCredentialStore:
    """`vendors.base.CredentialStore` on a SalesChannel row.

    `update_locked` holds the channel's row lock (select_for_update on PostgreSQL; on SQLite the
    project's IMMEDIATE transactions take the write lock at BEGIN, which serialises refreshers
    the same way) from reading the stored credentials until the new ones are written.

    What the vendor issued is stored with `channel_store_rotated_credentials` (no uniqueness
    validation: the vendor has spent the old token, refusing the new one would lock the
    channel out), and kept encrypted in a rescue file (`channels.rescue`) from the vendor's
    answer until the commit: if the database refuses it or the worker dies in between, the
    operator restores it with `manage.py restore_rescued_credentials`.
    """

    def __init__(self, channel_pk: int) -> None:
        self.channel_pk = channel_pk
        self.name = f"channel {channel_pk}"

    def update_locked(
        self, step: Callable[[dict[str, str]], Mapping[str, str] | None]
    ) -> dict[str, str]:
        rescued: Path | None = None
        issued = False
        try:
            with transaction.atomic():
                locked = SalesChannel.objects.select_for_update().get(pk=self.channel_pk)
                stored = channel_credentials(channel=locked)
                new_values = step(dict(stored))
                if new_values:
                    issued = True
                    rescued = _rescue(locked, new_values)
                    channel_store_rotated_credentials(channel=locked, values=new_values)
                    stored.update({k: v for k, v in new_values.items() if v})
        except Exception as exc:
            if issued and rescued is None:
                logger.critical(
                    "Channel %s: the credentials the vendor just issued could not be stored "
                    "(%s) nor kept in a rescue file; the seller must authorize again.",
                    self.channel_pk,
                    type(exc).__name__,
                )
            if rescued is None:
                raise
            # The vendor answered (its old token is spent) but the database does not hold the
            # new values: say so loudly, and where they are kept. Never the values themselves.
            logger.critical(
                "Channel %s: the credentials the vendor just issued could NOT be stored "
                "(%s). They are kept encrypted in %s; run `manage.py "
                "restore_rescued_credentials` before the channel's next run, or the seller "
                "must authorize again.",
                self.channel_pk,
                type(exc).__name__,
                rescued,
            )
            raise ConnectorError(
                f"The new credentials the vendor issued for channel {self.channel_pk} could not "
                f"be stored ({type(exc).__name__}); they are kept encrypted in {rescued}. "
                "Run `manage.py restore_rescued_credentials` before the next run."
            ) from exc
        if rescued is not None:
            # After the outermost commit (at once when there is no enclosing transaction): until
            # then the database does not durably hold the values.
            transaction.on_commit(partial(rescue_discard, rescued))
        return stored


def _rescue(channel: SalesChannel, values: Mapping[str, str]) -> Path | None:
    """The rescue file for `values`, or None (logged) when it cannot be written: storing
    goes on regardless, the database being the primary copy."""
    try:
        return rescue_write(channel=channel, values=dict(values))
    except OSError as exc:
        logger.error(
            "Channel %s: could not write the credential rescue file (%s: %s); storing the "
            "vendor's new credentials in the database only.",
            channel.pk,
            type(exc).__name__,
            exc.strerror or "",
        )
        return None


def build_connector(channel: SalesChannel, **options) -> Connector:
    """A ready adapter for `channel`: decrypted credentials, base URL, a credential store, and
    the options passed on (session, sleep, rate_limiter, timeout) for tests and the engine."""
    cls = get_adapter_class(channel.connector)
    try:
        base_url = channel_base_url(channel=channel)
    except ValidationError as exc:
        # Nothing is sent: the credentials would go to an address production does not allow.
        raise ConnectorError(" ".join(exc.message_dict["api_base_url"])) from None
    return cls(
        credentials=channel_credentials(channel=channel),
        environment=channel.environment,
        base_url=base_url,
        store=ChannelCredentialStore(channel.pk) if channel.pk is not None else None,
        **options,
    )
