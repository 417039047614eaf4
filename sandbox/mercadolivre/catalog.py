"""Mercado Livre's listing creation and catalog reads, as the vendor validates them (mixed into
MercadoLivreApi). Rules, each from developers.mercadolivre.com.br:
- POST /items ("Publique produtos"): title, category_id, price, currency_id,
  available_quantity, buying_mode, listing_type_id, condition and pictures are required;
  the category must be a leaf ("As publicações só podem ser feitas nas categorias folha");
  the title is at most the category's max_title_length (60 on MLB);
- the category's attributes with tags.required must be sent ("Atributos": GET
  /categories/{id}/attributes; a listing without them is refused, item.attributes.missing_
  required); attributes tagged allow_variations may instead come in each variation's
  attribute_combinations;
- variations ("Variações"): each has attribute_combinations of allow_variations attributes,
  price and available_quantity; two variations with the same combination are refused; the
  SKU goes in the SELLER_SKU attribute, per variation;
- the description ("Descrição de produtos"): POST /items/{id}/description {plain_text} once,
  then PUT; GET answers {plain_text};
- the category predictor: GET /sites/{site}/domain_discovery/search?q= answers
  [{domain_id, domain_name, category_id, category_name, attributes}];
- PUT /items/{id} with title: refused once the item has sales (item.title.not_modifiable);
  pictures [{source}] replace the item's pictures; a variations array without an existing
  variation deletes it (the existing rule in routes.py), entries without id are new ones.
- attribute values ("Atributos", developers.mercadolivre.com.br/pt_br/atributos): each
  attribute of an item or of a variation's attribute_combinations is {id, value_id} or
  {id, value_name}; value_id names one of the values GET /categories/{id}/attributes lists
  for that attribute (COLOR "52028" = Azul), so on an attribute with a values list an id
  that is not listed is refused (item.attributes.invalid_value), and the item answers the
  listed value's name beside its id, as the "Validations" page shows values as
  (value_id, value_name) pairs;
A created item is an ordinary listing: its stock and price PUTs work at once.
"""

from __future__ import annotations

from typing import Any

from sandbox.server import BadRequest, HttpError, Request, Response

MAX_TITLE_LENGTH = 60
ITEM_REQUIRED = (
    "title",
    "category_id",
    "price",
    "currency_id",
    "available_quantity",
    "buying_mode",
    "listing_type_id",
    "condition",
    "pictures",
)
LISTING_TYPES = ("gold_special", "gold_pro", "free")
CONDITIONS = ("new", "used", "not_specified")


def _attribute(
    attribute_id: str,
    name: str,
    *,
    required: bool = False,
    variations: bool = False,
    values: dict[str, str] | None = None,
) -> dict:
    tags: dict[str, bool] = {}
    if required:
        tags["required"] = True
    if variations:
        tags["allow_variations"] = True
    return {
        "id": attribute_id,
        "name": name,
        "tags": tags,
        "value_type": "list" if values else "string",
        "values": [{"id": k, "name": v} for k, v in (values or {}).items()],
    }


# A few leaf categories with their attributes (GET /categories/{id}/attributes).
CATEGORIES: dict[str, dict[str, Any]] = {
    "MLB31447": {
        "name": "Camisetas",
        "path": "Calçados, Roupas e Bolsas > Camisetas",
        "domain": ("MLB-T_SHIRTS", "Camisetas"),
        "attributes": [
            _attribute("BRAND", "Marca", required=True),
            _attribute("MODEL", "Modelo", required=True),
            _attribute("GENDER", "Gênero", required=True, values={"339666": "Masculino"}),
            _attribute(
                "COLOR",
                "Cor",
                required=True,
                variations=True,
                values={"52049": "Preto", "52028": "Azul", "52055": "Branco"},
            ),
            _attribute(
                "SIZE",
                "Tamanho",
                required=True,
                variations=True,
                values={"3259478": "P", "3259501": "M", "3259505": "G"},
            ),
            _attribute("SELLER_SKU", "SKU"),
            _attribute("GTIN", "Código universal de produto"),
        ],
    },
    "MLB1000": {
        "name": "Outros",
        "path": "Mais Categorias > Outros",
        "domain": ("MLB-OTHERS", "Outros"),
        "attributes": [
            _attribute("BRAND", "Marca", required=True),
            _attribute("SELLER_SKU", "SKU"),
            _attribute("GTIN", "Código universal de produto"),
        ],
    },
}
NOT_LEAF = {"MLB1430": "Calçados, Roupas e Bolsas"}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _cause(code: str, message: str) -> HttpError:
    return HttpError(
        400,
        "Validation error",
        body={
            "message": "Validation error",
            "error": "validation_error",
            "status": 400,
            "cause": [{"code": code, "message": message, "type": "error"}],
        },
    )


