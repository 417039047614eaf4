"""One error hierarchy for every vendor, with the same meaning everywhere.

- AuthError: the credentials are missing, wrong or revoked. The engine suspends the channel.
- PermissionDeniedError: the credentials work but may not do this (403).
- RateLimitedError / TransientError / MalformedResponseError: retryable transport problems.
- ValidationFailedError / NotFoundError / ConflictError: the vendor refused the request.
- InvalidVendorData: a value the vendor sent cannot be parsed (`vendors.parsing`). Its message
  names the vendor, the order or item and the field path. Not retryable: reading the same
  document again gives the same value.
"""

from __future__ import annotations

from erpintegr.redaction import redact, redact_truncate

MAX_BODY_IN_ERROR = 500


class ConnectorError(Exception):
    """A vendor call failed. `retryable` says whether trying again later can help."""

    retryable = False
    kind = "error"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        body: str = "",
        request_id: str | None = None,
        method: str = "",
        url: str = "",
    ) -> None:
        self.status = status
        # Redact before cutting: a secret cut in half would no longer match and leak its start.
        self.body = redact_truncate(body, MAX_BODY_IN_ERROR) if body else ""
        self.request_id = request_id
        self.method = method
        self.url = redact(url)
        super().__init__(redact(message))

    def __str__(self) -> str:
        return redact(super().__str__())


class AuthError(ConnectorError):
    kind = "auth"


class PermissionDeniedError(ConnectorError):
    kind = "permission"


class RateLimitedError(ConnectorError):
    kind = "rate_limit"
    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


class ValidationFailedError(ConnectorError):
    kind = "validation"


class NotFoundError(ConnectorError):
    kind = "not_found"


class ConflictError(ConnectorError):
    kind = "conflict"


class NotSupportedError(ConnectorError):
    """The vendor (or this order's shipping mode at the vendor) has no API for the call: an
    adapter method the vendor does not implement, or a request its documentation rules out.
    Nothing was sent. Not retryable: asking again gives the same answer."""

    kind = "not_supported"


class TransientError(ConnectorError):
    """5xx, 423 Locked, timeouts and connection errors."""

    kind = "transient"
    retryable = True


class MalformedResponseError(ConnectorError):
    """The vendor answered 2xx with a body we cannot read (bad JSON, wrong shape)."""

    kind = "malformed"
    retryable = True


class RedirectRefusedError(ConnectorError):
    """The vendor answered 3xx. Redirects are never followed: the credentials would be sent
    to the address the answer names. Not retryable: the base URL needs fixing."""

    kind = "redirect"


class RetryPastDeadlineError(TransientError):
    """A retry (its backoff or the vendor's Retry-After) would wait past the caller's deadline
    (the run's time budget): given up now instead of sleeping through the budget and the
    lease. Transient: the next run tries again."""

    kind = "deadline"


class InvalidVendorData(ConnectorError):
    """A value in a vendor document cannot be used: a price that is not an amount, a quantity of
    2.5, a date without meaning, an id longer than its column.

    Message: `<vendor> <subject>: <field path> is <value>, <problem>`, e.g.
    `ANYMARKET order 9001: items[0].unit is "12,3x", not an amount`.

    A ConnectorError, so everything that records a failed vendor call (the run log, the
    activation checks) records this one with its message; `retryable` is False, unlike
    MalformedResponseError: the vendor answered fine, and asking again returns the same data.
    It is raised by the adapters after HttpClient returned, never inside its retry loop.
    """

    kind = "invalid_data"
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        vendor: str = "",
        subject: str = "",
        path: str = "",
        value: str | None = None,
        **kwargs,
    ) -> None:
        self.vendor = vendor
        self.subject = subject  # "order 9001", "SKU 31"
        self.path = path  # "items[0].unit"
        self.value = value  # as shown in the message (shortened); None when missing
        super().__init__(message, **kwargs)
