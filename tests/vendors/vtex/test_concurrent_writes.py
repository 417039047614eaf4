"""VTEX's per-SKU writes with a few requests open at once (`Connector.each_request`, the flow's
`max_in_flight`): the cap on open requests counted at the emulator, answers identical to one
request at a time, a 429 that delays only its own retry, and the declared rate kept.

No timing asserts: requests are counted at the emulator (open at once, per window, 429s)."""

from __future__ import annotations

import dataclasses
import re
import threading
from contextlib import contextmanager
from decimal import Decimal

import pytest
import responses

from mappings.models import Listing
from sync.models import PendingChange, RunState
from sync.services.connectors import build_connector
from sync.services.limits import rate_limiter_for
from sync.services.runs import run_flow
from tests.factories import make_channel
from tests.sync.engine import active_channel, bind, declared_rate, make_skus
from vendors.base import NOT_SENT
from vendors.registry import get_spec
from vendors.spec import Flow
from vendors.testing import override_spec
from vendors.types import ExternalRef, PriceUpdate, StockUpdate
from vendors.vtex.adapter import VtexConnector
from vendors.vtex.spec import MAX_IN_FLIGHT

pytestmark = pytest.mark.django_db(transaction=True)


@contextmanager
def in_flight(width: int):
    """VTEX's stock and price writes declared with `width` requests open at once."""
    limits = get_spec("vtex").limits
    flows = dict(limits.flows)
    for flow in (Flow.STOCK, Flow.PRICE):
        flows[flow] = dataclasses.replace(flows[flow], max_in_flight=width)
    with override_spec("vtex", limits=dataclasses.replace(limits, flows=flows)):
        yield


def channel_for(emulator):
    return make_channel(
        connector="vtex",
        credentials=emulator.credentials,
        api_base_url=emulator.url,
        environment="sandbox",
    )


def connector_for(channel, sleep=None, **options):
    limiter = rate_limiter_for(channel, sleep=sleep)
    return build_connector(channel, rate_limiter=limiter, sleep=sleep, **options)


def price_items(entries) -> list[PriceUpdate]:
    items = [
        PriceUpdate(
            key=index,
            ref=ExternalRef(sku_id=entry.sku_id),
            price=Decimal("10.00") + index,
            list_price=Decimal("99.90") if index % 3 == 0 else None,
        )
        for index, entry in enumerate(entries)
    ]
    # Refused before any request (no VTEX id, a price of 0) and by the vendor (unknown SKU).
    items.insert(3, PriceUpdate(key="unbound", ref=ExternalRef(sku_id=""), price=Decimal("5")))
    items.insert(9, PriceUpdate(key="zero", ref=ExternalRef(sku_id="1"), price=Decimal("0")))
    items.insert(14, PriceUpdate(key="unknown", ref=ExternalRef(sku_id="987654"), price=Decimal(7)))
    return items


def test_price_writes_keep_at_most_max_in_flight_open_and_answer_as_one_at_a_time(emulator):
    with declared_rate(VtexConnector, rate=500, burst=100):
        vtex = emulator("vtex", rate=500, burst=100)
        # Each answer takes a while, so requests sent together are open together.
        vtex.set_faults(latency_ms=60)
        entries = vtex.seed_catalog([f"VT-{i:03d}" for i in range(40)])
        items = price_items(entries)

        channel = channel_for(vtex)
        with in_flight(1):
            serial = connector_for(channel).push_prices(items)
        assert vtex.peak_in_flight == 1
        vtex.reset_stats()
        pooled = connector_for(channel).push_prices(items)

    assert 1 < vtex.peak_in_flight <= MAX_IN_FLIGHT
    assert max(r.in_flight for r in vtex.requests_log) <= MAX_IN_FLIGHT
    assert len(vtex.requests_log) == 41  # 40 known SKUs + the unknown one, each once
    assert pooled.accepted == serial.accepted == list(range(40))
    assert pooled.rejected == serial.rejected
    assert set(pooled.rejected) == {"unbound", "zero", "unknown"}
    assert "404" in pooled.rejected["unknown"]
    assert pooled.deferred == serial.deferred == {}
    assert vtex.price_of("VT-007") == Decimal("17.00")


