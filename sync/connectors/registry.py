"""The one registry of connectors: key -> dotted path, imported lazily.

Model choices and form validation are built from here (healthchecks' TRANSPORTS pattern).
"""

from functools import cache

from django.utils.module_loading import import_string

CONNECTORS: dict[str, str] = {
    "mercadolivre": "sync.connectors.mercadolivre.MercadoLivreConnector",
    "vtex": "sync.connectors.vtex.VtexConnector",
    "anymarket": "sync.connectors.anymarket.AnymarketConnector",
}


class UnknownConnector(LookupError):
    pass


@cache
def get_connector_class(key: str):
    try:
        path = CONNECTORS[key]
    except KeyError:
        raise UnknownConnector(f"No connector is registered under {key!r}.") from None
    return import_string(path)


def connector_choices() -> list[tuple[str, str]]:
    return [(key, get_connector_class(key).label) for key in CONNECTORS]


def build_connector(channel, **options):
    """A ready connector for `channel`: decrypted credentials, base URL, options passed on
    (session, sleep, rate_limiter, timeout) for tests and the engine."""
    from channels.services import channel_credentials

    cls = get_connector_class(channel.connector)
    return cls(
        channel,
        credentials=channel_credentials(channel=channel),
        base_url=channel.api_base_url or None,
        **options,
    )
