"""VTEX catalog publishing: the ERP's products and SKUs written through the Catalog API
(shared/vendor-specs/vtex/catalog.json; developers.vtex.com/docs/api-reference/catalog-api).

Per product, in this order:
- GET  /api/catalog_system/pvt/products/productgetbyrefid/{refId}   the product by its RefId
  (= the ERP product code): a retry after a lost answer finds what the first attempt created;
- POST /api/catalog_system/pub/sku/stockkeepingunitidsbyrefids       the SKUs by RefId (= ERP
  SKU code), only when the product exists;
- GET  /api/catalog_system/pvt/sku/stockkeepingunitbyid/{skuId}     each existing SKU with its
  EAN, dimensions, images and specifications in one document ("Get SKU and context");
then only the writes that differ:
- POST /api/catalog/pvt/product (Type 2: existing CategoryId and BrandId), or PUT
  /api/catalog/pvt/product/{productId} with the product as read as the template (the spec:
  "if you don't send a field … all previously configured information will be deleted");
- POST /api/catalog/pvt/stockkeepingunit (ProductId, Name, RefId, PackagedHeight/Length/Width,
  PackagedWeightKg — the spec's required fields; weight in the store's unit, grams by
  default), or GET + PUT /api/catalog/pvt/stockkeepingunit/{skuId} (the SKU as template);
- POST /api/catalog/pvt/stockkeepingunit/{skuId}/ean/{ean} (after DELETE of the old one);
- POST /api/catalog/pvt/stockkeepingunit/{skuId}/file {Name, Url, Position, IsMain} per image
  (DELETE …/file first when the list changed). VTEX re-hosts the image, so the SKU's images
  are recognised by Name: the adapter names each `erp-<sha1 of the URL, 16 hex>`;
- POST /api/catalog/pvt/stockkeepingunit/{skuId}/specification {FieldId, FieldValueId} per
  variation attribute ((FieldId, FieldValueId) codes from the de-para; DELETE …/specification
  first when a value changed).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
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

PRODUCT_PATH = "/api/catalog/pvt/product"
SKU_PATH = "/api/catalog/pvt/stockkeepingunit"
# catalog.json, Create product: "Product's name. Limited to 150 characters."; RefId "limit …
# is 100 characters".
NAME_MAX = 150
REF_ID_MAX = 100
# The fields of the PUT bodies (catalog.json, Update product / Update SKU): the document as
# read is the template, cut to these and without nulls (the schema types them, null is none).
PRODUCT_PUT_FIELDS = (
    "Name", "DepartmentId", "CategoryId", "BrandId", "LinkId", "RefId", "IsVisible",
    "Description", "DescriptionShort", "ReleaseDate", "KeyWords", "Title", "IsActive", "TaxCode",
    "MetaTagDescription", "SupplierId", "ShowWithoutStock", "AdWordsRemarketingCode",
    "LomadeeCampaignCode", "Score",
)  # fmt: skip
SKU_PUT_FIELDS = (
    "ProductId", "IsActive", "ActivateIfPossible", "Name", "RefId", "PackagedHeight",
    "PackagedLength", "PackagedWidth", "PackagedWeightKg", "Height", "Length", "Width",
    "WeightKg", "CubicWeight", "IsKit", "CreationDate", "RewardValue", "EstimatedDateArrival",
    "ManufacturerCode", "CommercialConditionId", "MeasurementUnit", "UnitMultiplier",
    "ModalType", "KitItensSellApart", "Videos",
)  # fmt: skip
# catalog.json, Get category tree: the levels to return.
CATEGORY_TREE_LEVELS = 3


def image_name(url: str) -> str:
    """The Name a SKU file gets: how an image is recognised after VTEX re-hosted it."""
    return "erp-" + hashlib.sha1(url.encode("utf-8")).hexdigest()[:16]  # noqa: S324


def _int_code(value: str) -> int | None:
    text = (value or "").strip()
    return int(text) if text.isdigit() else None


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


class VtexCatalog:
    """Mixed into VtexConnector: publish_product and catalog_references."""

    def publish_product(self, product: CatalogProduct) -> CatalogResult:
        before = self.http.requests_sent
        try:
            result = self._publish(product)
        except ConnectorError as exc:
            result = CatalogResult.from_error(exc)
        return _with_requests(result, self.http.requests_sent - before)

    # --- steps --------------------------------------------------------------------------------
    def _publish(self, product: CatalogProduct) -> CatalogResult:
        missing = _missing_fields(product)
        if missing:
            return CatalogResult.waiting(
                missing,
                f"VTEX needs {', '.join(missing)} to publish product {product.code}.",
            )
        found = self._product_by_ref_id(product.code)
        changes: list[str] = []
        if found is None:
            created = self._post(PRODUCT_PATH, json=self._product_body(product))
            product_id = self._id_of(created, "product")
            existing: dict[str, Mapping[str, Any]] = {}
        else:
            product_id = self._id_of(found, "product")
            differs = self._product_differences(found, product)
            if differs:
                body = _template(found, PRODUCT_PUT_FIELDS) | self._product_body(product)
                self._send("PUT", f"{PRODUCT_PATH}/{product_id}", json=body)
                changes.extend(differs)
            existing = self._existing_skus(product)
        refs: dict[object, ExternalRef] = {}
        for sku in product.skus:
            current = existing.get(sku.code)
            if current is None:
                sku_id = self._create_sku(product, product_id, sku)
                if found is not None:
                    changes.append(f"sku {sku.code} created")
            else:
                sku_id = self._id_of(current, f"SKU {sku.code}")
                if str(current.get("ProductId")) != product_id:
                    return CatalogResult.refused(
                        f"VTEX SKU {sku_id} with RefId {sku.code} belongs to product "
                        f"{current.get('ProductId')}, not to {product_id} (RefId {product.code})."
                    )
                changes.extend(self._update_sku(product, product_id, sku, sku_id, current))
            refs[sku.key] = ExternalRef(item_id=product_id, sku_id=sku_id, seller_sku=sku.code)
        if found is None:
            outcome = CatalogOutcome.CREATED
        else:
            outcome = CatalogOutcome.UPDATED if changes else CatalogOutcome.UNCHANGED
        return CatalogResult(outcome, refs=refs, changes=tuple(changes))

    def _product_by_ref_id(self, ref_id: str) -> Mapping[str, Any] | None:
        # catalog.json documents only the 200; a RefId VTEX does not know answers an empty
        # body or 404 (not confirmed in the docs): both mean "no such product".
        try:
            found = self._get(
                "/api/catalog_system/pvt/products/productgetbyrefid/" + quote(ref_id, safe="")
            )
        except NotFoundError:
            return None
        if not found:
            return None
        if not isinstance(found, Mapping):
            raise MalformedResponseError(f"VTEX answered product RefId {ref_id} with a non-object.")
        return found

    def _existing_skus(self, product: CatalogProduct) -> dict[str, Mapping[str, Any]]:
        ids = self.skus_by_ref_ids(sku.code for sku in product.skus)
        existing = {}
        for code, sku_id in ids.items():
            document = self._get(f"/api/catalog_system/pvt/sku/stockkeepingunitbyid/{sku_id}")
            if not isinstance(document, Mapping):
                raise MalformedResponseError(f"VTEX answered SKU {sku_id} with a non-object.")
            existing[code] = document
        return existing

    @staticmethod
    def _id_of(document: object, what: str) -> str:
        if isinstance(document, Mapping) and document.get("Id") not in (None, ""):
            return str(document["Id"])
        raise MalformedResponseError(f"VTEX answered the {what} without its Id.")

    @staticmethod
    def _product_body(product: CatalogProduct) -> dict[str, Any]:
        return {
            "Name": product.name,
            "CategoryId": _int_code(product.category),
            "BrandId": _int_code(product.brand),
            "RefId": product.code,
            "Description": product.description,
            "IsActive": product.active,
            "IsVisible": True,
        }

    @staticmethod
    def _product_differences(found: Mapping[str, Any], product: CatalogProduct) -> list[str]:
        wanted = {
            "Name": product.name,
            "CategoryId": _int_code(product.category),
            "BrandId": _int_code(product.brand),
            "Description": product.description,
            "IsActive": product.active,
        }
        differs = []
        for name, value in wanted.items():
            have = found.get(name)
            if isinstance(value, str):
                have = have or ""
            if have != value:
                differs.append(f"product {name}")
        return differs

    def _sku_body(self, product_id: str, sku: CatalogSku) -> dict[str, Any]:
        return {
            "ProductId": int(product_id),
            "Name": sku.name or sku.code,
            "RefId": sku.code,
            "IsActive": sku.active,
            "PackagedHeight": _number(sku.height_cm),
            "PackagedLength": _number(sku.length_cm),
            "PackagedWidth": _number(sku.width_cm),
            "PackagedWeightKg": sku.weight_g,
        }

    def _create_sku(self, product: CatalogProduct, product_id: str, sku: CatalogSku) -> str:
        created = self._post(SKU_PATH, json=self._sku_body(product_id, sku))
        sku_id = self._id_of(created, f"SKU {sku.code}")
        if sku.ean:
            self._send("POST", f"{SKU_PATH}/{sku_id}/ean/{quote(sku.ean, safe='')}")
        self._add_images(sku_id, product.images)
        self._add_specifications(sku_id, sku)
        return sku_id

    def _add_images(self, sku_id: str, images: tuple[str, ...]) -> None:
        for position, url in enumerate(images):
            body = {
                "Name": image_name(url),
                "Url": url,
                "Position": position,
                "IsMain": position == 0,
            }
            self._send("POST", f"{SKU_PATH}/{sku_id}/file", json=body)

    def _add_specifications(self, sku_id: str, sku: CatalogSku) -> None:
        for field_id, value_id in sku.attributes:
            body = {"FieldId": _int_code(field_id), "FieldValueId": _int_code(value_id)}
            self._send("POST", f"{SKU_PATH}/{sku_id}/specification", json=body)

    def _update_sku(
        self,
        product: CatalogProduct,
        product_id: str,
        sku: CatalogSku,
        sku_id: str,
        current: Mapping[str, Any],
    ) -> list[str]:
        changes = []
        dimension = _obj(current.get("Dimension"))
        wanted = {
            "name": (current.get("SkuName"), sku.name or sku.code),
            "active": (current.get("IsActive"), sku.active),
            "height": (_as_decimal(dimension.get("height")), sku.height_cm),
            "length": (_as_decimal(dimension.get("length")), sku.length_cm),
            "width": (_as_decimal(dimension.get("width")), sku.width_cm),
            "weight": (_as_decimal(dimension.get("weight")), Decimal(sku.weight_g or 0)),
        }
        fields = [name for name, (have, want) in wanted.items() if have != want]
        if fields:
            template = self._get(f"{SKU_PATH}/{sku_id}")
            body = _template(_obj(template), SKU_PUT_FIELDS) | self._sku_body(product_id, sku)
            self._send("PUT", f"{SKU_PATH}/{sku_id}", json=body)
            changes.extend(f"sku {sku.code} {name}" for name in fields)
        alternate = _obj(current.get("AlternateIds"))
        old_ean = str(alternate.get("Ean") or "")
        if old_ean != sku.ean:
            if old_ean:
                self._send("DELETE", f"{SKU_PATH}/{sku_id}/ean/{quote(old_ean, safe='')}")
            if sku.ean:
                self._send("POST", f"{SKU_PATH}/{sku_id}/ean/{quote(sku.ean, safe='')}")
            changes.append(f"sku {sku.code} ean")
        names = [
            str(image.get("ImageName") or "")
            for image in current.get("Images") or []
            if isinstance(image, Mapping)
        ]
        if names != [image_name(url) for url in product.images]:
            if names:
                self._send("DELETE", f"{SKU_PATH}/{sku_id}/file")
            self._add_images(sku_id, product.images)
            changes.append(f"sku {sku.code} images")
        have_specs = sorted(
            (str(spec.get("FieldId")), str(value))
            for spec in current.get("SkuSpecifications") or []
            if isinstance(spec, Mapping)
            for value in spec.get("FieldValueIds") or []
        )
        want_specs = sorted((str(f).strip(), str(v).strip()) for f, v in sku.attributes)
        if have_specs != want_specs:
            if have_specs:
                self._send("DELETE", f"{SKU_PATH}/{sku_id}/specification")
            self._add_specifications(sku_id, sku)
            changes.append(f"sku {sku.code} attributes")
        return changes

    # --- reference lists -------------------------------------------------------------------
    def catalog_references(
        self, kind: str, *, query: str = "", parent: str = ""
    ) -> list[CatalogReference]:
        """category: GET /api/catalog_system/pub/category/tree/{levels}; brand: GET
        /api/catalog_system/pvt/brand/list; attribute: GET /api/catalog_system/pub/
        specification/field/listByCategoryId/{categoryId}; attribute_value: GET
        /api/catalog_system/pub/specification/fieldvalue/{fieldId} (catalog.json)."""
        if kind == "category":
            tree = self._get(f"/api/catalog_system/pub/category/tree/{CATEGORY_TREE_LEVELS}")
            found: list[CatalogReference] = []

            def walk(nodes: object, parent_code: str, path: str) -> None:
                for node in nodes if isinstance(nodes, list) else []:
                    if not isinstance(node, Mapping):
                        continue
                    label = f"{path} / {node.get('name')}" if path else str(node.get("name"))
                    code = str(node.get("id"))
                    if not node.get("children"):  # products go in leaf categories
                        found.append(CatalogReference("category", code, label, parent_code))
                    walk(node.get("children"), code, label)

            walk(tree, "", "")
            return _matching(found, query)
        if kind == "brand":
            brands = self._get("/api/catalog_system/pvt/brand/list") or []
            return _matching(
                [
                    CatalogReference("brand", str(b.get("id")), str(b.get("name") or ""))
                    for b in brands
                    if isinstance(b, Mapping) and b.get("isActive", True)
                ],
                query,
            )
        if kind == "attribute":
            fields = self._get(
                "/api/catalog_system/pub/specification/field/listByCategoryId/"
                + quote(parent, safe="")
            )
            return [
                CatalogReference(
                    "attribute",
                    str(f.get("FieldId")),
                    str(f.get("Name") or ""),
                    parent,
                    required=bool(f.get("IsRequired")),
                    allows_variations=f.get("IsStockKeepingUnit") is not False,
                )
                for f in fields or []
                if isinstance(f, Mapping) and f.get("IsActive", True)
            ]
        if kind == "attribute_value":
            values = self._get(
                "/api/catalog_system/pub/specification/fieldvalue/" + quote(parent, safe="")
            )
            return [
                CatalogReference(
                    "attribute_value", str(v.get("FieldValueId")), str(v.get("Value") or ""), parent
                )
                for v in values or []
                if isinstance(v, Mapping) and v.get("IsActive", True)
            ]
        return super().catalog_references(kind, query=query, parent=parent)


def _missing_fields(product: CatalogProduct) -> list[str]:
    """What VTEX requires that the product lacks (catalog.json: Name, CategoryId and BrandId
    for a Type 2 creation and for every update; a SKU's Packaged dimensions and weight)."""
    missing = []
    if not product.name.strip():
        missing.append("name")
    if _int_code(product.category) is None:
        missing.append("category")
    if _int_code(product.brand) is None:
        missing.append("brand")
    if not product.skus:
        missing.append("skus")
    for sku in product.skus:
        for name in ("height_cm", "width_cm", "length_cm", "weight_g"):
            if getattr(sku, name) is None:
                missing.append(f"sku {sku.code} {name}")
        for field_id, value_id in sku.attributes:
            if _int_code(field_id) is None or _int_code(value_id) is None:
                missing.append(f"sku {sku.code} attribute {field_id}")
    return missing


def _template(document: Mapping[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: document[name] for name in fields if document.get(name) is not None}


def _obj(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _as_decimal(value: object) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def _matching(values: list[CatalogReference], query: str) -> list[CatalogReference]:
    text = query.strip().lower()
    return [v for v in values if text in v.label.lower()] if text else values


def _with_requests(result: CatalogResult, requests: int) -> CatalogResult:
    return CatalogResult(
        result.outcome,
        refs=result.refs,
        message=result.message,
        missing=result.missing,
        changes=result.changes,
        requests=requests,
        error=result.error,
    )
