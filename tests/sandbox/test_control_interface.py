"""The control interface (sandbox.server.Emulator) works the same for every emulator in the
registry: tests, benchmarks and the demo drive all vendors with one vocabulary."""

import subprocess
import sys
from decimal import Decimal

import pytest
import requests
from django.conf import settings

from sandbox.registry import EMULATORS, get_emulator_class
from sandbox.server import ECHO_SHAPES, CatalogEntry, Emulator, LoggedRequest, echo_parts, echo_text
from sync.services.connectors import build_connector
from tests.factories import make_channel
from vendors.errors import RateLimitedError, TransientError
from vendors.registry import get_spec
from vendors.types import ExternalRef, StockUpdate

VENDORS = sorted(EMULATORS)
FAST = {"rate": 1000, "burst": 100}


@pytest.fixture(params=VENDORS)
def emulator(request):
    instance = get_emulator_class(request.param)(**FAST)
    instance.start()
    yield instance
    instance.stop()


def connect(emulator):
    channel = make_channel(
        connector=emulator.vendor,
        credentials=emulator.credentials,
        api_base_url=emulator.url,
        environment="sandbox",
    )
    return build_connector(channel, sleep=lambda seconds: None)


def ref_of(entry: CatalogEntry) -> ExternalRef:
    return ExternalRef(entry.item_id, entry.variation_id, entry.sku_id, entry.seller_sku)


@pytest.mark.parametrize("vendor", VENDORS)
def test_every_emulator_implements_the_whole_interface(vendor):
    cls = get_emulator_class(vendor)
    assert issubclass(cls, Emulator)
    assert cls.__abstractmethods__ == frozenset()
    assert cls.vendor == vendor
    assert cls.order_statuses


@pytest.mark.parametrize("vendor", VENDORS)
def test_the_connector_declares_no_more_than_the_vendor_documents(vendor):
    # The emulator's rate is the vendor's documented one, written in sandbox/: a connector
    # declaring more would be throttled by the real vendor.
    limits = get_spec(vendor).limits
    cls = get_emulator_class(vendor)
    assert limits.requests_per_second <= cls.rate
    assert cls().rate_limit.rate == cls.rate


def test_catalog_stock_and_price(emulator):
    codes = ["CTL-A", "CTL-B", "CTL-C"]
    entries = emulator.seed_catalog(codes, per_product=2, quantity=3, price=Decimal("12.50"))

    assert [e.seller_sku for e in entries] == codes
    assert all(e.item_id for e in entries)
    assert entries[0].item_id == entries[1].item_id != entries[2].item_id  # products of two
    assert [emulator.stock_of(code) for code in codes] == [3, 3, 3]
    assert [emulator.price_of(code) for code in codes] == [Decimal("12.50")] * 3

    emulator.set_stock("CTL-B", 8)
    assert (emulator.stock_of("CTL-A"), emulator.stock_of("CTL-B")) == (3, 8)
    with pytest.raises(KeyError):
        emulator.stock_of("NOT-THERE")


def test_orders_are_placed_listed_and_moved_on(emulator):
    emulator.seed_catalog(["ORD-A", "ORD-B"], quantity=10)
    backlog = emulator.feed_backlog()

    first = emulator.add_order([("ORD-A", 2), ("ORD-B", 1, "5.00")])
    second = emulator.add_order()  # one unit of the first SKU

    assert isinstance(first, str)
    assert emulator.order_ids() == [first, second]
    assert emulator.order_lines(first) == [("ORD-A", 2), ("ORD-B", 1)]
    assert emulator.order_lines(second) == [("ORD-A", 1)]
    assert emulator.stock_of("ORD-A") == 10  # selling is the test's business (set_stock)

    last = emulator.order_statuses[-1]  # each vendor's cancelled status
    emulator.set_order_status(first, last)
    with pytest.raises(ValueError):
        emulator.set_order_status(first, "no-such-status")
    with pytest.raises(ValueError):
        emulator.add_order([("ORD-A", 1)], status="no-such-status")
    # A fed vendor queues every change for its integration; a searched one queues nothing.
    assert emulator.feed_backlog() >= backlog
    assert emulator.order_ids() == [first, second]


@pytest.mark.django_db
def test_a_stock_push_through_the_connector_is_logged_as_a_stock_write(emulator):
    entries = emulator.seed_catalog(["LOG-A", "LOG-B"])
    connector = connect(emulator)
    emulator.reset_stats()

    result = connector.push_stock(
        [StockUpdate(key=e.seller_sku, ref=ref_of(e), quantity=7) for e in entries]
    )

    assert sorted(result.accepted) == ["LOG-A", "LOG-B"]
    assert (emulator.stock_of("LOG-A"), emulator.stock_of("LOG-B")) == (7, 7)
    log = emulator.requests_log
    assert all(isinstance(r, LoggedRequest) for r in log)
    writes = [r for r in log if r.stock_items]
    assert sum(r.stock_items for r in writes if r.status < 300) == 2
    assert emulator.stats["stock writes"] == len(writes)
    emulator.reset_stats()
    assert emulator.requests_log == [] and emulator.stats["stock writes"] == 0


