"""Support for tests and benchmarks: run with a vendor's declaration changed (a lower rate, a
smaller batch cap), restored afterwards. Never used by the product itself."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import import_module

from vendors.registry import VENDORS, get_adapter_class, get_spec
from vendors.spec import VendorSpec


@contextmanager
def override_spec(key: str, **changes) -> Iterator[VendorSpec]:
    module = import_module(f"{VENDORS[key]}.spec")
    adapter = get_adapter_class(key)
    original = module.SPEC
    changed = dataclasses.replace(original, **changes)
    module.SPEC = adapter.spec = changed
    get_spec.cache_clear()
    try:
        yield changed
    finally:
        module.SPEC = adapter.spec = original
        get_spec.cache_clear()


@contextmanager
def override_rate(key: str, *, rate: float, burst: int) -> Iterator[VendorSpec]:
    """The vendor's declared request rate and burst replaced (the engine and the emulators
    read them from the spec)."""
    limits = dataclasses.replace(get_spec(key).limits, requests_per_second=rate, burst=burst)
    with override_spec(key, limits=limits) as spec:
        yield spec