class MercadoLivreCatalogRoutes:
    def setup_catalog_routes(self) -> None:
        r = self.route
        r("POST", "/items", self._post_item)
        r("GET", "/items/{item_id}/description", self._get_description)
        r("POST", "/items/{item_id}/description", self._post_description)
        r("PUT", "/items/{item_id}/description", self._put_description)
        r("GET", "/categories/{category_id}", self._category)
        r("GET", "/categories/{category_id}/attributes", self._category_attributes)
        r("GET", "/sites/{site_id}/domain_discovery/search", self._domain_discovery)

    # --- reads ------------------------------------------------------------------------------
    def _category_or_404(self, category_id: str) -> dict:
        category = CATEGORIES.get(category_id)
        if category is None:
            raise HttpError(404, f"Category {category_id} not found", code="not_found")
        return category

    def _category(self, request: Request) -> Response:
        category = self._category_or_404(request.params["category_id"])
        return Response(
            200,
            {
                "id": request.params["category_id"],
                "name": category["name"],
                "children_categories": [],
                "settings": {"max_title_length": MAX_TITLE_LENGTH},
            },
        )

    def _category_attributes(self, request: Request) -> Response:
        return Response(200, self._category_or_404(request.params["category_id"])["attributes"])

    def _domain_discovery(self, request: Request) -> Response:
        words = (request.q("q") or "").lower().split()
        if not words:
            raise BadRequest("q is required")
        found = []
        for category_id, category in CATEGORIES.items():
            name = category["name"].lower()
            if any(word.rstrip("s") in name for word in words):
                domain_id, domain_name = category["domain"]
                found.append(
                    {
                        "domain_id": domain_id,
                        "domain_name": domain_name,
                        "category_id": category_id,
                        "category_name": category["name"],
                        "attributes": [],
                    }
                )
        return Response(200, found)

    # --- item creation ----------------------------------------------------------------------
    def _post_item(self, request: Request) -> Response:

        body = request.json()
        if not isinstance(body, dict):
            raise BadRequest("The body must be a JSON object")
        missing = [name for name in ITEM_REQUIRED if body.get(name) in (None, "", [])]
        if missing:
            raise _cause("item.fields.missing", f"Missing required fields: {', '.join(missing)}")
        category_id = str(body["category_id"])
        if category_id in NOT_LEAF:
            raise _cause("item.category_id.invalid", f"Category {category_id} is not a leaf")
        if category_id not in CATEGORIES:
            raise _cause("item.category_id.invalid", f"Category {category_id} does not exist")
        if len(str(body["title"])) > MAX_TITLE_LENGTH:
            raise _cause(
                "item.title.length.invalid",
                f"Title is too long: max length for category {category_id} is {MAX_TITLE_LENGTH}",
            )
        if body["listing_type_id"] not in LISTING_TYPES:
            raise _cause("item.listing_type_id.invalid", "Invalid listing_type_id")
        if body["condition"] not in CONDITIONS:
            raise _cause("item.condition.invalid", "Invalid condition")
        if body["currency_id"] != "BRL":
            raise _cause("item.currency_id.invalid", "Invalid currency_id for site MLB")
        if not _is_number(body["price"]) or body["price"] <= 0:
            raise _cause("item.price.invalid", "price must be a number > 0")
        if not _is_int(body["available_quantity"]) or body["available_quantity"] < 0:
            raise _cause("item.available_quantity.invalid", "Invalid available_quantity")
        pictures = self._pictures(body["pictures"])
        definitions = {a["id"]: a for a in CATEGORIES[category_id]["attributes"]}
        attributes = self._check_attributes(body.get("attributes") or [], "attributes", definitions)
        variations = body.get("variations") or []
        if not isinstance(variations, list):
            raise BadRequest("variations must be an array")
        given = {a["id"] for a in attributes}
        for entry in variations:
            self._check_variation(entry, definitions)
        combos = [_combination(v) for v in variations]
        if len(set(combos)) != len(combos):
            raise _cause(
                "item.variations.attribute_combinations.duplicated",
                "Variations have the same attribute_combinations",
            )
        absent = [
            attribute_id
            for attribute_id, definition in definitions.items()
            if definition["tags"].get("required")
            and attribute_id not in given
            and not (
                variations
                and definition["tags"].get("allow_variations")
                and all(attribute_id in dict(c) for c in combos)
            )
        ]
        if absent:
            raise _cause(
                "item.attributes.missing_required",
                f"The attributes [{', '.join(absent)}] are required for category "
                f"{category_id}. Check the attribute is present in the attributes list or in "
                "all variation's attributes_combination or attributes.",
            )
        with self.lock:
            item_id = self.add_listing(title=str(body["title"]), price=body["price"], ean="")
            item = self.listings[item_id]
            item.update(
                category_id=category_id,
                available_quantity=body["available_quantity"],
                listing_type_id=body["listing_type_id"],
                condition=body["condition"],
                buying_mode=body["buying_mode"],
                attributes=attributes,
                pictures=pictures,
            )
            for code in _seller_skus(attributes):
                self._listings_by_sku.setdefault(code, []).append((item_id, None))
            for entry in variations:
                self._add_variation(item, entry, definitions)
            self._sync_item_totals(item)
            self.record_catalog(
                _seller_skus(attributes)[0] if _seller_skus(attributes) else item_id,
                "create_item",
                id=item_id,
                title=item["title"],
            )
        return Response(201, self._render_item(item, request))

    def _pictures(self, pictures: Any) -> list[dict]:
        if not isinstance(pictures, list) or not pictures:
            raise _cause("item.pictures.missing", "The item needs at least one picture")
        built = []
        for picture in pictures:
            source = picture.get("source") if isinstance(picture, dict) else None
            if not isinstance(source, str) or not source.startswith(("http://", "https://")):
                raise _cause("item.pictures.invalid", "Every picture needs a source URL")
            self._picture_seq = getattr(self, "_picture_seq", 0) + 1
            picture_id = f"{self._picture_seq:03d}-MLB{self._picture_seq:010d}_2026"
            built.append(
                {
                    "id": picture_id,
                    "url": f"http://http2.mlstatic.com/D_{picture_id}-O.jpg",
                    "secure_url": f"https://http2.mlstatic.com/D_{picture_id}-O.jpg",
                    "size": "500x500",
                    "max_size": "1200x1200",
                    "quality": "",
                }
            )
        return built

    @staticmethod
    def _check_attributes(
        attributes: Any, where: str, definitions: dict | None = None
    ) -> list[dict]:
        if not isinstance(attributes, list):
            raise BadRequest(f"{where} must be an array")
        built = []
        for attribute in attributes:
            if not isinstance(attribute, dict) or not attribute.get("id"):
                raise BadRequest(f"Every entry of {where} needs its id")
            value_id = attribute.get("value_id")
            value_name = attribute.get("value_name")
            if value_name in (None, "") and value_id in (None, ""):
                raise _cause(
                    "item.attributes.invalid",
                    f"Attribute {attribute['id']} needs value_id or value_name",
                )
            listed = {
                str(v["id"]): v["name"]
                for v in ((definitions or {}).get(attribute["id"]) or {}).get("values") or []
            }
            if value_id not in (None, "") and listed:
                if str(value_id) not in listed:
                    raise _cause(
                        "item.attributes.invalid_value",
                        f"Attribute [{attribute['id']}] has an invalid value_id: {value_id}. "
                        "Use one of the values listed in the category's attributes.",
                    )
                value_id = str(value_id)
                value_name = value_name or listed[value_id]
            built.append(
                {
                    "id": attribute["id"],
                    "name": attribute.get("name") or attribute["id"],
                    "value_id": value_id,
                    "value_name": value_name,
                }
            )
        return built

    def _check_variation(self, entry: Any, definitions: dict) -> None:

        if not isinstance(entry, dict):
            raise BadRequest("Every entry of variations[] must be an object")
        combination = self._check_attributes(
            entry.get("attribute_combinations") or [], "attribute_combinations", definitions
        )
        if not combination:
            raise _cause(
                "item.variations.attribute_combinations.missing",
                "Every variation needs attribute_combinations",
            )
        for attribute in combination:
            definition = definitions.get(attribute["id"])
            if definition is None or not definition["tags"].get("allow_variations"):
                raise _cause(
                    "item.variations.attribute_combinations.invalid",
                    f"Attribute {attribute['id']} does not allow variations in this category",
                )
        if not _is_number(entry.get("price")) or entry["price"] <= 0:
            raise _cause("item.variations.price.invalid", "Every variation needs a price > 0")
        if not _is_int(entry.get("available_quantity")) or entry["available_quantity"] < 0:
            raise _cause(
                "item.variations.available_quantity.invalid",
                "Every variation needs available_quantity >= 0",
            )
        self._check_attributes(entry.get("attributes") or [], "variation attributes", definitions)

    def _add_variation(self, item: dict, entry: dict, definitions: dict) -> dict:
        variation = {
            "id": 180000000000 + next(self._variation_seq),
            "price": entry["price"],
            "available_quantity": entry["available_quantity"],
            "sold_quantity": 0,
            "attribute_combinations": self._check_attributes(
                entry["attribute_combinations"], "attribute_combinations", definitions
            ),
            "attributes": self._check_attributes(
                entry.get("attributes") or [], "attributes", definitions
            ),
            "seller_custom_field": None,
            "picture_ids": [p["id"] for p in item.get("pictures") or []],
        }
        item.setdefault("variations", []).append(variation)
        for code in _seller_skus(variation["attributes"]):
            self._listings_by_sku.setdefault(code, []).append((item["id"], variation["id"]))
            self.record_catalog(code, "create_variation", id=item["id"], variation=variation["id"])
        return variation

    def apply_catalog_put(self, item: dict, body: dict, new_variations: list[dict]) -> None:
        """The catalog part of PUT /items/{id}: title, pictures and new variations."""
        code = (_seller_skus(item.get("attributes") or []) or [item["id"]])[0]
        if "title" in body:
            title = body["title"]
            if not isinstance(title, str) or not title.strip():
                raise BadRequest("title must be a non-empty text")
            if item.get("sold_quantity"):
                raise _cause(
                    "item.title.not_modifiable", "The title of an item with sales cannot change"
                )
            if len(title) > MAX_TITLE_LENGTH:
                raise _cause("item.title.length.invalid", "Title is too long")
            item["title"] = title
            self.record_catalog(code, "update_title", id=item["id"], title=title)
        if "pictures" in body:
            item["pictures"] = self._pictures(body["pictures"])
            self.record_catalog(code, "update_pictures", id=item["id"])
        if new_variations:
            definitions = {
                a["id"]: a for a in CATEGORIES.get(item["category_id"], {}).get("attributes", [])
            }
            combos = {_combination(v) for v in item.get("variations") or []}
            for entry in new_variations:
                self._check_variation(entry, definitions)
                if _combination(entry) in combos:
                    raise _cause(
                        "item.variations.attribute_combinations.duplicated",
                        "Variations have the same attribute_combinations",
                    )
                combos.add(_combination(entry))
            for entry in new_variations:
                self._add_variation(item, entry, definitions)

    # --- description ------------------------------------------------------------------------
    def _get_description(self, request: Request) -> Response:
        item = self._item_or_404(request.params["item_id"])
        if "description" not in item:
            raise HttpError(404, "Item description not found", code="not_found")
        return Response(200, {"text": "", "plain_text": item["description"]})

    def _post_description(self, request: Request) -> Response:
        item = self._item_or_404(request.params["item_id"])
        body = request.json()
        if not isinstance(body, dict) or not isinstance(body.get("plain_text"), str):
            raise BadRequest("plain_text is required")
        if "description" in item:
            raise _cause("item.description.exists", "The item has a description: use PUT")
        item["description"] = body["plain_text"]
        self.record_catalog(item["id"], "create_description", id=item["id"])
        return Response(201, {"text": "", "plain_text": item["description"]})

    def _put_description(self, request: Request) -> Response:
        item = self._item_or_404(request.params["item_id"])
        body = request.json()
        if not isinstance(body, dict) or not isinstance(body.get("plain_text"), str):
            raise BadRequest("plain_text is required")
        item["description"] = body["plain_text"]
        self.record_catalog(item["id"], "update_description", id=item["id"])
        return Response(200, {"text": "", "plain_text": item["description"]})

    def catalog_product(self, seller_sku: str) -> dict | None:
        with self.lock:
            for item_id, _variation in self._listings_by_sku.get(seller_sku, []):
                item = self.listings.get(item_id)
                if item is None:
                    continue
                held = dict(item)
                held["name"] = item["title"]
                skus = []
                if item.get("variations"):
                    for v in item["variations"]:
                        codes = _seller_skus(v.get("attributes") or [])
                        skus.append(
                            {
                                "id": str(v["id"]),
                                "code": codes[0] if codes else "",
                                "ean": _value(v.get("attributes") or [], "GTIN"),
                                "combination": dict(_combination(v)),
                                "price": v["price"],
                                "available_quantity": v["available_quantity"],
                            }
                        )
                else:
                    codes = _seller_skus(item.get("attributes") or [])
                    skus.append(
                        {
                            "id": "",
                            "code": codes[0] if codes else "",
                            "ean": _value(item.get("attributes") or [], "GTIN"),
                        }
                    )
                held["skus"] = skus
                return held
            return None


def _seller_skus(attributes: list[dict]) -> list[str]:
    return [a["value_name"] for a in attributes if a["id"] == "SELLER_SKU" and a["value_name"]]


def _value(attributes: list[dict], attribute_id: str) -> str:
    return next((a["value_name"] or "" for a in attributes if a["id"] == attribute_id), "")


def _combination(variation: dict) -> tuple:
    return tuple(
        sorted(
            (a["id"], str(a.get("value_id") or a.get("value_name")))
            for a in variation.get("attribute_combinations") or []
        )
    )
