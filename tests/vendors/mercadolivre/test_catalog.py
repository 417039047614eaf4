"""Mercado Livre catalog publishing against the emulator over HTTP: a listing with variations
by attribute combination, each with its SELLER_SKU and GTIN; nothing written when nothing
changed; a new SKU added without dropping a variation; a retry after a lost answer finds the
item by SELLER_SKU; a required category attribute missing waits naming it; refusals in Mercado
Livre's words; stock and price reach the created variations."""

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from vendors.mercadolivre.adapter import MercadoLivreConnector
from vendors.spec import Capability, Flow
from vendors.types import CatalogOutcome, CatalogProduct, CatalogSku, PriceUpdate, StockUpdate


@pytest.fixture
def ml(emulator):
    return emulator("mercadolivre", rate=1000, burst=1000)


def connector(emu):
    credentials = {
        **emu.credentials,
        "access_token": emu.issue_access_token(),
        "access_token_expires_at": (datetime.now(UTC) + timedelta(hours=5)).isoformat(),
    }
    return MercadoLivreConnector(credentials=credentials, base_url=emu.url, sleep=lambda s: None)


def sku(code, size, **changes):
    values = dict(
        key=code,
        code=code,
        name=code,
        ean="",
        price=Decimal("49.90"),
        stock=5,
        attributes=(("COLOR", "Azul"), ("SIZE", size)),
    )
    values.update(changes)
    return CatalogSku(**values)


def product(**changes):
    values = dict(
        key=1,
        code="CAM-1",
        name="Camiseta Básica Algodão Azul",
        description="Camiseta 100% algodão.",
        brand="Marca Demo",
        category="MLB31447",
        images=("https://img.example.com/a.jpg", "https://img.example.com/b.jpg"),
        attributes=(("MODEL", "Básica"), ("GENDER", "Masculino")),
        skus=(sku("CAM-1-P", "P", ean="7891234567895"), sku("CAM-1-M", "M")),
    )
    values.update(changes)
    return CatalogProduct(**values)


def writes(emu):
    return [(r.method, r.path) for r in emu.requests_log if r.method not in ("GET",)]


def test_spec_declares_the_catalog_flow():
    spec = MercadoLivreConnector.spec
    assert Flow.CATALOG in spec.limits.flows
    assert Flow.CATALOG not in spec.unsupported_flows  # the engine's flow is on
    assert {
        Capability.CATALOG_CREATE,
        Capability.CATEGORY_PREDICTOR,
        Capability.CATALOG_REQUIRED_ATTRIBUTES,
    } <= spec.capabilities


def test_create_lists_the_item_with_variations_and_its_description(ml):
    result = connector(ml).publish_product(product())
    assert result.outcome == CatalogOutcome.CREATED, result.message
    item = ml.catalog_product("CAM-1-M")
    assert item["title"] == "Camiseta Básica Algodão Azul"
    assert item["category_id"] == "MLB31447" and item["listing_type_id"] == "gold_special"
    assert len(item["pictures"]) == 2 and item["description"] == "Camiseta 100% algodão."
    brand = next(a for a in item["attributes"] if a["id"] == "BRAND")
    assert brand["value_name"] == "Marca Demo"
    by_code = {s["code"]: s for s in item["skus"]}
    assert by_code["CAM-1-P"]["combination"] == {"COLOR": "Azul", "SIZE": "P"}
    assert by_code["CAM-1-P"]["ean"] == "7891234567895"
    for key, ref in result.refs.items():
        assert ref.item_id == item["id"] and ref.variation_id == by_code[key]["id"]
    # /users/me, search, category attributes, POST /items, POST description.
    assert result.requests == 5
    assert writes(ml) == [("POST", "/items"), ("POST", f"/items/{item['id']}/description")]


def test_publishing_again_unchanged_writes_nothing(ml):
    adapter = connector(ml)
    first = adapter.publish_product(product())
    ml.reset_stats()
    again = adapter.publish_product(product())
    assert again.outcome == CatalogOutcome.UNCHANGED
    assert writes(ml) == [] and again.requests == 3  # search, item, description
    assert again.refs == first.refs


