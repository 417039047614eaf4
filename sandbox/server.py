"""The common machinery of the vendor emulators: a threaded HTTP server on loopback with
routing, the vendor's rate limit (429 + Retry-After), fault injection and counters.

Each vendor module (`sandbox/<vendor>.py`) subclasses `Emulator`, declares its routes
and keeps its own state. Control endpoints under `/__emulator__/` (not part of any vendor
API) let tests, benchmarks and `manage.py sandbox` read counters and set faults:

    GET  /__emulator__/stats            counters (requests, per route, 429s, faults)
    POST /__emulator__/faults           {"rate_429": 0.2, "rate_5xx": 0.1, "rate_timeout": 0,
                                         "rate_malformed": 0, "latency_ms": 0, "rate_423": 0}
    POST /__emulator__/reset-stats
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Faults:
    rate_429: float = 0.0
    rate_5xx: float = 0.0
    rate_timeout: float = 0.0
    rate_malformed: float = 0.0
    rate_423: float = 0.0  # VTEX's "Locked" on bursts over one SKU/warehouse
    latency_ms: float = 0.0
    timeout_seconds: float = 3.0  # how long a "timeout" fault stalls before answering


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    params: dict[str, str] = field(default_factory=dict)  # from the route pattern

    def q(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> Any:
        if not self.body:
            raise BadRequest("A JSON body is required.")
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise BadRequest(f"Body is not valid JSON: {exc}") from None

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}


@dataclass
class Response:
    status: int = 200
    body: Any = None  # JSON-serialisable, or bytes/str sent as is
    headers: dict[str, str] = field(default_factory=dict)


class HttpError(Exception):
    """Raised by handlers; the emulator turns it into the vendor's error body."""

    def __init__(self, status: int, message: str, *, code: str = "", body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.body = body


class BadRequest(HttpError):
    def __init__(self, message: str, **kwargs) -> None:
        super().__init__(400, message, **kwargs)


Handler = Callable[[Request], Response]


class RateLimit:
    """Server-side token bucket: what the vendor enforces."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = float(burst)
        self.updated = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> float | None:
        """None if allowed; otherwise seconds until a token is free (for Retry-After)."""
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens >= 1:
                self.tokens -= 1
                return None
            return (1 - self.tokens) / self.rate


class Emulator:
    """Base class. Subclasses set `vendor`, `rate`, `burst` and register routes in
    `setup_routes()`; `error_body()` renders errors the way the vendor does."""

    vendor = "generic"
    rate: float = 10.0
    burst: int = 20

    def __init__(
        self,
        *,
        rate: float | None = None,
        burst: int | None = None,
        faults: Faults | None = None,
        seed: int = 1,
    ) -> None:
        self.rate_limit = RateLimit(rate or self.rate, burst or self.burst)
        self.faults = faults or Faults()
        self.random = random.Random(seed)
        self.lock = threading.RLock()  # guards vendor state in subclasses
        self.routes: list[tuple[str, re.Pattern[str], Handler, bool]] = []
        self.stats: Counter[str] = Counter()
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None
        self.setup_routes()

    # --- to override --------------------------------------------------------------------
    def setup_routes(self) -> None:
        raise NotImplementedError

    def error_body(self, status: int, message: str, code: str = "") -> Any:
        return {"message": message, "status": status, "code": code}

    def rate_limited_body(self) -> Any:
        return self.error_body(429, "Too Many Requests", "too_many_requests")

    def authenticate(self, request: Request) -> None:
        """Raise HttpError(401/403) when the request's credentials are wrong."""

    # --- routing --------------------------------------------------------------------------
    def route(self, method: str, pattern: str, handler: Handler, *, auth: bool = True) -> None:
        """`pattern` uses {name} placeholders for one path segment."""
        regex = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$"
        self.routes.append((method, re.compile(regex), handler, auth))

    def dispatch(self, request: Request) -> Response:
        if request.path.startswith("/__emulator__/"):
            return self._control(request)
        self.stats["requests"] += 1
        matched_path = False
        for method, regex, handler, auth in self.routes:
            match = regex.match(request.path)
            if not match:
                continue
            matched_path = True
            if method != request.method:
                continue
            request.params = match.groupdict()
            self.stats[f"{method} {regex.pattern}"] += 1
            try:
                if auth:
                    self.authenticate(request)
                retry_after = self.rate_limit.take()
                if retry_after is not None:
                    self.stats["429"] += 1
                    return Response(
                        429,
                        self.rate_limited_body(),
                        {"Retry-After": str(max(1, round(retry_after + 0.49)))},
                    )
                injected = self._inject_before()
                if injected is not None:
                    return injected
                with self.lock:
                    response = handler(request)
                return self._inject_after(response)
            except HttpError as exc:
                self.stats[f"error {exc.status}"] += 1
                body = (
                    exc.body
                    if exc.body is not None
                    else self.error_body(exc.status, exc.message, exc.code)
                )
                return Response(exc.status, body)
        status = 405 if matched_path else 404
        self.stats[f"error {status}"] += 1
        return Response(
            status,
            self.error_body(status, f"No route for {request.method} {request.path}", "not_found"),
        )

    # --- faults ---------------------------------------------------------------------------
    def _roll(self, share: float) -> bool:
        return share > 0 and self.random.random() < share

    def _inject_before(self) -> Response | None:
        f = self.faults
        if f.latency_ms:
            time.sleep(f.latency_ms / 1000)
        if self._roll(f.rate_429):
            self.stats["fault 429"] += 1
            self.stats["429"] += 1
            return Response(429, self.rate_limited_body(), {"Retry-After": "1"})
        if self._roll(f.rate_5xx):
            self.stats["fault 5xx"] += 1
            return Response(503, self.error_body(503, "Service Unavailable", "unavailable"))
        if self._roll(f.rate_423):
            self.stats["fault 423"] += 1
            return Response(423, self.error_body(423, "Locked", "locked"))
        if self._roll(f.rate_timeout):
            self.stats["fault timeout"] += 1
            time.sleep(f.timeout_seconds)
            return Response(504, self.error_body(504, "Gateway Timeout", "timeout"))
        return None

    def _inject_after(self, response: Response) -> Response:
        # A malformed body after the state change: the vendor did the work but we can't
        # read the answer, so clients must be idempotent (they are: PUTs and acks).
        if 200 <= response.status < 300 and self._roll(self.faults.rate_malformed):
            self.stats["fault malformed"] += 1
            return Response(200, b'{"truncated": [1, 2', {"Content-Type": "application/json"})
        return response

    def _control(self, request: Request) -> Response:
        if request.path == "/__emulator__/stats" and request.method == "GET":
            return Response(
                200,
                {
                    "vendor": self.vendor,
                    "stats": dict(self.stats),
                    "faults": asdict(self.faults),
                    **self.extra_stats(),
                },
            )
        if request.path == "/__emulator__/faults" and request.method == "POST":
            data = request.json()
            unknown = set(data) - set(asdict(self.faults))
            if unknown:
                raise_bad = ", ".join(sorted(unknown))
                return Response(400, {"message": f"unknown fault setting(s): {raise_bad}"})
            for key, value in data.items():
                setattr(self.faults, key, float(value))
            return Response(200, asdict(self.faults))
        if request.path == "/__emulator__/reset-stats" and request.method == "POST":
            self.stats.clear()
            return Response(200, {"ok": True})
        return Response(404, {"message": "unknown control endpoint"})

    def extra_stats(self) -> dict:
        return {}

    # --- serving --------------------------------------------------------------------------
    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        emulator = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Keep-alive responses otherwise wait ~40 ms for the client's delayed ACK.
            disable_nagle_algorithm = True

            def _serve(self) -> None:
                split = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Request(
                    method=self.command,
                    path=split.path,
                    query=parse_qs(split.query, keep_blank_values=True),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                response = emulator.dispatch(request)
                payload = response.body
                headers = dict(response.headers)
                if isinstance(payload, bytes):
                    data = payload
                elif isinstance(payload, str):
                    data = payload.encode()
                    headers.setdefault("Content-Type", "text/plain; charset=utf-8")
                elif payload is None:
                    data = b""
                else:
                    data = json.dumps(payload, default=str).encode()
                    headers.setdefault("Content-Type", "application/json; charset=utf-8")
                self.send_response(response.status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

            def log_message(self, format: str, *args) -> None:  # noqa: A002
                pass  # quiet: tests and benchmarks read the counters instead

        self.server = ThreadingHTTPServer((host, port), _Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()
        return self.url

    @property
    def url(self) -> str:
        assert self.server is not None, "emulator not started"
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
