"""ANYMARKET API v2 emulator: the endpoints the connector uses, with state, the vendor's
rate limit, the declared batch cap, strict payload shapes and ANYMARKET's error bodies
(`{"code","message","details"}`, 422 for validation).

What it models beyond the documents (said here so nobody mistakes it for vendor fact):
- the stock batch cap is the connector's declared limit (the docs give none (?));
- `mark_linked_to(erp)` makes writes answer 403 with a message naming the other back office:
  ANYMARKET's one-back-office rule enforced the way a vendor would, not a documented body;
- acknowledging a feed item with a token that is not its current one answers 422.
"""

from __future__ import annotations

import hmac
import math
import random
import zlib
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn
from urllib.parse import unquote

from sandbox.server import (
    Emulator,
    Faults,
    HttpError,
    Request,
    Response,
)
from vendors.anymarket.adapter import ORDER_STATUSES, AnymarketConnector
from vendors.spec import Flow

MARKETPLACES = ["MERCADO_LIVRE", "MAGAZINE_LUIZA", "AMAZON"]
# carrier (shippingCarrierNormalized) -> services (shippingtype)
CARRIERS = {
    "Correios": ["SEDEX", "PAC"],
    "Jadlog": [".Package"],
    "Mercado Envios": ["Normal", "Expresso"],
}
# paymentMethodNormalized -> the method as marketplaces send it
PAYMENTS = {"pix": "Pix", "credit_card": "Cartão de Crédito", "boleto": "Boleto Bancário"}
STATUSES = list(ORDER_STATUSES)
BUYERS = ["Ana Souza", "Bruno Lima", "Carla Dias", "Diego Rocha", "Elisa Martins", "Felipe Alves"]
PRODUCT_NAMES = ["Camiseta Básica", "Calça Jeans", "Tênis Corrida", "Garrafa Térmica", "Mochila"]
ORDER_EPOCH = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


