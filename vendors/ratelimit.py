"""Client-side rate limiting: a token bucket at the vendor's declared rate, with AIMD.

On a 429 the rate halves (multiplicative decrease); each success recovers a little
(additive increase), never above the declared rate. The clock and sleep are injectable so
tests and benchmarks control time.
"""

import threading
import time
from collections.abc import Callable


class TokenBucket:
    def __init__(
        self,
        *,
        rate: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        min_rate: float | None = None,
        recovery_per_success: float | None = None,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.max_rate = float(rate)
        self.rate = float(rate)
        self.burst = int(burst)
        self.min_rate = min_rate if min_rate is not None else self.max_rate / 32
        # Recover the full rate after about 20 seconds' worth of successful requests.
        self.recovery = (
            recovery_per_success if recovery_per_success is not None else self.max_rate / 200
        )
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._updated = clock()
        self._lock = threading.Lock()
        self.throttled_seconds = 0.0
        self.rate_limited = 0

    def _refill(self, now: float) -> None:
        elapsed = max(now - self._updated, 0.0)
        self._tokens = min(self.burst, self._tokens + elapsed * self.rate)
        self._updated = now

    def acquire(self) -> float:
        """Take one token, sleeping as long as needed. Returns the time slept."""
        with self._lock:
            now = self._clock()
            self._refill(now)
            if self._tokens >= 1:
                self._tokens -= 1
                return 0.0
            wait = (1 - self._tokens) / self.rate
            # Reserve the token now so concurrent callers queue behind us.
            self._tokens -= 1
        self._sleep(wait)
        self.throttled_seconds += wait
        return wait

    def on_success(self) -> None:
        with self._lock:
            self.rate = min(self.max_rate, self.rate + self.recovery)

    def on_rate_limited(self) -> None:
        """The vendor said 429: halve the rate and drain the bucket.

        Waiting out Retry-After is the HTTP client's job; this only slows what follows.
        """
        with self._lock:
            self.rate_limited += 1
            self.rate = max(self.min_rate, self.rate / 2)
            self._tokens = min(self._tokens, 0.0)

    def state(self) -> tuple[float, float]:
        """(tokens, rate) to persist between runs."""
        with self._lock:
            self._refill(self._clock())
            return self._tokens, self.rate

    def restore(self, *, tokens: float, rate: float, seconds_ago: float) -> None:
        """Continue from a saved state, as if time had passed since then."""
        with self._lock:
            self.rate = min(max(rate, self.min_rate), self.max_rate)
            self._tokens = min(self.burst, tokens + max(seconds_ago, 0.0) * self.rate)
            self._updated = self._clock()