def test_a_change_writes_only_that_change(ml):
    adapter = connector(ml)
    refs = adapter.publish_product(product()).refs
    item_id = refs["CAM-1-P"].item_id
    ml.reset_stats()
    result = adapter.publish_product(product(description="Camiseta de algodão orgânico."))
    assert result.changes == ("description",)
    assert writes(ml) == [("PUT", f"/items/{item_id}/description")]
    ml.reset_stats()
    result = adapter.publish_product(
        product(name="Camiseta Premium Azul", description="Camiseta de algodão orgânico.")
    )
    assert result.changes == ("title",)
    assert writes(ml) == [("PUT", f"/items/{item_id}")]
    assert ml.listings[item_id]["title"] == "Camiseta Premium Azul"


def test_a_new_sku_is_added_without_dropping_a_variation(ml):
    adapter = connector(ml)
    first = adapter.publish_product(product())
    item_id = first.refs["CAM-1-P"].item_id
    ml.reset_stats()
    grown = product(skus=(*product().skus, sku("CAM-1-G", "G")))
    result = adapter.publish_product(grown)
    assert result.changes == ("sku CAM-1-G created",)
    assert writes(ml) == [("PUT", f"/items/{item_id}")]
    assert ml.deleted_variations == []
    assert set(ml.variation_ids(item_id)) == {int(r.variation_id) for r in result.refs.values()}
    assert result.refs["CAM-1-P"] == first.refs["CAM-1-P"]


def test_a_retry_after_a_lost_answer_finds_the_item_by_seller_sku(ml):
    adapter = connector(ml)
    first = adapter.publish_product(product())
    retry = connector(ml).publish_product(product())
    assert retry.outcome == CatalogOutcome.UNCHANGED and retry.refs == first.refs
    assert [a for _c, a, _d in ml.catalog_writes()].count("create_item") == 1


def test_a_missing_required_attribute_waits_naming_it(ml):
    result = connector(ml).publish_product(product(attributes=(("GENDER", "Masculino"),)))
    assert result.outcome == CatalogOutcome.WAITING
    assert result.missing == ("MODEL",)
    assert "MODEL" in result.message
    assert writes(ml) == []


def test_refusals_come_back_in_mercado_livre_words(ml):
    adapter = connector(ml)
    long_title = adapter.publish_product(product(name="Camiseta " * 10))
    assert long_title.outcome == CatalogOutcome.REFUSED
    assert "Validation error" in long_title.message
    assert "item.title.length.invalid" in long_title.error.body
    same = adapter.publish_product(product(skus=(sku("CAM-1-P", "P"), sku("CAM-1-M", "P"))))
    assert same.outcome == CatalogOutcome.REFUSED
    assert "attribute_combinations.duplicated" in same.error.body
    assert ml.catalog_writes() == []


def test_stock_and_price_reach_a_created_listing(ml):
    adapter = connector(ml)
    refs = adapter.publish_product(product()).refs
    stock = adapter.push_stock([StockUpdate(key="CAM-1-M", ref=refs["CAM-1-M"], quantity=8)])
    price = adapter.push_prices(
        [
            PriceUpdate(key="CAM-1-P", ref=refs["CAM-1-P"], price=Decimal("44.90")),
            PriceUpdate(key="CAM-1-M", ref=refs["CAM-1-M"], price=Decimal("44.90")),
        ]
    )
    assert stock.accepted == ["CAM-1-M"] and sorted(price.accepted) == ["CAM-1-M", "CAM-1-P"]
    assert ml.stock_of("CAM-1-M") == 8
    assert ml.price_of("CAM-1-M") == Decimal("44.90")
    assert ml.deleted_variations == []


def test_category_predictor_and_required_attributes(ml):
    adapter = connector(ml)
    suggested = adapter.catalog_references("category", query="camiseta azul")
    assert [c.code for c in suggested] == ["MLB31447"]
    attributes = {a.code: a for a in adapter.catalog_references("attribute", parent="MLB31447")}
    assert attributes["MODEL"].required and not attributes["MODEL"].allows_variations
    assert attributes["SIZE"].allows_variations
    values = adapter.catalog_references("attribute_value", parent="MLB31447:SIZE")
    assert [v.label for v in values] == ["P", "M", "G"]


def test_a_single_sku_product_carries_its_seller_sku_on_the_item(ml):
    single = product(
        category="MLB1000", attributes=(), skus=(sku("ONE-1", "", attributes=(), ean=""),)
    )
    result = connector(ml).publish_product(dataclasses.replace(single, key=9))
    assert result.outcome == CatalogOutcome.CREATED, result.message
    item = ml.catalog_product("ONE-1")
    assert item["skus"] == [{"id": "", "code": "ONE-1", "ean": ""}]
    assert result.refs["ONE-1"].variation_id == ""


