"""Building a vendor adapter for a channel, and the credential store it writes rotated tokens to.

The vendor layer never sees a model: here the engine reads the channel's decrypted credentials,
picks the base address (the channel's override, or the vendor's for its environment) and hands
the adapter a `ChannelCredentialStore` for token rotation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from django.core.exceptions import ValidationError
from django.db import transaction

from channels.models import SalesChannel
from channels.services import channel_base_url, channel_credentials, channel_set_credentials
from vendors.base import Connector
from vendors.errors import ConnectorError
from vendors.registry import get_adapter_class


class ChannelCredentialStore:
    """`vendors.base.CredentialStore` on a SalesChannel row.

    `update_locked` holds the channel's row lock (select_for_update on PostgreSQL; on SQLite the
    project's IMMEDIATE transactions take the write lock at BEGIN, which serialises refreshers
    the same way) from reading the stored credentials until the new ones are written.
    """

    def __init__(self, channel_pk: int) -> None:
        self.channel_pk = channel_pk
        self.name = f"channel {channel_pk}"

    def update_locked(
        self, step: Callable[[dict[str, str]], Mapping[str, str] | None]
    ) -> dict[str, str]:
        with transaction.atomic():
            locked = SalesChannel.objects.select_for_update().get(pk=self.channel_pk)
            stored = channel_credentials(channel=locked)
            new_values = step(dict(stored))
            if new_values:
                channel_set_credentials(channel=locked, values=new_values)
                stored.update({k: v for k, v in new_values.items() if v})
        return stored


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
