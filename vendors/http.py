"""The one HTTP seam every connector uses (stripe-python / healthchecks transports style).

- a timeout on every call;
- status codes mapped to one error hierarchy, here and nowhere else;
- retries only for 429, 5xx, 423 and network errors, with capped exponential backoff and
  full jitter, honouring Retry-After; `sleep` and `random` are injectable so tests never sleep;
- every message, log line and stored body goes through `erpintegr.redaction.redact`.
"""

from __future__ import annotations

import json as jsonlib
import logging
import random as _random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from erpintegr.redaction import redact_truncate, register_secret
from vendors.errors import (
    AuthError,
    ConflictError,
    ConnectorError,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    RedirectRefusedError,
    RetryPastDeadlineError,
    TransientError,
    ValidationFailedError,
)
from vendors.ratelimit import TokenBucket

logger = logging.getLogger("vendors.http")

DEFAULT_TIMEOUT = (5.0, 30.0)  # connect, read (seconds)
SECRET_HEADER_WORDS = ("token", "key", "authorization", "secret", "password")


def _host_of(location: str) -> str:
    """Where a redirect points, as scheme://host only (a Location may carry a token in its
    query)."""
    parts = urlsplit(location)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else "another path"


def error_for_status(status: int) -> type[ConnectorError]:
    if status == 401:
        return AuthError
    if status == 403:
        return PermissionDeniedError
    if status == 404:
        return NotFoundError
    if status == 409:
        return ConflictError
    if status == 429:
        return RateLimitedError
    if status == 423 or status >= 500:
        return TransientError
    if status in (400, 405, 406, 413, 415, 422):
        return ValidationFailedError
    return ConnectorError


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(moment.timestamp() - time.time(), 0.0)


