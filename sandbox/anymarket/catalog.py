"""ANYMARKET's product API v2 for the ERP's catalog, as the vendor validates it (mixed into
AnymarketApi). Field names: AnyMarket/anymarket-sdk-java (product/dto ProductBase, Sku, Image;
ProductService POST /products, PUT /products/{id}, POST /products/{id}/images, DELETE
/products/{id}/images/{imageId}, GET /products?sku=; SkuService POST /products/{id}/skus).

Rules (ANYMARKET's product registration: title, category, SKUs each with a partnerId unique in
the account — "SKU com partnerId … já existe" — price, and variations that tell the SKUs of a
product apart). Where the docs are silent the emulator assumes, and says so (?):
- (?) a product of more than one SKU needs `variations` on each SKU, each combination
  different (the SDK's hasVariations / Sku.variations);
- (?) `nbm.id` is 8 digits and `origin.id` 0..8 (the NF-e origin codes) when given;
- (?) `category.id` and `brand.id` must be ones the account has (GET /v2/categories, /v2/brands).
Errors answer 422 with ANYMARKET's {"code","message","details"} body. A created SKU is an
ordinary SKU: PUT /v2/stocks and the SKU price PUT take it at once.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, NoReturn
from urllib.parse import unquote

from sandbox.server import HttpError, Request, Response

CATEGORIES = {
    101: ("Moda", None),
    102: ("Moda > Camisetas", 101),
    103: ("Casa > Cozinha", None),
}
BRANDS = {501: "Marca Demo", 502: "Acme"}
_NBM = re.compile(r"^\d{8}$")
TITLE_MAX = 150  # (?) the admin's product title limit


def _fail(status: int, message: str, details: str = "") -> NoReturn:
    """ANYMARKET's error body {"code","message","details"} (as routes.py renders it)."""
    raise HttpError(
        status, message, body={"code": str(status), "message": message, "details": details}
    )


def _json(request: Request) -> Any:
    try:
        return request.json()
    except HttpError as exc:  # no body, or not JSON
        _fail(400, exc.message)


