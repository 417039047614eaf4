"""The one registry of vendors: key -> package, imported lazily.

`get_spec(key)` imports only the vendor's declaration (`<package>.spec.SPEC`); the adapter
(`<package>.adapter.Adapter`) is imported only by code that talks to the vendor. Model choices
and form validation are built from the specs (healthchecks' TRANSPORTS pattern).
"""

from __future__ import annotations

from functools import cache
from importlib import import_module

from vendors.spec import VendorSpec

VENDORS: dict[str, str] = {
    "mercadolivre": "vendors.mercadolivre",
    "vtex": "vendors.vtex",
    "anymarket": "vendors.anymarket",
}


class UnknownVendor(LookupError):
    pass


def _package(key: str) -> str:
    try:
        return VENDORS[key]
    except KeyError:
        raise UnknownVendor(f"No vendor is registered under {key!r}.") from None


@cache
def get_spec(key: str) -> VendorSpec:
    return import_module(f"{_package(key)}.spec").SPEC


@cache
def get_adapter_class(key: str):
    return import_module(f"{_package(key)}.adapter").Adapter


def vendor_choices() -> list[tuple[str, str]]:
    return [(key, get_spec(key).label) for key in VENDORS]


@cache
def get_notification_module(key: str):
    """`<package>.notifications` of a vendor that declares Capability.NOTIFICATIONS:
    `parse_notification(headers, body) -> NotificationHint | None` and, where the vendor sends
    headers we chose, `SECRET_HEADER`. A small module; the adapter is not imported."""
    return import_module(f"{_package(key)}.notifications")
