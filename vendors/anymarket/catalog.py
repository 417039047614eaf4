"""ANYMARKET catalog publishing: the ERP creates the products in ANYMARKET, which publishes
them to each marketplace. Field names and calls: AnyMarket/anymarket-sdk-java
(product/dto ProductBase: title, description, model, nbm{id}, origin{id}, category{id},
brand{id}, height/width/length/weight, images[{url, index, main}], priceFactor,
calculatedPrice, hasVariations, isProductActive; dto Sku: partnerId, title, ean, price,
sellPrice, amount, variations{type: value}; ProductService: POST /products, PUT
/products/{id}, POST /products/{id}/images, DELETE /products/{id}/images/{imageId},
GET /products?sku=<partnerId>; SkuService: POST /products/{id}/skus, PUT
/products/{id}/skus/{skuId}).

Per product:
- GET /v2/products?sku=<partnerId of the first SKU> — the product holding it, with its SKUs
  and images (a retry after a lost answer finds what the first attempt created);
- nothing found: POST /v2/products with every SKU and image in one request;
- found: only what differs — PUT /v2/products/{id} (the product as read, its fields changed;
  SKUs and images are not part of that write), PUT /v2/products/{id}/skus/{skuId} per changed
  SKU (the SKU as read without `amount`, its stock), POST …/skus per new SKU, POST / DELETE
  …/images per added / removed image.
Prices go with a new SKU (ANYMARKET requires them); later changes go through the price flow.
Not confirmed in ANYMARKET's docs: the units of weight (kg assumed, as the admin shows) and
dimensions (cm), and whether an image's `url` is kept as sent (the emulator keeps it).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from vendors.errors import ConnectorError, MalformedResponseError
from vendors.types import (
    CatalogOutcome,
    CatalogProduct,
    CatalogReference,
    CatalogResult,
    CatalogSku,
    ExternalRef,
)

# Fields of the product PUT (ProductBase): the product as read is the template.
PRODUCT_FIELDS = (
    "title", "description", "model", "nbm", "origin", "category", "brand", "height", "width",
    "length", "weight", "warrantyTime", "warrantyText", "priceFactor", "calculatedPrice",
    "hasVariations", "gender", "isProductActive", "videoUrl", "characteristics",
)  # fmt: skip
_GRAMS_PER_KG = Decimal(1000)


def _money(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _weight_kg(grams: int | None) -> float | None:
    return None if grams is None else float(Decimal(grams) / _GRAMS_PER_KG)


def _id_code(value: str) -> int | str | None:
    text = (value or "").strip()
    if not text:
        return None
    return int(text) if text.isdigit() else text


class AnymarketCatalog:
    """Mixed into AnymarketConnector: publish_product and catalog_references."""

    def publish_product(self, product: CatalogProduct) -> CatalogResult:
        before = self.http.requests_sent
        try:
            result = self._publish(product)
        except ConnectorError as exc:
            result = CatalogResult.from_error(exc)
        return CatalogResult(
            result.outcome,
            refs=result.refs,
            message=result.message,
            missing=result.missing,
            changes=result.changes,
            requests=self.http.requests_sent - before,
            error=result.error,
        )

    def _publish(self, product: CatalogProduct) -> CatalogResult:
        missing = _missing(product)
        if missing:
            return CatalogResult.waiting(
                missing, f"ANYMARKET needs {', '.join(missing)} to publish {product.code}."
            )
        found = self._product_by_partner_id(product.skus[0].code)
        if found is None:
            created = self.http.post("products", json=self._product_body(product, with_skus=True))
            return CatalogResult(
                CatalogOutcome.CREATED, refs=self._refs(created, product), changes=()
            )
        product_id = str(found.get("id"))
        changes = self._product_changes(found, product)
        if changes:
            body = {k: found[k] for k in PRODUCT_FIELDS if found.get(k) is not None}
            body.update(self._product_body(product, with_skus=False))
            self.http.put(f"products/{quote(product_id, safe='')}", json=body)
        held = {
            str(s.get("partnerId")): s for s in found.get("skus") or [] if isinstance(s, Mapping)
        }
        for sku in product.skus:
            current = held.get(sku.code)
            path = f"products/{quote(product_id, safe='')}/skus"
            if current is None:
                created = self.http.post(path, json=self._sku_body(sku, new=True))
                held[sku.code] = created if isinstance(created, Mapping) else {}
                changes.append(f"sku {sku.code} created")
                continue
            differs = _sku_changes(current, sku)
            if differs:
                body = {k: v for k, v in current.items() if k != "amount"}
                body.update(self._sku_body(sku, new=False))
                self.http.put(f"{path}/{quote(str(current.get('id')), safe='')}", json=body)
                changes.extend(f"sku {sku.code} {name}" for name in differs)
        changes.extend(self._sync_images(product_id, found, product))
        outcome = CatalogOutcome.UPDATED if changes else CatalogOutcome.UNCHANGED
        refs = {
            sku.key: ExternalRef(
                item_id=product_id,
                sku_id=str((held.get(sku.code) or {}).get("id") or ""),
                seller_sku=sku.code,
            )
            for sku in product.skus
        }
        return CatalogResult(outcome, refs=refs, changes=tuple(changes))

    def _product_by_partner_id(self, partner_id: str) -> Mapping[str, Any] | None:
        page = self.http.get("products", params={"sku": partner_id})
        content = page.get("content") if isinstance(page, Mapping) else None
        if not isinstance(content, list):
            raise MalformedResponseError("ANYMARKET answered the product search without content.")
        return next((p for p in content if isinstance(p, Mapping)), None)

    def _product_body(self, product: CatalogProduct, *, with_skus: bool) -> dict[str, Any]:
        first = product.skus[0]
        body: dict[str, Any] = {
            "title": product.name,
            "description": product.description,
            "category": {"id": _id_code(product.category)},
            "brand": {"id": _id_code(product.brand)} if product.brand else None,
            "nbm": {"id": product.ncm} if product.ncm else None,
            "origin": {"id": int(product.origin)} if product.origin.isdigit() else None,
            "height": _money(first.height_cm),
            "width": _money(first.width_cm),
            "length": _money(first.length_cm),
            "weight": _weight_kg(first.weight_g),
            "isProductActive": product.active,
            "hasVariations": len(product.skus) > 1,
        }
        if with_skus:
            body["priceFactor"] = 1
            body["calculatedPrice"] = False
            body["images"] = [
                {"url": url, "index": n + 1, "main": n == 0} for n, url in enumerate(product.images)
            ]
            body["skus"] = [self._sku_body(sku, new=True) for sku in product.skus]
        return {k: v for k, v in body.items() if v is not None}

    @staticmethod
    def _sku_body(sku: CatalogSku, *, new: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "partnerId": sku.code,
            "title": sku.name or sku.code,
            "ean": sku.ean,
            "variations": dict(sku.attributes),
        }
        if new:
            list_price = sku.list_price if sku.list_price is not None else sku.price
            body["price"] = _money(max(list_price, sku.price))
            body["sellPrice"] = _money(sku.price)
            body["amount"] = sku.stock
        return body

    @staticmethod
    def _product_changes(found: Mapping[str, Any], product: CatalogProduct) -> list[str]:
        def code(value: object) -> str:
            return str(value.get("id")) if isinstance(value, Mapping) else ""

        first = product.skus[0]
        wanted = {
            "title": (found.get("title"), product.name),
            "description": (found.get("description") or "", product.description),
            "category": (code(found.get("category")), product.category.strip()),
            "brand": (code(found.get("brand")), product.brand.strip()),
            "nbm": (code(found.get("nbm")), product.ncm),
            "origin": (code(found.get("origin")), product.origin),
            "active": (found.get("isProductActive", True) is not False, product.active),
            "height": (_decimal(found.get("height")), first.height_cm),
            "width": (_decimal(found.get("width")), first.width_cm),
            "length": (_decimal(found.get("length")), first.length_cm),
            "weight": (_decimal(found.get("weight")), Decimal(first.weight_g) / _GRAMS_PER_KG),
        }
        return [f"product {name}" for name, (have, want) in wanted.items() if have != want]

    def _sync_images(
        self, product_id: str, found: Mapping[str, Any], product: CatalogProduct
    ) -> list[str]:
        held = [i for i in found.get("images") or [] if isinstance(i, Mapping)]
        have = [str(i.get("url")) for i in sorted(held, key=lambda i: i.get("index") or 0)]
        if have == list(product.images):
            return []
        path = f"products/{quote(product_id, safe='')}/images"
        for image in held:
            if str(image.get("url")) not in product.images:
                self.http.request("DELETE", f"{path}/{quote(str(image.get('id')), safe='')}")
        kept = [url for url in have if url in product.images]
        for index, url in enumerate(product.images):
            if url not in kept:
                self.http.post(path, json={"url": url, "index": index + 1, "main": index == 0})
        return ["images"]

    @staticmethod
    def _refs(created: object, product: CatalogProduct) -> dict[object, ExternalRef]:
        if not isinstance(created, Mapping) or created.get("id") is None:
            raise MalformedResponseError("ANYMARKET answered the new product without its id.")
        by_code = {
            str(s.get("partnerId")): str(s.get("id"))
            for s in created.get("skus") or []
            if isinstance(s, Mapping)
        }
        return {
            sku.key: ExternalRef(
                item_id=str(created["id"]), sku_id=by_code.get(sku.code, ""), seller_sku=sku.code
            )
            for sku in product.skus
        }

    # --- reference lists --------------------------------------------------------------------
    def catalog_references(
        self, kind: str, *, query: str = "", parent: str = ""
    ) -> list[CatalogReference]:
        """category: GET /v2/categories; brand: GET /v2/brands (AnyMarket/anymarket-sdk-java
        CategoryService, BrandService). Variation types are free text at ANYMARKET."""
        if kind not in ("category", "brand"):
            return super().catalog_references(kind, query=query, parent=parent)
        page = self.http.get("categories" if kind == "category" else "brands")
        content = page.get("content") if isinstance(page, Mapping) else page
        text = query.strip().lower()
        return [
            CatalogReference(
                kind,
                str(item.get("id")),
                str(item.get("name") or ""),
                str((item.get("parent") or {}).get("id") or ""),
            )
            for item in content or []
            if isinstance(item, Mapping) and text in str(item.get("name") or "").lower()
        ]


def _decimal(value: object) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def _sku_changes(current: Mapping[str, Any], sku: CatalogSku) -> list[str]:
    wanted = {
        "title": (current.get("title"), sku.name or sku.code),
        "ean": (current.get("ean") or "", sku.ean),
        "variations": (dict(current.get("variations") or {}), dict(sku.attributes)),
    }
    return [name for name, (have, want) in wanted.items() if have != want]


def _missing(product: CatalogProduct) -> list[str]:
    missing = []
    if not product.name.strip():
        missing.append("name")
    if not product.category.strip():
        missing.append("category")
    if not product.skus:
        return [*missing, "skus"]
    first = product.skus[0]
    for name in ("height_cm", "width_cm", "length_cm", "weight_g"):
        if getattr(first, name) is None:
            missing.append(name)
    for sku in product.skus:
        if sku.price is None or sku.price <= 0:
            missing.append(f"sku {sku.code} price")
        if len(product.skus) > 1 and not sku.attributes:
            missing.append(f"sku {sku.code} variation")
    return missing
