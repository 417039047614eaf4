"""Mercado Livre's API as the connector uses it: the routes, the vendor's validation and
its state (listings, orders, shipments, tokens). Demo data and credentials: `fixtures.py`.

Strict on purpose: it refuses what the real API refuses (a spent refresh token, a missing
Bearer token, an unknown variation id, more than 20 ids in a multiget, offset paging past
1000) and does what the real API does when a client gets it wrong — a variation left out of
`PUT /items/{id}` `variations[]` is deleted, and recorded in `deleted_variations` so a test
can prove the connector never does that; an item with variations sells every variation at its
highest variation price ("The price must be the same for each variation. Only the highest
price will be seen in the VIP and will also be taken into account at the time the payment is
made.", developers.mercadolivre.com.br/variacoes), which is what `price_of` reports.

Every rule below is written from Mercado Livre's documentation, never from the connector's
declarations: a connector that misreads a rule meets the vendor's, not its own.

Timestamps come from a logical clock starting on Black Friday 2024 (UTC-3), one second per
event, so seeded data and its order are the same on every run.
"""

from __future__ import annotations

import copy
import email
import email.policy
import io
import itertools
import random
import re
import time
import uuid
import zipfile
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from xml.etree import ElementTree

from sandbox.gtin import gtin13
from sandbox.mercadolivre.catalog import MercadoLivreCatalogRoutes
from sandbox.notify import RetryPolicy
from sandbox.people import cpf, place
from sandbox.server import (
    BadRequest,
    Emulator,
    Faults,
    HttpError,
    OrderLine,
    Request,
    Response,
    parse_order_line,
)

BRT = timezone(timedelta(hours=-3))
CLOCK_START = datetime(2024, 11, 29, 9, 0, 0, tzinfo=BRT)
SITE_ID = "MLB"
# Sources: developers.mercadolivre.com.br, as summarized in shared/channel-apis.md (which
# marks with (?) what it could not confirm; so does this file).
#
# OAuth: POST /oauth/token answers expires_in 21600, an access token lives six hours; a
# refresh token is single-use.
ACCESS_TOKEN_TTL = 21600
# "Items & search": GET /users/{id}/items/search pages with offset/limit up to 1000 results;
# beyond that only search_type=scan with scroll_id. Page size at most 100 (?).
OFFSET_CAP = 1000
SEARCH_LIMIT_MAX = 100
# Multiget GET /items?ids=…: at most 20 ids (?).
MULTIGET_MAX = 20
# GET /orders/search: 51 orders is the page size the search reports by default; the emulator
# refuses a larger limit (the documented maximum is not confirmed (?)).
ORDERS_LIMIT_MAX = 51
# GET /orders/search sorts: the documented values are date_asc and date_desc ("Sales" guide,
# developers.mercadolivre.com.br/en_us/manage-sales: "Sort orders"); which date they sort
# on is not documented, and issue 11 measured the vendor ordering by date_closed, which an
# unpaid order does not have until it is paid (?). So the emulator sorts on date_closed,
# falling back to date_created for an unpaid order: paying an order MOVES it (towards the
# end in date_asc), and a client that pages by offset assuming a stable creation-date order
# skips the order that slides into the position it already read. Without `sort` the
# emulator answers newest first (date_desc): clients must say which order they rely on.
ORDER_SORTS = ("date_asc", "date_desc")
ORDER_SORT_DEFAULT = "date_desc"
# The order search's date filters (order.date_created / date_last_updated / date_closed
# .from / .to) read the date and the hour only: minutes, seconds and milliseconds of the
# value are ignored (issue 11, measured; the guide's examples are whole days (?)). A client
# sending "10:37:12.345" gets everything from 10:00.
ORDER_DATE_FILTERS = (
    ("order.date_last_updated.from", "last_updated", False),
    ("order.date_last_updated.to", "last_updated", True),
    ("order.date_created.from", "date_created", False),
    ("order.date_created.to", "date_created", True),
    ("order.date_closed.from", "date_closed", False),
    ("order.date_closed.to", "date_closed", True),
)
# An application's quota, max_requests_per_hour 18000 (GET /applications/{id}): 5/s. No burst
# is documented (?); 10 lets a client's first requests through together.
REQUESTS_PER_HOUR = 18_000
# Notifications (developers.mercadolivre.com.br/pt_br/produto-receba-notificacoes, topics and
# "Considerações"; the older page oldsite.developers.mercadolibre.com/notifications/,
# "Considerations when receiving notifications"): a POST of {_id, resource, user_id, topic,
# application_id, attempts, sent, received} to the application's callback URL for the topics
# it subscribed; the application must answer HTTP 200 within 500 ms, otherwise the
# notification counts as failed and is sent again ("attempts" counts the tries) for up to an
# hour, then dropped. The intervals are not published (?): the emulator backs off from 15 s to
# 20 min, eight tries within those 40 minutes. A topic that keeps failing can be switched off
# for the application (?, no threshold published): `disable_topic_after` given-up
# notifications switch it off (default: never).
NOTIFICATION_POLICY = RetryPolicy(attempts=8, delays=(15, 30, 60, 120, 300, 600, 1200), timeout=0.5)
NOTIFICATION_TOPICS = ("orders_v2", "items", "shipments")
BURST = 10

# Order statuses (orders: `status`). "Sales" guide (developers.mercadolivre.com.br/en_us/
# manage-sales, "Order status") and the Global Selling orders guide
# (developers.mercadolibre.com.ar/devsite/manage-sales-global-selling), which also lists
# `invalid`: "The order was invalidated as it came from a malicious buyer."
ORDER_STATUSES = (
    "confirmed",
    "payment_required",
    "payment_in_process",
    "partially_paid",
    "paid",
    "partially_refunded",
    "pending_cancel",
    "cancelled",
    "invalid",
)
UNPAID_STATUSES = ("payment_required", "payment_in_process", "confirmed")
# Statuses that close an order with a payment credited: it gets its date_closed, paid_amount
# and approved payment when it reaches one of them.
PAID_STATUSES = ("paid", "partially_paid", "partially_refunded")

# GET /sites/MLB/payment_methods (trimmed to the fields the connector reads and a few more).
PAYMENT_METHODS = [
    {"id": "pix", "name": "Pix", "payment_type_id": "bank_transfer", "status": "active"},
    {"id": "visa", "name": "Visa", "payment_type_id": "credit_card", "status": "active"},
    {"id": "master", "name": "Mastercard", "payment_type_id": "credit_card", "status": "active"},
    {"id": "bolbradesco", "name": "Boleto", "payment_type_id": "ticket", "status": "active"},
    {
        "id": "account_money",
        "name": "Dinheiro na conta",
        "payment_type_id": "account_money",
        "status": "active",
    },
]
_PAYMENT_TYPES = {m["id"]: m["payment_type_id"] for m in PAYMENT_METHODS}

# GET /sites/MLB/shipping_methods. Shipments name the method in lead_time.shipping_method and
# the carrier in tracking_method (= company_name here). Two "Expresso" services of two
# carriers: exactly the carrier + service de-para case.
SHIPPING_METHODS = [
    {"id": 510245, "name": "PAC", "type": "standard", "company_name": "Correios"},
    {"id": 510345, "name": "SEDEX 10", "type": "express", "company_name": "Correios"},
    {"id": 511645, "name": "Expresso", "type": "express", "company_name": "Jadlog"},
    {"id": 506245, "name": "Expresso", "type": "express", "company_name": "Mercado Envios"},
    {"id": 507045, "name": "Normal", "type": "standard", "company_name": "Mercado Envios"},
]
for _index, _method in enumerate(SHIPPING_METHODS):
    _method.update(
        {
            "deliver_to": "address",
            "status": "active",
            "site_id": SITE_ID,
            "company_id": 17500000 + _index,
            "shipping_modes": ["me2"],
            "currency_id": "BRL",
        }
    )
_SHIPPING_BY_NAME = {(m["company_name"], m["name"]): m for m in SHIPPING_METHODS}

