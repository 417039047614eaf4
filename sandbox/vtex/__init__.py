"""VTEX (platform) emulator: `routes` is the vendor's APIs and rules, `fixtures` its demo
credentials and data."""

from sandbox.vtex.fixtures import VtexEmulator
from sandbox.vtex.routes import (
    ORDER_STATUSES,
    PAYMENT_SYSTEMS,
    SHIPPING_POLICIES,
    WAREHOUSES,
    VtexApi,
)

__all__ = [
    "ORDER_STATUSES",
    "PAYMENT_SYSTEMS",
    "SHIPPING_POLICIES",
    "WAREHOUSES",
    "VtexApi",
    "VtexEmulator",
]
