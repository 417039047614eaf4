"""Client-side rate limiting: a token bucket at the vendor's declared rate that slows down
when the vendor says 429 and recovers with time.

What a 429 does, per the vendors' documentation:
- the vendor says when to come back (`Retry-After`): the refused request waits that long
  before its retry (vendors.http). Whether the other callers wait too depends on what the
  vendor's 429 means (`VendorLimits.retry_after_blocks_account`, `pause_on_retry_after`
  here): a blocked account or token (an hourly quota used up) pauses the whole bucket until
  then; a rate with burst credits (VTEX: "the credits fill up over time when the route is not
  being used, in the same rate as the route's Rate Limiter", developers.vtex.com
  "pricing-api-overview") pauses nobody else — the bucket drops the tokens on hand and slows
  down, and requests paced under the rate go on while the refused one waits;
- it means "too many requests in a short period" (Mercado Livre,
  developers.mercadolivre.com.br/en_us/rate-limit-429-error: "implement backoff and retries
  (pauses with jitter), distribute requests, avoid spikes"; ANYMARKET,
  developers.anymarket.com.br: "429 (too many requests) … 5000 requisições por hora por
  token"): the rate drops by a quarter, once per overload episode (the 429s answered
  within EPISODE_SECONDS of a decrease are the same overload: requests already in flight,
  not a new signal), never below `min_rate`;
- recovery is a matter of time, not of successes: the rate climbs back linearly and is at the
  declared rate again at most RECOVERY_SECONDS after its lowest point, whatever the traffic
  in between. A state saved by one run and restored by the next (the channel's lease row)
  recovers by the time that passed in between, so a bad minute never lingers for hours.

Only a 429 is a rate signal. A 5xx, a timeout or a malformed answer says nothing about our
pace: the HTTP client retries those with its own backoff and never calls this.

The clock and sleep are injectable so tests and benchmarks control time.
"""

import threading
import time
from collections.abc import Callable

# A 429 multiplies the rate by this (once per episode); by the milder one when the vendor
# said when to come back (the pause does most of the correction).
DECREASE = 0.75
DECREASE_WITH_RETRY_AFTER = 0.9
# 429s within this long of the last decrease belong to the same overload.
EPISODE_SECONDS = 2.0
# From the lowest rate back to the declared one in at most this long.
RECOVERY_SECONDS = 20.0
# A Retry-After longer than this pauses the bucket only this long: the HTTP client decides
# whether to wait longer (it never waits past the run's deadline).
MAX_PAUSE_SECONDS = 120.0  # as long as vendors.http waits for one Retry-After at most


class TokenBucket:
    def __init__(
        self,
        *,
        rate: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        min_rate: float | None = None,
        recovery_seconds: float = RECOVERY_SECONDS,
        decrease: float = DECREASE,
        episode_seconds: float = EPISODE_SECONDS,
        pause_on_retry_after: bool = True,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        if not 0 < decrease < 1 or recovery_seconds <= 0:
            raise ValueError("decrease must be in (0, 1) and recovery_seconds > 0")
        self.max_rate = float(rate)
        self.rate = float(rate)
        self.burst = int(burst)
        self.min_rate = min_rate if min_rate is not None else self.max_rate / 8
        self.recovery_seconds = float(recovery_seconds)
        self.decrease = float(decrease)
        self.episode_seconds = float(episode_seconds)
        self.pause_on_retry_after = pause_on_retry_after
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._updated = clock()
        self._paused_until = float("-inf")
        self._decreased_at = float("-inf")
        self._lock = threading.Lock()
        self.throttled_seconds = 0.0
        self.rate_limited = 0

    # --- time passing ---------------------------------------------------------------------
    def _recovered(self, rate: float, seconds: float) -> float:
        return min(self.max_rate, rate + self.max_rate * max(seconds, 0.0) / self.recovery_seconds)

    def _refill(self, now: float) -> None:
        if now <= self._updated:
            return
        self.rate = self._recovered(self.rate, now - self._updated)
        # Tokens accrue during a pause too (never beyond the burst): the vendor's own budget
        # refills while it makes us wait, so a short backlog may go out once it is over.
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    # --- the calls the HTTP client makes ---------------------------------------------------
    def acquire(self) -> float:
        """Take one token, sleeping as long as needed (a pause included). Returns the time
        slept."""
        with self._lock:
            now = self._clock()
            self._refill(now)
            pause = max(self._paused_until - now, 0.0)
            if pause == 0 and self._tokens >= 1:
                self._tokens -= 1
                return 0.0
            # Until the pause is over, and until a token is there (it accrues meanwhile).
            wait = max(pause, max(1 - self._tokens, 0.0) / self.rate)
            # Reserve the token now so concurrent callers queue behind us.
            self._tokens -= 1
        self._sleep(wait)
        with self._lock:  # callers on several threads (Connector.each_request)
            self.throttled_seconds += wait
        return wait

    def on_success(self) -> None:
        """A 2xx. Nothing to do: recovery is time-based (see the module docstring)."""

    def on_rate_limited(self, retry_after: float | None = None) -> None:
        """The vendor said 429: drop the tokens on hand, slow down once per overload episode,
        and — where the vendor's 429 blocks the account — pause everyone until its
        Retry-After."""
        with self._lock:
            now = self._clock()
            self._refill(now)
            self.rate_limited += 1
            self._tokens = min(self._tokens, 0.0)
            if self.pause_on_retry_after and retry_after is not None and retry_after > 0:
                self._paused_until = max(
                    self._paused_until, now + min(retry_after, MAX_PAUSE_SECONDS)
                )
            if now - self._decreased_at >= self.episode_seconds:
                factor = self.decrease if retry_after is None else DECREASE_WITH_RETRY_AFTER
                self.rate = max(self.min_rate, self.rate * factor)
                self._decreased_at = now

    # --- persistence between runs ---------------------------------------------------------
    def state(self) -> tuple[float, float]:
        """(tokens, rate) to persist between runs."""
        with self._lock:
            self._refill(self._clock())
            return self._tokens, self.rate

    def restore(self, *, tokens: float, rate: float, seconds_ago: float) -> None:
        """Continue from a saved state, as if time had passed since then: tokens accrued and
        the rate recovered for `seconds_ago`."""
        with self._lock:
            now = self._clock()
            saved_rate = min(max(rate, self.min_rate), self.max_rate)
            self.rate = self._recovered(saved_rate, seconds_ago)
            self._tokens = min(self.burst, tokens + max(seconds_ago, 0.0) * saved_rate)
            self._updated = now
            if saved_rate < self.max_rate:
                # The saved rate was lowered by a 429 at the latest when it was saved: a 429
                # right after a restore (the next run of the same channel) is the same
                # overload, not a new one — short runs must not ratchet the rate down.
                self._decreased_at = now - max(seconds_ago, 0.0)
