"""Mercado Livre (marketplace) emulator: `routes` is the vendor's API and rules, `fixtures`
its demo credentials and data."""

from sandbox.mercadolivre.fixtures import MercadoLivreEmulator
from sandbox.mercadolivre.routes import (
    ORDER_STATUSES,
    PAYMENT_METHODS,
    SHIPPING_METHODS,
    MercadoLivreApi,
)

__all__ = [
    "ORDER_STATUSES",
    "PAYMENT_METHODS",
    "SHIPPING_METHODS",
    "MercadoLivreApi",
    "MercadoLivreEmulator",
]
