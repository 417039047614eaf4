"""Notifications the emulators send, the way the vendors send theirs: a JSON POST to the
callback URL the seller configured, answered within the vendor's timeout or tried again on
the vendor's schedule, then given up.

One `NotificationSender` per emulator: `send()` only queues (an emulator's request handling
never waits for a receiver), a few worker threads POST when each attempt falls due, and every
attempt is recorded (`attempts()`) so tests and benchmarks count them instead of timing them.
The vendors' schedules are minutes to hours apart; `delay_scale` shrinks them (tests use a
tiny factor) without changing how many attempts are made or in which order.

The URL is kept in the records (the emulator is test infrastructure) but never logged: ours
carries the channel's token.
"""

from __future__ import annotations

import heapq
import itertools
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# A body, or what builds the body of one attempt (its number, 1-based): Mercado Livre tells
# the receiver which attempt it is.
Body = dict | Callable[[int], dict]


@dataclass(frozen=True)
class RetryPolicy:
    """How a vendor delivers one notification.

    `attempts`: how many POSTs at most, the first included. `delays`: seconds before the
    2nd, 3rd… attempt (the last value repeats). `timeout`: how long the vendor waits for the
    answer; a later answer counts as failed even when it is a 200. `success`: the statuses
    the vendor counts as delivered."""

    attempts: int
    delays: tuple[float, ...]
    timeout: float
    success: frozenset[int] = frozenset({200})

    def delay_before(self, attempt: int) -> float:
        """Seconds between attempt `attempt - 1` and attempt `attempt` (attempt >= 2)."""
        if not self.delays:
            return 0.0
        return self.delays[min(attempt - 2, len(self.delays) - 1)]


@dataclass(frozen=True)
class Attempt:
    """One POST the emulator made."""

    notification: int  # the notification's number at this sender (1-based)
    attempt: int  # 1 for the first POST of the notification
    url: str
    body: dict
    headers: dict[str, str]
    status: int | None  # None when no answer came (timeout, refused connection)
    delivered: bool
    error: str  # why it failed, "" when delivered
    started: float  # time.monotonic() when the POST started
    elapsed: float  # seconds until the answer (or the failure)
    topic: str = ""  # what the notification is about (vendor's own word: topic, type, state)


def post_json(
    url: str,
    body: dict,
    headers: dict[str, str],
    *,
    timeout: float,
    success: frozenset[int] = frozenset({200}),
) -> tuple[int | None, str]:
    """POST `body` as JSON once: (the answer's status or None, why it failed or "").
    An answer later than `timeout`, or with a status not in `success`, failed."""
    started = time.monotonic()
    status: int | None = None
    error = ""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **headers},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            answer.read()
            status = answer.status
    except urllib.error.HTTPError as exc:
        status = exc.code
        exc.close()
    except (OSError, ValueError) as exc:  # timeout, refused, reset, bad URL
        error = type(exc).__name__
    elapsed = time.monotonic() - started
    if status is not None and status not in success:
        error = f"HTTP {status}"
    elif status is not None and elapsed > timeout:
        error = f"answered after {elapsed:.3f}s, over the {timeout}s limit"
    return status, error


@dataclass(order=True)
class _Job:
    due: float
    seq: int
    notification: int = field(compare=False)
    attempt: int = field(compare=False)
    url: str = field(compare=False)
    body: Any = field(compare=False)
    headers: dict = field(compare=False)
    topic: str = field(compare=False)
    on_given_up: Callable[[], None] | None = field(compare=False)


