"""Emulator classes by connector key (the sandbox counterpart of the connector registry)."""

from importlib import import_module

EMULATORS: dict[str, str] = {
    "mercadolivre": "sandbox.mercadolivre.MercadoLivreEmulator",
    "vtex": "sandbox.vtex.VtexEmulator",
    "anymarket": "sandbox.anymarket.AnymarketEmulator",
}

DEFAULT_PORTS = {"mercadolivre": 8701, "vtex": 8702, "anymarket": 8703}


def get_emulator_class(key: str):
    try:
        module_name, _, class_name = EMULATORS[key].rpartition(".")
    except KeyError:
        raise LookupError(f"No sandbox emulator for connector {key!r}.") from None
    return getattr(import_module(module_name), class_name)