# --- value ids and the item/variation split ---------------------------------------------------


def coded_product(**changes):
    """The de-para's codes as catalog_references lists them (sandbox CATEGORIES MLB31447):
    GENDER 339666 = Masculino, COLOR 52028 = Azul, SIZE 3259478 = P / 3259501 = M."""
    values = dict(
        attributes=(("MODEL", "Básica"), ("GENDER", "339666")),
        skus=(
            sku("CAM-1-P", "3259478", attributes=(("COLOR", "52028"), ("SIZE", "3259478"))),
            sku("CAM-1-M", "3259501", attributes=(("COLOR", "52028"), ("SIZE", "3259501"))),
        ),
    )
    values.update(changes)
    return product(**values)


def _stored(emu, code):
    item = emu.listings[emu.catalog_product(code)["id"]]
    return {a["id"]: (a["value_id"], a["value_name"]) for a in item["attributes"]}, item


def test_numeric_value_codes_go_as_value_id_and_texts_as_value_name(ml):
    result = connector(ml).publish_product(coded_product())
    assert result.outcome == CatalogOutcome.CREATED, result.message
    attributes, item = _stored(ml, "CAM-1-P")
    # Sent as value_id (Mercado Livre answers the listed name beside it); MODEL as text.
    assert attributes["GENDER"] == ("339666", "Masculino")
    assert attributes["MODEL"] == (None, "Básica")
    assert attributes["BRAND"] == (None, "Marca Demo")
    combinations = {
        tuple((a["id"], a["value_id"], a["value_name"]) for a in v["attribute_combinations"])
        for v in item["variations"]
    }
    assert combinations == {
        (("COLOR", "52028", "Azul"), ("SIZE", "3259478", "P")),
        (("COLOR", "52028", "Azul"), ("SIZE", "3259501", "M")),
    }
    # The write's answer names variations by combination: each SKU found its own.
    by_code = {s["code"]: s["id"] for s in ml.catalog_product("CAM-1-P")["skus"]}
    assert {k: r.variation_id for k, r in result.refs.items()} == by_code


def test_a_value_id_the_category_does_not_list_is_refused_in_mercado_livre_words(ml):
    wrong = coded_product(attributes=(("MODEL", "Básica"), ("GENDER", "999999")))
    result = connector(ml).publish_product(wrong)
    assert result.outcome == CatalogOutcome.REFUSED
    assert "item.attributes.invalid_value" in result.error.body
    assert "Attribute [GENDER] has an invalid value_id: 999999" in result.error.body
    assert ml.catalog_writes() == []


def test_an_attribute_every_sku_gives_alike_and_not_a_variation_goes_on_the_item(ml):
    # GENDER given per SKU (the ERP keeps it there), the same on both: MLB31447 does not
    # allow variations by it, so it is the item's and counts as given for the required check.
    skus = tuple(
        dataclasses.replace(s, attributes=(*s.attributes, ("GENDER", "339666")))
        for s in coded_product().skus
    )
    result = connector(ml).publish_product(
        coded_product(attributes=(("MODEL", "Básica"),), skus=skus)
    )
    assert result.outcome == CatalogOutcome.CREATED, result.message
    attributes, item = _stored(ml, "CAM-1-M")
    assert attributes["GENDER"] == ("339666", "Masculino")
    for variation in item["variations"]:
        assert {a["id"] for a in variation["attribute_combinations"]} == {"COLOR", "SIZE"}


def test_a_non_variation_attribute_that_differs_between_skus_waits_naming_it(ml):
    first, second = coded_product().skus
    skus = (
        dataclasses.replace(first, attributes=(*first.attributes, ("GENDER", "339666"))),
        dataclasses.replace(second, attributes=(*second.attributes, ("GENDER", "339667"))),
    )
    result = connector(ml).publish_product(
        coded_product(attributes=(("MODEL", "Básica"),), skus=skus)
    )
    assert result.outcome == CatalogOutcome.WAITING
    assert result.missing == ("GENDER",)
    assert "does not allow variations by GENDER" in result.message
    assert writes(ml) == []