def test_stock_writes_per_warehouse_answer_as_one_at_a_time(emulator):
    with declared_rate(VtexConnector, rate=500, burst=100):
        vtex = emulator("vtex", rate=500, burst=100)
        vtex.set_faults(latency_ms=30)
        entries = vtex.seed_catalog([f"VS-{i:03d}" for i in range(20)])
        items = []
        for index, entry in enumerate(entries):
            ref = ExternalRef(sku_id=entry.sku_id)
            items.append(StockUpdate(key=(index, "1_1"), ref=ref, quantity=index, location="1_1"))
            # An unknown warehouse: the vendor refuses that pair alone.
            location = "no-such-warehouse" if index % 5 == 0 else "1_1"
            items.append(StockUpdate(key=(index, "x"), ref=ref, quantity=1, location=location))
        items.append(StockUpdate(key="negative", ref=ExternalRef(sku_id="1"), quantity=-1))

        channel = channel_for(vtex)
        with in_flight(1):
            serial = connector_for(channel).push_stock(items)
        pooled = connector_for(channel).push_stock(items)

    assert pooled.accepted == serial.accepted
    assert pooled.rejected == serial.rejected
    assert pooled.deferred == serial.deferred
    assert {key for key in pooled.rejected if key != "negative"} == {
        (index, "x") for index in range(0, 20, 5)
    }
    assert vtex.stock_of("VS-013", "1_1") == 1  # the later update of the same pair won


@responses.activate
def test_a_429_delays_only_its_own_retry_while_the_other_writes_go_on():
    """VTEX's 429 is about burst credits, not a blocked account (vendors/vtex/spec.py): the
    refused request waits its Retry-After, the others keep going. The refused request's wait
    is held until every other SKU was written — which only happens if nothing else waited
    for that Retry-After."""
    channel = make_channel(
        connector="vtex",
        credentials={
            "account_name": "lojateste",
            "app_key": "vtexappkey-lojateste-ABC",
            "app_token": "TOKENlojateste0123456789SECRET",
            "warehouse_id": "1_1",
        },
    )
    lock = threading.Lock()
    written: list[str] = []
    refused: list[str] = []
    others_written = threading.Event()

    def answer(request):
        sku_id = request.url.rsplit("/", 1)[1]
        with lock:
            if sku_id == "1005" and not refused:
                refused.append(sku_id)
                return 429, {"Retry-After": "2"}, '{"message": "Too Many Requests"}'
            written.append(sku_id)
            if len(set(written) - {"1005"}) == 19:
                others_written.set()
        return 200, {}, ""

    responses.add_callback(
        responses.PUT, re.compile(r"https://api\.vtex\.com/lojateste/pricing/prices/\d+"), answer
    )
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if seconds >= 1:  # only the refused request may wait that long
            assert others_written.wait(timeout=10), "the other writes waited for the 429"

    limiter = rate_limiter_for(channel, sleep=sleep)
    connector = build_connector(channel, rate_limiter=limiter, sleep=sleep)
    items = [
        PriceUpdate(key=i, ref=ExternalRef(sku_id=str(1000 + i)), price=Decimal("9.90"))
        for i in range(20)
    ]

    result = connector.push_prices(items)

    assert result.accepted == list(range(20)) and not result.rejected
    # The Retry-After, once, on the refused request's retry; the others only waited for a
    # token at the slowed pace (the tokens on hand were dropped), never for the Retry-After.
    assert [w for w in waits if w >= 1] == [2.0]
    assert written[-1] == "1005" and len(written) == 20  # its retry came after the others
    assert limiter.rate < limiter.max_rate  # and the pace slowed down
    assert connector.request_stats() == {"requests": 21, "retries": 1, "rate_limited": 1}