def _number(value: Any, label: str) -> Decimal | None:
    """None when absent; a 422 naming the field when present but not a JSON number."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        _fail(422, f"O campo {label} deve ser numérico.", label)
    return Decimal(str(value))


class AnymarketCatalogRoutes:
    def setup_catalog_routes(self) -> None:
        r = self.route
        r("POST", "/v2/products", self.post_product)
        r("PUT", "/v2/products/{product_id}", self.put_product)
        r("POST", "/v2/products/{product_id}/skus", self.post_product_sku)
        r("POST", "/v2/products/{product_id}/images", self.post_image)
        r("DELETE", "/v2/products/{product_id}/images/{image_id}", self.delete_image)
        r("GET", "/v2/categories", self.get_categories)
        r("GET", "/v2/brands", self.get_brands)

    # --- validation -------------------------------------------------------------------------
    def _check_product(self, body: Any) -> dict:

        if not isinstance(body, dict):
            _fail(422, "O corpo deve ser um objeto produto.")
        title = body.get("title")
        if not isinstance(title, str) or not title.strip():
            _fail(422, "O campo title é obrigatório.")
        if len(title) > TITLE_MAX:
            _fail(422, f"O título deve ter no máximo {TITLE_MAX} caracteres.")
        category = (body.get("category") or {}).get("id")
        if category not in CATEGORIES:
            _fail(422, f"Categoria {category} não encontrada.", "category")
        brand = (body.get("brand") or {}).get("id") if body.get("brand") else None
        if brand is not None and brand not in BRANDS:
            _fail(422, f"Marca {brand} não encontrada.", "brand")
        nbm = (body.get("nbm") or {}).get("id") if body.get("nbm") else None
        if nbm is not None and not _NBM.match(str(nbm)):
            _fail(422, f"NBM {nbm} inválido: informe os 8 dígitos.", "nbm")
        origin = (body.get("origin") or {}).get("id") if body.get("origin") else None
        if origin is not None and origin not in range(9):
            _fail(422, f"Origem {origin} inválida.", "origin")
        for image in body.get("images") or []:
            if not isinstance(image, dict) or not str(image.get("url", "")).startswith("http"):
                _fail(422, "Imagem sem url válida.", "images")
        return body

    def _check_skus(self, skus: Any, *, existing: list[dict]) -> list[dict]:

        if not isinstance(skus, list) or not skus and not existing:
            _fail(422, "O produto deve ter ao menos um SKU.", "skus")
        seen = set()
        combos = {tuple(sorted(s["variations"].items())) for s in existing}
        for sku in skus:
            if not isinstance(sku, dict):
                _fail(422, "SKU inválido.", "skus")
            partner_id = sku.get("partnerId")
            if not isinstance(partner_id, str) or not partner_id.strip():
                _fail(422, "O campo partnerId é obrigatório.", "skus.partnerId")
            if partner_id in self.sku_ids_by_partner or partner_id in seen:
                _fail(422, f"SKU com partnerId '{partner_id}' já existe.", "skus.partnerId")
            seen.add(partner_id)
            if not isinstance(sku.get("title"), str) or not sku["title"].strip():
                _fail(422, "O campo title do SKU é obrigatório.", "skus.title")
            price = _number(sku.get("price"), "price")
            sell = _number(sku.get("sellPrice", sku.get("price")), "sellPrice")
            if price is None or price <= 0 or sell is None or sell <= 0:
                _fail(422, "price e sellPrice são obrigatórios e maiores que zero.", "skus.price")
            variations = sku.get("variations") or {}
            if not isinstance(variations, dict):
                _fail(422, "variations deve ser um objeto tipo: valor.", "skus.variations")
            if len(skus) + len(existing) > 1:
                if not variations:
                    _fail(
                        422,
                        f"O SKU {partner_id} precisa de variações: o produto tem mais de um SKU.",
                        "skus.variations",
                    )
                combo = tuple(sorted(variations.items()))
                if combo in combos:
                    _fail(422, f"Variação repetida no SKU {partner_id}.", "skus.variations")
                combos.add(combo)
        return skus

    # --- handlers ---------------------------------------------------------------------------
    def post_product(self, request: Request) -> Response:

        self._refuse_if_linked()
        body = self._check_product(_json(request))
        with self.lock:
            skus = self._check_skus(body.get("skus"), existing=[])
            product = {"id": self._next_product, "title": body["title"], "skus": []}
            self._next_product += 1
            self._apply_product(product, body)
            product["images"] = []
            self.products[product["id"]] = product
            for image in body.get("images") or []:
                self._add_image(product, image)
            self.record_catalog(
                skus[0]["partnerId"], "create_product", id=product["id"], title=body["title"]
            )
            for sku in skus:
                self._create_sku(product, sku)
            return Response(201, self._product_json(product))

    def _apply_product(self, product: dict, body: dict) -> None:
        product.update(
            title=body["title"],
            description=body.get("description") or "",
            model=body.get("model") or "",
            category={"id": body["category"]["id"]},
            brand={"id": body["brand"]["id"]} if body.get("brand") else None,
            nbm={"id": str(body["nbm"]["id"])} if body.get("nbm") else None,
            origin={"id": body["origin"]["id"]} if body.get("origin") else None,
            height=body.get("height"),
            width=body.get("width"),
            length=body.get("length"),
            weight=body.get("weight"),
            priceFactor=body.get("priceFactor", 1),
            calculatedPrice=bool(body.get("calculatedPrice", False)),
            isProductActive=body.get("isProductActive", True) is not False,
        )

    def _create_sku(self, product: dict, spec: dict) -> dict:

        price = _number(spec.get("price"), "price")
        sku = {
            "id": self._next_sku,
            "productId": product["id"],
            "partnerId": spec["partnerId"],
            "ean": str(spec.get("ean") or ""),
            "title": spec["title"],
            "price": price,
            "sellPrice": _number(spec.get("sellPrice", spec.get("price")), "sellPrice"),
            "additionalTime": int(spec.get("additionalTime") or 0),
            "variations": dict(spec.get("variations") or {}),
        }
        self._next_sku += 1
        self.skus[sku["id"]] = sku
        self.sku_ids_by_partner[sku["partnerId"]] = sku["id"]
        amount = _number(spec.get("amount"), "amount") or Decimal("0")
        self.stock[sku["partnerId"]] = {self.default_local_id: amount}
        product["skus"].append(sku["id"])
        self.record_catalog(sku["partnerId"], "create_sku", id=sku["id"], product_id=product["id"])
        return sku

    def _product_of(self, request: Request) -> dict:

        raw = request.params["product_id"]
        product = self.products.get(int(raw)) if raw.isdigit() else None
        if product is None:
            _fail(404, f"Recurso com o id '{raw}' não encontrado.")
        return product

    def put_product(self, request: Request) -> Response:

        self._refuse_if_linked()
        body = self._check_product(_json(request))
        with self.lock:
            product = self._product_of(request)
            self._apply_product(product, body)
            code = self.skus[product["skus"][0]]["partnerId"] if product["skus"] else ""
            self.record_catalog(code, "update_product", id=product["id"])
            return Response(200, self._product_json(product))

    def post_product_sku(self, request: Request) -> Response:

        self._refuse_if_linked()
        body = _json(request)
        with self.lock:
            product = self._product_of(request)
            existing = [self.skus[s] for s in product["skus"]]
            self._check_skus([body], existing=existing)
            sku = self._create_sku(product, body)
            return Response(201, self._sku_json(sku))

    def _add_image(self, product: dict, image: dict) -> dict:
        self._next_image = getattr(self, "_next_image", 70_000) + 1
        record = {
            "id": self._next_image,
            "index": int(image.get("index") or len(product["images"]) + 1),
            "main": bool(image.get("main")),
            "url": image["url"],
            "status": "PROCESSED",
        }
        product["images"].append(record)
        code = self.skus[product["skus"][0]]["partnerId"] if product["skus"] else ""
        self.record_catalog(code, "add_image", id=product["id"], url=image["url"])
        return record

    def post_image(self, request: Request) -> Response:

        self._refuse_if_linked()
        body = _json(request)
        if not isinstance(body, dict) or not str(body.get("url", "")).startswith("http"):
            _fail(422, "Imagem sem url válida.", "url")
        with self.lock:
            product = self._product_of(request)
            return Response(201, self._add_image(product, body))

    def delete_image(self, request: Request) -> Response:

        self._refuse_if_linked()
        with self.lock:
            product = self._product_of(request)
            raw = request.params["image_id"]
            kept = [i for i in product["images"] if str(i["id"]) != raw]
            if len(kept) == len(product["images"]):
                _fail(404, f"Imagem '{raw}' não encontrada.")
            product["images"] = kept
            code = self.skus[product["skus"][0]]["partnerId"] if product["skus"] else ""
            self.record_catalog(code, "delete_image", id=product["id"], image=raw)
        return Response(204, None)

    def get_categories(self, request: Request) -> Response:
        content = [
            {"id": cid, "name": name, "parent": {"id": p} if p else None}
            for cid, (name, p) in CATEGORIES.items()
        ]
        return Response(200, self._page("categories", content, 0, 100, len(content)))

    def get_brands(self, request: Request) -> Response:
        content = [{"id": bid, "name": name} for bid, name in BRANDS.items()]
        return Response(200, self._page("brands", content, 0, 100, len(content)))

    def products_with_sku(self, request: Request) -> list[dict] | None:
        """GET /v2/products?sku=<partnerId> (ProductService.getProductBySku): the product
        holding that SKU, or every product when not filtered (None)."""
        wanted = request.q("sku")
        if wanted is None:
            return None
        sku_id = self.sku_ids_by_partner.get(unquote(wanted))
        if sku_id is None:
            return []
        return [self.products[self.skus[sku_id]["productId"]]]

    def catalog_product(self, seller_sku: str) -> dict | None:
        with self.lock:
            sku_id = self.sku_ids_by_partner.get(seller_sku)
            if sku_id is None:
                return None
            product = self._product_json(self.products[self.skus[sku_id]["productId"]])
            product["name"] = product["title"]
            product["id"] = str(product["id"])
            for sku in product["skus"]:
                sku["code"] = sku["partnerId"]
                sku["id"] = str(sku["id"])
            return product
