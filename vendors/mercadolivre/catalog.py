"""Mercado Livre catalog publishing: one ERP product = one listing (item); several SKUs = its
variations. Calls, each as developers.mercadolivre.com.br documents it:
- GET /users/{seller}/items/search?seller_sku=<code> ("Itens e buscas": search a seller's
  items by SELLER_SKU) with the first SKU's code, then GET /items/{id}?include_attributes=all
  (variation attributes, their SELLER_SKU, come only with it) and GET /items/{id}/description:
  a retry after a lost answer finds the listing the first attempt created;
- GET /categories/{category}/attributes ("Atributos"): the attributes with tags.required must
  be sent; a product without one WAITS naming it (read once per category per connector);
- POST /items ("Publique produtos"): title, category_id, price, currency_id BRL,
  available_quantity, buying_mode buy_it_now, listing_type_id, condition, pictures
  [{source}], attributes (SELLER_SKU and GTIN of a single-SKU item), variations
  ("Variações": attribute_combinations, price, available_quantity, attributes with their own
  SELLER_SKU and GTIN, picture_ids) — one price for every variation, the highest ("The price
  must be the same for each variation"); then POST /items/{id}/description {plain_text};
- updates: PUT /items/{id} {title} / {pictures}; PUT /items/{id}/description; a new SKU goes in
  PUT /items/{id} {variations: every existing variation by id + the new one}: a variations
  array that leaves out an existing variation deletes it, so it never does.
- the category predictor: GET /sites/MLB/domain_discovery/search?q=<title>.
Not compared (not readable back): the pictures' source URLs — Mercado Livre re-hosts them and
answers its own URLs, so pictures are compared by count only; a same-count change of an image
needs a change of the title or a full resync.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import quote

from vendors.errors import ConnectorError, MalformedResponseError, NotFoundError
from vendors.types import (
    CatalogOutcome,
    CatalogProduct,
    CatalogReference,
    CatalogResult,
    CatalogSku,
    ExternalRef,
)


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _attr(attribute_id: str, value: str) -> dict[str, str]:
    return {"id": attribute_id, "value_name": value}


def _value(attributes: object, attribute_id: str) -> str:
    for attribute in attributes if isinstance(attributes, list) else []:
        if isinstance(attribute, Mapping) and attribute.get("id") == attribute_id:
            return str(attribute.get("value_name") or "")
    return ""


class MercadoLivreCatalog:
    """Mixed into MercadoLivreConnector: publish_product and catalog_references."""

    site_id: ClassVar[str] = "MLB"
    listing_type_id: ClassVar[str] = "gold_special"
    condition: ClassVar[str] = "new"

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
                missing, f"Mercado Livre needs {', '.join(missing)} to list {product.code}."
            )
        item = self._item_by_seller_sku(product.skus[0].code)
        if item is None:
            absent = self._absent_required(product)
            if absent:
                return CatalogResult.waiting(
                    absent,
                    f"Category {product.category} requires {', '.join(absent)}: map them "
                    f"for product {product.code}.",
                )
            created = self._api("POST", "/items", json=self._item_body(product))
            if not isinstance(created, Mapping) or not created.get("id"):
                raise MalformedResponseError("Mercado Livre answered the new item without id.")
            item_id = str(created["id"])
            if product.description:
                self._api(
                    "POST",
                    f"/items/{quote(item_id, safe='')}/description",
                    json={"plain_text": product.description},
                )
            return CatalogResult(CatalogOutcome.CREATED, refs=_refs(created, product))
        return self._update(item, product)

    def _item_by_seller_sku(self, code: str) -> Mapping[str, Any] | None:
        page = self._api(
            "GET",
            f"/users/{quote(self._seller_id(), safe='')}/items/search",
            params={"seller_sku": code},
        )
        results = page.get("results") if isinstance(page, Mapping) else None
        if not isinstance(results, list):
            raise MalformedResponseError("Mercado Livre's item search has no results list.")
        if not results:
            return None
        item = self._api(
            "GET",
            f"/items/{quote(str(results[0]), safe='')}",
            params={"include_attributes": "all"},
        )
        if not isinstance(item, Mapping):
            raise MalformedResponseError(f"Mercado Livre answered item {results[0]} oddly.")
        return item

    def _category_attributes(self, category: str) -> list[Mapping[str, Any]]:
        cache = self.__dict__.setdefault("_category_cache", {})
        if category not in cache:
            data = self._api("GET", f"/categories/{quote(category, safe='')}/attributes")
            cache[category] = [a for a in data or [] if isinstance(a, Mapping)]
        return cache[category]

    def _absent_required(self, product: CatalogProduct) -> list[str]:
        given = {code for code, _value in product.attributes}
        if product.brand:
            given.add("BRAND")
        varying = [dict(sku.attributes) for sku in product.skus]
        absent = []
        for attribute in self._category_attributes(product.category):
            tags = attribute.get("tags") or {}
            attribute_id = str(attribute.get("id"))
            if not tags.get("required") or attribute_id in given:
                continue
            if tags.get("allow_variations") and all(attribute_id in v for v in varying):
                continue
            absent.append(attribute_id)
        return absent

    def _item_body(self, product: CatalogProduct) -> dict[str, Any]:
        price = max(sku.price for sku in product.skus)
        attributes = [_attr(code, value) for code, value in product.attributes]
        if product.brand and "BRAND" not in {code for code, _v in product.attributes}:
            attributes.append(_attr("BRAND", product.brand))
        body: dict[str, Any] = {
            "title": product.name,
            "category_id": product.category,
            "price": _number(price),
            "currency_id": "BRL",
            "available_quantity": sum(sku.stock for sku in product.skus),
            "buying_mode": "buy_it_now",
            "listing_type_id": self.listing_type_id,
            "condition": self.condition,
            "pictures": [{"source": url} for url in product.images],
        }
        if len(product.skus) == 1 and not product.skus[0].attributes:
            sku = product.skus[0]
            attributes.extend(_sku_attributes(sku))
        else:
            body["variations"] = [self._variation(sku, price, product) for sku in product.skus]
        body["attributes"] = attributes
        return body

    @staticmethod
    def _variation(sku: CatalogSku, price: Decimal, product: CatalogProduct) -> dict[str, Any]:
        return {
            "attribute_combinations": [_attr(code, value) for code, value in sku.attributes],
            "price": _number(price),
            "available_quantity": sku.stock,
            "attributes": _sku_attributes(sku),
            "picture_ids": list(product.images),
        }

    def _update(self, item: Mapping[str, Any], product: CatalogProduct) -> CatalogResult:
        item_id = str(item["id"])
        path = f"/items/{quote(item_id, safe='')}"
        changes: list[str] = []
        body: dict[str, Any] = {}
        if item.get("title") != product.name:
            body["title"] = product.name
            changes.append("title")
        pictures = [p for p in item.get("pictures") or [] if isinstance(p, Mapping)]
        if len(pictures) != len(product.images):
            body["pictures"] = [{"source": url} for url in product.images]
            changes.append("pictures")
        if body:
            self._api("PUT", path, json=body)
        try:
            held = self._api("GET", f"{path}/description")
            description = str((held or {}).get("plain_text") or "")
            exists = True
        except NotFoundError:
            description, exists = "", False
        if description != product.description:
            method = "PUT" if exists else "POST"
            self._api(method, f"{path}/description", json={"plain_text": product.description})
            changes.append("description")
        variations = [v for v in item.get("variations") or [] if isinstance(v, Mapping)]
        by_code = {_value(v.get("attributes"), "SELLER_SKU"): v for v in variations}
        new = [sku for sku in product.skus if variations and sku.code not in by_code]
        if new:
            price = Decimal(str(max(v.get("price") or 0 for v in variations)))
            entries: list[dict[str, Any]] = [{"id": v["id"]} for v in variations]
            entries.extend(self._variation(sku, price, product) for sku in new)
            answer = self._api("PUT", path, json={"variations": entries})
            if isinstance(answer, Mapping):
                item = answer
            changes.extend(f"sku {sku.code} created" for sku in new)
        outcome = CatalogOutcome.UPDATED if changes else CatalogOutcome.UNCHANGED
        return CatalogResult(outcome, refs=_refs(item, product), changes=tuple(changes))

    # --- reference lists --------------------------------------------------------------------
    def catalog_references(
        self, kind: str, *, query: str = "", parent: str = ""
    ) -> list[CatalogReference]:
        """category + query: the predictor, GET /sites/MLB/domain_discovery/search?q=
        (suggestions, best first); attribute: GET /categories/{parent}/attributes with
        tags.required and tags.allow_variations; attribute_value: the values of attribute
        `parent` ("CATEGORY:ATTRIBUTE")."""
        if kind == "category" and query:
            found = self._api(
                "GET",
                f"/sites/{self.site_id}/domain_discovery/search",
                params={"q": query},
            )
            return [
                CatalogReference(
                    "category",
                    str(s.get("category_id")),
                    str(s.get("category_name") or ""),
                    score=1.0 / (n + 1),
                )
                for n, s in enumerate(found or [])
                if isinstance(s, Mapping)
            ]
        if kind == "attribute":
            return [
                CatalogReference(
                    "attribute",
                    str(a.get("id")),
                    str(a.get("name") or ""),
                    parent,
                    required=bool((a.get("tags") or {}).get("required")),
                    allows_variations=bool((a.get("tags") or {}).get("allow_variations")),
                )
                for a in self._category_attributes(parent)
            ]
        if kind == "attribute_value":
            category, _, attribute_id = parent.partition(":")
            for attribute in self._category_attributes(category):
                if str(attribute.get("id")) == attribute_id:
                    return [
                        CatalogReference(
                            "attribute_value", str(v.get("id")), str(v.get("name") or ""), parent
                        )
                        for v in attribute.get("values") or []
                        if isinstance(v, Mapping)
                    ]
            return []
        return super().catalog_references(kind, query=query, parent=parent)


def _sku_attributes(sku: CatalogSku) -> list[dict[str, str]]:
    attributes = [_attr("SELLER_SKU", sku.code)]
    if sku.ean:
        attributes.append(_attr("GTIN", sku.ean))
    return attributes


def _refs(item: Mapping[str, Any], product: CatalogProduct) -> dict[object, ExternalRef]:
    item_id = str(item.get("id"))
    variations = [v for v in item.get("variations") or [] if isinstance(v, Mapping)]
    by_code = {_value(v.get("attributes"), "SELLER_SKU"): str(v.get("id")) for v in variations}
    # A variation's attributes (its SELLER_SKU) come only with include_attributes=all; the
    # answer to a write names variations by their attribute_combinations.
    by_combination = {
        _combination(v.get("attribute_combinations")): str(v.get("id")) for v in variations
    }
    return {
        sku.key: ExternalRef(
            item_id=item_id,
            variation_id=by_code.get(sku.code)
            or by_combination.get(_combination([_attr(c, v) for c, v in sku.attributes]), ""),
            seller_sku=sku.code,
        )
        for sku in product.skus
    }


def _combination(attributes: object) -> tuple:
    return tuple(
        sorted(
            (str(a.get("id")), str(a.get("value_name") or ""))
            for a in (attributes if isinstance(attributes, list) else [])
            if isinstance(a, Mapping)
        )
    )


def _missing(product: CatalogProduct) -> list[str]:
    missing = []
    if not product.name.strip():
        missing.append("name")
    if not product.category.strip():
        missing.append("category")
    if not product.images:
        missing.append("images")
    if not product.skus:
        return [*missing, "skus"]
    for sku in product.skus:
        if sku.price is None or sku.price <= 0:
            missing.append(f"sku {sku.code} price")
        if len(product.skus) > 1 and not sku.attributes:
            missing.append(f"sku {sku.code} variation")
    return missing
