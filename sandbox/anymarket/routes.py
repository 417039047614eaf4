"""ANYMARKET's API v2 as the connector uses it: the routes, the vendor's validation, its
error bodies (`{"code","message","details"}`, 422 for validation) and its state (products,
SKUs, stock per location, orders and their feed). Demo data and credentials: `fixtures.py`.

Every rule is written from ANYMARKET's API v2 documentation (as summarized in
shared/channel-apis.md), never from the connector's declarations: a connector that misreads a
rule meets the vendor's, not its own. Where the documentation is silent the emulator assumes,
and says so (?):
- the stock batch cap (the docs give no maximum per PUT /v2/stocks);
- `mark_linked_to(erp)` makes writes answer 403 with a message naming the other back office:
  ANYMARKET's one-back-office rule enforced the way a vendor would, not a documented body;
- acknowledging a feed item with a token that is not its current one answers 422.
"""

from __future__ import annotations

import hmac
import math
import random
import re
import zlib
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn
from urllib.parse import unquote

from sandbox.anymarket.catalog import AnymarketCatalogRoutes
from sandbox.notify import RetryPolicy
from sandbox.people import cpf, place
from sandbox.server import (
    Emulator,
    Faults,
    HttpError,
    OrderLine,
    Request,
    Response,
    parse_order_line,
)

# 5,000 requests per hour per token, 429 beyond. Only the hourly quota is documented; the
# emulator spreads it evenly with a small burst (stricter than a fixed hourly window).
REQUESTS_PER_HOUR = 5000
BURST = 5
# PUT /v2/stocks takes a list; the docs give no maximum (?). 500 is the emulator's assumption,
# an instance setting (`stock_cap`) a test can change.
STOCK_BATCH_MAX = 500
# Items GET /v2/orders/feeds returns at once: not documented (?). Issue 11 measured fewer than
# the connector's 100 (70 pending orders needed two reads); the emulator answers 50, so a
# client that waits for a "full" page of 100 before reading on is caught.
FEED_PAGE_SIZE = 50
# Paged lists (GET /v2/products, /v2/orders) clamp larger `limit`s (maximum not documented (?)).
PAGE_LIMIT_MAX = 100
# Notifications (developers.anymarket.com.br/en/integration_guides/flow/notification): a POST
# of {"type": "ORDER" | "PRODUCT" | "TRANSMISSION" | "INBOUND_NFE", "content": {"id", "oi"}} to
# the callback URL registered in the account's parameters, answered 200 or 201 on success;
# "ANYMARKET will attempt to notify the partner 3 times at regular intervals", then the item
# goes to its feed (kept 30 days). The interval and the timeout are not given (?): the emulator
# waits 5 s for an answer and tries again after 1 minute. (ANYMARKET's support article on PUSH,
# suporteanymarket.freshdesk.com …/19000141409, speaks of up to 6 tries within 5 minutes; the
# developer guide's 3 is the stricter reading.) Orders are always on the emulator's feed.
NOTIFICATION_POLICY = RetryPolicy(
    attempts=3, delays=(60,), timeout=5.0, success=frozenset({200, 201})
)

# Order statuses (GET /v2/orders/{id}: `status`).
ORDER_STATUSES = (
    "PENDING",
    "PAID_WAITING_SHIP",
    "INVOICED",
    "PAID_WAITING_DELIVERY",
    "CONCLUDED",
    "CANCELED",
)
# Status changes a seller's PUT /v2/orders/{id} may make. The sale goes PAID_WAITING_SHIP →
# INVOICED (invoice: "Número da nota fiscal, Número de série, Chave da Nota Fiscal, Data da nota
# fiscal") → PAID_WAITING_DELIVERY ("Enviado": "Data de Envio, Código de Rastreamento, Previsão
# de Entrega, Transportadora, Link de acompanhamento") → CONCLUDED ("Data da Entrega"), as
# ANYMARKET's training material lists the data each step needs (escolademarketplace.com.br,
# "Status de Vendas"); field names from AnyMarket/anymarket-sdk-java (order/dto/Order.java:
# invoice, tracking, cancelDetails; InvoiceResource: accessKey, series, number, date;
# TrackingResource: number, carrier, url, shippedDate, estimateDate, deliveredDate). Which
# statuses may be canceled by the seller is not documented (?): before delivery here.
ORDER_TRANSITIONS = {
    "PENDING": ("CANCELED",),
    "PAID_WAITING_SHIP": ("INVOICED", "CANCELED"),
    "INVOICED": ("PAID_WAITING_DELIVERY", "CANCELED"),
    "PAID_WAITING_DELIVERY": ("CONCLUDED",),
    "CONCLUDED": (),
    "CANCELED": (),
}
ACCESS_KEY = re.compile(r"^[0-9]{44}$")
MARKETPLACES = ["MERCADO_LIVRE", "MAGAZINE_LUIZA", "AMAZON"]
# carrier (shippingCarrierNormalized) -> services (shippingtype)
CARRIERS = {
    "Correios": ["SEDEX", "PAC"],
    "Jadlog": [".Package"],
    "Mercado Envios": ["Normal", "Expresso"],
}
# paymentMethodNormalized -> the method as marketplaces send it
PAYMENTS = {"pix": "Pix", "credit_card": "Cartão de Crédito", "boleto": "Boleto Bancário"}
ORDER_EPOCH = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
# ANYMARKET works in Brasília time: a date sent without an offset is read in it.
SAO_PAULO = timezone(timedelta(hours=-3))


