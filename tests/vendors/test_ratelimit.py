"""The client's rate limiter (vendors/ratelimit.py) with the HTTP client, in virtual time.

Time is a counter the fakes advance (no test sleeps, no timing assert): the rate a vendor sees
is requests counted over virtual seconds.
"""

from __future__ import annotations

import json
import random

import pytest
import requests
from requests.structures import CaseInsensitiveDict

from vendors.http import HttpClient
from vendors.ratelimit import RECOVERY_SECONDS, TokenBucket


class VirtualTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)


def _response(status: int, body: object = None, headers: dict | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = b"" if body is None else json.dumps(body).encode()
    response.headers = CaseInsensitiveDict(headers or {})
    return response


class FaultyVendor:
    """A vendor on a virtual clock, like the sandbox emulators: its own token bucket at the
    declared rate (429 + Retry-After beyond it, as sandbox.server does) and injected faults,
    each `share` of the requests: 429 with Retry-After: 1, 503, a stall the client's read
    timeout gives up on, and a 200 whose body is not JSON (the soak's mix: 20 % in all)."""

    def __init__(self, time: VirtualTime, *, rate: float, burst: int, share: float, seed: int):
        self.time = time
        self.rate, self.burst = rate, burst
        self.tokens, self.updated = float(burst), 0.0
        self.share = share
        self.random = random.Random(seed)
        self.arrivals: list[float] = []
        self.rate_limited = 0

    def request(self, method, url, *, timeout, **kwargs) -> requests.Response:
        now = self.time.now
        self.arrivals.append(now)
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        self.time.now += 0.02  # the answer's round trip
        if self.tokens < 1:
            self.rate_limited += 1
            wait = (1 - self.tokens) / self.rate
            return _response(429, {"message": "Too Many Requests"}, {"Retry-After": f"{wait:.0f}"})
        self.tokens -= 1
        roll = self.random.random()
        if roll < self.share:
            return _response(429, {"message": "Too Many Requests"}, {"Retry-After": "1"})
        if roll < 2 * self.share:
            return _response(503, {"message": "Service Unavailable"})
        if roll < 3 * self.share:
            self.time.now += timeout[1] if isinstance(timeout, tuple) else timeout
            raise requests.ReadTimeout("read timed out")
        if roll < 4 * self.share:
            response = _response(200)
            response._content = b'{"truncated": [1, 2'
            return response
        return _response(200, {"ok": True})


def _sustained_rate(declared: float, burst: int, *, seconds: float, share: float) -> float:
    """Requests/s the vendor received from a client sending as fast as its limiter allows
    (the engine's settings: 95 % of the declared rate, half the burst), over `seconds`."""
    clock = VirtualTime()
    vendor = FaultyVendor(clock, rate=declared, burst=burst, share=share, seed=7)
    limiter = TokenBucket(
        rate=declared * 0.95, burst=max(1, burst // 2), clock=clock.clock, sleep=clock.sleep
    )
    client = HttpClient(
        base_url="http://vendor.test",
        session=vendor,
        timeout=(1.0, 1.0),
        sleep=clock.sleep,
        random=random.Random(3).random,
        rate_limiter=limiter,
        clock=clock.clock,
    )
    while clock.now < seconds:
        try:
            client.get("/anything")
        except Exception:  # noqa: BLE001 - gave up after its retries: the next call goes on
            pass
    return len(vendor.arrivals) / clock.now


@pytest.mark.parametrize("declared,burst", [(1.35, 5), (5.0, 10)])
def test_under_20_percent_faults_the_client_keeps_at_least_60_percent_of_the_declared_rate(
    declared, burst
):
    """ANYMARKET's and Mercado Livre's declared rates, 10 virtual minutes. (The limiter that
    halved on every 429 and recovered per success kept 19 % and 14 %.)

    VTEX's 30 req/s is not here: one request at a time, each fault costs its own wait (the
    429's Retry-After: 1, the 1 s read timeout, the 5xx backoff), about 0.14 s per request
    on average with this mix, which caps any serial client near 7 req/s whatever its
    limiter. VTEX keeps several writes open instead (tests/vendors/vtex/
    test_concurrent_writes.py); bench/limits.py reports its number."""
    rate = _sustained_rate(declared, burst, seconds=600, share=0.05)
    assert rate >= 0.6 * declared


def test_a_429_with_retry_after_pauses_every_caller_until_then():
    clock = VirtualTime()
    bucket = TokenBucket(rate=10, burst=5, clock=clock.clock, sleep=clock.sleep)
    bucket.on_rate_limited(retry_after=3)
    waited = bucket.acquire()
    assert waited >= 3  # the pause, then a token at the (slowed) rate
    assert clock.now == pytest.approx(waited)


def test_where_a_429_blocks_nobody_else_only_the_pace_slows_down():
    """VTEX (retry_after_blocks_account=False): the refused request waits its Retry-After in
    the HTTP client; the bucket only drops its tokens and slows down."""
    clock = VirtualTime()
    bucket = TokenBucket(
        rate=10, burst=5, clock=clock.clock, sleep=clock.sleep, pause_on_retry_after=False
    )
    bucket.on_rate_limited(retry_after=3)
    waited = bucket.acquire()
    assert waited == pytest.approx(1 / 9)  # one token at the slowed rate, no pause
    assert bucket.rate == pytest.approx(9)


def test_a_burst_of_429s_is_one_overload_and_slows_down_once():
    clock = VirtualTime()
    bucket = TokenBucket(rate=8, burst=4, clock=clock.clock, sleep=clock.sleep)
    for _ in range(5):  # the requests in flight when the vendor started refusing
        bucket.on_rate_limited()
    assert bucket.rate == pytest.approx(6)
    assert bucket.rate_limited == 5
    clock.now += 3  # a new overload later slows down again
    bucket.on_rate_limited()
    assert bucket.rate < 6


def test_recovery_is_bounded_in_time_whatever_the_traffic():
    clock = VirtualTime()
    bucket = TokenBucket(rate=10, burst=1, clock=clock.clock, sleep=clock.sleep, episode_seconds=0)
    for _ in range(20):
        bucket.on_rate_limited()
    assert bucket.rate == bucket.min_rate  # never below the floor
    clock.now += RECOVERY_SECONDS  # no request at all in between
    bucket.acquire()
    assert bucket.rate == 10


def test_a_5xx_or_a_timeout_is_no_rate_signal():
    clock = VirtualTime()
    answers = iter(
        [_response(503, {"message": "down"}), _response(200, {"ok": True})]
        + [_response(200, {"ok": True})] * 3
    )

    class Vendor:
        def request(self, *args, **kwargs):
            return next(answers)

    limiter = TokenBucket(rate=4, burst=4, clock=clock.clock, sleep=clock.sleep)
    client = HttpClient(
        base_url="http://vendor.test",
        session=Vendor(),
        sleep=clock.sleep,
        random=lambda: 0.5,
        rate_limiter=limiter,
        clock=clock.clock,
    )
    assert client.get("/x") == {"ok": True}
    assert limiter.rate == 4 and limiter.rate_limited == 0


def test_a_saved_state_recovers_by_the_time_that_passed():
    clock = VirtualTime()
    bucket = TokenBucket(rate=4, burst=4, clock=clock.clock, sleep=clock.sleep)
    bucket.on_rate_limited()
    tokens, rate = bucket.state()
    assert rate < 4
    later = TokenBucket(rate=4, burst=4, clock=clock.clock, sleep=clock.sleep)
    later.restore(tokens=tokens, rate=rate, seconds_ago=RECOVERY_SECONDS)
    assert later.rate == 4
    soon = TokenBucket(rate=4, burst=4, clock=clock.clock, sleep=clock.sleep)
    soon.restore(tokens=tokens, rate=rate, seconds_ago=0)
    assert soon.rate == pytest.approx(rate)


def test_short_runs_one_after_another_do_not_ratchet_the_rate_down():
    """Each run restores the bucket its predecessor saved. A 429 in each of many short runs
    is one overload while they follow each other closely, as within one run."""
    clock = VirtualTime()
    tokens, rate = 4.0, 10.0
    for _ in range(50):  # 50 runs of 0.2 s, each meeting one 429
        bucket = TokenBucket(rate=10, burst=4, clock=clock.clock, sleep=clock.sleep)
        bucket.restore(tokens=tokens, rate=rate, seconds_ago=0.01)
        clock.now += 0.1
        bucket.on_rate_limited(retry_after=0.05)
        clock.now += 0.1
        tokens, rate = bucket.state()
    assert rate >= 6  # one decrease per 2 s episode, recovering in between
