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
- attribute values ("Atributos", developers.mercadolivre.com.br/pt_br/atributos): an
  attribute is {id, value_id} with the id of one of the category's listed values (COLOR
  "52028" = Azul, as GET /categories/{id}/attributes lists them), or {id, value_name} with a
  free text; the de-para holds the channel's value code, so a numeric code goes as value_id
  and any other as value_name (SELLER_SKU and GTIN are always value_name: they are the
  seller's text, not a listed value). An attribute not tagged allow_variations cannot be in
  a variation's attribute_combinations ("Variações"): one the SKUs all give with the same
  value is sent on the item; one that differs between SKUs holds the product (WAITING).
Not compared (not readable back): the pictures' source URLs — Mercado Livre re-hosts them and
answers its own URLs, so pictures are compared by count only; a same-count change of an image
needs a change of the title or a full resync.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
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
    """A seller's own text (SELLER_SKU, GTIN): always value_name."""
    return {"id": attribute_id, "value_name": value}


def _coded(attribute_id: str, value: str) -> dict[str, str]:
    """A value from the de-para (or the brand's): Mercado Livre's value ids are numeric
    ("52028"), so a numeric code is the id of a listed value, anything else a value_name."""
    if value.isdigit():
        return {"id": attribute_id, "value_id": value}
    return {"id": attribute_id, "value_name": value}


def _matches(entry: Mapping[str, Any], attribute_id: str, value: str) -> bool:
    """Whether a combination entry Mercado Livre answered is our (attribute, value): it
    answers both value_id and value_name, whichever of them we sent."""
    return (
        bool(value)
        and str(entry.get("id")) == attribute_id
        and value
        in (
            str(entry.get("value_id") or ""),
            str(entry.get("value_name") or ""),
        )
    )


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
            split = self._split(product)
            if split.waiting is not None:
                return split.waiting
            absent = self._absent_required(product, split)
            if absent:
                return CatalogResult.waiting(
                    absent,
                    f"Category {product.category} requires {', '.join(absent)}: map them "
                    f"for product {product.code}.",
                )
            created = self._api("POST", "/items", json=self._item_body(product, split))
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

    def _split(self, product: CatalogProduct) -> _Split:
        """Which attributes go on the item and which in each variation's
        attribute_combinations. An attribute the category tags allow_variations stays in the
        combination; any other must be the same on every SKU (it is then the item's, as a
        product-level attribute is) — a product whose SKUs differ by one waits, naming it."""
        definitions = {str(a.get("id")): a for a in self._category_attributes(product.category)}

        def varies(attribute_id: str) -> bool:
            tags = (definitions.get(attribute_id) or {}).get("tags") or {}
            return bool(tags.get("allow_variations"))

        item = dict(product.attributes)
        per_sku = [dict(sku.attributes) for sku in product.skus]
        codes = sorted({code for attributes in per_sku for code in attributes})
        differing = []
        for code in codes:
            if varies(code):
                continue
            values = {attributes.get(code) for attributes in per_sku}
            value = next(iter(values))
            if len(values) == 1 and value is not None and item.get(code, value) == value:
                item[code] = value
            else:
                differing.append(code)
        if differing:
            return _Split(
                waiting=CatalogResult.waiting(
                    differing,
                    f"Category {product.category} does not allow variations by "
                    f"{', '.join(differing)}: every SKU of product {product.code} must have "
                    "the same value (or set it on the product).",
                )
            )
        combinations = {
            sku.key: tuple((c, v) for c, v in sku.attributes if varies(c)) for sku in product.skus
        }
        if len(product.skus) > 1:
            flat = [sku.code for sku in product.skus if not combinations[sku.key]]
            if flat:
                missing = [f"sku {code} variation" for code in flat]
                return _Split(
                    waiting=CatalogResult.waiting(
                        missing,
                        f"Mercado Livre needs {', '.join(missing)} to list {product.code}: "
                        f"category {product.category} allows variations only by "
                        f"{', '.join(sorted(c for c in definitions if varies(c))) or 'nothing'}.",
                    )
                )
        return _Split(item=tuple(item.items()), combinations=combinations)

    def _absent_required(self, product: CatalogProduct, split: _Split) -> list[str]:
        given = {code for code, _value in split.item}
        if product.brand:
            given.add("BRAND")
        absent = []
        for attribute in self._category_attributes(product.category):
            tags = attribute.get("tags") or {}
            attribute_id = str(attribute.get("id"))
            if not tags.get("required") or attribute_id in given:
                continue
            if (
                tags.get("allow_variations")
                and split.has_variations
                and all(
                    attribute_id in dict(combination) for combination in split.combinations.values()
                )
            ):
                continue
            absent.append(attribute_id)
        return absent

    def _item_body(self, product: CatalogProduct, split: _Split) -> dict[str, Any]:
        price = max(sku.price for sku in product.skus)
        attributes = [_coded(code, value) for code, value in split.item]
        if product.brand and "BRAND" not in {code for code, _v in split.item}:
            attributes.append(_coded("BRAND", product.brand))
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
        if not split.has_variations:
            attributes.extend(_sku_attributes(product.skus[0]))
        else:
            body["variations"] = [
                self._variation(sku, price, product, split.combinations[sku.key])
                for sku in product.skus
            ]
        body["attributes"] = attributes
        return body

    @staticmethod
    def _variation(
        sku: CatalogSku, price: Decimal, product: CatalogProduct, combination: tuple
    ) -> dict[str, Any]:
        return {
            "attribute_combinations": [_coded(code, value) for code, value in combination],
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
            split = self._split(product)
            if split.waiting is not None:
                return split.waiting
            price = Decimal(str(max(v.get("price") or 0 for v in variations)))
            entries: list[dict[str, Any]] = [{"id": v["id"]} for v in variations]
            entries.extend(
                self._variation(sku, price, product, split.combinations[sku.key]) for sku in new
            )
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
    # answer to a write names variations by their attribute_combinations: the SKU whose
    # attributes hold every entry of a variation's combination is that variation (the
    # combinations are unique per item; item-level attributes are in none of them).
    return {
        sku.key: ExternalRef(
            item_id=item_id,
            variation_id=by_code.get(sku.code) or _variation_of(variations, sku),
            seller_sku=sku.code,
        )
        for sku in product.skus
    }


def _variation_of(variations: list[Mapping[str, Any]], sku: CatalogSku) -> str:
    attributes = dict(sku.attributes)
    for variation in variations:
        entries = [
            e for e in variation.get("attribute_combinations") or [] if isinstance(e, Mapping)
        ]
        if entries and all(
            _matches(e, str(e.get("id")), attributes.get(str(e.get("id")), "")) for e in entries
        ):
            return str(variation.get("id"))
    return ""


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


@dataclass(frozen=True)
class _Split:
    """A product's attributes as Mercado Livre takes them: `item` on the item,
    `combinations` per SKU key (empty: a listing without variations); `waiting` when the
    product cannot be split (a non-variation attribute differs between its SKUs)."""

    item: tuple[tuple[str, str], ...] = ()
    combinations: Mapping[object, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    waiting: CatalogResult | None = None

    @property
    def has_variations(self) -> bool:
        return any(self.combinations.values())