class HttpClient:
    """A `requests.Session` wrapper with the policy above. One per connector instance."""

    REQUEST_ID_HEADERS = ("x-request-id", "x-vtex-request-id", "x-amzn-requestid")

    def __init__(
        self,
        *,
        base_url: str,
        headers: Mapping[str, str] | None = None,
        session: requests.Session | None = None,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        max_retries: int = 4,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        random: Callable[[], float] = _random.random,
        rate_limiter: TokenBucket | None = None,
        secrets: Iterable[str] = (),
        deadline: Callable[[], float] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session or requests.Session()
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.sleep = sleep
        self.random = random
        self.rate_limiter = rate_limiter
        # A time.monotonic() value no retry may wait past (the engine's run budget).
        self.deadline = deadline
        self.clock = clock
        for secret in secrets:
            register_secret(secret)
        for name, value in self.headers.items():
            # Auth headers are secrets; Accept/Content-Type are not (masking them would
            # blank harmless words in every log line).
            if any(word in name.lower() for word in SECRET_HEADER_WORDS):
                register_secret(value)
        # Counters the engine copies into SyncRun. Requests may run on several threads at
        # once (Connector.each_request): `+=` on an attribute is not atomic, hence the lock.
        self.requests_sent = 0
        self.retries = 0
        self.rate_limited = 0
        self._counter_lock = threading.Lock()

    def _count(self, counter: str) -> None:
        with self._counter_lock:
            setattr(self, counter, getattr(self, counter) + 1)

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        exponential = min(self.backoff_cap, self.backoff_base * (2**attempt))
        delay = exponential * self.random()  # full jitter
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.backoff_cap * 4))
        return delay

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        retry: bool = True,
        timeout: float | tuple[float, float] | None = None,
    ) -> requests.Response:
        url = self.url(path)
        merged = {**self.headers, **(headers or {})}
        attempt = 0
        while True:
            if self.rate_limiter is not None:
                self.rate_limiter.acquire()
            self._count("requests_sent")
            try:
                response = self.session.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    data=data,
                    headers=merged,
                    timeout=timeout or self.timeout,
                    # Never follow a redirect: requests would resend the vendor's key headers
                    # (VTEX app key/token, gumgaToken) to whatever host the answer names.
                    allow_redirects=False,
                )
            except (requests.Timeout, requests.ConnectionError) as exc:
                error: ConnectorError = TransientError(
                    f"{method} {url} failed: {type(exc).__name__}: {exc}", method=method, url=url
                )
            else:
                if 300 <= response.status_code < 400:
                    raise RedirectRefusedError(
                        f"{method} {url} answered {response.status_code} redirecting to "
                        f"{_host_of(response.headers.get('Location', ''))}; erpintegr does not "
                        "follow redirects (the credentials would go to that address). Check the "
                        "channel's API base URL.",
                        status=response.status_code,
                        method=method,
                        url=url,
                    )
                if response.status_code < 400:
                    if self.rate_limiter is not None:
                        self.rate_limiter.on_success()
                    return response
                error = self._error_from_response(method, url, response)
            if isinstance(error, RateLimitedError):
                self._count("rate_limited")
                if self.rate_limiter is not None:
                    # The one rate signal: the bucket pauses for Retry-After and slows down.
                    # 5xx, timeouts and malformed answers are retried below without it.
                    self.rate_limiter.on_rate_limited(getattr(error, "retry_after", None))
            if not (retry and error.retryable) or attempt >= self.max_retries:
                if retry and error.retryable:
                    logger.warning(
                        "%s %s gave up after %s attempt(s): %s", method, url, attempt + 1, error
                    )
                else:
                    # The vendor's verdict (a 404 lookup, a 400 refusal): the caller decides
                    # whether it is a problem, and says so where it is.
                    logger.info("%s %s refused: %s", method, url, error)
                raise error
            delay = self.backoff(attempt, getattr(error, "retry_after", None))
            self._check_deadline(delay, error)
            logger.info("%s %s: %s; retrying in %.2f s", method, url, error, delay)
            self._count("retries")
            attempt += 1
            self.sleep(delay)

    def _check_deadline(self, delay: float, error: ConnectorError) -> None:
        """Never sleep past the caller's deadline: a Retry-After of minutes would otherwise
        keep a run asleep past its budget and its lease."""
        if self.deadline is None:
            return
        remaining = self.deadline() - self.clock()
        if delay > remaining:
            raise RetryPastDeadlineError(
                f"{error} — not retried: waiting {delay:.0f} s would pass this run's time "
                f"budget ({max(remaining, 0):.0f} s left); the next run carries on.",
                status=error.status,
                body=error.body,
                request_id=error.request_id,
                method=error.method,
                url=error.url,
            )

    def _error_from_response(self, method: str, url: str, response: requests.Response):
        status = response.status_code
        cls = error_for_status(status)
        request_id = next(
            (response.headers[h] for h in self.REQUEST_ID_HEADERS if h in response.headers), None
        )
        body = response.text or ""
        message = f"{method} {url} answered {status}: {self._vendor_message(body)}"
        kwargs = dict(status=status, body=body, request_id=request_id, method=method, url=url)
        if cls is RateLimitedError:
            return RateLimitedError(
                message,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
                **kwargs,
            )
        return cls(message, **kwargs)

    @staticmethod
    def _vendor_message(body: str) -> str:
        """Pull the human sentence out of the common vendor error shapes (redacted, then cut:
        the other order would leave the start of an echoed secret in the message)."""
        try:
            data = jsonlib.loads(body)
        except ValueError:
            return redact_truncate(body.strip(), 200) or "(empty body)"
        if isinstance(data, dict):
            inner = data.get("error")
            if isinstance(inner, dict):
                return redact_truncate(inner.get("message") or inner, 200)
            for key in ("message", "Message", "error_description", "error", "details"):
                if data.get(key):
                    return redact_truncate(data[key], 200)
        return redact_truncate(body, 200)

    def json(self, method: str, path: str, **kwargs) -> Any:
        """Request and parse JSON; a 2xx with unreadable JSON is a MalformedResponseError,
        retried like a transient fault."""
        attempt = 0
        while True:
            response = self.request(method, path, **kwargs)
            if response.status_code == 204 or not response.content:
                return None
            try:
                return response.json()
            except ValueError:
                error = MalformedResponseError(
                    f"{method} {self.url(path)} answered {response.status_code} with a body that "
                    f"is not JSON: {redact_truncate(response.text, 120)!r}",
                    status=response.status_code,
                    body=response.text,
                    method=method,
                    url=self.url(path),
                )
            if not kwargs.get("retry", True) or attempt >= self.max_retries:
                raise error
            delay = self.backoff(attempt, None)
            self._check_deadline(delay, error)
            self._count("retries")
            self.sleep(delay)
            attempt += 1

    def get(self, path: str, **kwargs) -> Any:
        return self.json("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> Any:
        return self.json("POST", path, **kwargs)

    def put(self, path: str, **kwargs) -> Any:
        return self.json("PUT", path, **kwargs)