def test_at_the_declared_rate_the_pool_never_exceeds_it(emulator):
    """An engine run against the emulator enforcing VTEX's declared rate and burst: no 429,
    and no one-second window holds more than the rate plus the burst."""
    limits = get_spec("vtex").limits
    vtex = emulator("vtex", rate=limits.requests_per_second, burst=limits.burst)
    vtex.set_faults(latency_ms=20)
    channel = active_channel("vtex", vtex, batch_sizes={"price": 150})
    codes = [f"VR-{i:03d}" for i in range(150)]
    entries = vtex.seed_catalog(codes)
    skus = make_skus(channel.company, codes)
    from erp.services import price_set

    for sku, entry in zip(skus, entries, strict=True):
        bind(channel, sku, external_item_id=entry.item_id, external_sku_id=entry.sku_id)
        price_set(price_list=channel.price_list, sku=sku, amount=Decimal("12.50"))
    vtex.reset_stats()

    run = run_flow(channel_id=channel.pk, flow="price")

    assert run.state == RunState.SUCCEEDED, run.error or run.detail
    log = vtex.requests_log
    assert len(log) == run.requests == 150
    assert [r for r in log if r.status == 429] == []
    arrivals = sorted(r.at for r in log)
    for start, at in enumerate(arrivals):
        in_window = sum(1 for t in arrivals[start:] if t < at + 1.0)
        assert in_window <= limits.requests_per_second + limits.burst
    assert 1 <= vtex.peak_in_flight <= MAX_IN_FLIGHT
    assert not PendingChange.objects.filter(channel=channel).exists()
    assert (
        Listing.objects.filter(channel=channel, last_pushed_price=Decimal("12.50")).count() == 150
    )
    assert vtex.price_of("VR-149") == Decimal("12.50")


def test_nothing_is_started_once_the_deadline_has_passed(emulator):
    vtex = emulator("vtex")
    entries = vtex.seed_catalog(["VD-1", "VD-2"])
    connector = connector_for(channel_for(vtex), deadline=lambda: 0.0)
    items = [
        PriceUpdate(key=i, ref=ExternalRef(sku_id=e.sku_id), price=Decimal("3"))
        for i, e in enumerate(entries)
    ]

    result = connector.push_prices(items)

    # No verdict at all: the engine keeps both pending for the next run.
    assert (result.accepted, result.rejected, result.deferred) == ([], {}, {})
    assert vtex.requests_log == []


class _Stop(Exception):
    pass


def test_a_heartbeat_that_stops_the_run_starts_nothing_more_and_lets_open_requests_end(
    emulator,
):
    vtex = emulator("vtex")
    beats: list[int] = []

    def heartbeat():
        beats.append(1)
        raise _Stop("lease lost")

    connector = connector_for(channel_for(vtex), heartbeat=heartbeat)
    release = threading.Event()
    started: list[int] = []
    ended: list[int] = []

    def send(index: int):
        started.append(index)
        release.wait(timeout=5)  # open until the heartbeat has had its say
        ended.append(index)
        return index

    def heartbeat_then_release():
        try:
            heartbeat()
        finally:
            release.set()

    connector.heartbeat = heartbeat_then_release
    with pytest.raises(_Stop):
        connector.each_request(Flow.PRICE, list(range(30)), send)

    assert sorted(started) == sorted(ended) == list(range(MAX_IN_FLIGHT))
    assert beats == [1]


def test_one_at_a_time_where_the_flow_declares_no_pool(emulator):
    connector = connector_for(channel_for(emulator("vtex")))
    seen: list[str] = []
    answers = connector.each_request(
        Flow.ORDERS, ["a", "b", "c"], lambda item: seen.append(threading.current_thread().name)
    )
    assert answers == [None, None, None]
    assert seen == [threading.current_thread().name] * 3  # on the caller's own thread
    assert NOT_SENT not in answers