# Shipping modes an order can be placed in (`add_order(shipping_mode=…)`): the shipment's
# logistic mode and type. ME2 logistic types drop_off, xd_drop_off (Places), xd_same_day and
# cross_docking (Coletas) stay ready_to_ship / invoice_pending, with no label, until the
# seller imports the NF-e XML ("A importação da Nota Fiscal é o processo que altera o status do
# envio, destrancando o substatus invoice_pending e permitindo a geração da etiqueta de envio",
# developers.mercadolivre.com.br/importar-nota-fiscal). Full (fulfillment) is invoiced by
# Mercado Livre itself; flex (self_service) and the seller's own shipping (me1, custom) take a
# fiscal document attached to the pack (developers.mercadolivre.com.br/anexar-nota-fiscal),
# and me1 / custom take the seller's tracking and status (developers.mercadolivre.com.br/
# status-de-pedidos-rastreamento: POST /shipments/{id}/seller_notifications).
SHIPPING_MODES = {
    "drop_off": ("me2", "drop_off"),
    "xd_drop_off": ("me2", "xd_drop_off"),
    "xd_same_day": ("me2", "xd_same_day"),
    "cross_docking": ("me2", "cross_docking"),
    "fulfillment": ("me2", "fulfillment"),
    "self_service": ("me2", "self_service"),
    "me1": ("me1", "default"),
    "custom": ("custom", "default"),
}
NFE_IMPORT_TYPES = frozenset({"drop_off", "xd_drop_off", "xd_same_day", "cross_docking"})
SELLER_NOTIFIED_MODES = frozenset({"me1", "custom"})
# ME1 statuses the seller may notify (status-de-pedidos-rastreamento: shipped/null,
# shipped/out_for_delivery, delivered/null, not_delivered/returning_to_sender).
SELLER_NOTIFICATIONS = {
    ("shipped", None),
    ("shipped", "out_for_delivery"),
    ("delivered", None),
    ("not_delivered", "returning_to_sender"),
}
# The file attached to a pack: at most 1 MB, one per pack (developers.mercadolibre.com.ar/
# en_us/upload-invoices: "maximum size of 1 MB … only one fiscal_document per pack").
FISCAL_DOCUMENT_MAX_BYTES = 1_000_000
LABEL_TYPES = ("pdf", "zpl2")
_ACCESS_KEY = re.compile(r"[0-9]{44}")
NFE_NS = "{http://www.portalfiscal.inf.br/nfe}"
_VARIATION_ATTRIBUTE_IDS = {"Cor": "COLOR", "Tamanho": "SIZE"}


def seller_id_for(account: str) -> str:
    """Mercado Livre names a seller by a number (its user_id); an account given by name gets a
    stable number of its own."""
    if account.isdigit():
        return account
    return str(100_000_000 + zlib.crc32(account.encode()) % 800_000_000)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def _utc_iso(moment: datetime) -> str:
    """A notification's timestamps: UTC with milliseconds and a Z ("Notifications have UTC
    time zone", developers.mercadolivre.com.br/en_us/products-receive-notifications)."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def _hour_floor(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _parse_iso(value: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"Invalid date in {name}: {value!r}", code="bad_request") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _sort_date(order: dict) -> str:
    return order.get("date_closed") or order["date_created"]


def _first_substatus(logistic_type: str) -> str | None:
    """A paid order's shipment: NF-e import types wait for the invoice; other ME2 shipments
    are ready to print (the label is released); the seller's own shipments have none."""
    if logistic_type in NFE_IMPORT_TYPES:
        return "invoice_pending"
    if logistic_type in ("fulfillment", "default"):
        return None
    return "ready_to_print"


def _nfe_access_key(xml: bytes) -> str:
    """The 44-digit access key of an NF-e XML (infNFe's Id "NFe<key>", or chNFe of a
    procNFe); a BadRequest when the XML is not well-formed or carries no key."""
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError as exc:
        raise BadRequest(f"The invoice XML is not well-formed: {exc}", code="invalid_xml") from None
    for element in root.iter():
        tag = element.tag.removeprefix(NFE_NS)
        if tag == "infNFe":
            match = _ACCESS_KEY.search(element.get("Id") or "")
            if match:
                return match.group(0)
        if tag == "chNFe" and _ACCESS_KEY.fullmatch((element.text or "").strip()):
            return element.text.strip()
    raise BadRequest("The invoice XML has no NF-e access key", code="invalid_xml")


def _multipart_file(request: Request, name: str) -> bytes:
    content_type = request.header("Content-Type") or ""
    if not content_type.startswith("multipart/form-data"):
        raise BadRequest("The fiscal document must be sent as multipart/form-data")
    message = email.message_from_bytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + request.body,
        policy=email.policy.HTTP,
    )
    for part in message.iter_parts() if message.is_multipart() else ():
        if part.get_param("name", header="content-disposition") == name:
            return part.get_payload(decode=True) or b""
    raise BadRequest(f"The form has no file {name!r}")


def _label_pdf(tracking_numbers: list[str]) -> bytes:
    text = " ".join(tracking_numbers).encode()
    return b"%PDF-1.4\n% Mercado Envios label " + text + b"\n%%EOF\n"


def _label_zpl(shipments: list[dict]) -> str:
    return "".join(
        f"^XA^FO50,50^BCN,100,Y,N,N^FD{s['tracking_number']}^FS^FO50,200^FD{s['id']}^FS^XZ\n"
        for s in shipments
    )


