"""The common machinery of the vendor emulators: a threaded HTTP server on loopback with
routing, the vendor's rate limit (429 + Retry-After), fault injection, counters and a log of
the requests received — and the one control interface every emulator implements.

Each vendor is a package (`sandbox/<vendor>/`): `routes.py` subclasses `Emulator` with the
vendor's endpoints, validation and state; `fixtures.py` adds its demo credentials and the data
builders (seeded catalogs and orders). Tests, benchmarks and the demo drive every vendor with
the same methods (see "the control interface" below): a SKU is always named by the seller's
code (Mercado Livre's SELLER_SKU, VTEX's RefId, ANYMARKET's partnerId), whatever ids the
vendor gives it.

Control endpoints under `/__emulator__/` (not part of any vendor API) let other processes
(`manage.py sandbox`) read counters and set faults and the rate limit:

    GET  /__emulator__/stats            counters (requests, per route, 429s, faults)
    POST /__emulator__/faults           {"rate_429": 0.2, "rate_5xx": 0.1, "rate_timeout": 0,
                                         "rate_malformed": 0, "latency_ms": 0, "rate_423": 0}
    POST /__emulator__/rate-limit       {"rate": 5.0, "burst": 10}
    POST /__emulator__/echo-secrets     {"shape": "token=", "status": 401, "offset": 0}
                                        ({"shape": null} turns it off)
    POST /__emulator__/reset-stats
    GET  /__emulator__/fulfilment       what the vendor applied of the sellers' fulfilment
                                        (invoice, tracking, delivered, cancel, label), in order;
                                        ?order_id= for one order
    POST /__emulator__/notifications    {"url": "http://…/notifications/<token>/",
                                         "delay_scale": 0.01, …the vendor's own options}:
                                        where the vendor sends its notifications (see
                                        `set_notification_callback`); {"url": null} stops them
    GET  /__emulator__/notifications    the configuration and every attempt made (status,
                                        delivered, attempt number, body; the URL left out)
"""

from __future__ import annotations

import json
import random
import re
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from sandbox.notify import NotificationSender, RetryPolicy


@dataclass
class Faults:
    rate_429: float = 0.0
    rate_5xx: float = 0.0
    rate_timeout: float = 0.0
    rate_malformed: float = 0.0
    rate_423: float = 0.0  # VTEX's "Locked" on bursts over one SKU/warehouse
    latency_ms: float = 0.0
    timeout_seconds: float = 3.0  # how long a "timeout" fault stalls before answering


# How a vendor's error text may echo a credential the request carried (issue 12): what our
# redaction must mask whatever the vendor. Keys of `SecretEcho.shape`.
ECHO_SHAPES = (
    "token=",  # "token=<secret>"
    "token:",  # "token: <secret>"
    "token",  # "token <secret>"
    "percent",  # percent-encoded, as a URL or a form body carries it
    "json",  # JSON-escaped the way many encoders write it: "\/" and "\u00XX"
    "cut",  # cut by the vendor itself: the text ends with a secret's first characters
)
CUT_BY_VENDOR_KEEPS = 10  # characters of the secret a "cut" echo keeps (8 or more leak)
# What JSON encoders escape besides '"' and '\': "/" as "\/" (PHP's json_encode unless
# JSON_UNESCAPED_SLASHES: php-src ext/json/tests/json_encode_unescaped_slashes.phpt) and the
# HTML-sensitive characters as \u00XX (.NET's System.Text.Json default JavaScriptEncoder
# escapes < > & ' " and + : learn.microsoft.com/dotnet/standard/serialization/
# system-text-json/character-encoding).
_JSON_ESCAPES = {"/": "\\/", **{c: f"\\u{ord(c):04X}" for c in "+&<>'=%"}}


def json_escaped(text: str) -> str:
    """`text` as an escaping JSON encoder writes it inside a string (without the quotes)."""
    escaped = json.dumps(text)[1:-1]
    return "".join(_JSON_ESCAPES.get(char, char) for char in escaped)