@pytest.mark.django_db
def test_faults_and_the_rate_limit(emulator):
    connector = connect(emulator)
    with pytest.raises(ValueError, match="unknown fault"):
        emulator.set_faults(rate_418=1.0)

    emulator.set_faults(rate_5xx=1.0)
    with pytest.raises(TransientError):
        connector.verify()
    assert emulator.stats["fault 5xx"] >= 1
    emulator.set_faults(rate_5xx=0)
    connector.verify()

    emulator.set_rate_limit(rate=0.01, burst=1)
    with pytest.raises(RateLimitedError):
        for _ in range(3):
            connector.verify()
    assert emulator.stats["429"] > 0

    # The same controls over HTTP, for an emulator in another process (manage.py sandbox).
    control = f"{emulator.url}/__emulator__"
    assert requests.post(f"{control}/faults", json={"rate_5xx": 0.5}, timeout=5).ok
    assert emulator.faults.rate_5xx == 0.5
    answer = requests.post(f"{control}/rate-limit", json={"rate": 500}, timeout=5).json()
    assert answer == {"rate": 500, "burst": 1} and emulator.rate_limit.rate == 500
    assert requests.post(f"{control}/faults", json={"nope": 1}, timeout=5).status_code == 400
    assert all(not r.path.startswith("/__emulator__") for r in emulator.requests_log)


def _strings(value) -> list[str]:
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return [value] if isinstance(value, str) else []


@pytest.mark.parametrize("shape", ECHO_SHAPES)
def test_errors_echo_the_secrets_a_request_carries(emulator, shape):
    # A route of the vendor's without path parameters, called with a credential in a header.
    method, regex = next(
        (m, r.pattern) for m, r, _h, _a in emulator.routes if "(?P<" not in r.pattern
    )
    url = emulator.url + regex.strip("^$").replace("\\", "")
    secret = max(emulator.secrets(), key=len)
    emulator.echo_secrets_in_errors(shape, status=403, offset=80)

    answer = requests.request(method, url, headers={"X-Anything": secret}, timeout=5)

    assert answer.status_code == 403
    lead, shown, _ = echo_parts(secret, shape)
    (message,) = [s for s in _strings(answer.json()) if echo_text(secret, shape) in s]
    assert message.endswith(echo_text(secret, shape))
    assert message.index(lead + shown) + len(lead) == 80  # the secret starts at the offset
    assert emulator.stats["fault echo"] == 1
    # A request carrying no secret is answered as usual.
    assert requests.request(method, url, timeout=5).status_code != 403
    assert emulator.stats["fault echo"] == 1

    # The same control over HTTP; unknown shapes are refused; a null shape stops it.
    control = f"{emulator.url}/__emulator__/echo-secrets"
    assert requests.post(control, json={"shape": "base64"}, timeout=5).status_code == 400
    assert requests.post(control, json={"shape": None}, timeout=5).json() == {"shape": None}
    assert emulator.echo is None
    assert (
        requests.request(method, url, headers={"X-Anything": secret}, timeout=5).status_code != 403
    )


def test_credentials_are_unique_per_account_and_their_secrets_known(emulator):
    cls = type(emulator)
    demo, other = cls.demo_credentials(), cls.demo_credentials("outraloja")
    assert emulator.credentials == demo
    secret_fields = [f.name for f in get_spec(emulator.vendor).credential_fields if f.secret]
    assert any(demo[name] != other[name] for name in secret_fields if name in demo)
    assert {demo[name] for name in secret_fields if name in demo} <= emulator.secrets()
    assert cls(account="outraloja").credentials == other


def test_importing_the_sandbox_imports_neither_vendors_nor_erp_nor_django():
    # The emulators are written from the vendors' documentation: importing the code they
    # test (or Django) would let them mirror its mistakes.
    code = (
        "import sys\n"
        "import sandbox.registry, sandbox.openapi, sandbox.server\n"
        "for key in sandbox.registry.EMULATORS:\n"
        "    sandbox.registry.get_emulator_class(key)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('vendors', 'erp', 'django'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == ""


def test_an_order_can_be_placed_over_the_control_route(emulator):
    """`make run`'s emulators live in the run_stack process: the README's tour places an
    order from a shell through this route, as a buyer would."""
    code = next(iter(emulator.seed_catalog(["CTRL-1"]))).seller_sku
    before = set(emulator.order_ids())
    answer = requests.post(
        f"{emulator.url}/__emulator__/orders", json={"lines": [[code, 2, "19.90"]]}, timeout=5
    )
    assert answer.status_code == 201, answer.text
    assert set(emulator.order_ids()) - before == {answer.json()["id"]}

    refused = requests.post(
        f"{emulator.url}/__emulator__/orders", json={"lines": [["NO-SUCH-SKU", 1, "1"]]}, timeout=5
    )
    assert refused.status_code == 400 and "NO-SUCH-SKU" in refused.json()["message"]
    assert set(emulator.order_ids()) - before == {answer.json()["id"]}