def _attr(attribute_id: str, name: str, value: str) -> dict:
    return {"id": attribute_id, "name": name, "value_id": None, "value_name": value}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class MercadoLivreApi(MercadoLivreCatalogRoutes, Emulator):
    """The vendor's side; `fixtures.MercadoLivreEmulator` adds demo credentials and data.
    The account is the seller (`seller_id`)."""

    vendor = "mercadolivre"
    demo_account = "123456789"
    order_statuses = tuple(ORDER_STATUSES)
    rate = REQUESTS_PER_HOUR / 3600
    burst = BURST
    notification_policy = NOTIFICATION_POLICY

    def __init__(
        self,
        *,
        account: str | None = None,
        credentials: dict | None = None,
        rate: float | None = None,
        burst: int | None = None,
        faults: Faults | None = None,
        seed: int = 1,
    ) -> None:
        self.seller_id = seller_id_for(str(account or self.demo_account))
        credentials = {**self.demo_credentials(self.seller_id), **(credentials or {})}
        self.client_id = str(credentials["client_id"])
        self.client_secret = str(credentials["client_secret"])
        self.refresh_token = str(credentials["refresh_token"])
        # A restarted demo emulator forgets the refresh tokens it issued while the database
        # keeps the last one; with this on, the first refresh after start accepts any token
        # this emulator's shape could have issued for the seller. Off for tests.
        self.tolerate_restart = False
        self.access_tokens: dict[str, float] = {}  # token -> monotonic expiry
        self.issued_tokens: set[str] = {self.refresh_token}  # every token ever valid
        self.listings: dict[str, dict] = {}
        self.orders: dict[str, dict] = {}
        self.shipments: dict[str, dict] = {}
        self.billing: dict[str, dict] = {}  # order id -> the buyer's document and address
        self.fiscal_documents: dict[str, list[dict]] = {}  # pack id -> documents attached
        self.applications: list[dict] = []
        # The site's public lists (payment and shipping methods) are served apart from the
        # seller's data and can fail on their own; a test sets an error status here (e.g. 503)
        # to have both answer it.
        self.site_lists_status: int | None = None
        self.deleted_variations: list[tuple[str, int]] = []
        # seller SKU -> [(item id, variation id or None)]: several when a code is repeated
        self._listings_by_sku: dict[str, list[tuple[str, int | None]]] = {}
        self._scrolls: dict[str, int] = {}
        self._token_seq = itertools.count(2)
        self._issued = 0
        self._item_seq = itertools.count(1)
        self._variation_seq = itertools.count(1)
        self._order_seq = itertools.count(1)
        self._ean_seq = itertools.count(1)
        self._now = CLOCK_START
        self.data_random = random.Random(seed)  # the fault rolls keep their own sequence
        # The application's notification settings (set_notification_callback).
        self.notification_topics: list[str] = list(NOTIFICATION_TOPICS)
        self.notification_app_id = self.client_id
        self.disable_topic_after: int | None = None
        self.topic_failures: dict[str, int] = {}
        self.disabled_topics: list[str] = []
        super().__init__(account=self.seller_id, rate=rate, burst=burst, faults=faults, seed=seed)
        self.add_application(self.client_id, "erpintegr", at=CLOCK_START - timedelta(days=30))

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        url = super().start(host, port)
        # The base handler writes headers and body in two sends; with Nagle on, each response
        # waits for the client's delayed ACK (~40 ms on Linux loopback), which caps a client at
        # ~25 requests/s and would hide any rate-limit bug. Read at each connection's setup.
        self.server.RequestHandlerClass.disable_nagle_algorithm = True
        return url

    # --- vendor error shapes ------------------------------------------------------------------
    def error_body(self, status: int, message: str, code: str = "") -> Any:
        default = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found"}
        return {
            "message": message,
            "error": code or default.get(status, "error"),
            "status": status,
            "cause": [],
        }

    def authenticate(self, request: Request) -> None:
        if "access_token" in request.query:
            raise HttpError(
                401,
                "access_token in the query string is not accepted; send it in the "
                "Authorization header",
                code="unauthorized",
            )
        scheme, _, token = (request.header("authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise HttpError(401, "authorization value not present", code="unauthorized")
        with self.lock:
            expiry = self.access_tokens.get(token.strip())
        if expiry is None or expiry <= time.monotonic():
            raise HttpError(401, "invalid access token", code="unauthorized")

    # --- routes -----------------------------------------------------------------------------
    def setup_routes(self) -> None:
        self.route("POST", "/oauth/token", self._token, auth=False)
        self.route("GET", "/users/me", self._users_me)
        self.route("GET", "/users/{user_id}/items/search", self._items_search)
        self.route("GET", "/users/{user_id}/applications", self._user_applications)
        self.route("GET", "/applications/{app_id}", self._application)
        self.route("GET", "/items", self._items_multiget)
        self.route("GET", "/items/{item_id}", self._item)
        self.route("PUT", "/items/{item_id}", self._put_item)
        self.route("GET", "/orders/search", self._orders_search)
        self.route("GET", "/orders/{order_id}", self._order)
        self.route("GET", "/shipments/{shipment_id}", self._shipment)
        self.route("GET", "/orders/{order_id}/billing_info", self._billing_info)
        self.route("POST", "/shipments/{shipment_id}/invoice_data", self._post_invoice_data)
        self.route("GET", "/shipments/{shipment_id}/invoice_data", self._get_invoice_data)
        self.route("POST", "/shipments/{shipment_id}/seller_notifications", self._notify)
        self.route("GET", "/shipment_labels", self._labels)
        self.route("POST", "/packs/{pack_id}/fiscal_documents", self._post_fiscal_document)
        self.route("GET", "/packs/{pack_id}/fiscal_documents", self._get_fiscal_documents)
        self.route("GET", "/sites/{site_id}/payment_methods", self._payment_methods, auth=False)
        self.route("GET", "/sites/{site_id}/shipping_methods", self._shipping_methods, auth=False)
        self.setup_catalog_routes()

    def _token(self, request: Request) -> Response:
        self.stats["token_calls"] += 1
        content_type = (request.header("content-type") or "").split(";")[0].strip()
        if content_type != "application/x-www-form-urlencoded":
            raise BadRequest(
                "The token endpoint takes application/x-www-form-urlencoded",
                code="invalid_request",
            )
        form = request.form()
        missing = [
            name
            for name in ("grant_type", "client_id", "client_secret", "refresh_token")
            if not form.get(name)
        ]
        if form.get("grant_type") not in (None, "refresh_token"):
            raise BadRequest(
                "The emulator supports grant_type refresh_token only", code="unsupported_grant_type"
            )
        if missing:
            raise BadRequest(f"Missing parameter(s): {', '.join(missing)}", code="invalid_request")
        if form["client_id"] != self.client_id or form["client_secret"] != self.client_secret:
            self.stats["token_refused"] += 1
            raise BadRequest("invalid client_id or client_secret", code="invalid_client")
        presented = form["refresh_token"]
        restart_ok = (
            self.tolerate_restart
            and self._issued == 0
            and presented.startswith("TG-demo-refresh-")
            and presented.endswith(f"-{self.seller_id}")
        )
        if presented != self.refresh_token and not restart_ok:
            self.stats["token_refused"] += 1
            raise BadRequest(
                "Error validating grant. Your authorization code or refresh token may be expired "
                "or it was already used",
                code="invalid_grant",
            )
        number = next(self._token_seq)
        access = f"APP_USR-demo-access-{number}-{self.seller_id}"
        # Single use: the presented token dies now, whatever happens next.
        self.refresh_token = f"TG-demo-refresh-{number}-{self.seller_id}"
        self.access_tokens[access] = time.monotonic() + ACCESS_TOKEN_TTL
        self.issued_tokens |= {access, self.refresh_token}
        self._issued += 1
        self.stats["tokens_issued"] += 1
        return Response(
            200,
            {
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": ACCESS_TOKEN_TTL,
                "scope": "offline_access read write",
                "user_id": int(self.seller_id),
                "refresh_token": self.refresh_token,
            },
        )

    def _check_user(self, request: Request) -> None:
        if request.params["user_id"] != self.seller_id:
            raise HttpError(403, "caller.id does not match owner", code="forbidden")

    def _users_me(self, request: Request) -> Response:
        return Response(
            200,
            {
                "id": int(self.seller_id),
                "nickname": "LOJADEMO",
                "site_id": SITE_ID,
                "country_id": "BR",
                "user_type": "normal",
                "seller_reputation": {"level_id": "5_green"},
            },
        )

    def _items_search(self, request: Request) -> Response:
        self._check_user(request)
        limit = self._int_param(request, "limit", 50)
        if not 1 <= limit <= SEARCH_LIMIT_MAX:
            raise BadRequest(f"limit must be between 1 and {SEARCH_LIMIT_MAX}")
        ids = sorted(self.listings)
        seller_sku = request.q("seller_sku")
        if seller_sku:
            ids = [i for i in ids if seller_sku in self._skus_of(self.listings[i])]
        status = request.q("status")
        if status:
            ids = [i for i in ids if self.listings[i]["status"] == status]
        body: dict[str, Any] = {
            "seller_id": self.seller_id,
            "query": None,
            "orders": [{"id": "id_asc", "name": "Id ascending"}],
        }
        if request.q("search_type") == "scan":
            if request.q("offset") is not None:
                raise BadRequest("offset is not allowed with search_type=scan")
            scroll = request.q("scroll_id")
            if scroll:
                if scroll not in self._scrolls:
                    raise BadRequest("invalid or expired scroll_id")
                position = self._scrolls.pop(scroll)
            else:
                position = 0
            page = ids[position : position + limit]
            new_scroll = f"c2Nhbi1kZW1v-{len(self._scrolls) + 1}-{position + len(page)}"
            self._scrolls[new_scroll] = position + len(page)
            body.update(
                results=page,
                paging={"total": len(ids), "limit": limit},
                scroll_id=new_scroll,
            )
            return Response(200, body)
        offset = self._int_param(request, "offset", 0)
        if offset < 0:
            raise BadRequest("offset must be >= 0")
        if offset >= OFFSET_CAP:
            raise BadRequest(
                "The offset can not be greater than 1000; use search_type=scan for more results"
            )
        page = ids[offset : min(offset + limit, OFFSET_CAP)]
        body.update(results=page, paging={"total": len(ids), "offset": offset, "limit": limit})
        return Response(200, body)

    def _user_applications(self, request: Request) -> Response:
        self._check_user(request)
        return Response(
            200,
            [
                {
                    "user_id": self.seller_id,
                    "app_id": app["app_id"],
                    "date_created": app["date_created"],
                    "scopes": list(app["scopes"]),
                }
                for app in self.applications
            ],
        )

    def _application(self, request: Request) -> Response:
        for app in self.applications:
            if app["app_id"] == request.params["app_id"]:
                return Response(
                    200,
                    {
                        "id": int(app["app_id"]) if app["app_id"].isdigit() else app["app_id"],
                        "site_id": SITE_ID,
                        "name": app["name"],
                        "active": True,
                        "max_requests_per_hour": 18000,
                        "certification_status": "certified",
                    },
                )
        raise HttpError(404, f"Application {request.params['app_id']} not found")

    def _render_item(self, item: dict, request: Request) -> dict:
        rendered = copy.deepcopy(item)
        # Variation attributes (their SELLER_SKU, GTIN) come only with include_attributes=all.
        if request.q("include_attributes") != "all":
            for variation in rendered.get("variations") or []:
                variation.pop("attributes", None)
        fields = request.q("attributes")
        if fields:
            wanted = {f.strip() for f in fields.split(",") if f.strip()}
            rendered = {k: v for k, v in rendered.items() if k in wanted}
        return rendered

    def _item_or_404(self, item_id: str) -> dict:
        item = self.listings.get(item_id)
        if item is None:
            raise HttpError(404, f"Item with id {item_id} not found", code="not_found")
        return item

    def _items_multiget(self, request: Request) -> Response:
        raw = request.q("ids") or ""
        ids = [i.strip() for i in raw.split(",") if i.strip()]
        if not ids:
            raise BadRequest("ids is required")
        if len(ids) > MULTIGET_MAX:
            raise BadRequest(f"Up to {MULTIGET_MAX} ids are allowed per request; got {len(ids)}")
        answer = []
        for item_id in ids:
            item = self.listings.get(item_id)
            if item is None:
                answer.append(
                    {
                        "code": 404,
                        "body": self.error_body(404, f"Item with id {item_id} not found"),
                    }
                )
            else:
                answer.append({"code": 200, "body": self._render_item(item, request)})
        return Response(200, answer)

    def _item(self, request: Request) -> Response:
        return Response(
            200, self._render_item(self._item_or_404(request.params["item_id"]), request)
        )

    def _put_item(self, request: Request) -> Response:
        item = self._item_or_404(request.params["item_id"])
        body = request.json()
        if not isinstance(body, dict) or not body:
            raise BadRequest("The body must be a non-empty JSON object")
        unknown = set(body) - {"available_quantity", "price", "variations", "title", "pictures"}
        if unknown:
            raise BadRequest(
                "The emulator updates available_quantity, price, variations, title and "
                "pictures only; got " + ", ".join(sorted(unknown))
            )
        self._validate_values(body, "item")
        self.apply_catalog_put(item, {k: body[k] for k in ("title", "pictures") if k in body}, [])
        variations = item.get("variations") or []
        if variations and {"available_quantity", "price"} & set(body):
            raise BadRequest(
                "Item has variations: send available_quantity and price per variation in "
                "variations[]",
                code="item.variations.required",
            )
        if "variations" in body:
            entries = body["variations"]
            if not variations:
                raise BadRequest("Item has no variations", code="item.variations.invalid")
            if not isinstance(entries, list) or not entries:
                raise BadRequest("variations must be a non-empty array")
            by_id = {v["id"]: v for v in variations}
            listed: list[int] = []
            # Entries without an id are new variations (sandbox/mercadolivre/catalog.py).
            new_variations = [e for e in entries if isinstance(e, dict) and "id" not in e]
            entries = [e for e in entries if not (isinstance(e, dict) and "id" not in e)]
            for entry in entries:
                if not isinstance(entry, dict) or not _is_int(entry.get("id")):
                    raise BadRequest(
                        "Every entry of variations[] needs its numeric id",
                        code="item.variations.id.invalid",
                    )
                if entry["id"] not in by_id:
                    raise BadRequest(
                        f"Variation {entry['id']} does not exist in item {item['id']}",
                        code="item.variations.id.invalid",
                    )
                if entry["id"] in listed:
                    raise BadRequest(f"Variation {entry['id']} is listed twice")
                extra = set(entry) - {"id", "available_quantity", "price"}
                if extra:
                    raise BadRequest(
                        f"Variation fields not handled by the emulator: {', '.join(sorted(extra))}"
                    )
                self._validate_values(entry, f"variation {entry['id']}")
                listed.append(entry["id"])
            # What the real API does with a variation left out of the array: delete it.
            for variation in variations:
                if variation["id"] not in listed:
                    self.deleted_variations.append((item["id"], variation["id"]))
                    self.stats["variations_deleted"] += 1
            for entry in entries:
                target = by_id[entry["id"]]
                for field_name in ("available_quantity", "price"):
                    if field_name in entry:
                        target[field_name] = entry[field_name]
            item["variations"] = [by_id[i] for i in sorted(listed, key=lambda i: i)]
            self.apply_catalog_put(item, {}, new_variations)
            self._sync_item_totals(item)
        else:
            for field_name in ("available_quantity", "price"):
                if field_name in body:
                    item[field_name] = body[field_name]
        item["last_updated"] = _iso(self._tick())
        self.stats["items_updated"] += 1
        self.send_topic("items", f"/items/{item['id']}")
        return Response(200, self._render_item(item, request))

    @staticmethod
    def _validate_values(body: dict, where: str) -> None:
        if "available_quantity" in body:
            value = body["available_quantity"]
            if not _is_int(value) or value < 0:
                raise BadRequest(
                    f"available_quantity of {where} must be an integer >= 0; got {value!r}",
                    code="item.available_quantity.invalid",
                )
        if "price" in body:
            value = body["price"]
            if not _is_number(value) or value <= 0:
                raise BadRequest(
                    f"price of {where} must be a number > 0; got {value!r}",
                    code="item.price.invalid",
                )

    def _orders_search(self, request: Request) -> Response:
        seller = request.q("seller")
        if not seller:
            raise BadRequest("seller or buyer is required")
        if seller != self.seller_id:
            raise HttpError(403, "caller.id does not match the seller", code="forbidden")
        sort = request.q("sort", ORDER_SORT_DEFAULT)
        if sort not in ORDER_SORTS:
            raise BadRequest(f"Invalid sort {sort!r}; use date_asc or date_desc")
        limit = self._int_param(request, "limit", ORDERS_LIMIT_MAX)
        if not 1 <= limit <= ORDERS_LIMIT_MAX:
            raise BadRequest(f"limit must be between 1 and {ORDERS_LIMIT_MAX}")
        offset = self._int_param(request, "offset", 0)
        if offset < 0:
            raise BadRequest("offset must be >= 0")
        orders = list(self.orders.values())
        for param, field_name, upper in ORDER_DATE_FILTERS:
            value = request.q(param)
            if not value:
                continue
            # Hour granularity, both bounds inclusive: the order's hour against the value's.
            moment = _hour_floor(_parse_iso(value, param))
            orders = [
                o
                for o in orders
                if o.get(field_name)
                and (
                    _hour_floor(_parse_iso(o[field_name], field_name)) <= moment
                    if upper
                    else _hour_floor(_parse_iso(o[field_name], field_name)) >= moment
                )
            ]
        status = request.q("order.status")
        if status:
            orders = [o for o in orders if o["status"] == status]
        # date_closed, else date_created (an unpaid order has no date_closed): see ORDER_SORTS.
        orders.sort(key=lambda o: (_parse_iso(_sort_date(o), "date_closed"), o["id"]))
        if sort == "date_desc":
            orders.reverse()
        page = orders[offset : offset + limit]
        return Response(
            200,
            {
                "query": None,
                "display": "complete",
                "results": copy.deepcopy(page),
                "sort": {
                    "id": sort,
                    "name": "Date ascending" if sort == "date_asc" else "Date descending",
                },
                "available_sorts": [
                    {
                        "id": other,
                        "name": "Date ascending" if other == "date_asc" else "Date descending",
                    }
                    for other in ORDER_SORTS
                    if other != sort
                ],
                "filters": [],
                "paging": {"total": len(orders), "offset": offset, "limit": limit},
            },
        )

    def _order(self, request: Request) -> Response:
        order = self.orders.get(request.params["order_id"])
        if order is None:
            raise HttpError(404, f"Order {request.params['order_id']} not found")
        return Response(200, copy.deepcopy(order))

    def _billing_info(self, request: Request) -> Response:
        """The buyer's billing data ("Billing data" guide, developers.mercadolibre.com.bo/
        en_us/introduction-services/billing-data): with `x-version: 2` the new layout
        (buyer.billing_info.identification); without it the previous one (billing_info with
        doc_type, doc_number), which the guide says is being removed for MLB."""
        order_id = request.params["order_id"]
        order = self.orders.get(order_id)
        billing = self.billing.get(order_id)
        if order is None or billing is None:
            raise HttpError(404, f"Order {order_id} not found")
        first, last = billing["buyer"]
        place_ = billing["place"]
        if (request.header("x-version") or "").strip() != "2":
            return Response(
                200,
                {
                    "billing_info": {
                        "doc_type": "CPF",
                        "doc_number": billing["number"],
                        "additional_info": [
                            {"type": "FIRST_NAME", "value": first},
                            {"type": "LAST_NAME", "value": last},
                            {"type": "ZIP_CODE", "value": place_.cep},
                        ],
                    }
                },
            )
        return Response(
            200,
            {
                "site_id": SITE_ID,
                "buyer": {
                    "cust_id": order["buyer"]["id"],
                    "billing_info": {
                        "name": first,
                        "last_name": last,
                        "identification": {"type": "CPF", "number": billing["number"]},
                        "address": {
                            "street_name": place_.street,
                            "street_number": place_.number,
                            "city_name": place_.city,
                            "comment": place_.complement or None,
                            "neighborhood": place_.district,
                            "state": {"name": place_.state_name},
                            "zip_code": place_.cep,
                            "country_id": "BR",
                        },
                        "attributes": {"is_normalized": True, "cust_type": "CO"},
                    },
                },
                "seller": {"cust_id": int(self.seller_id)},
            },
        )

    def _shipment(self, request: Request) -> Response:
        if (request.header("x-format-new") or "").lower() != "true":
            raise BadRequest(
                "The emulator serves the new shipment format only: send x-format-new: true"
            )
        shipment = self.shipments.get(request.params["shipment_id"])
        if shipment is None:
            raise HttpError(404, f"Shipment {request.params['shipment_id']} not found")
        return Response(200, copy.deepcopy(shipment))

    # --- fulfilment ----------------------------------------------------------------------------
    def _seller_shipment(self, request: Request) -> dict:
        shipment = self.shipments.get(request.params["shipment_id"])
        if shipment is None or shipment["origin"]["sender_id"] != int(self.seller_id):
            raise HttpError(404, f"Shipment {request.params['shipment_id']} not found")
        return shipment

    def _order_of_shipment(self, shipment: dict) -> str:
        return next(oid for oid, o in self.orders.items() if o["shipping"]["id"] == shipment["id"])

    def _post_invoice_data(self, request: Request) -> Response:
        """Import the NF-e XML of a drop_off / xd_drop_off / xd_same_day / cross_docking
        shipment (importar-nota-fiscal): `?siteId=MLB`, the XML as the body. It must be
        well-formed and carry the NF-e's 44-digit access key; it unlocks invoice_pending and
        the label. A second import for the shipment is refused (?)."""
        shipment = self._seller_shipment(request)
        if request.q("siteId") != SITE_ID:
            raise BadRequest("siteId=MLB is required", code="invalid_site")
        logistic_type = shipment["logistic"]["type"]
        if logistic_type not in NFE_IMPORT_TYPES:
            raise BadRequest(
                f"Invoice import is not available for logistic type {logistic_type}",
                code="invalid_logistic_type",
            )
        if shipment.get("invoice_data"):
            raise BadRequest(
                f"The shipment {shipment['id']} already has an invoice", code="invoice_exists"
            )
        if shipment["status"] != "ready_to_ship":
            raise BadRequest(
                f"The shipment {shipment['id']} is {shipment['status']}, not ready_to_ship",
                code="invalid_status",
            )
        key = _nfe_access_key(request.body)
        shipment["invoice_data"] = {"fiscal_key": key, "invoice_number": key[25:34].lstrip("0")}
        shipment["invoice_data"]["invoice_series"] = key[22:25].lstrip("0") or "0"
        shipment["substatus"] = "ready_to_print"
        shipment["last_updated"] = _iso(self._tick())
        self.send_topic("shipments", f"/shipments/{shipment['id']}")
        self.record_fulfilment(self._order_of_shipment(shipment), "invoice", fiscal_key=key)
        return Response(200, {"id": shipment["id"], **shipment["invoice_data"]})

    def _get_invoice_data(self, request: Request) -> Response:
        shipment = self._seller_shipment(request)
        if not shipment.get("invoice_data"):
            raise HttpError(404, f"Invoice data not found for shipment {shipment['id']}")
        return Response(200, {"id": shipment["id"], **shipment["invoice_data"]})

    def _notify(self, request: Request) -> Response:
        """ME1's status and tracking from the seller (status-de-pedidos-rastreamento). Only
        shipments the seller ships (me1, custom (?)); a status it does not list, or going
        back, is refused. The tracking number goes with `shipped`, as the ME1 guide's example
        sends it (developers.mercadolibre.com.ar/en_us/me1-order-states)."""
        shipment = self._seller_shipment(request)
        if shipment["logistic"]["mode"] not in SELLER_NOTIFIED_MODES:
            raise BadRequest(
                f"Seller notifications are only for ME1 shipments; shipment {shipment['id']} "
                f"is {shipment['logistic']['mode']}",
                code="invalid_mode",
            )
        body = request.json()
        if not isinstance(body, dict):
            raise BadRequest("The body must be a JSON object")
        status, substatus = body.get("status"), body.get("substatus")
        if (status, substatus) not in SELLER_NOTIFICATIONS:
            raise BadRequest(f"Invalid status/substatus {status}/{substatus}", code="invalid")
        current = shipment["status"]
        if current in ("delivered", "not_delivered", "cancelled") or (
            status == "delivered" and current != "shipped"
        ):
            raise BadRequest(
                f"The shipment {shipment['id']} is {current}; it cannot become {status}",
                code="invalid_status",
            )
        if status == "shipped":
            number = body.get("tracking_number")
            if not isinstance(number, str) or not number.strip():
                raise BadRequest("tracking_number is required to ship", code="invalid")
            shipment["tracking_number"] = number
        shipment.update(status=status, substatus=substatus, last_updated=_iso(self._tick()))
        action = {"shipped": "tracking", "delivered": "delivered"}.get(status, status)
        self.record_fulfilment(
            self._order_of_shipment(shipment),
            action,
            **({"tracking_number": shipment["tracking_number"]} if status == "shipped" else {}),
        )
        self.send_topic("shipments", f"/shipments/{shipment['id']}")
        return Response(200, {"id": shipment["id"], "status": status, "substatus": substatus})

    def _labels(self, request: Request) -> Response:
        """GET /shipment_labels?shipment_ids=…&response_type=pdf|zpl2: ME2 shipments ready to
        ship whose label is released (not invoice_pending). PDF bytes, or for zpl2 a ZIP with
        the ZPL text (?). The label's first download marks the shipment printed."""
        kind = request.q("response_type") or "pdf"
        if kind not in LABEL_TYPES:
            raise BadRequest(f"response_type must be one of {', '.join(LABEL_TYPES)}")
        ids = [i for i in (request.q("shipment_ids") or "").split(",") if i]
        if not ids:
            raise BadRequest("shipment_ids is required")
        shipments = []
        for shipment_id in ids:
            request.params["shipment_id"] = shipment_id
            shipment = self._seller_shipment(request)
            if (
                shipment["logistic"]["mode"] != "me2"
                or shipment["status"] != "ready_to_ship"
                or shipment["substatus"] == "invoice_pending"
            ):
                raise BadRequest(
                    f"The label of shipment {shipment_id} is not available: shipment is "
                    f"{shipment['status']}/{shipment['substatus']}",
                    code="not_printable",
                )
            shipments.append(shipment)
        for shipment in shipments:
            if shipment["substatus"] != "printed":
                shipment["substatus"] = "printed"
                self.record_fulfilment(self._order_of_shipment(shipment), "label", format=kind)
        if kind == "pdf":
            return Response(
                200,
                _label_pdf([s["tracking_number"] for s in shipments]),
                {"Content-Type": "application/pdf"},
            )
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("Etiqueta de envio.txt", _label_zpl(shipments))
        return Response(200, buffer.getvalue(), {"Content-Type": "application/zip"})

    def _pack_orders(self, request: Request) -> list[str]:
        """The orders of a pack; a pack id of null means the order id (upload-invoices)."""
        wanted = request.params["pack_id"]
        found = [
            oid
            for oid, o in self.orders.items()
            if str(o.get("pack_id") or oid) == wanted and o["seller"]["id"] == int(self.seller_id)
        ]
        if not found:
            raise HttpError(404, f"Pack {wanted} not found")
        return found

    def _post_fiscal_document(self, request: Request) -> Response:
        """Attach the fiscal document to a pack (anexar-nota-fiscal): multipart form-data, the
        file under `fiscal_document`, at most 1 MB, one per pack; PDF or the XML
        (application/pdf, application/xml, text/xml: "Attach XML file",
        developers.mercadolibre.com.ar/en_us/upload-invoices). It
        does not change the shipment."""
        orders = self._pack_orders(request)
        content = _multipart_file(request, "fiscal_document")
        if len(content) > FISCAL_DOCUMENT_MAX_BYTES:
            raise BadRequest("The fiscal document exceeds 1 MB", code="file_too_large")
        if not content.startswith(b"%PDF"):
            _nfe_access_key(content)  # an XML must be a well-formed NF-e
        documents = self.fiscal_documents.setdefault(request.params["pack_id"], [])
        if documents:
            raise BadRequest(
                f"Pack {request.params['pack_id']} already has a fiscal document",
                code="fiscal_document_exists",
            )
        document_id = f"{request.params['pack_id']}-{len(documents) + 1}"
        documents.append({"id": document_id, "size": len(content)})
        for order_id in orders:
            self.record_fulfilment(order_id, "fiscal_document", id=document_id)
        return Response(200, {"ids": [document_id]})

    def _get_fiscal_documents(self, request: Request) -> Response:
        self._pack_orders(request)
        documents = self.fiscal_documents.get(request.params["pack_id"], [])
        return Response(200, {"fiscal_documents": copy.deepcopy(documents)})

    def _site_list_fault(self) -> None:
        if self.site_lists_status:
            raise HttpError(self.site_lists_status, "Service temporarily unavailable")

    def _payment_methods(self, request: Request) -> Response:
        self._site_list_fault()
        if request.params["site_id"] != SITE_ID:
            raise HttpError(404, f"Site {request.params['site_id']} not found")
        return Response(200, copy.deepcopy(PAYMENT_METHODS))

    def _shipping_methods(self, request: Request) -> Response:
        self._site_list_fault()
        if request.params["site_id"] != SITE_ID:
            raise HttpError(404, f"Site {request.params['site_id']} not found")
        return Response(200, copy.deepcopy(SHIPPING_METHODS))

    @staticmethod
    def _int_param(request: Request, name: str, default: int) -> int:
        value = request.q(name)
        if value in (None, ""):
            return default
        try:
            return int(value)
        except ValueError:
            raise BadRequest(f"{name} must be an integer; got {value!r}") from None

    # --- state helpers ----------------------------------------------------------------------
    def _tick(self) -> datetime:
        self._now += timedelta(seconds=1)
        return self._now

    def _next_ean(self) -> str:
        return gtin13(f"7891{next(self._ean_seq):08d}")

    @staticmethod
    def _skus_of(item: dict) -> set[str]:
        skus = set()
        for attribute in item.get("attributes") or []:
            if attribute["id"] == "SELLER_SKU":
                skus.add(attribute["value_name"])
        for variation in item.get("variations") or []:
            for attribute in variation.get("attributes") or []:
                if attribute["id"] == "SELLER_SKU":
                    skus.add(attribute["value_name"])
        return skus

    @staticmethod
    def _sync_item_totals(item: dict) -> None:
        variations = item.get("variations") or []
        if variations:
            item["available_quantity"] = sum(v["available_quantity"] for v in variations)
            # The listing shows the highest variation price.
            item["price"] = max(v["price"] for v in variations)

    def add_listing(
        self,
        *,
        seller_sku: str = "",
        title: str = "",
        price: float = 99.9,
        quantity: int = 10,
        ean: str | None = None,
        variations: list[dict] | None = None,
        status: str = "active",
        legacy_sku_field: bool = False,
        item_id: str | None = None,
    ) -> str:
        """Add an item; returns its id. `variations`: dicts with seller_sku, quantity, price,
        ean and `combination` ({"Cor": "Azul"}). `legacy_sku_field` stores the SKU in
        seller_custom_field instead of the SELLER_SKU attribute."""
        with self.lock:
            item_id = item_id or f"{SITE_ID}{4000000000 + next(self._item_seq)}"
            created = _iso(self._tick())
            attributes = [_attr("BRAND", "Marca", "Loja Demo")]
            if seller_sku and not legacy_sku_field:
                attributes.append(_attr("SELLER_SKU", "SKU", seller_sku))
            built_variations = []
            for spec in variations or []:
                variation_attributes = []
                if spec.get("seller_sku"):
                    variation_attributes.append(_attr("SELLER_SKU", "SKU", spec["seller_sku"]))
                variation_ean = spec.get("ean", None)
                if variation_ean is None:
                    variation_ean = self._next_ean()
                if variation_ean:
                    variation_attributes.append(
                        _attr("GTIN", "Código universal de produto", variation_ean)
                    )
                built_variations.append(
                    {
                        "id": 180000000000 + next(self._variation_seq),
                        "price": spec.get("price", price),
                        "available_quantity": spec.get("quantity", quantity),
                        "sold_quantity": 0,
                        "attribute_combinations": [
                            _attr(_VARIATION_ATTRIBUTE_IDS.get(name, name.upper()), name, value)
                            for name, value in (spec.get("combination") or {}).items()
                        ],
                        "attributes": variation_attributes,
                        "seller_custom_field": None,
                        "picture_ids": [],
                    }
                )
            if not built_variations:
                item_ean = self._next_ean() if ean is None else ean
                if item_ean:
                    attributes.append(_attr("GTIN", "Código universal de produto", item_ean))
            item = {
                "id": item_id,
                "site_id": SITE_ID,
                "title": title or f"Produto {item_id}",
                "seller_id": int(self.seller_id),
                "category_id": "MLB1000",
                "price": price,
                "base_price": price,
                "currency_id": "BRL",
                "available_quantity": quantity,
                "sold_quantity": 0,
                "buying_mode": "buy_it_now",
                "listing_type_id": "gold_special",
                "condition": "new",
                "status": status,
                "attributes": attributes,
                "variations": built_variations,
                "seller_custom_field": seller_sku if legacy_sku_field else None,
                "shipping": {"mode": "me2", "logistic_type": "drop_off", "free_shipping": False},
                "date_created": created,
                "last_updated": created,
            }
            self._sync_item_totals(item)
            self.listings[item_id] = item
            for code, variation_id in [(seller_sku, None)] + [
                (spec.get("seller_sku"), variation["id"])
                for spec, variation in zip(variations or [], built_variations, strict=True)
            ]:
                if code:
                    self._listings_by_sku.setdefault(code, []).append((item_id, variation_id))
            return item_id

    def variation_ids(self, item_id: str) -> list[int]:
        with self.lock:
            return [v["id"] for v in self._item_or_404(item_id).get("variations") or []]

    def _listing_of(self, seller_sku: str) -> tuple[dict, dict | None]:
        """The item, and the variation when the code is a variation's, that carries the
        seller SKU (its SELLER_SKU attribute, or the legacy seller_custom_field)."""
        found = []
        for item_id, variation_id in self._listings_by_sku.get(seller_sku, []):
            item = self.listings.get(item_id)
            if item is None:
                continue
            if variation_id is None:
                found.append((item, None))
                continue
            variation = next((v for v in item["variations"] if v["id"] == variation_id), None)
            if variation is not None:  # a variation deleted by a PUT is gone
                found.append((item, variation))
        if not found:
            raise KeyError(f"no listing carries the seller SKU {seller_sku!r}")
        if len(found) > 1:
            raise ValueError(f"{len(found)} listings carry the seller SKU {seller_sku!r}")
        return found[0]

    # --- the control interface ----------------------------------------------------------------
    @property
    def credentials(self) -> dict[str, str]:
        with self.lock:
            return {
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "refresh_token": self.refresh_token,
            }

    def secrets(self) -> set[str]:
        with self.lock:
            return {self.client_secret} | self.issued_tokens

    def stock_of(self, seller_sku: str, location: str | int | None = None) -> int:
        if location is not None:
            raise ValueError("Mercado Livre keeps one stock per listing: it has no locations")
        with self.lock:
            item, variation = self._listing_of(seller_sku)
            return (variation or item)["available_quantity"]

    def set_stock(self, seller_sku: str, quantity: int) -> None:
        with self.lock:
            item, variation = self._listing_of(seller_sku)
            (variation or item)["available_quantity"] = int(quantity)
            self._sync_item_totals(item)
            self.send_topic("items", f"/items/{item['id']}")

    def price_of(self, seller_sku: str) -> Decimal:
        """What a buyer pays: the item's price, which for an item with variations is the
        highest variation price whatever the variation (see _place_order)."""
        with self.lock:
            item, _variation = self._listing_of(seller_sku)
            return Decimal(str(item["price"]))

    def variation_price_of(self, seller_sku: str) -> Decimal:
        """The price stored on the SKU's own variation (or item), as last written."""
        with self.lock:
            item, variation = self._listing_of(seller_sku)
            return Decimal(str((variation or item)["price"]))

    def add_order(
        self,
        lines: Sequence[OrderLine] | None = None,
        *,
        status: str | None = None,
        carrier: tuple[str, str] | None = None,
        payment: str | None = None,
        buyer: tuple[str, str] = ("Maria", "Silva"),
        shipping_cost: float = 19.9,
        created_at: datetime | None = None,
        shipping_mode: str = "drop_off",
        pack_id: int | None = None,
    ) -> str:
        """`carrier` is (company, shipping method name) of the site's shipping methods
        (default Correios PAC); `payment` a payment method id (default pix); `shipping_mode`
        one of SHIPPING_MODES (default drop_off: the NF-e must be imported before the label);
        `pack_id` the cart the order belongs to (default none: the order is its own pack)."""
        if shipping_mode not in SHIPPING_MODES:
            raise ValueError(
                f"unknown shipping mode {shipping_mode!r}: {', '.join(SHIPPING_MODES)}"
            )
        with self.lock:
            if lines is None:
                if not self.listings:
                    raise ValueError("add a listing first, or pass lines")
                first = self.listings[sorted(self.listings)[0]]
                resolved = [(first, (first.get("variations") or [None])[0], 1, None)]
            else:
                resolved = []
                for line in lines:
                    seller_sku, quantity, unit = parse_order_line(line)
                    item, variation = self._listing_of(seller_sku)
                    resolved.append((item, variation, quantity, unit))
            return self._place_order(
                resolved,
                status=status or "paid",
                carrier=carrier or ("Correios", "PAC"),
                payment=payment or "pix",
                buyer=buyer,
                shipping_cost=shipping_cost,
                created_at=created_at,
                shipping_mode=shipping_mode,
                pack_id=pack_id,
            )

    def _place_order(
        self,
        resolved: list[tuple[dict, dict | None, int, Decimal | None]],
        *,
        status: str,
        carrier: tuple[str, str],
        payment: str,
        buyer: tuple[str, str],
        shipping_cost: float,
        created_at: datetime | None,
        shipping_mode: str = "drop_off",
        pack_id: int | None = None,
    ) -> str:
        """An order of (item, variation or None, quantity, unit price or None) lines."""
        if status not in ORDER_STATUSES:
            raise ValueError(f"unknown Mercado Livre order status {status!r}")
        if payment not in _PAYMENT_TYPES:
            raise ValueError(f"unknown Mercado Livre payment method {payment!r}")
        method = _SHIPPING_BY_NAME.get(tuple(carrier))
        if method is None:
            raise ValueError(f"no Mercado Livre shipping method {carrier!r}")
        with self.lock:
            moment = created_at or self._tick()
            number = next(self._order_seq)
            order_id = str(2000009000000000 + number)
            place_ = place(number)
            self.billing[order_id] = {"number": cpf(number), "buyer": buyer, "place": place_}
            order_items = []
            for item, variation, quantity, unit in resolved:
                sku_source = (variation or item).get("attributes") or []
                seller_sku = next(
                    (a["value_name"] for a in sku_source if a["id"] == "SELLER_SKU"), None
                )
                # A variation sells at the item's price, the highest of its variations:
                # "The price must be the same for each variation. Only the highest price will
                # be seen in the VIP and will also be taken into account at the time the
                # payment is made." (developers.mercadolivre.com.br/variacoes)
                unit_price = float(unit) if unit is not None else item["price"]
                order_items.append(
                    {
                        "item": {
                            "id": item["id"],
                            "title": item["title"],
                            "category_id": item["category_id"],
                            "variation_id": variation["id"] if variation else None,
                            "seller_custom_field": item.get("seller_custom_field"),
                            "seller_sku": seller_sku,
                            "variation_attributes": copy.deepcopy(
                                variation["attribute_combinations"] if variation else []
                            ),
                            "condition": "new",
                            "warranty": None,
                        },
                        "quantity": quantity,
                        "unit_price": unit_price,
                        "full_unit_price": unit_price,
                        "currency_id": "BRL",
                        "sale_fee": round(unit_price * 0.14, 2),
                        "listing_type_id": item["listing_type_id"],
                    }
                )
            total = round(sum(i["unit_price"] * i["quantity"] for i in order_items), 2)
            shipment_id = None
            if method is not None:
                shipment_id = str(44000000000 + number)
                mode, logistic_type = SHIPPING_MODES[shipping_mode]
                ready = status == "paid"
                self.shipments[shipment_id] = {
                    "id": int(shipment_id),
                    "external_reference": None,
                    "status": "ready_to_ship" if ready else "pending",
                    "substatus": _first_substatus(logistic_type) if ready else None,
                    "date_created": _iso(moment),
                    "last_updated": _iso(moment),
                    "declared_value": total,
                    # Mercado Envios numbers its own parcels; the seller ships me1 / custom.
                    "tracking_number": f"BR{number:09d}XX" if mode == "me2" else None,
                    "tracking_method": method["company_name"],
                    "logistic": {"direction": "forward", "mode": mode, "type": logistic_type},
                    "source": {"site_id": SITE_ID, "market_place": "MELI", "application_id": None},
                    "lead_time": {
                        "shipping_method": {
                            "id": method["id"],
                            "name": method["name"],
                            "type": method["type"],
                            "deliver_to": method["deliver_to"],
                        },
                        "cost": shipping_cost,
                        "list_cost": shipping_cost,
                        "currency_id": "BRL",
                        "cost_type": "charged",
                    },
                    "origin": {"type": "selling_address", "sender_id": int(self.seller_id)},
                    # "receiver_address is now equivalent to destination.shipping_address"
                    # (developers.mercadolibre.com.ar/devsite/manage-shipments).
                    "destination": {
                        "type": "buying_address",
                        "receiver_id": 700000000 + number,
                        "receiver_name": " ".join(buyer),
                        "receiver_phone": f"{place_.phone[:2]} {place_.phone[2:]}",
                        "comments": None,
                        "shipping_address": {
                            "address_id": 1035000000 + number,
                            "address_line": f"{place_.street} {place_.number}",
                            "street_name": place_.street,
                            "street_number": place_.number,
                            "comment": place_.complement or None,
                            "zip_code": place_.cep,
                            "city": {"id": None, "name": place_.city},
                            "state": {"id": f"BR-{place_.state}", "name": place_.state_name},
                            "country": {"id": "BR", "name": "Brasil"},
                            "neighborhood": {"id": None, "name": place_.district},
                            "types": ["shipping"],
                        },
                    },
                }
            paid = status not in UNPAID_STATUSES
            self.orders[order_id] = {
                "id": int(order_id),
                "status": status,
                "status_detail": None,
                "date_created": _iso(moment),
                "date_closed": _iso(moment) if paid else None,
                "last_updated": _iso(moment),
                "currency_id": "BRL",
                "total_amount": total,
                "paid_amount": round(total + (shipping_cost if shipment_id else 0), 2)
                if paid
                else 0,
                "order_items": order_items,
                "buyer": {
                    "id": 700000000 + number,
                    "nickname": f"{buyer[0]}{buyer[1]}{number}".upper(),
                    "first_name": buyer[0],
                    "last_name": buyer[1],
                },
                "seller": {"id": int(self.seller_id)},
                "payments": [
                    {
                        "id": 90000000000 + number,
                        "order_id": int(order_id),
                        "payer_id": 700000000 + number,
                        "payment_method_id": payment,
                        "payment_type": _PAYMENT_TYPES[payment],
                        "status": "approved" if paid else "pending",
                        "transaction_amount": total,
                        "shipping_cost": shipping_cost if shipment_id else 0,
                        "total_paid_amount": round(
                            total + (shipping_cost if shipment_id else 0), 2
                        ),
                        "installments": 1,
                        "currency_id": "BRL",
                        "date_approved": _iso(moment) if paid else None,
                    }
                ],
                "shipping": {"id": int(shipment_id) if shipment_id else None},
                "tags": ["paid"] if paid else ["not_paid"],
                "pack_id": pack_id,
            }
            self.send_topic("orders_v2", f"/orders/{order_id}")
            if shipment_id:
                self.send_topic("shipments", f"/shipments/{shipment_id}")
            return order_id

    def set_order_status(self, order_id: str, status: str) -> None:
        if status not in ORDER_STATUSES:
            raise ValueError(f"unknown Mercado Livre order status {status!r}")
        with self.lock:
            order = self.orders[str(order_id)]
            moment = _iso(self._tick())
            order["status"] = status
            order["last_updated"] = moment
            shipment = None
            if status in PAID_STATUSES and not order["date_closed"]:
                # The payment is credited: the order closes now (which moves it in the
                # search's sort, see ORDER_SORTS) and says what was paid.
                payment = order["payments"][0]
                order["date_closed"] = moment
                order["paid_amount"] = payment["total_paid_amount"]
                payment["status"] = "approved"
                payment["date_approved"] = moment
                order["tags"] = ["paid"]
                shipment = self.shipments.get(str(order["shipping"]["id"]))
                if shipment is not None:
                    shipment["status"] = "ready_to_ship"
                    shipment["substatus"] = _first_substatus(shipment["logistic"]["type"])
                    shipment["last_updated"] = moment
            if status in ("cancelled", "invalid"):
                order["tags"] = [status]
            self.send_topic("orders_v2", f"/orders/{order_id}")
            if shipment is not None:
                self.send_topic("shipments", f"/shipments/{shipment['id']}")

    def advance_clock(self, **delta: float) -> None:
        """Move the vendor's clock on (`timedelta` keywords: hours=2): the next events are
        stamped that much later, as hours passing between runs would."""
        with self.lock:
            self._now += timedelta(**delta)

    def order_ids(self) -> list[str]:
        with self.lock:
            return list(self.orders)

    def order_lines(self, order_id: str) -> list[tuple[str, int]]:
        with self.lock:
            return [
                (
                    line["item"]["seller_sku"] or line["item"]["seller_custom_field"] or "",
                    line["quantity"],
                )
                for line in self.orders[str(order_id)]["order_items"]
            ]

    def order_destination(self, order_id: str) -> tuple[str, str, str]:
        with self.lock:
            order = self.orders[str(order_id)]
            shipment = self.shipments[str(order["shipping"]["id"])]
            place_ = shipment["destination"]["shipping_address"]
            return (place_["zip_code"], place_["city"]["name"], self.billing[order_id]["number"])

    def feed_backlog(self) -> int:
        # Orders are searched by date (/orders/search), not fed: nothing waits for an ack.
        return 0

    def stock_items_in(self, request: Request) -> int:
        if request.method != "PUT" or not request.path.startswith("/items/"):
            return 0
        try:
            body = request.json()
        except HttpError:
            return 0
        if not isinstance(body, dict):
            return 0
        if "available_quantity" in body:
            return 1
        entries = body.get("variations")
        if not isinstance(entries, list):
            return 0
        return sum(1 for e in entries if isinstance(e, dict) and "available_quantity" in e)

    # --- notifications ------------------------------------------------------------------------
    def configure_notifications(
        self,
        url: str | None,
        *,
        topics: Sequence[str] | None = None,
        application_id: str | int | None = None,
        disable_topic_after: int | None = None,
        **options: Any,
    ) -> dict:
        """The application's callback settings: the `topics` it subscribes (default
        orders_v2, items and shipments), the `application_id` the notifications name (default
        ours), and after how many given-up notifications a topic is switched off."""
        super().configure_notifications(url, **options)
        wanted = list(NOTIFICATION_TOPICS if topics is None else topics)
        unknown = set(wanted) - set(NOTIFICATION_TOPICS)
        if unknown or not wanted:
            raise ValueError(
                f"topics must be some of {', '.join(NOTIFICATION_TOPICS)}; got {wanted}"
            )
        if disable_topic_after is not None and int(disable_topic_after) < 1:
            raise ValueError("disable_topic_after must be 1 or more")
        self.notification_topics = wanted
        self.notification_app_id = str(application_id or self.client_id)
        self.disable_topic_after = None if disable_topic_after is None else int(disable_topic_after)
        # Saving the application's settings subscribes its topics again.
        self.topic_failures.clear()
        self.disabled_topics.clear()
        return self.notification_options()

    def notification_options(self) -> dict:
        return {
            "topics": list(self.notification_topics),
            "application_id": self.notification_app_id,
            "user_id": int(self.seller_id),
            "disable_topic_after": self.disable_topic_after,
            "disabled_topics": list(self.disabled_topics),
        }

    def send_topic(self, topic: str, resource: str) -> None:
        """Notify the application of a change to `resource` when it subscribed `topic`."""
        if (
            self.notification_url is None
            or topic not in self.notification_topics
            or topic in self.disabled_topics
        ):
            return
        received = datetime.now(UTC)
        notification_id = str(uuid.uuid4())
        app_id = self.notification_app_id
        user_id = int(self.seller_id)

        def body(attempt: int) -> dict:
            return {
                "_id": notification_id,
                "resource": resource,
                "user_id": user_id,
                "topic": topic,
                "application_id": int(app_id) if app_id.isdigit() else app_id,
                "attempts": attempt,
                "sent": _utc_iso(datetime.now(UTC)),
                "received": _utc_iso(received),
            }

        self.notify(body, topic=topic, on_given_up=lambda: self._topic_failed(topic))

    def _topic_failed(self, topic: str) -> None:
        with self.lock:
            self.topic_failures[topic] = self.topic_failures.get(topic, 0) + 1
            limit = self.disable_topic_after
            if limit is not None and self.topic_failures[topic] >= limit:
                if topic not in self.disabled_topics:
                    self.disabled_topics.append(topic)
                    self.stats["notification topics disabled"] += 1

    # --- other vendor state -------------------------------------------------------------------
    def add_application(self, app_id: str, name: str, *, at: datetime | None = None) -> None:
        """Grant an application access to the seller (e.g. another ERP)."""
        with self.lock:
            self.applications.append(
                {
                    "app_id": str(app_id),
                    "name": name,
                    "date_created": _iso(at or self._tick()),
                    "scopes": ["offline_access", "read", "write"],
                }
            )

    def expire_access_tokens(self) -> None:
        """Make every issued access token invalid (the next API call answers 401)."""
        with self.lock:
            self.access_tokens.clear()

    def issue_access_token(self, *, ttl: float = ACCESS_TOKEN_TTL) -> str:
        """An access token valid right now, without spending the refresh token (tests)."""
        with self.lock:
            token = f"APP_USR-demo-access-{next(self._token_seq)}-{self.seller_id}"
            self.access_tokens[token] = time.monotonic() + ttl
            self.issued_tokens.add(token)
            return token

    def extra_stats(self) -> dict:
        with self.lock:
            return {
                "listings": len(self.listings),
                "orders": len(self.orders),
                "variations_deleted": len(self.deleted_variations),
            }
