"""The emulators' catalog validation over raw HTTP: what each vendor's documentation says it
refuses when a product is created, independent of our adapters — and a product it takes
becomes a SKU its stock and price routes know."""

import requests

from sandbox.vtex import VtexEmulator

JSON = {"Accept": "application/json", "Content-Type": "application/json"}


# --- VTEX (catalog.json) ----------------------------------------------------------------------


def vtex_headers():
    demo = VtexEmulator.demo_credentials()
    return {"X-VTEX-API-AppKey": demo["app_key"], "X-VTEX-API-AppToken": demo["app_token"], **JSON}


def vtex_product(**changes):
    return {"Name": "Camiseta", "CategoryId": 10, "BrandId": 2000001, "RefId": "P-1", **changes}


def vtex_sku(product_id, **changes):
    body = {
        "ProductId": product_id,
        "Name": "Camiseta P",
        "RefId": "P-1-P",
        "PackagedHeight": 3,
        "PackagedLength": 30,
        "PackagedWidth": 25,
        "PackagedWeightKg": 300,
    }
    body.update(changes)
    return body


def test_vtex_product_creation_follows_the_catalog_spec(emulator):
    vtex = emulator("vtex", rate=1000, burst=1000)
    url, headers = vtex.url + "/api/catalog/pvt/product", vtex_headers()
    refused = [
        ({"CategoryId": 10, "BrandId": 2000001}, "Name is required."),
        (vtex_product(Name="x" * 151), "Name is limited to 150 characters."),
        (vtex_product(CategoryId=None), "Either CategoryId or CategoryPath is required."),
        (vtex_product(BrandId=None), "Either BrandId or BrandName is required."),
        (vtex_product(CategoryId=999), "Category 999 not found."),
    ]
    for body, message in refused:
        body = {k: v for k, v in body.items() if v is not None}
        answer = requests.post(url, json=body, headers=headers, timeout=5)
        assert answer.status_code == 400 and answer.json() == {"Message": message}, body
    created = requests.post(url, json=vtex_product(), headers=headers, timeout=5)
    assert created.status_code == 200
    again = requests.post(url, json=vtex_product(), headers=headers, timeout=5)
    assert again.status_code == 409 and "RefId P-1" in again.json()["Message"]
    by_ref = requests.get(
        vtex.url + "/api/catalog_system/pvt/products/productgetbyrefid/P-1",
        headers=headers,
        timeout=5,
    )
    assert by_ref.json()["Id"] == created.json()["Id"]
    assert len(vtex.products) == 1


def test_vtex_sku_creation_requires_the_packaged_fields_and_a_unique_ref_id(emulator):
    vtex = emulator("vtex", rate=1000, burst=1000)
    headers = vtex_headers()
    product = requests.post(
        vtex.url + "/api/catalog/pvt/product", json=vtex_product(), headers=headers, timeout=5
    ).json()
    url = vtex.url + "/api/catalog/pvt/stockkeepingunit"
    incomplete = vtex_sku(product["Id"])
    del incomplete["PackagedWeightKg"]
    answer = requests.post(url, json=incomplete, headers=headers, timeout=5)
    assert answer.status_code == 400
    assert "PackagedWeightKg" in answer.text  # the spec's required list (strict schema check)
    assert requests.post(url, json=vtex_sku(999), headers=headers, timeout=5).status_code == 400
    sku = requests.post(url, json=vtex_sku(product["Id"]), headers=headers, timeout=5)
    assert sku.status_code == 200
    duplicate = requests.post(url, json=vtex_sku(product["Id"]), headers=headers, timeout=5)
    assert duplicate.status_code == 409
    assert duplicate.json() == {"Message": "There is already an SKU with RefId P-1-P."}
    sku_id = sku.json()["Id"]
    spec = requests.post(
        f"{url}/{sku_id}/specification",
        json={"FieldId": 32, "FieldValueId": 321},  # Numeração: not a field of category 10
        headers=headers,
        timeout=5,
    )
    assert spec.status_code == 400
    # The created SKU is a SKU of the store: inventory and price routes take it.
    inventory = f"{vtex.url}/api/logistics/pvt/inventory/skus/{sku_id}/warehouses/1_1/quantity"
    assert requests.patch(
        inventory, json={"quantity": 3, "unlimitedQuantity": False}, headers=headers, timeout=5
    ).status_code in (200, 204)
    assert vtex.stock_of("P-1-P") == 3
    assert [a for _c, a, _d in vtex.catalog_writes("P-1-P")] == ["create_sku"]


