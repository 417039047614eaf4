"""ANYMARKET (integrator) emulator: `routes` is the vendor's API and rules, `fixtures` its
demo credentials and data."""

from sandbox.anymarket.fixtures import AnymarketEmulator
from sandbox.anymarket.routes import (
    CARRIERS,
    MARKETPLACES,
    ORDER_STATUSES,
    PAYMENTS,
    AnymarketApi,
)

__all__ = [
    "CARRIERS",
    "MARKETPLACES",
    "ORDER_STATUSES",
    "PAYMENTS",
    "AnymarketApi",
    "AnymarketEmulator",
]