def echo_parts(secret: str, shape: str) -> tuple[str, str, str]:
    """(words before the secret, the secret as shown, words after it) of an echo."""
    if shape == "token=":
        return "token=", secret, ""
    if shape == "token:":
        return "token: ", secret, ""
    if shape == "token":
        return "token ", secret, ""
    if shape == "percent":
        return "credential ", quote(secret, safe=""), ""
    if shape == "json":
        return 'credential {"value": "', json_escaped(secret), '"}'
    if shape == "cut":
        return "credential ", secret[:CUT_BY_VENDOR_KEEPS], ""
    raise ValueError(f"unknown echo shape {shape!r}; one of: {', '.join(ECHO_SHAPES)}")


def echo_text(secret: str, shape: str) -> str:
    """How an error message shows `secret` in `shape` (one of ECHO_SHAPES)."""
    return "".join(echo_parts(secret, shape))


@dataclass(frozen=True)
class CatalogRecord:
    """One catalog write the vendor applied (a product or SKU created or changed, an image,
    an EAN, a specification added): what the seller's calls did, by the seller's code."""

    code: str
    action: str
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class FulfilmentRecord:
    """One fulfilment change the vendor applied to an order (what the seller's calls did, as
    the vendor keeps it): `action` is "invoice", "tracking", "delivered", "cancel", …"""

    order_id: str
    action: str
    data: dict = field(default_factory=dict)


@dataclass
class SecretEcho:
    """Answer every request that carries a credential with an error echoing it.

    `offset`: where the first echoed secret starts in the error message (filler before it),
    so a test can put it across the length at which a client cuts error texts."""

    shape: str
    status: int = 401
    offset: int = 0


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
    fault: str = ""  # the injected fault this answer is ("" for the vendor's own answer)


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

# A line of an injected order: (seller SKU, quantity) or (seller SKU, quantity, unit price);
# without a unit price the SKU's current price at the vendor is charged.
OrderLine = tuple[str, int] | tuple[str, int, Decimal | str | float]

DEFAULT_PRICE = Decimal("99.90")
REQUEST_LOG_SIZE = 100_000  # entries kept; a benchmark case sends well under this


def parse_order_line(line: OrderLine) -> tuple[str, int, Decimal | None]:
    """(seller SKU, quantity, unit price or None) of an `add_order` line."""
    if not 2 <= len(line) <= 3:
        raise ValueError(f"an order line is (seller SKU, quantity[, unit price]), got {line!r}")
    seller_sku, quantity = str(line[0]), int(line[1])
    if quantity < 1:
        raise ValueError(f"an order line needs a quantity of at least 1, got {line!r}")
    unit = Decimal(str(line[2])) if len(line) == 3 and line[2] is not None else None
    return seller_sku, quantity, unit


@dataclass(frozen=True)
class CatalogEntry:
    """A SKU as `seed_catalog` registered it: the seller's code and the vendor's own ids, which
    a channel's binding (mappings.Listing) records."""

    seller_sku: str
    item_id: str = ""  # Mercado Livre's item, VTEX's and ANYMARKET's product
    variation_id: str = ""  # Mercado Livre's variation
    sku_id: str = ""  # VTEX's and ANYMARKET's SKU id