# --- ANYMARKET ------------------------------------------------------------------------------


def any_product(**changes):
    body = {
        "title": "Camiseta",
        "category": {"id": 102},
        "brand": {"id": 501},
        "nbm": {"id": "61091000"},
        "origin": {"id": 0},
        "skus": [
            {"partnerId": "A-P", "title": "P", "price": 59.9, "sellPrice": 49.9,
             "variations": {"Tamanho": "P"}},
            {"partnerId": "A-M", "title": "M", "price": 59.9, "sellPrice": 49.9,
             "variations": {"Tamanho": "M"}},
        ],
    }  # fmt: skip
    body.update(changes)
    return body


def test_anymarket_product_creation_refuses_what_anymarket_refuses(emulator):
    anymarket = emulator("anymarket", rate=1000, burst=1000)
    url = anymarket.url + "/v2/products"
    headers = {"gumgaToken": anymarket.credentials["gumga_token"], **JSON}
    sku = any_product()["skus"][0]
    refused = [
        (any_product(title=""), "O campo title é obrigatório."),
        (any_product(category={"id": 9}), "Categoria 9 não encontrada."),
        (any_product(nbm={"id": "6109"}), "NBM 6109 inválido: informe os 8 dígitos."),
        (any_product(skus=[]), "O produto deve ter ao menos um SKU."),
        (any_product(skus=[{**sku, "price": 0}]), "price e sellPrice são obrigatórios"),
        (any_product(skus=[sku, {**sku, "partnerId": "A-X"}]), "Variação repetida no SKU A-X."),
        (
            any_product(skus=[sku, {**sku, "partnerId": "A-X", "variations": {}}]),
            "O SKU A-X precisa de variações",
        ),
    ]
    for body, message in refused:
        answer = requests.post(url, json=body, headers=headers, timeout=5)
        assert answer.status_code == 422, body
        assert set(answer.json()) == {"code", "message", "details"}
        assert answer.json()["message"].startswith(message)
    assert anymarket.products == {}
    created = requests.post(url, json=any_product(), headers=headers, timeout=5)
    assert created.status_code == 201
    again = requests.post(url, json=any_product(), headers=headers, timeout=5)
    assert again.status_code == 422
    assert again.json()["message"] == "SKU com partnerId 'A-P' já existe."
    found = requests.get(url, params={"sku": "A-M"}, headers=headers, timeout=5).json()
    assert [p["id"] for p in found["content"]] == [created.json()["id"]]
    stock = requests.put(
        anymarket.url + "/v2/stocks",
        json=[{"partnerId": "A-M", "quantity": 6}],
        headers=headers,
        timeout=5,
    )
    assert stock.status_code == 200 and anymarket.stock_of("A-M") == 6


# --- Mercado Livre ------------------------------------------------------------------------------


def ml_item(**changes):
    body = {
        "title": "Camiseta Azul",
        "category_id": "MLB31447",
        "price": 49.9,
        "currency_id": "BRL",
        "available_quantity": 3,
        "buying_mode": "buy_it_now",
        "listing_type_id": "gold_special",
        "condition": "new",
        "pictures": [{"source": "https://img.example.com/a.jpg"}],
        "attributes": [
            {"id": "BRAND", "value_name": "Marca"},
            {"id": "MODEL", "value_name": "Básica"},
            {"id": "GENDER", "value_name": "Masculino"},
        ],
        "variations": [
            {
                "attribute_combinations": [
                    {"id": "COLOR", "value_name": "Azul"},
                    {"id": "SIZE", "value_name": size},
                ],
                "price": 49.9,
                "available_quantity": 3,
                "attributes": [{"id": "SELLER_SKU", "value_name": f"M-{size}"}],
            }
            for size in ("P", "M")
        ],
    }
    body.update(changes)
    return body