class AnymarketEmulator(Emulator):
    vendor = "anymarket"
    rate = AnymarketConnector.spec.limits.requests_per_second
    burst = AnymarketConnector.spec.limits.burst
    # The connector's declared cap; a test may lower it on an instance.
    stock_cap = AnymarketConnector.spec.limits.for_flow(Flow.STOCK).max_items_per_request
    # Items GET /v2/orders/feeds returns at once (vendor value not documented (?)).
    feed_page_size = 100
    max_page_limit = 100  # larger `limit`s are clamped, as many paged APIs do

    def __init__(
        self,
        *,
        credentials: dict | None = None,
        account_id: str = "anymarket-demo",
        rate: float | None = None,
        burst: int | None = None,
        faults: Faults | None = None,
        seed: int = 1,
    ) -> None:
        self.credentials = dict(credentials or self.demo_credentials())
        self.token = self.credentials["gumga_token"]
        self.account_id = account_id
        # Data generation has its own generator so fault rolls don't shift the data.
        self.data_random = random.Random(f"{seed}:{account_id}")
        # Ids are global sequences at ANYMARKET; stock locations get account-derived ids so
        # two emulated accounts never share one (the connector's account identity).
        base = 100_000 + zlib.crc32(account_id.encode()) % 800_000
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
        self._next_product = 1_000
        self._next_sku = 50_000
        self._next_order = 900_000
        super().__init__(rate=rate, burst=burst, faults=faults, seed=seed)

    @classmethod
    def demo_credentials(cls) -> dict[str, str]:
        return {"gumga_token": "DEMO-gumga-token-not-a-secret"}

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
        self.route("GET", "/v2/products", self.get_products)
        self.route("GET", "/v2/products/{product_id}/skus/{sku_id}", self.get_sku)
        self.route("PUT", "/v2/products/{product_id}/skus/{sku_id}", self.put_sku)
        self.route("GET", "/v2/skus/partnerId/{partner_id}", self.get_sku_by_partner)
        self.route("GET", "/v2/orders", self.get_orders)
        # Before /v2/orders/{order_id}, which would otherwise match "feeds".
        self.route("GET", "/v2/orders/feeds", self.get_feed)
        self.route("PUT", "/v2/orders/feeds/{feed_id}", self.put_feed)
        self.route("GET", "/v2/orders/{order_id}", self.get_order)

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
        self.stats["stock batches"] += 1
        self.stats["stock items"] += len(updates)
        return Response(200, None)

    def get_products(self, request: Request) -> Response:
        offset, limit = _paging(request, self.max_page_limit)
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
        offset, limit = _paging(request, self.max_page_limit)
        orders = list(self.orders.values())
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
        *,
        lines: list[tuple[str, int, str | Decimal]],
        status: str = "PAID_WAITING_SHIP",
        marketplace: str = "MERCADO_LIVRE",
        carrier: str = "Correios",
        service: str = "SEDEX",
        payment: str = "pix",
        buyer_name: str = "Ana Souza",
        freight: str | Decimal = "19.90",
        created_at: datetime | None = None,
    ) -> dict:
        """Add an order and put it on the feed. `lines` are (partnerId, quantity, unit price)
        of existing SKUs."""
        if status not in STATUSES:
            raise ValueError(f"unknown ANYMARKET status {status!r}")
        with self.lock:
            order_id = self._next_order
            self._next_order += 1
            created = created_at or ORDER_EPOCH + timedelta(minutes=7 * len(self.orders))
            items = []
            items_total = Decimal("0")
            for position, (partner_id, quantity, unit) in enumerate(lines):
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
                                "shippingCarrierNormalized": carrier,
                                "shippingCarrierTypeNormalized": service,
                            }
                        ],
                        "marketPlaceId": f"{marketplace[:3]}-{order_id}-{position}",
                    }
                )
            freight = Decimal(str(freight))
            total = items_total + freight
            document = _cpf(self.data_random)
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
                "shipping": {
                    "city": "São Paulo",
                    "state": "SP",
                    "zipCode": "01310100",
                    "street": "Avenida Paulista",
                    "number": "1000",
                    "receiverName": buyer_name,
                },
                "buyer": {
                    "name": buyer_name,
                    "email": buyer_name.lower().replace(" ", ".") + "@example.com",
                    "document": f"{document[:3]}.{document[3:6]}.{document[6:9]}-{document[9:]}",
                    "documentType": "CPF",
                    "documentNumberNormalized": document,
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
                "tracking": {"carrier": carrier, "deliveryMethodName": service},
            }
            self.orders[order_id] = order
            self._touch_feed(order_id)
            return dict(order)

    def set_order_status(self, order_id: int, status: str) -> str:
        """Change an order's status; its feed item gets a new token. Returns the token."""
        if status not in STATUSES:
            raise ValueError(f"unknown ANYMARKET status {status!r}")
        with self.lock:
            self.orders[order_id]["status"] = status
            self.orders[order_id]["marketPlaceStatus"] = status.lower()
            return self._touch_feed(order_id)

    def _touch_feed(self, order_id: int) -> str:
        token = f"{self.data_random.getrandbits(96):024x}"
        self.feed.pop(order_id, None)  # a changed order moves to the end with a new token
        self.feed[order_id] = token
        return token

    def stock_of(self, partner_id: str, stock_local_id: int | None = None) -> Decimal:
        """Quantity at one location, or the sum over every location."""
        with self.lock:
            per_local = self.stock.get(partner_id, {})
            if stock_local_id is not None:
                return per_local.get(stock_local_id, Decimal("0"))
            return sum(per_local.values(), Decimal("0"))

    def price_of(self, partner_id: str) -> dict[str, Decimal]:
        with self.lock:
            sku = self.skus[self.sku_ids_by_partner[partner_id]]
            return {"price": sku["price"], "sellPrice": sku["sellPrice"]}

    def seed_data(
        self, *, listings: int = 0, orders: int = 0, partner_ids: list[str] | None = None
    ) -> None:
        """Deterministic data: `listings` SKUs (two per product, as size variations) and
        `orders` orders over them. `partner_ids` names the SKUs (e.g. the ERP's demo codes)."""
        rnd = self.data_random
        codes = list(partner_ids or [])
        count = len(codes) if partner_ids else listings
        if orders and not count and not self.skus:
            count = 6  # orders need SKUs to point at
        codes += [f"SKU-{len(self.skus) + n + 1:05d}" for n in range(len(codes), count)]
        for start in range(0, len(codes), 2):
            name = f"{PRODUCT_NAMES[(start // 2) % len(PRODUCT_NAMES)]} {start // 2 + 1}"
            specs = []
            for offset, code in enumerate(codes[start : start + 2]):
                sell = Decimal(rnd.randrange(1990, 49990, 100)) / 100
                specs.append(
                    {
                        "partnerId": code,
                        "ean": _ean13(f"789{len(self.skus) + len(specs) + 1:09d}"),
                        "title": f"{name} {'PM'[offset]}",
                        "price": sell + Decimal("20.00") * rnd.randrange(0, 2),
                        "sellPrice": sell,
                        "amount": rnd.randrange(0, 60),
                        "variations": {"Tamanho": "PM"[offset]},
                    }
                )
            self.add_product(name, specs)
        all_codes = list(self.sku_ids_by_partner)
        for _ in range(orders):
            carrier = rnd.choice(list(CARRIERS))
            chosen = rnd.sample(all_codes, k=min(len(all_codes), rnd.randint(1, 3)))
            self.add_order(
                lines=[
                    (code, rnd.randint(1, 3), self.skus[self.sku_ids_by_partner[code]]["sellPrice"])
                    for code in chosen
                ],
                status=rnd.choices(STATUSES, weights=[2, 6, 2, 2, 1, 1])[0],
                marketplace=rnd.choice(MARKETPLACES),
                carrier=carrier,
                service=rnd.choice(CARRIERS[carrier]),
                payment=rnd.choice(list(PAYMENTS)),
                buyer_name=rnd.choice(BUYERS),
                freight=Decimal(rnd.randrange(0, 3990, 10)) / 100,
            )

    def seed_demo(self, *, sku_codes: list[str], orders: int = 20) -> None:
        """The demo catalog's SKUs (partnerId = the ERP code, as `sync.demo` makes them)
        and `orders` orders over them."""
        self.seed_data(partner_ids=list(sku_codes), orders=orders)


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


def _paging(request: Request, max_limit: int) -> tuple[int, int]:
    try:
        offset = int(request.q("offset", "0"))
        limit = int(request.q("limit", "5"))
    except ValueError:
        _fail(422, "offset e limit devem ser numéricos.")
    if offset < 0 or limit < 1:
        _fail(422, "offset deve ser >= 0 e limit >= 1.")
    return offset, min(limit, max_limit)


def _ean13(body12: str) -> str:
    body12 = body12[-12:]
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body12))
    return body12 + str((10 - total % 10) % 10)


def _cpf(rnd: random.Random) -> str:
    digits = [rnd.randint(0, 9) for _ in range(9)]
    for length in (9, 10):
        total = sum(d * (length + 1 - i) for i, d in enumerate(digits[:length]))
        digits.append((total * 10 % 11) % 10)
    return "".join(map(str, digits))
