"""VTEX's Catalog API for products and SKUs, as the vendor validates it (mixed into VtexApi).

Rules, each from vendor-specs/vtex/catalog.json (VTEX's official OpenAPI):
- Create product: `Name` required ("Limited to 150 characters"); CategoryId or CategoryPath,
  BrandId or BrandName ("It is mandatory to use either this field or …"); an unknown
  CategoryId / BrandId is refused; `RefId` "limit … is 100 characters". A RefId another
  product holds is refused: productgetbyrefid answers one product per RefId.
- Update product: `Name`, `CategoryId`, `BrandId` required (the PUT's schema).
- Create / update SKU: ProductId, Name, PackagedHeight, PackagedLength, PackagedWidth,
  PackagedWeightKg required (IsActive too on update); `RefId` "Must be unique" (Get SKU by
  reference ID); the product must exist.
- SKU file: Name and Url required. SKU specification: FieldId required; the field and value
  must exist (listByCategoryId / fieldvalue).
- productgetbyrefid of an unknown RefId: catalog.json documents only the 200; the emulator
  answers 404 with the catalog's {"Message"} body (not confirmed against VTEX).
A created SKU is an ordinary SKU of the emulator: stock (logistics) and price (pricing) routes
take it at once. Every write is noted with `record_catalog` under the SKU's or product's RefId.
"""

from __future__ import annotations

from typing import Any

from sandbox.server import HttpError, Request, Response

PRODUCT = "/api/catalog/pvt/product"
SKU = "/api/catalog/pvt/stockkeepingunit"
NAME_MAX = 150
REF_ID_MAX = 100

# A small category tree, brands and SKU specification fields (with their values) per category.
CATEGORIES = {
    1: ("Vestuário", None),
    10: ("Camisetas", 1),
    11: ("Calçados", 1),
    2: ("Casa", None),
    20: ("Cozinha", 2),
}
BRANDS = {2000001: "Marca Demo", 2000002: "Acme"}
SPEC_FIELDS = {
    30: ("Cor", (10, 11), {301: "Azul", 302: "Preto", 303: "Branco"}),
    31: ("Tamanho", (10,), {311: "P", 312: "M", 313: "G"}),
    32: ("Numeração", (11,), {321: "38", 322: "40", 323: "42"}),
}
SKU_REQUIRED = ("ProductId", "Name", "PackagedHeight", "PackagedLength", "PackagedWidth")