def test_mercado_livre_item_creation_checks_required_fields_attributes_and_combinations(emulator):
    ml = emulator("mercadolivre", rate=1000, burst=1000)
    headers = {"Authorization": f"Bearer {ml.issue_access_token()}", **JSON}
    url = ml.url + "/items"
    base = ml_item()
    same = [dict(v) for v in base["variations"]]
    same[1] = {**same[1], "attribute_combinations": same[0]["attribute_combinations"]}
    refused = [
        ({k: v for k, v in base.items() if k != "listing_type_id"}, "item.fields.missing"),
        (ml_item(title="x" * 61), "item.title.length.invalid"),
        (ml_item(category_id="MLB1430"), "item.category_id.invalid"),
        (ml_item(pictures=[{"source": "ftp://x"}]), "item.pictures.invalid"),
        (ml_item(attributes=base["attributes"][:2]), "item.attributes.missing_required"),
        (ml_item(variations=same), "item.variations.attribute_combinations.duplicated"),
        (
            ml_item(
                variations=[
                    {**base["variations"][0], "attribute_combinations": [
                        {"id": "MODEL", "value_name": "X"}
                    ]}
                ]
            ),
            "item.variations.attribute_combinations.invalid",
        ),
    ]  # fmt: skip
    for body, code in refused:
        answer = requests.post(url, json=body, headers=headers, timeout=5)
        assert answer.status_code == 400, code
        assert answer.json()["cause"][0]["code"] == code
    missing = requests.post(url, json=ml_item(attributes=base["attributes"][:2]), headers=headers,
                            timeout=5)  # fmt: skip
    assert "GENDER" in missing.json()["cause"][0]["message"]
    assert ml.listings == {}
    created = requests.post(url, json=base, headers=headers, timeout=5)
    assert created.status_code == 201
    item_id = created.json()["id"]
    search = requests.get(
        f"{ml.url}/users/{ml.seller_id}/items/search",
        params={"seller_sku": "M-P"},
        headers=headers,
        timeout=5,
    )
    assert search.json()["results"] == [item_id]
    variation = ml.variation_ids(item_id)[1]
    stock = requests.put(
        f"{url}/{item_id}",
        json={"variations": [{"id": ml.variation_ids(item_id)[0]},
                             {"id": variation, "available_quantity": 9}]},
        headers=headers,
        timeout=5,
    )  # fmt: skip
    assert stock.status_code == 200 and ml.stock_of("M-M") == 9
    ml.listings[item_id]["sold_quantity"] = 1
    title = requests.put(f"{url}/{item_id}", json={"title": "Outra"}, headers=headers, timeout=5)
    assert title.json()["cause"][0]["code"] == "item.title.not_modifiable"


def test_mercado_livre_predictor_and_category_attributes(emulator):
    ml = emulator("mercadolivre", rate=1000, burst=1000)
    headers = {"Authorization": f"Bearer {ml.issue_access_token()}", **JSON}
    found = requests.get(
        ml.url + "/sites/MLB/domain_discovery/search",
        params={"q": "camiseta azul"},
        headers=headers,
        timeout=5,
    ).json()
    assert [(f["category_id"], f["domain_id"]) for f in found] == [("MLB31447", "MLB-T_SHIRTS")]
    attributes = requests.get(
        ml.url + "/categories/MLB31447/attributes", headers=headers, timeout=5
    ).json()
    required = {a["id"] for a in attributes if a["tags"].get("required")}
    assert required == {"BRAND", "MODEL", "GENDER", "COLOR", "SIZE"}