class AnymarketApi(AnymarketCatalogRoutes, Emulator):
    """The vendor's side; `fixtures.AnymarketEmulator` adds demo credentials and data. The
    account is the one the gumgaToken belongs to."""

    vendor = "anymarket"
    demo_account = "anymarket-demo"
    order_statuses = tuple(ORDER_STATUSES)
    rate = REQUESTS_PER_HOUR / 3600
    burst = BURST
    stock_cap = STOCK_BATCH_MAX  # a test may lower it on an instance
    feed_page_size = FEED_PAGE_SIZE
    max_page_limit = PAGE_LIMIT_MAX
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
        account = str(account or self.demo_account)
        self.token = dict(credentials or self.demo_credentials(account))["gumga_token"]
        self.account_id = account
        # Data generation has its own generator so fault rolls don't shift the data.
        self.data_random = random.Random(f"{seed}:{account}")
        # Stock-location ids are not unique across accounts at ANYMARKET: two accounts in
        # production both answered location 1 (issue 11, point 10). The emulator numbers each
        # account's locations from 1, so nothing may take a location id for the account.
        base = 1
        self.locals: dict[int, dict] = {
            local_id: {
                "id": local_id,
                "name": name,
                "virtual": False,
                "distributor": "",
                "defaultLocal": local_id == base,
                "zipCode": zip_code,
            }
            for local_id, name, zip_code in [
                (base, "Depósito Principal", "01310100"),
                (base + 1, "CD Extrema", "37640000"),
            ]
        }
        self.default_local_id = base
        self.products: dict[int, dict] = {}
        self.skus: dict[int, dict] = {}
        self.sku_ids_by_partner: dict[str, int] = {}
        self.stock: dict[str, dict[int, Decimal]] = {}  # partnerId -> stockLocalId -> qty
        self.orders: dict[int, dict] = {}
        self.feed: dict[int, str] = {}  # order id -> current token, in arrival order
        self.ack_counts: Counter[int] = Counter()
        self.linked_erp: str | None = None
        # The account's "oi" (its id in notifications, "99999." in the guide's examples).
        self.oi = f"{zlib.crc32(account.encode()) % 100_000}."
        self.notifications_given_up: Counter[str] = Counter()  # type -> count
        self._next_product = 1_000
        self._next_sku = 50_000
        self._next_order = 900_000
        super().__init__(account=account, rate=rate, burst=burst, faults=faults, seed=seed)

    # --- vendor rendering --------------------------------------------------------------------
    def error_body(self, status: int, message: str, code: str = "") -> Any:
        return {"code": str(status), "message": message, "details": code}

    def rate_limited_body(self) -> Any:
        return {
            "code": "429",
            "message": "Too many requests",
            "details": "Limite de 5000 requisições por hora por token.",
        }

    def authenticate(self, request: Request) -> None:
        # The API takes the token as a header or as a query parameter, both named gumgaToken.
        token = request.header("gumgaToken") or request.q("gumgaToken")
        if not token:
            raise HttpError(401, "NO_TOKEN", body={"response": "NO_TOKEN", "operation": "geral"})
        if not hmac.compare_digest(token.encode(), self.token.encode()):
            raise HttpError(401, "Token inválido.", body=_error(401, "Token inválido ou expirado."))

    def setup_routes(self) -> None:
        self.route("GET", "/v2/stocks/locals", self.get_locals)
        self.route("PUT", "/v2/stocks", self.put_stocks)
        self.route("GET", "/v2/stocks", self.get_stocks)
        self.route("GET", "/v2/products", self.get_products)
        self.route("GET", "/v2/products/{product_id}/skus/{sku_id}", self.get_sku)
        self.route("PUT", "/v2/products/{product_id}/skus/{sku_id}", self.put_sku)
        self.route("GET", "/v2/skus/partnerId/{partner_id}", self.get_sku_by_partner)
        self.route("GET", "/v2/orders", self.get_orders)
        # Before /v2/orders/{order_id}, which would otherwise match "feeds".
        self.route("GET", "/v2/orders/feeds", self.get_feed)
        self.route("PUT", "/v2/orders/feeds/{feed_id}", self.put_feed)
        self.route("GET", "/v2/orders/{order_id}", self.get_order)
        self.route("PUT", "/v2/orders/{order_id}", self.put_order)
        self.setup_catalog_routes()

    def extra_stats(self) -> dict:
        with self.lock:
            return {
                "account_id": self.account_id,
                "acks": {str(k): v for k, v in self.ack_counts.items()},
                "feed_pending": len(self.feed),
                "linked_to": self.linked_erp,
            }

    # --- handlers ------------------------------------------------------------------------
    def get_locals(self, request: Request) -> Response:
        return Response(200, [dict(loc) for loc in self.locals.values()])

    def put_stocks(self, request: Request) -> Response:
        self._refuse_if_linked()
        body = _json(request)
        if not isinstance(body, list):
            _fail(422, "O corpo deve ser uma lista de estoques.")
        if not body:
            _fail(422, "A lista de estoques está vazia.")
        if len(body) > self.stock_cap:
            _fail(
                422,
                f"Máximo de {self.stock_cap} itens por requisição.",
                f"recebidos {len(body)}",
            )
        updates: list[tuple[str, int, Decimal]] = []
        unknown: list[str] = []
        for index, entry in enumerate(body):
            if not isinstance(entry, dict):
                _fail(422, f"Item {index}: deve ser um objeto.")
            quantity = _number(entry.get("quantity"), f"Item {index}: quantity")
            if quantity is None:
                _fail(422, f"Item {index}: quantity é obrigatório.")
            if quantity < 0:
                _fail(422, f"Item {index}: quantity não pode ser negativo.")
            for optional in ("cost", "additionalTime"):
                _number(entry.get(optional), f"Item {index}: {optional}")
            local_id = entry.get("stockLocalId", self.default_local_id)
            if not isinstance(local_id, int) or isinstance(local_id, bool):
                _fail(422, f"Item {index}: stockLocalId deve ser numérico.")
            if local_id not in self.locals:
                _fail(422, f"Item {index}: local de estoque {local_id} não encontrado.")
            partner_id = entry.get("partnerId")
            if partner_id is not None:
                if not isinstance(partner_id, str) or not partner_id:
                    _fail(422, f"Item {index}: partnerId inválido.")
                if partner_id not in self.sku_ids_by_partner:
                    unknown.append(partner_id)
                    continue
            elif "id" in entry:
                sku_id = entry["id"]
                if not isinstance(sku_id, int) or isinstance(sku_id, bool):
                    _fail(422, f"Item {index}: id deve ser numérico.")
                if sku_id not in self.skus:
                    unknown.append(str(sku_id))
                    continue
                partner_id = self.skus[sku_id]["partnerId"]
            else:
                _fail(422, f"Item {index}: informe partnerId ou id do SKU.")
            updates.append((partner_id, local_id, quantity))
        if unknown:
            # The batch is refused whole: nothing is applied.
            _fail(422, "SKU não encontrado.", "partnerId/id: " + ", ".join(unknown[:20]))
        for partner_id, local_id, quantity in updates:
            self.stock.setdefault(partner_id, {})[local_id] = quantity
        return Response(200, None)

    def get_stocks(self, request: Request) -> Response:
        """The account's stock rows, one per SKU × stock location that holds a record,
        paged like every list, filtered by `idSku` / `idStockLocal` (AnyMarket SDK
        StockService.getStock: idSku, idStockLocal, sku, offset, limit, sort, sortDirection;
        rows are StockItem: stockKeepingUnit, stockLocal, amount, reservationAmount,
        availableAmount, price, active, lastStockUpdate, additionalTime). No reservation is
        modelled: availableAmount = amount."""
        offset, limit = _paging(request, self.max_page_limit)
        id_sku, id_local = request.q("idSku"), request.q("idStockLocal")
        rows = []
        for sku_id in sorted(self.skus):
            sku = self.skus[sku_id]
            if id_sku and str(sku_id) != id_sku:
                continue
            for local_id, amount in sorted(self.stock.get(sku["partnerId"], {}).items()):
                if id_local and str(local_id) != id_local:
                    continue
                rows.append(
                    {
                        "stockKeepingUnit": {
                            "id": sku_id,
                            "partnerId": sku["partnerId"],
                            "title": sku["title"],
                        },
                        "stockLocal": {"id": local_id, "name": self.locals[local_id]["name"]},
                        "amount": float(amount),
                        "reservationAmount": 0.0,
                        "availableAmount": float(amount),
                        "price": float(sku["sellPrice"]),
                        "active": True,
                        "additionalTime": sku["additionalTime"],
                    }
                )
        content = rows[offset : offset + limit]
        return Response(200, self._page("stocks", content, offset, limit, len(rows)))

    def get_products(self, request: Request) -> Response:
        offset, limit = _paging(request, self.max_page_limit)
        products = self.products_with_sku(request)
        if products is None:
            products = list(self.products.values())
        content = [self._product_json(p) for p in products[offset : offset + limit]]
        return Response(200, self._page("products", content, offset, limit, len(products)))

    def get_sku(self, request: Request) -> Response:
        return Response(200, self._sku_json(self._sku_of_product(request)))

    def put_sku(self, request: Request) -> Response:
        self._refuse_if_linked()
        sku = self._sku_of_product(request)
        body = _json(request)
        if not isinstance(body, dict):
            _fail(422, "O corpo deve ser um objeto SKU.")
        for field in ("title", "partnerId"):
            if not isinstance(body.get(field), str) or not body[field].strip():
                # The PUT replaces the SKU: a body with only prices is refused.
                _fail(422, f"O campo {field} é obrigatório.")
        price = _number(body.get("price"), "price")
        sell_price = _number(body.get("sellPrice"), "sellPrice")
        if price is None or sell_price is None or price <= 0 or sell_price <= 0:
            _fail(422, "price e sellPrice são obrigatórios e maiores que zero.")
        if sell_price > price:
            _fail(422, "O preço por (sellPrice) não pode ser maior que o preço de (price).")
        partner_id = body["partnerId"]
        if partner_id != sku["partnerId"] and partner_id in self.sku_ids_by_partner:
            _fail(422, f"O partnerId {partner_id} já pertence a outro SKU.")
        if partner_id != sku["partnerId"]:
            del self.sku_ids_by_partner[sku["partnerId"]]
            self.stock[partner_id] = self.stock.pop(sku["partnerId"], {})
            self.sku_ids_by_partner[partner_id] = sku["id"]
        sku.update(
            partnerId=partner_id,
            title=body["title"],
            ean=str(body.get("ean") or ""),
            price=price,
            sellPrice=sell_price,
        )
        if isinstance(body.get("variations"), dict) and body["variations"] != sku["variations"]:
            sku["variations"] = dict(body["variations"])
        self.record_catalog(partner_id, "update_sku", id=sku["id"])
        self.send_notification("PRODUCT", sku["productId"])
        if "amount" in body:
            # `amount` is the SKU's stock: a client that echoes it back overwrites stock.
            amount = _number(body["amount"], "amount")
            if amount is not None:
                self.stock.setdefault(partner_id, {})[self.default_local_id] = amount
        return Response(200, self._sku_json(sku))

    def get_sku_by_partner(self, request: Request) -> Response:
        partner_id = unquote(request.params["partner_id"])  # ERP codes may hold "/", "Ú"…
        sku_id = self.sku_ids_by_partner.get(partner_id)
        if sku_id is None:
            _fail(404, f"SKU com partnerId '{partner_id}' não encontrado.")
        sku = self.skus[sku_id]
        data = self._sku_json(sku)
        if request.q("showProduct") == "true":
            product = self.products[sku["productId"]]
            data["product"] = {"id": product["id"], "title": product["title"]}
        return Response(200, data)

    def get_orders(self, request: Request) -> Response:
        """GET /v2/orders, oldest first, with the createdAfter / createdBefore filters
        (ISO dates with an offset, both inclusive) that public ANYMARKET clients send
        (`?createdAfter=2024-01-23T00:00:00-03:00&createdBefore=…&limit=100&offset=…`)."""
        offset, limit = _paging(request, self.max_page_limit)
        orders = list(self.orders.values())
        for name, upper in (("createdAfter", False), ("createdBefore", True)):
            raw = request.q(name)
            if not raw:
                continue
            try:
                bound = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
            except ValueError:
                _fail(422, f"{name} inválido: {raw!r}.")
            if bound.tzinfo is None:
                bound = bound.replace(tzinfo=SAO_PAULO)
            orders = [
                o for o in orders if (_created(o) <= bound if upper else _created(o) >= bound)
            ]
        content = [dict(o) for o in orders[offset : offset + limit]]
        return Response(200, self._page("orders", content, offset, limit, len(orders)))

    def get_feed(self, request: Request) -> Response:
        items = list(self.feed.items())[: self.feed_page_size]
        return Response(200, [{"id": order_id, "token": token} for order_id, token in items])

    def put_feed(self, request: Request) -> Response:
        self._refuse_if_linked()
        raw_id = request.params["feed_id"]
        feed_id = int(raw_id) if raw_id.isdigit() else None
        if feed_id is None or feed_id not in self.feed:
            _fail(404, f"Item do feed '{raw_id}' não encontrado.")
        body = _json(request)
        if not isinstance(body, dict) or not isinstance(body.get("token"), str):
            _fail(422, "Informe o token do item do feed.")
        if not hmac.compare_digest(body["token"].encode(), self.feed[feed_id].encode()):
            _fail(422, "Token inválido para o item do feed.", "o pedido mudou desde a leitura")
        del self.feed[feed_id]
        self.ack_counts[feed_id] += 1
        return Response(200, None)

    def get_order(self, request: Request) -> Response:
        raw_id = request.params["order_id"]
        order = self.orders.get(int(raw_id)) if raw_id.isdigit() else None
        if order is None:
            _fail(404, f"Recurso com o id '{raw_id}' não encontrado.")
        return Response(200, dict(order))

    def put_order(self, request: Request) -> Response:
        """A seller's status change with the data the new status needs (ORDER_TRANSITIONS).
        Answered 422 in ANYMARKET's shape when the transition or a field is refused; the
        same status again is refused too (no change is idempotent here (?))."""
        raw_id = request.params["order_id"]
        order = self.orders.get(int(raw_id)) if raw_id.isdigit() else None
        if order is None:
            _fail(404, f"Recurso com o id '{raw_id}' não encontrado.")
        body = _json(request)
        if not isinstance(body, dict):
            _fail(422, "O corpo deve ser um objeto.")
        status, current = body.get("status"), order["status"]
        if status not in ORDER_STATUSES:
            _fail(422, f"status inválido: {status!r}.")
        if status not in ORDER_TRANSITIONS[current]:
            _fail(422, f"Não é possível alterar o status do pedido de {current} para {status}.")
        if status == "INVOICED":
            invoice = _object(body, "invoice")
            for name in ("accessKey", "series", "number", "date"):
                _required(invoice, name, "invoice")
            if not ACCESS_KEY.match(str(invoice["accessKey"])):
                _fail(422, "invoice.accessKey deve ter 44 dígitos.")
            _date(invoice["date"], "invoice.date")
            order["invoice"] = {**invoice}
            self.record_fulfilment(raw_id, "invoice", **order["invoice"])
        elif status == "PAID_WAITING_DELIVERY":
            tracking = _object(body, "tracking")
            for name in ("number", "carrier", "shippedDate", "estimateDate"):
                _required(tracking, name, "tracking")
            _date(tracking["shippedDate"], "tracking.shippedDate")
            _date(tracking["estimateDate"], "tracking.estimateDate")
            order["tracking"] = {**order.get("tracking", {}), **tracking}
            self.record_fulfilment(raw_id, "tracking", **tracking)
        elif status == "CONCLUDED":
            tracking = _object(body, "tracking")
            _required(tracking, "deliveredDate", "tracking")
            _date(tracking["deliveredDate"], "tracking.deliveredDate")
            order["tracking"] = {**order.get("tracking", {}), **tracking}
            self.record_fulfilment(raw_id, "delivered", deliveredDate=tracking["deliveredDate"])
        else:  # CANCELED
            order["cancelDetails"] = str(body.get("cancelDetails") or "")
            self.record_fulfilment(raw_id, "cancel", reason=order["cancelDetails"])
        order["status"] = status
        order["marketPlaceStatus"] = status.lower()
        self._touch_feed(int(raw_id))
        return Response(200, dict(order))

    # --- rendering helpers -----------------------------------------------------------------
    def _sku_of_product(self, request: Request) -> dict:
        raw_product, raw_sku = request.params["product_id"], request.params["sku_id"]
        sku = self.skus.get(int(raw_sku)) if raw_sku.isdigit() else None
        if sku is None or str(sku["productId"]) != raw_product:
            _fail(404, f"Recurso com o id '{raw_sku}' não encontrado.")
        return sku

    def _sku_json(self, sku: dict) -> dict:
        return {
            "id": sku["id"],
            "title": sku["title"],
            "partnerId": sku["partnerId"],
            "ean": sku["ean"],
            "amount": float(self.stock_of(sku["partnerId"])),
            "additionalTime": sku["additionalTime"],
            "price": float(sku["price"]),
            "sellPrice": float(sku["sellPrice"]),
            "variations": dict(sku["variations"]),
        }

    def _product_json(self, product: dict) -> dict:
        return {
            "id": product["id"],
            "title": product["title"],
            "hasVariations": len(product["skus"]) > 1,
            "skus": [self._sku_json(self.skus[sku_id]) for sku_id in product["skus"]],
            # Catalog fields, for products created through POST /v2/products.
            **{
                name: product[name]
                for name in (
                    "description",
                    "model",
                    "category",
                    "brand",
                    "nbm",
                    "origin",
                    "height",
                    "width",
                    "length",
                    "weight",
                    "priceFactor",
                    "calculatedPrice",
                    "isProductActive",
                    "images",
                )
                if name in product
            },
        }

    def _page(self, resource: str, content: list, offset: int, limit: int, total: int) -> dict:
        links = []
        if offset > 0:
            links.append(
                {
                    "rel": "prev",
                    "href": f"/v2/{resource}?offset={max(offset - limit, 0)}&limit={limit}",
                }
            )
        if offset + limit < total:
            links.append(
                {"rel": "next", "href": f"/v2/{resource}?offset={offset + limit}&limit={limit}"}
            )
        return {
            "links": links,
            "content": content,
            "page": {
                "size": limit,
                "totalElements": total,
                "totalPages": max(math.ceil(total / limit), 1),
                "number": offset // limit,
            },
        }

    def _refuse_if_linked(self) -> None:
        if self.linked_erp:
            _fail(
                403,
                f"Esta conta já está integrada ao backoffice {self.linked_erp}; o ANYMARKET "
                "permite apenas um backoffice (ERP) por conta.",
                "BACKOFFICE_ALREADY_LINKED",
            )

    # --- test and demo helpers ----------------------------------------------------------------
    def mark_linked_to(self, erp_name: str | None) -> None:
        """Model an account already integrated with another ERP (None undoes it)."""
        with self.lock:
            self.linked_erp = erp_name or None

    def add_product(self, title: str, skus: list[dict]) -> dict:
        """Add a product; each SKU dict needs `partnerId` and may give ean, title, price,
        sellPrice, amount (stock at the default location) and variations."""
        with self.lock:
            product = {"id": self._next_product, "title": title, "skus": []}
            self._next_product += 1
            for spec in skus:
                partner_id = spec["partnerId"]
                if partner_id in self.sku_ids_by_partner:
                    raise ValueError(f"partnerId {partner_id!r} already exists")
                price = Decimal(str(spec.get("price", "99.90")))
                sku = {
                    "id": self._next_sku,
                    "productId": product["id"],
                    "partnerId": partner_id,
                    "ean": str(spec.get("ean", "")),
                    "title": spec.get("title") or title,
                    "price": price,
                    "sellPrice": Decimal(str(spec.get("sellPrice", price))),
                    "additionalTime": int(spec.get("additionalTime", 0)),
                    "variations": dict(spec.get("variations", {})),
                }
                self._next_sku += 1
                self.skus[sku["id"]] = sku
                self.sku_ids_by_partner[partner_id] = sku["id"]
                self.stock[partner_id] = {
                    self.default_local_id: Decimal(str(spec.get("amount", 0)))
                }
                product["skus"].append(sku["id"])
            self.products[product["id"]] = product
            return self._product_json(product)

    def add_order(
        self,
        lines: Sequence[OrderLine] | None = None,
        *,
        status: str | None = None,
        carrier: tuple[str, str] | None = None,
        payment: str | None = None,
        marketplace: str = "MERCADO_LIVRE",
        buyer_name: str = "Ana Souza",
        freight: str | Decimal = "19.90",
        created_at: datetime | None = None,
    ) -> str:
        """Add an order and put it on the feed; returns its id. `carrier` is
        (shippingCarrierNormalized, shippingtype), default ("Correios", "SEDEX"); `payment` a
        paymentMethodNormalized, default "pix"; `marketplace` the one that sold it."""
        status = status or "PAID_WAITING_SHIP"
        carrier_name, service = carrier or ("Correios", "SEDEX")
        payment = payment or "pix"
        if status not in ORDER_STATUSES:
            raise ValueError(f"unknown ANYMARKET status {status!r}")
        with self.lock:
            if lines is None:
                if not self.sku_ids_by_partner:
                    raise ValueError("add a product first, or pass lines")
                lines = [(next(iter(self.sku_ids_by_partner)), 1)]
            resolved = []
            for line in lines:
                partner_id, quantity, unit = parse_order_line(line)
                sku = self._sku_by_partner(partner_id)
                resolved.append((partner_id, quantity, sku["sellPrice"] if unit is None else unit))
            order_id = self._next_order
            self._next_order += 1
            created = created_at or ORDER_EPOCH + timedelta(minutes=7 * len(self.orders))
            items = []
            items_total = Decimal("0")
            for position, (partner_id, quantity, unit) in enumerate(resolved):
                sku = self.skus[self.sku_ids_by_partner[partner_id]]
                product = self.products[sku["productId"]]
                unit = Decimal(str(unit))
                total = unit * quantity
                items_total += total
                items.append(
                    {
                        "product": {"id": product["id"], "title": product["title"]},
                        "sku": {"id": sku["id"], "title": sku["title"], "partnerId": partner_id},
                        "amount": quantity,
                        "unit": float(unit),
                        "gross": float(total),
                        "total": float(total),
                        "discount": 0,
                        "shippings": [
                            {
                                "id": order_id * 10 + position,
                                "shippingtype": service,
                                "shippingCarrierNormalized": carrier_name,
                                "shippingCarrierTypeNormalized": service,
                            }
                        ],
                        "marketPlaceId": f"{marketplace[:3]}-{order_id}-{position}",
                    }
                )
            freight = Decimal(str(freight))
            total = items_total + freight
            document = cpf(self.data_random.randrange(10**9))
            place_ = place(order_id)
            order = {
                "id": order_id,
                "accountName": f"{self.account_id} {marketplace.title().replace('_', ' ')}",
                "marketPlaceId": f"{marketplace[:3]}{order_id}",
                "marketPlaceNumber": f"{2000000000 + order_id}",
                "marketPlace": marketplace,
                "createdAt": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "paymentDate": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "status": status,
                "marketPlaceStatus": status.lower(),
                "discount": 0,
                "freight": float(freight),
                "gross": float(total),
                "total": float(total),
                # As in ANYMARKET's order example (developers.anymarket.com.br/en/
                # integration_guides/sandbox/test_order): `address` is the whole line,
                # `comment` the complement, zipCode "10120-080".
                "shipping": {
                    "city": place_.city,
                    "state": place_.state,
                    "country": "BR",
                    "address": f"{place_.street} - {place_.number} - {place_.district}",
                    "number": place_.number,
                    "neighborhood": place_.district,
                    "street": place_.street,
                    "comment": place_.complement,
                    "zipCode": f"{place_.cep[:5]}-{place_.cep[5:]}",
                    "receiverName": buyer_name,
                },
                "buyer": {
                    "name": buyer_name,
                    "email": buyer_name.lower().replace(" ", ".") + "@example.com",
                    "document": f"{document[:3]}.{document[3:6]}.{document[6:9]}-{document[9:]}",
                    "documentType": "CPF",
                    "documentNumberNormalized": document,
                    "phone": f"({place_.phone[:2]}) {place_.phone[2:7]}-{place_.phone[7:]}",
                },
                "payments": [
                    {
                        "method": PAYMENTS.get(payment, payment),
                        "status": "Aprovado",
                        "value": float(total),
                        "installments": 1,
                        "paymentMethodNormalized": payment,
                    }
                ],
                "items": items,
                "tracking": {"carrier": carrier_name, "deliveryMethodName": service},
            }
            self.orders[order_id] = order
            self._touch_feed(order_id)
            return str(order_id)

    def set_order_status(self, order_id: str, status: str) -> None:
        """Change an order's status; its feed item gets a new token."""
        if status not in ORDER_STATUSES:
            raise ValueError(f"unknown ANYMARKET status {status!r}")
        with self.lock:
            order = self.orders[int(order_id)]
            order["status"] = status
            order["marketPlaceStatus"] = status.lower()
            self._touch_feed(int(order_id))

    def _touch_feed(self, order_id: int) -> str:
        token = f"{self.data_random.getrandbits(96):024x}"
        self.feed.pop(order_id, None)  # a changed order moves to the end with a new token
        self.feed[order_id] = token
        self.send_notification("ORDER", order_id)
        return token

    def send_notification(self, kind: str, resource_id: int | str) -> None:
        """Tell the account's callback URL that a resource of `kind` changed."""
        self.notify(
            {"type": kind, "content": {"id": str(resource_id), "oi": self.oi}},
            topic=kind,
            on_given_up=lambda: self._given_up(kind),
        )

    def _given_up(self, kind: str) -> None:
        with self.lock:
            self.notifications_given_up[kind] += 1

    def notification_options(self) -> dict:
        return {"oi": self.oi, "given_up": dict(self.notifications_given_up)}

    def _sku_by_partner(self, partner_id: str) -> dict:
        sku_id = self.sku_ids_by_partner.get(partner_id)
        if sku_id is None:
            raise KeyError(f"no SKU has the partnerId {partner_id!r}")
        return self.skus[sku_id]

    # --- the control interface ----------------------------------------------------------------
    @property
    def credentials(self) -> dict[str, str]:
        return {"gumga_token": self.token}

    def secrets(self) -> set[str]:
        return {self.token}

    def stock_of(self, seller_sku: str, location: str | int | None = None) -> Decimal:
        """Quantity at one stock location (stockLocalId), or the sum over every location."""
        with self.lock:
            self._sku_by_partner(seller_sku)
            per_local = self.stock.get(seller_sku, {})
            if location is not None:
                return per_local.get(int(location), Decimal("0"))
            return sum(per_local.values(), Decimal("0"))

    def set_stock(self, seller_sku: str, quantity: int, location: int | None = None) -> None:
        """Set the stock at the default location (or at `location`), as ANYMARKET does when
        a marketplace sells or someone edits it there."""
        with self.lock:
            self._sku_by_partner(seller_sku)
            local_id = self.default_local_id if location is None else int(location)
            self.stock.setdefault(seller_sku, {})[local_id] = Decimal(quantity)

    def price_of(self, seller_sku: str) -> Decimal:
        """The sellPrice ("preço por"); the SKU's `price` is the list price ("preço de")."""
        with self.lock:
            return self._sku_by_partner(seller_sku)["sellPrice"]

    def order_ids(self) -> list[str]:
        with self.lock:
            return [str(order_id) for order_id in self.orders]

    def order_lines(self, order_id: str) -> list[tuple[str, int]]:
        with self.lock:
            return [
                (item["sku"]["partnerId"], item["amount"])
                for item in self.orders[int(order_id)]["items"]
            ]

    def order_destination(self, order_id: str) -> tuple[str, str, str]:
        with self.lock:
            order = self.orders[int(order_id)]
            return (
                re.sub(r"\D", "", order["shipping"]["zipCode"]),
                order["shipping"]["city"],
                re.sub(r"\D", "", order["buyer"]["document"]),
            )

    def feed_backlog(self) -> int:
        with self.lock:
            return len(self.feed)

    def stock_items_in(self, request: Request) -> int:
        if request.method != "PUT" or request.path != "/v2/stocks":
            return 0
        try:
            body = request.json()
        except HttpError:
            return 0
        return len(body) if isinstance(body, list) else 0