class NotificationSender:
    """Queues notifications and delivers them on `policy` from background threads."""

    def __init__(
        self,
        name: str,
        policy: RetryPolicy,
        *,
        delay_scale: float = 1.0,
        workers: int = 8,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.policy = policy
        self.delay_scale = delay_scale
        self.workers = workers
        self.clock = clock
        self._heap: list[_Job] = []
        self._seq = itertools.count()
        self._numbers = itertools.count(1)
        self._cond = threading.Condition()
        self._attempts: list[Attempt] = []
        self._in_progress = 0
        self._threads: list[threading.Thread] = []
        self._stopped = False

    # --- the emulator's side ---------------------------------------------------------------
    def send(
        self,
        url: str,
        body: Body,
        *,
        headers: dict[str, str] | None = None,
        topic: str = "",
        on_given_up: Callable[[], None] | None = None,
    ) -> int:
        """Queue one notification; returns its number. Never waits for the receiver.
        `on_given_up` runs (on a worker thread) when every attempt failed."""
        with self._cond:
            number = next(self._numbers)
            heapq.heappush(
                self._heap,
                _Job(
                    self.clock(),
                    next(self._seq),
                    number,
                    1,
                    url,
                    body,
                    dict(headers or {}),
                    topic,
                    on_given_up,
                ),
            )
            self._ensure_workers()
            self._cond.notify()
        return number

    def attempts(self) -> list[Attempt]:
        """Every POST made so far, in the order they finished."""
        with self._cond:
            return list(self._attempts)

    def pending(self) -> int:
        """Notifications queued, waiting for a retry or being posted now."""
        with self._cond:
            return len(self._heap) + self._in_progress

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until nothing is pending (tests); False when `timeout` passed first."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._heap or self._in_progress:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
            return True

    def clear(self) -> None:
        """Forget the attempts recorded and drop what is queued."""
        with self._cond:
            self._attempts.clear()
            self._heap.clear()
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._heap.clear()
            self._cond.notify_all()
        for thread in list(self._threads):
            thread.join(timeout=self.policy.timeout + 1)
        with self._cond:
            self._threads = []
            self._stopped = False

    # --- the workers -----------------------------------------------------------------------
    def _ensure_workers(self) -> None:
        while len(self._threads) < self.workers:
            thread = threading.Thread(
                target=self._work, name=f"notify-{self.name}-{len(self._threads)}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def _next_job(self) -> _Job | None:
        with self._cond:
            while True:
                if self._stopped:
                    if threading.current_thread() in self._threads:
                        self._threads.remove(threading.current_thread())
                    return None
                if self._heap:
                    wait = self._heap[0].due - self.clock()
                    if wait <= 0:
                        self._in_progress += 1
                        return heapq.heappop(self._heap)
                    self._cond.wait(min(wait, 0.5))
                # Idle workers end after a while; the next send() starts others. A worker
                # leaves the list under the lock, so send() never counts on a leaving one.
                elif not self._cond.wait(5.0) and not self._heap:
                    self._threads.remove(threading.current_thread())
                    return None

    def _work(self) -> None:
        while True:
            job = self._next_job()
            if job is None:
                return
            try:
                self._deliver(job)
            finally:
                with self._cond:
                    self._in_progress -= 1
                    self._cond.notify_all()

    def _deliver(self, job: _Job) -> None:
        body = job.body(job.attempt) if callable(job.body) else job.body
        headers = {"Content-Type": "application/json", **job.headers}
        started = self.clock()
        status, error = post_json(
            job.url, body, headers, timeout=self.policy.timeout, success=self.policy.success
        )
        elapsed = self.clock() - started
        delivered = not error
        record = Attempt(
            job.notification,
            job.attempt,
            job.url,
            body,
            headers,
            status,
            delivered,
            error,
            started,
            elapsed,
            job.topic,
        )
        given_up = False
        with self._cond:
            self._attempts.append(record)
            if not delivered and not self._stopped:
                if job.attempt < self.policy.attempts:
                    delay = self.policy.delay_before(job.attempt + 1) * self.delay_scale
                    job.attempt += 1
                    job.due = self.clock() + delay
                    job.seq = next(self._seq)
                    heapq.heappush(self._heap, job)
                    self._ensure_workers()
                    self._cond.notify()
                else:
                    given_up = True
        if given_up and job.on_given_up is not None:
            job.on_given_up()
