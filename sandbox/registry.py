"""Emulator classes by connector key (the sandbox counterpart of the connector registry)."""

from django.utils.module_loading import import_string

EMULATORS: dict[str, str] = {
    "mercadolivre": "sandbox.mercadolivre.MercadoLivreEmulator",
    "vtex": "sandbox.vtex.VtexEmulator",
    "anymarket": "sandbox.anymarket.AnymarketEmulator",
}

DEFAULT_PORTS = {"mercadolivre": 8701, "vtex": 8702, "anymarket": 8703}


def get_emulator_class(key: str):
    try:
        return import_string(EMULATORS[key])
    except KeyError:
        raise LookupError(f"No sandbox emulator for connector {key!r}.") from None