def _error(status: int, message: str) -> HttpError:
    return HttpError(status, message, body={"Message": message})


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class VtexCatalogRoutes:
    """Product/SKU creation and update routes; needs `self.products`, `self.skus`."""

    def setup_catalog_routes(self) -> None:
        r = self.route
        r("GET", "/api/catalog_system/pvt/products/productgetbyrefid/{refId}", self.h_product_ref)
        r("POST", PRODUCT, self.h_product_create)
        r("PUT", PRODUCT + "/{productId}", self.h_product_update)
        r("POST", SKU, self.h_sku_create)
        r("GET", SKU + "/{skuId}", self.h_sku_get)
        r("PUT", SKU + "/{skuId}", self.h_sku_update)
        r("POST", SKU + "/{skuId}/ean/{ean}", self.h_ean_add)
        r("DELETE", SKU + "/{skuId}/ean/{ean}", self.h_ean_delete)
        r("POST", SKU + "/{skuId}/file", self.h_file_add)
        r("DELETE", SKU + "/{skuId}/file", self.h_files_delete)
        r("POST", SKU + "/{skuId}/specification", self.h_spec_add)
        r("DELETE", SKU + "/{skuId}/specification", self.h_specs_delete)
        r("GET", "/api/catalog_system/pub/category/tree/{levels}", self.h_category_tree)
        r("GET", "/api/catalog_system/pvt/brand/list", self.h_brands)
        r(
            "GET",
            "/api/catalog_system/pub/specification/field/listByCategoryId/{categoryId}",
            self.h_spec_fields,
        )
        r("GET", "/api/catalog_system/pub/specification/fieldvalue/{fieldId}", self.h_spec_values)

    # --- products -------------------------------------------------------------------------
    def h_product_ref(self, request: Request) -> Response:
        ref = request.params["refId"]
        with self.lock:
            product = next((p for p in self.products.values() if p["RefId"] == ref), None)
        if product is None:
            raise _error(404, f"Product with RefId {ref} not found.")
        return Response(200, dict(product))

    def _check_product(self, body: Any, *, update: bool) -> dict:
        if not isinstance(body, dict):
            raise _error(400, "The body must be a JSON object.")
        name = body.get("Name")
        if not isinstance(name, str) or not name.strip():
            raise _error(400, "Name is required.")
        if len(name) > NAME_MAX:
            raise _error(400, f"Name is limited to {NAME_MAX} characters.")
        ref = body.get("RefId")
        if ref is not None and (not isinstance(ref, str) or len(ref) > REF_ID_MAX):
            raise _error(400, f"RefId must be a text of at most {REF_ID_MAX} characters.")
        category, brand = _int(body.get("CategoryId")), _int(body.get("BrandId"))
        if update and (category is None or brand is None):
            raise _error(400, "CategoryId and BrandId are required.")
        if category is None and not body.get("CategoryPath"):
            raise _error(400, "Either CategoryId or CategoryPath is required.")
        if brand is None and not body.get("BrandName"):
            raise _error(400, "Either BrandId or BrandName is required.")
        if category is not None and category not in CATEGORIES:
            raise _error(400, f"Category {category} not found.")
        if brand is not None and brand not in BRANDS:
            raise _error(400, f"Brand {brand} not found.")
        return body

    def h_product_create(self, request: Request) -> Response:
        body = self._check_product(self._body(request, "catalog", "POST", PRODUCT), update=False)
        with self.lock:
            ref = body.get("RefId") or ""
            if ref and any(p["RefId"] == ref for p in self.products.values()):
                raise _error(409, f"There is already a product with RefId {ref}.")
            product_id = self._next_product_id
            self._next_product_id += 1
            product = {
                "Id": product_id,
                "Name": body["Name"],
                "DepartmentId": CATEGORIES.get(body.get("CategoryId"), ("", None))[1],
                "CategoryId": body.get("CategoryId"),
                "BrandId": body.get("BrandId"),
                "LinkId": body.get("LinkId") or "",
                "RefId": ref,
                "IsVisible": bool(body.get("IsVisible", True)),
                "Description": body.get("Description") or "",
                "DescriptionShort": body.get("DescriptionShort") or "",
                "ReleaseDate": body.get("ReleaseDate"),
                "KeyWords": body.get("KeyWords") or "",
                "Title": body.get("Title") or "",
                "IsActive": bool(body.get("IsActive", True)),
                "TaxCode": body.get("TaxCode") or "",
                "MetaTagDescription": body.get("MetaTagDescription") or "",
                "ShowWithoutStock": bool(body.get("ShowWithoutStock", True)),
                "Score": body.get("Score"),
            }
            self.products[product_id] = product
            self.record_catalog(ref, "create_product", id=product_id, name=body["Name"])
        return Response(200, dict(product))

    def _product(self, raw: str) -> dict:
        product = self.products.get(int(raw)) if raw.isdigit() else None
        if product is None:
            raise _error(404, f"Product {raw} not found.")
        return product

    def h_product_update(self, request: Request) -> Response:
        path = PRODUCT + "/{productId}"
        body = self._check_product(self._body(request, "catalog", "PUT", path), update=True)
        with self.lock:
            product = self._product(request.params["productId"])
            ref = body.get("RefId") or ""
            if ref and any(
                p["RefId"] == ref and p["Id"] != product["Id"] for p in self.products.values()
            ):
                raise _error(409, f"There is already a product with RefId {ref}.")
            # The spec: a field left out is deleted, a boolean left out turns false.
            for name in list(product):
                if name == "Id":
                    continue
                value = body.get(name)
                product[name] = bool(value) if isinstance(product[name], bool) else value
            product["DepartmentId"] = CATEGORIES[body["CategoryId"]][1]
            for sku in self.skus.values():
                if sku.product_id == product["Id"]:
                    sku.product_name = product["Name"] or ""
            self.record_catalog(product["RefId"] or "", "update_product", id=product["Id"])
        return Response(200, dict(product))

    # --- SKUs -----------------------------------------------------------------------------
    def _check_sku(self, body: Any, *, update: bool) -> dict:
        if not isinstance(body, dict):
            raise _error(400, "The body must be a JSON object.")
        required = (*SKU_REQUIRED, "PackagedWeightKg", *(("IsActive",) if update else ()))
        missing = [name for name in required if body.get(name) is None]
        if missing:
            raise _error(400, f"Required field(s) missing: {', '.join(missing)}.")
        if not isinstance(body["Name"], str) or not body["Name"].strip():
            raise _error(400, "Name is required.")
        for name in ("PackagedHeight", "PackagedLength", "PackagedWidth", "PackagedWeightKg"):
            value = body[name]
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise _error(400, f"{name} must be a non-negative number.")
        if _int(body["ProductId"]) not in self.products:
            raise _error(400, f"Product {body['ProductId']} not found.")
        return body

    def _apply_sku(self, sku, body: dict) -> None:
        sku.product_id = body["ProductId"]
        sku.name = body["Name"]
        sku.product_name = self.products[body["ProductId"]]["Name"]
        sku.active = bool(body.get("IsActive", False))
        sku.height = body["PackagedHeight"]
        sku.length = body["PackagedLength"]
        sku.width = body["PackagedWidth"]
        sku.weight = body["PackagedWeightKg"]

    def h_sku_create(self, request: Request) -> Response:
        body = self._check_sku(self._body(request, "catalog", "POST", SKU), update=False)
        with self.lock:
            ref = body.get("RefId") or ""
            if ref and ref in self.sku_ids_by_ref:
                raise _error(409, f"There is already an SKU with RefId {ref}.")
            sku = self.add_sku(ref_id=ref, name=body["Name"], product_id=body["ProductId"])
            self._apply_sku(sku, body)
            self._stock_record(sku.id, 0)
            self.record_catalog(ref, "create_sku", id=sku.id, product_id=sku.product_id)
        return Response(200, self._sku_document(sku))

    def _sku(self, raw: str):
        sku = self.skus.get(int(raw)) if raw.isdigit() else None
        if sku is None:
            raise _error(404, f"SKU {raw} not found.")
        return sku

    @staticmethod
    def _sku_document(sku) -> dict:
        return {
            "Id": sku.id,
            "ProductId": sku.product_id,
            "IsActive": sku.active,
            "Name": sku.name,
            "RefId": sku.ref_id,
            "PackagedHeight": sku.height,
            "PackagedLength": sku.length,
            "PackagedWidth": sku.width,
            "PackagedWeightKg": sku.weight,
            "MeasurementUnit": "un",
            "UnitMultiplier": 1.0,
            "ManufacturerCode": sku.manufacturer_code,
        }

    def h_sku_get(self, request: Request) -> Response:
        with self.lock:
            return Response(200, self._sku_document(self._sku(request.params["skuId"])))

    def h_sku_update(self, request: Request) -> Response:
        body = self._check_sku(self._body(request, "catalog", "PUT", SKU + "/{skuId}"), update=True)
        with self.lock:
            sku = self._sku(request.params["skuId"])
            ref = body.get("RefId") or ""
            if ref and self.sku_ids_by_ref.get(ref, sku.id) != sku.id:
                raise _error(409, f"There is already an SKU with RefId {ref}.")
            if ref != sku.ref_id:
                self.sku_ids_by_ref.pop(sku.ref_id, None)
                sku.ref_id = ref
                self.sku_ids_by_ref[ref] = sku.id
            self._apply_sku(sku, body)
            sku.manufacturer_code = body.get("ManufacturerCode") or ""
            self.record_catalog(sku.ref_id, "update_sku", id=sku.id)
        return Response(200, self._sku_document(sku))

    def h_ean_add(self, request: Request) -> Response:
        ean = request.params["ean"]
        with self.lock:
            sku = self._sku(request.params["skuId"])
            if any(s.ean == ean and s.id != sku.id for s in self.skus.values()):
                raise _error(409, f"EAN {ean} belongs to another SKU.")
            sku.ean = ean
            self.record_catalog(sku.ref_id, "add_ean", id=sku.id, ean=ean)
        return Response(200, None)

    def h_ean_delete(self, request: Request) -> Response:
        with self.lock:
            sku = self._sku(request.params["skuId"])
            if sku.ean == request.params["ean"]:
                sku.ean = ""
                self.record_catalog(sku.ref_id, "delete_ean", id=sku.id)
        return Response(200, None)

    def h_file_add(self, request: Request) -> Response:
        body = self._body(request, "catalog", "POST", SKU + "/{skuId}/file")
        if not isinstance(body, dict) or not body.get("Name") or not body.get("Url"):
            raise _error(400, "Name and Url are required.")
        url = str(body["Url"])
        if not url.startswith(("http://", "https://")):
            raise _error(400, f"Url {url} is not an image address.")
        with self.lock:
            sku = self._sku(request.params["skuId"])
            file_id = 500000 + sum(len(s.images) for s in self.skus.values())
            sku.images.append(
                {
                    "ImageUrl": f"https://{self.account_name}.vteximg.com.br/arquivos/ids/{file_id}",
                    "ImageName": body["Name"],
                    "FileId": file_id,
                    "SourceUrl": url,
                }
            )
            self.record_catalog(sku.ref_id, "add_image", id=sku.id, url=url)
        return Response(200, {"Id": file_id, "SkuId": sku.id, "Name": body["Name"]})

    def h_files_delete(self, request: Request) -> Response:
        with self.lock:
            sku = self._sku(request.params["skuId"])
            sku.images.clear()
            self.record_catalog(sku.ref_id, "delete_images", id=sku.id)
        return Response(200, None)

    def h_spec_add(self, request: Request) -> Response:
        body = self._body(request, "catalog", "POST", SKU + "/{skuId}/specification")
        field_id = _int(body.get("FieldId")) if isinstance(body, dict) else None
        if field_id is None:
            raise _error(400, "FieldId is required.")
        value_id = _int(body.get("FieldValueId"))
        with self.lock:
            sku = self._sku(request.params["skuId"])
            category = self.products[sku.product_id]["CategoryId"]
            field = SPEC_FIELDS.get(field_id)
            if field is None or category not in field[1]:
                raise _error(400, f"Specification {field_id} is not in category {category}.")
            if value_id not in field[2]:
                raise _error(400, f"Value {value_id} is not a value of specification {field_id}.")
            sku.specs = [s for s in sku.specs if s[0] != field_id] + [(field_id, value_id)]
            self.record_catalog(sku.ref_id, "add_specification", id=sku.id, field=field_id)
        return Response(200, {"Id": len(sku.specs), "SkuId": sku.id, "FieldId": field_id})

    def h_specs_delete(self, request: Request) -> Response:
        with self.lock:
            sku = self._sku(request.params["skuId"])
            sku.specs = []
            self.record_catalog(sku.ref_id, "delete_specifications", id=sku.id)
        return Response(200, None)

    def sku_context(self, sku) -> dict:
        """The catalog part of "Get SKU and context" (stockkeepingunitbyid)."""
        product = self.products.get(sku.product_id, {})
        return {
            "ProductRefId": product.get("RefId", ""),
            "ProductDescription": product.get("Description", ""),
            "BrandId": str(product.get("BrandId") or ""),
            "Dimension": {
                "cubicweight": 0.0,
                "height": sku.height,
                "length": sku.length,
                "weight": sku.weight,
                "width": sku.width,
            },
            "Images": [
                {k: image[k] for k in ("ImageUrl", "ImageName", "FileId")} for image in sku.images
            ],
            "SkuSpecifications": [
                {
                    "FieldId": field_id,
                    "FieldName": SPEC_FIELDS[field_id][0],
                    "FieldValueIds": [value_id],
                    "FieldValues": [SPEC_FIELDS[field_id][2][value_id]],
                }
                for field_id, value_id in sku.specs
            ],
        }

    # --- reference lists ------------------------------------------------------------------
    def h_category_tree(self, request: Request) -> Response:
        def node(cid: int) -> dict:
            name, _parent = CATEGORIES[cid]
            children = [c for c, (_n, p) in CATEGORIES.items() if p == cid]
            return {
                "id": cid,
                "name": name,
                "hasChildren": bool(children),
                "children": [node(c) for c in children],
            }

        return Response(200, [node(c) for c, (_n, p) in CATEGORIES.items() if p is None])

    def h_brands(self, request: Request) -> Response:
        return Response(
            200, [{"id": bid, "name": name, "isActive": True} for bid, name in BRANDS.items()]
        )

    def h_spec_fields(self, request: Request) -> Response:
        raw = request.params["categoryId"]
        category = int(raw) if raw.isdigit() else None
        return Response(
            200,
            [
                {
                    "Name": name,
                    "CategoryId": category,
                    "FieldId": fid,
                    "IsActive": True,
                    "IsRequired": False,
                    "IsStockKeepingUnit": True,
                }
                for fid, (name, categories, _values) in SPEC_FIELDS.items()
                if category in categories
            ],
        )

    def h_spec_values(self, request: Request) -> Response:
        raw = request.params["fieldId"]
        field = SPEC_FIELDS.get(int(raw)) if raw.isdigit() else None
        if field is None:
            raise _error(404, f"Specification {raw} not found.")
        return Response(
            200,
            [
                {"FieldValueId": vid, "Value": value, "IsActive": True, "Position": n}
                for n, (vid, value) in enumerate(field[2].items())
            ],
        )

    def catalog_product(self, seller_sku: str) -> dict | None:
        with self.lock:
            sku_id = self.sku_ids_by_ref.get(seller_sku)
            if sku_id is None:
                return None
            product_id = self.skus[sku_id].product_id
            product = dict(self.products.get(product_id) or {"Id": product_id})
            product["id"] = str(product_id)
            product["name"] = product.get("Name", "")
            product["skus"] = [
                {
                    "id": str(s.id),
                    "code": s.ref_id,
                    "ean": s.ean,
                    "name": s.name,
                    "active": s.active,
                    "weight": s.weight,
                    "height": s.height,
                    "width": s.width,
                    "length": s.length,
                    "images": [i["SourceUrl"] for i in s.images],
                    "specifications": list(s.specs),
                }
                for s in sorted(self.skus.values(), key=lambda s: s.id)
                if s.product_id == product_id
            ]
            return product
