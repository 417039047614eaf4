"""The registry and the declarations: readable without the adapters, one shape for every vendor."""

import subprocess
import sys

import pytest

from vendors.base import Connector
from vendors.registry import VENDORS, UnknownVendor, get_adapter_class, get_spec, vendor_choices
from vendors.spec import Category, Environment, Flow, VendorSpec


def test_reading_every_declaration_imports_no_adapter():
    # Forms and model choices read labels and limits; that must not pull in 900-line adapters
    # (nor requests): a fresh interpreter proves what a warm test process cannot.
    code = (
        "import sys\n"
        "from vendors.registry import VENDORS, get_spec, vendor_choices\n"
        "labels = [get_spec(k).label for k in VENDORS] + [l for _, l in vendor_choices()]\n"
        "loaded = sorted(m for m in sys.modules if m.endswith('.adapter') or m == 'requests')\n"
        "print(loaded)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("key", list(VENDORS))
def test_each_vendor_is_one_package_with_a_spec_and_an_adapter(key):
    spec = get_spec(key)
    adapter = get_adapter_class(key)
    assert isinstance(spec, VendorSpec) and spec.key == key
    assert issubclass(adapter, Connector) and adapter.spec is spec
    assert spec.category in Category.values
    # Every flow is either supported with declared limits or unsupported with a reason; the
    # catalog is on for every vendor (the engine publishes through publish_product).
    assert Flow.CATALOG in spec.limits.flows and Flow.CATALOG not in spec.unsupported_flows
    for flow in Flow.values:
        assert (flow in spec.limits.flows) != (flow in spec.unsupported_flows), (key, flow)
    for environment in Environment.values:
        assert spec.default_base_url(environment, {}).startswith(("https://", "http://"))


def test_choices_come_from_the_registry():
    assert vendor_choices() == [(key, get_spec(key).label) for key in VENDORS]


def test_an_unknown_key_is_a_clear_error():
    with pytest.raises(UnknownVendor, match="'nope'"):
        get_spec("nope")


def test_vtex_address_comes_from_the_account_name():
    spec = get_spec("vtex")
    assert (
        spec.default_base_url("production", {"account_name": "lojademo"})
        == "https://lojademo.vtexcommercestable.com.br"
    )