# --- module helpers ------------------------------------------------------------------------


def _error(status: int, message: str, details: str = "") -> dict:
    return {"code": str(status), "message": message, "details": details}


def _fail(status: int, message: str, details: str = "") -> NoReturn:
    raise HttpError(status, message, body=_error(status, message, details))


def _json(request: Request) -> Any:
    try:
        return request.json()
    except HttpError as exc:  # BadRequest: no body or not JSON
        _fail(400, exc.message)


def _number(value: Any, label: str) -> Decimal | None:
    """None when absent; a 422 when present but not a JSON number."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        _fail(422, f"{label} deve ser numérico.")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        _fail(422, f"{label} deve ser numérico.")


def _object(body: dict, name: str) -> dict:
    value = body.get(name)
    if not isinstance(value, dict):
        _fail(422, f"{name} é obrigatório para o status {body.get('status')}.")
    return value


def _required(data: dict, name: str, where: str) -> None:
    if data.get(name) in (None, ""):
        _fail(422, f"{where}.{name} é obrigatório.")


def _date(value: Any, label: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        _fail(422, f"{label} não é uma data válida: {value!r}.")
    return moment if moment.tzinfo else moment.replace(tzinfo=SAO_PAULO)


def _created(order: dict) -> datetime:
    return datetime.fromisoformat(order["createdAt"].replace("Z", "+00:00"))


def _paging(request: Request, max_limit: int) -> tuple[int, int]:
    try:
        offset = int(request.q("offset", "0"))
        limit = int(request.q("limit", "5"))
    except ValueError:
        _fail(422, "offset e limit devem ser numéricos.")
    if offset < 0 or limit < 1:
        _fail(422, "offset deve ser >= 0 e limit >= 1.")
    return offset, min(limit, max_limit)