@dataclass(frozen=True)
class LoggedRequest:
    """One vendor request as the emulator received it (control endpoints are not logged)."""

    at: float  # time.monotonic() on arrival
    method: str
    path: str
    status: int
    stock_items: int  # stock values the request carried; 0 when it was no stock write
    fault: str = ""  # the injected fault it got ("429", "5xx", "timeout"…); "" otherwise
    in_flight: int = 1  # vendor requests being served when it arrived, itself included


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


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        # A client that gave up (its read timeout against a stalled "timeout" fault) closes
        # the socket before the answer is written: expected, not a server error.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class Emulator(ABC):
    """Base class. Subclasses set `vendor`, `demo_account`, `rate` and `burst` (the vendor's
    documented limit, said where it is documented), register routes in `setup_routes()`,
    render errors the way the vendor does in `error_body()`, and implement the control
    interface."""

    vendor = "generic"
    demo_account = "demo"  # the account the demo credentials belong to
    order_statuses: tuple[str, ...] = ()  # the vendor's documented order statuses
    rate: float = 10.0
    burst: int = 20
    # How the vendor delivers its notifications (each vendor says where it documents it).
    notification_policy = RetryPolicy(attempts=1, delays=(), timeout=5.0)

    def __init__(
        self,
        *,
        account: str | None = None,
        rate: float | None = None,
        burst: int | None = None,
        faults: Faults | None = None,
        seed: int = 1,
    ) -> None:
        """`account`: the vendor account this emulator plays (each vendor says what that is:
        a seller id, an account name); its demo credentials are unique to it."""
        self.account = str(account or self.demo_account)
        self.rate_limit = RateLimit(rate or self.rate, burst or self.burst)
        self.faults = faults or Faults()
        self.echo: SecretEcho | None = None
        self.random = random.Random(seed)
        self.lock = threading.RLock()  # guards vendor state in subclasses
        self.routes: list[tuple[str, re.Pattern[str], Handler, bool]] = []
        self.stats: Counter[str] = Counter()
        self._log: deque[LoggedRequest] = deque(maxlen=REQUEST_LOG_SIZE)
        self._log_lock = threading.Lock()
        self.fulfilment_log: list[FulfilmentRecord] = []
        self.catalog_log: list[CatalogRecord] = []
        # Vendor requests being served now, and the most at once since the last reset: how
        # many a client keeps open (the server is threaded: one thread per connection).
        self.in_flight = 0
        self.peak_in_flight = 0
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None
        self.notification_url: str | None = None
        self.notifier = NotificationSender(self.vendor, self.notification_policy)
        self.setup_routes()

    # --- the control interface: the same for every vendor ----------------------------------
    @classmethod
    @abstractmethod
    def demo_credentials(cls, account: str | None = None) -> dict[str, str]:
        """The credentials a channel needs to reach an emulator playing `account` (default:
        the demo account), in the vendor's credential fields. Unique per account, as the
        vendor's keys are, and visibly fake."""

    @property
    @abstractmethod
    def credentials(self) -> dict[str, str]:
        """The credentials that work right now (a rotated refresh token included)."""

    @abstractmethod
    def secrets(self) -> set[str]:
        """Every secret this emulator accepts or issued (keys, tokens): what must never show
        in a log, an error or a stored run."""

    @abstractmethod
    def seed_catalog(
        self,
        seller_skus: Sequence[str],
        *,
        per_product: int = 1,
        quantity: int = 0,
        price: Decimal = DEFAULT_PRICE,
    ) -> list[CatalogEntry]:
        """Register the seller's codes as the vendor's SKUs, `per_product` SKUs to a product
        (Mercado Livre: an item with that many variations when more than one), each with
        `quantity` in stock and `price`. Returns the entries in the order given."""

    @abstractmethod
    def seed_data(self, *, listings: int = 0, orders: int = 0) -> None:
        """Deterministic, realistic demo data: `listings` SKUs and `orders` orders on them."""

    @abstractmethod
    def seed_demo(self, *, sku_codes: list[str], orders: int = 20) -> None:
        """The demo catalog's SKU codes (`sync.demo`) as the vendor's SKUs, and `orders`
        orders on them."""

    @abstractmethod
    def stock_of(self, seller_sku: str, location: str | int | None = None) -> int | Decimal:
        """The SKU's stock at one of the vendor's stock locations, or over all of them."""

    @abstractmethod
    def set_stock(self, seller_sku: str, quantity: int) -> None:
        """Set the SKU's stock at the vendor's default location, as the vendor does itself
        when it sells (the emulators never lower stock on their own)."""

    @abstractmethod
    def price_of(self, seller_sku: str) -> Decimal | None:
        """What a buyer pays for the SKU now; None when the vendor holds no price for it."""

    @abstractmethod
    def add_order(
        self,
        lines: Sequence[OrderLine] | None = None,
        *,
        status: str | None = None,
        carrier: tuple[str, str] | None = None,
        payment: str | None = None,
    ) -> str:
        """Place an order as a buyer would and return its id. `lines` name SKUs by seller code
        (default: one unit of the first SKU); `status`, `carrier` (carrier, service) and
        `payment` are the vendor's own values (defaults: a paid order, the vendor's first
        carrier and payment method). Vendors take more keywords of their own."""

    @abstractmethod
    def set_order_status(self, order_id: str, status: str) -> None:
        """Move an order to another of the vendor's statuses (feeds hear of it); a status
        the vendor does not have raises ValueError."""

    @abstractmethod
    def order_ids(self) -> list[str]:
        """Every order the vendor holds, oldest first."""

    @abstractmethod
    def order_lines(self, order_id: str) -> list[tuple[str, int]]:
        """(seller SKU, quantity) of each line of the order, as the vendor's document has it."""

    @abstractmethod
    def order_destination(self, order_id: str) -> tuple[str, str, str]:
        """(CEP digits, city, buyer's CPF/CNPJ digits) of the order, as the vendor's documents
        have them (for Mercado Livre the CPF is in its billing data)."""

    @abstractmethod
    def feed_backlog(self) -> int:
        """Order changes waiting in the integration's feed for an acknowledgement (0 for a
        vendor whose orders are searched, not fed)."""

    def record_fulfilment(self, order_id: str, action: str, **data: Any) -> None:
        """Note a fulfilment change the vendor applied (called by the vendor's handlers, once
        per change applied: a repeated call the vendor ignores is not recorded)."""
        self.fulfilment_log.append(FulfilmentRecord(str(order_id), action, data))

    def fulfilment_of(self, order_id: str) -> list[tuple[str, dict]]:
        """(action, data) of each fulfilment change applied to the order, oldest first."""
        with self.lock:
            return [(r.action, r.data) for r in self.fulfilment_log if r.order_id == str(order_id)]

    def record_catalog(self, code: str, action: str, **data: Any) -> None:
        """Note a catalog write the vendor applied (called by the vendor's handlers, once per
        write: "create_product", "update_product", "create_sku", "update_sku", "add_image"…).
        `code` is the seller's code the write is about (RefId / partnerId / SELLER_SKU)."""
        self.catalog_log.append(CatalogRecord(str(code), action, data))

    def catalog_writes(self, code: str | None = None) -> list[tuple[str, str, dict]]:
        """(code, action, data) of each catalog write applied, oldest first; only those about
        `code` when given."""
        with self.lock:
            return [
                (r.code, r.action, r.data)
                for r in self.catalog_log
                if code is None or r.code == str(code)
            ]

    def catalog_product(self, seller_sku: str) -> dict | None:
        """The product holding the SKU whose seller code is `seller_sku`, as the vendor holds
        it (a plain dict: "id", "name", "skus" [{"id", "code", "ean", …}] and the vendor's
        own fields); None when the vendor has no such SKU."""
        raise NotImplementedError(f"{self.vendor} does not emulate catalog publishing")

    # --- notifications (the same control for every vendor) -----------------------------------
    def set_notification_callback(
        self, url: str | None, *, delay_scale: float | None = None, **vendor_options: Any
    ) -> dict:
        """Send the vendor's notifications to `url` from now on (None: stop sending), as the
        seller's configuration at the vendor would (Mercado Livre: the application's callback
        URL and topics; VTEX: the orders hook, as if registered; ANYMARKET: the account's
        callback URL). `delay_scale` shrinks the vendor's retry delays (tests: 0.001);
        `vendor_options` are the vendor's own settings (`configure_notifications`). Returns
        the configuration now in force."""
        if url is not None and not urlsplit(str(url)).scheme.startswith("http"):
            raise ValueError("the callback URL must be an http(s) URL")
        if delay_scale is not None:
            if float(delay_scale) < 0:
                raise ValueError("delay_scale must be 0 or more")
            self.notifier.delay_scale = float(delay_scale)
        with self.lock:
            self.configure_notifications(url, **vendor_options)
            self.notification_url = None if url is None else str(url)
        return self.notification_settings()

    def notification_settings(self) -> dict:
        """What `set_notification_callback` configured (the URL as a yes/no: it holds our
        channel's token)."""
        policy = self.notifier.policy
        return {
            "enabled": self.notification_url is not None,
            "delay_scale": self.notifier.delay_scale,
            "attempts": policy.attempts,
            "delays": list(policy.delays),
            "timeout": policy.timeout,
            **self.notification_options(),
        }

    def notification_attempts(self) -> list:
        """Every notification POST made so far (`sandbox.notify.Attempt`), oldest first."""
        return self.notifier.attempts()

    def wait_notifications(self, timeout: float = 10.0) -> bool:
        """Wait until every queued notification is delivered or given up (tests, bench)."""
        return self.notifier.wait_idle(timeout)

    def configure_notifications(self, url: str | None, **options: Any) -> dict:
        """The vendor's own notification settings (to override); unknown ones raise
        ValueError. Returns them as `notification_options` does."""
        if options:
            raise ValueError(f"unknown notification option(s): {', '.join(sorted(options))}")
        return {}

    def notification_options(self) -> dict:
        return {}

    def notify(
        self,
        body: dict | Callable[[int], dict],
        *,
        topic: str = "",
        url: str | None = None,
        headers: dict[str, str] | None = None,
        on_given_up: Callable[[], None] | None = None,
    ) -> int | None:
        """Queue a notification to the callback (or `url`); None when none is configured.
        Called by the vendor's handlers, under `self.lock`: it only queues."""
        target = url or self.notification_url
        if target is None:
            return None
        self.stats["notifications"] += 1
        return self.notifier.send(
            target, body, headers=headers, topic=topic, on_given_up=on_given_up
        )

    def set_faults(self, **settings: float) -> Faults:
        """Change fault injection (`Faults` field names); unknown names raise ValueError."""
        known = asdict(self.faults)
        unknown = set(settings) - set(known)
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(sorted(unknown))}")
        for name, value in settings.items():
            setattr(self.faults, name, float(value))
        return self.faults

    def echo_secrets_in_errors(
        self, shape: str | None, *, status: int = 401, offset: int = 0
    ) -> SecretEcho | None:
        """From now on, every request carrying one of this vendor's secrets (`secrets()`: in a
        header, the query or the body) is answered `status` with the vendor's error body,
        whose message echoes each secret it carried in `shape` (ECHO_SHAPES); None stops it.
        Vendors do echo what they refuse ("invalid token <value>", the request URL, a form
        body); what a client keeps of it must never show a secret."""
        if shape is None:
            self.echo = None
            return None
        echo_text("", shape)  # an unknown shape raises ValueError
        if not 400 <= int(status) <= 599 or int(offset) < 0:
            raise ValueError("status must be 4xx or 5xx and offset 0 or more")
        self.echo = SecretEcho(shape, int(status), int(offset))
        return self.echo

    def secrets_carried(self, request: Request) -> list[str]:
        """The secrets of this vendor that a request carries, longest first."""
        body = request.body.decode("utf-8", "replace")
        texts = [*request.headers.values(), body]
        texts += [v for values in request.query.values() for v in values]
        texts += [v for values in parse_qs(body).values() for v in values]
        found = {s for s in self.secrets() if s and any(s in text for text in texts)}
        return sorted(found, key=lambda s: (-len(s), s))

    def _echo_response(self, echo: SecretEcho, request: Request) -> Response | None:
        carried = self.secrets_carried(request)
        if not carried:
            return None
        self.stats["fault echo"] += 1
        lead = len(echo_parts(carried[0], echo.shape)[0])
        filler = ("The credentials were refused. " * (echo.offset // 30 + 1))[
            : max(echo.offset - lead, 0)
        ]
        # A vendor that cuts its text ends it inside the first secret: nothing follows.
        shown = carried[:1] if echo.shape == "cut" else carried
        message = filler + " ".join(echo_text(secret, echo.shape) for secret in shown)
        return Response(echo.status, self.error_body(echo.status, message, "echo"))

    def set_rate_limit(self, *, rate: float | None = None, burst: int | None = None) -> None:
        """Enforce another request rate (per second) and burst from now on."""
        with self.rate_limit.lock:
            self.rate_limit.rate = float(rate or self.rate_limit.rate)
            self.rate_limit.burst = int(burst or self.rate_limit.burst)
            self.rate_limit.tokens = min(self.rate_limit.tokens, self.rate_limit.burst)

    @property
    def requests_log(self) -> list[LoggedRequest]:
        """The vendor requests received since the start (or the last `reset_stats`), oldest
        first; the last REQUEST_LOG_SIZE of them."""
        with self._log_lock:
            return list(self._log)

    def reset_stats(self) -> None:
        """Clear the counters and the request log."""
        self.stats.clear()
        with self._log_lock:
            self._log.clear()
            self.peak_in_flight = self.in_flight

    # --- to override --------------------------------------------------------------------
    @abstractmethod
    def setup_routes(self) -> None:
        """Register the vendor's endpoints with `route()`."""

    def stock_items_in(self, request: Request) -> int:
        """How many stock values the request carries when it is one of the vendor's stock
        writes (whatever the answer); 0 otherwise. Feeds the request log and the
        "stock writes" counter."""
        return 0

    def error_body(self, status: int, message: str, code: str = "") -> Any:
        return {"message": message, "status": status, "code": code}

    def rate_limited_body(self) -> Any:
        return self.error_body(429, "Too Many Requests", "too_many_requests")

    def authenticate(self, request: Request) -> None:
        """Raise HttpError(401/403) when the request's credentials are wrong."""
        return None  # a vendor without credentials accepts everyone

    # --- routing --------------------------------------------------------------------------
    def route(self, method: str, pattern: str, handler: Handler, *, auth: bool = True) -> None:
        """`pattern` uses {name} placeholders for one path segment."""
        regex = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$"
        self.routes.append((method, re.compile(regex), handler, auth))

    def dispatch(self, request: Request) -> Response:
        if request.path.startswith("/__emulator__/"):
            return self._control(request)
        with self._log_lock:
            arrived = time.monotonic()
            self.in_flight += 1
            in_flight = self.in_flight
            self.peak_in_flight = max(self.peak_in_flight, in_flight)
        try:
            response = self._dispatch(request)
        finally:
            with self._log_lock:
                self.in_flight -= 1
        try:
            stock_items = self.stock_items_in(request)
        except HttpError:
            stock_items = 0
        if stock_items:
            self.stats["stock writes"] += 1
        with self._log_lock:
            self._log.append(
                LoggedRequest(
                    arrived,
                    request.method,
                    request.path,
                    response.status,
                    stock_items,
                    fault=response.fault,
                    in_flight=in_flight,
                )
            )
        return response

    def _dispatch(self, request: Request) -> Response:
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
            echo = self.echo
            if echo is not None:
                echoed = self._echo_response(echo, request)
                if echoed is not None:
                    return echoed
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
            return Response(429, self.rate_limited_body(), {"Retry-After": "1"}, fault="429")
        if self._roll(f.rate_5xx):
            self.stats["fault 5xx"] += 1
            return Response(
                503, self.error_body(503, "Service Unavailable", "unavailable"), fault="5xx"
            )
        if self._roll(f.rate_423):
            self.stats["fault 423"] += 1
            return Response(423, self.error_body(423, "Locked", "locked"), fault="423")
        if self._roll(f.rate_timeout):
            self.stats["fault timeout"] += 1
            time.sleep(f.timeout_seconds)
            return Response(
                504, self.error_body(504, "Gateway Timeout", "timeout"), fault="timeout"
            )
        return None

    def _inject_after(self, response: Response) -> Response:
        # A malformed body after the state change: the vendor did the work but we can't
        # read the answer, so clients must be idempotent (they are: PUTs and acks).
        if 200 <= response.status < 300 and self._roll(self.faults.rate_malformed):
            self.stats["fault malformed"] += 1
            return Response(
                200,
                b'{"truncated": [1, 2',
                {"Content-Type": "application/json"},
                fault="malformed",
            )
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
        try:
            if request.path == "/__emulator__/faults" and request.method == "POST":
                faults = self.set_faults(**self._control_body(request))
                return Response(200, asdict(faults))
            if request.path == "/__emulator__/rate-limit" and request.method == "POST":
                data = self._control_body(request)
                self.set_rate_limit(rate=data.get("rate"), burst=data.get("burst"))
                return Response(200, {"rate": self.rate_limit.rate, "burst": self.rate_limit.burst})
            if request.path == "/__emulator__/echo-secrets" and request.method == "POST":
                data = self._control_body(request)
                echo = self.echo_secrets_in_errors(
                    data.get("shape"), status=data.get("status", 401), offset=data.get("offset", 0)
                )
                return Response(200, asdict(echo) if echo else {"shape": None})
        except (TypeError, ValueError) as exc:
            return Response(400, {"message": str(exc)})
        if request.path == "/__emulator__/fulfilment" and request.method == "GET":
            wanted = request.q("order_id")
            with self.lock:
                records = [asdict(r) for r in self.fulfilment_log if wanted in (None, r.order_id)]
            return Response(200, {"fulfilment": records})
        if request.path == "/__emulator__/catalog" and request.method == "GET":
            wanted = request.q("code")
            product = None
            if request.q("seller_sku"):
                with self.lock:
                    product = self.catalog_product(request.q("seller_sku") or "")
            writes = [
                {"code": code, "action": action, "data": data}
                for code, action, data in self.catalog_writes(wanted)
            ]
            return Response(200, {"writes": writes, "product": product})
        if request.path == "/__emulator__/notifications" and request.method == "POST":
            try:
                data = self._control_body(request)
                if "url" not in data:
                    raise ValueError('"url" is required (null stops the notifications)')
                settings = self.set_notification_callback(data.pop("url"), **data)
            except (TypeError, ValueError) as exc:
                return Response(400, {"message": str(exc)})
            return Response(200, settings)
        if request.path == "/__emulator__/notifications" and request.method == "GET":
            attempts = [
                {k: v for k, v in asdict(a).items() if k not in ("url", "headers")}
                for a in self.notification_attempts()
            ]
            return Response(200, {**self.notification_settings(), "attempts": attempts})
        if request.path == "/__emulator__/orders" and request.method == "POST":
            # A buyer's order placed from outside the process (the README's tour, `curl`):
            # {"lines": [[seller code, quantity, unit price], …], "status": …} as add_order.
            try:
                data = self._control_body(request)
                lines = [
                    (str(code), int(quantity), str(price))
                    for code, quantity, price in data.get("lines") or []
                ]
                order_id = self.add_order(lines or None, status=data.get("status"))
            except (TypeError, ValueError, KeyError) as exc:
                return Response(400, {"message": str(exc)})
            return Response(201, {"id": order_id})
        if request.path == "/__emulator__/reset-stats" and request.method == "POST":
            self.reset_stats()
            return Response(200, {"ok": True})
        return Response(404, {"message": "unknown control endpoint"})

    @staticmethod
    def _control_body(request: Request) -> dict:
        try:
            data = request.json()
        except HttpError:
            data = None
        if not isinstance(data, dict):
            raise ValueError("the body must be a JSON object")
        return data

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

        self.server = _Server((host, port), _Handler)
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
        self.notifier.stop()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
