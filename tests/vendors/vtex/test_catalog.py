"""VTEX catalog publishing against the emulator over HTTP: create (product, SKUs, EANs, images,
specifications), nothing written when nothing changed, only the change written, a retry after a
lost answer finds the product by RefId, refusals in VTEX's words, stock and price reach it."""

import dataclasses
from decimal import Decimal

import pytest

from vendors.spec import Capability, Flow
from vendors.types import (
    CatalogOutcome,
    CatalogProduct,
    CatalogSku,
    PriceUpdate,
    StockUpdate,
)
from vendors.vtex.adapter import VtexConnector


@pytest.fixture
def vtex(emulator):
    return emulator("vtex", rate=1000, burst=1000)


def connector(emu):
    return VtexConnector(credentials=emu.credentials, base_url=emu.url, sleep=lambda s: None)


def sku(code, color="301", size="311", **changes):
    values = dict(
        key=code,
        code=code,
        name=f"Camiseta {code}",
        ean="",
        weight_g=300,
        height_cm=Decimal("3"),
        width_cm=Decimal("25"),
        length_cm=Decimal("30"),
        attributes=(("30", color), ("31", size)),
    )
    values.update(changes)
    return CatalogSku(**values)


def product(**changes):
    values = dict(
        key=1,
        code="CAM-1",
        name="Camiseta básica",
        description="Algodão",
        brand="2000001",
        category="10",
        images=("https://img.example.com/cam-1-a.jpg", "https://img.example.com/cam-1-b.jpg"),
        skus=(
            sku("CAM-1-P", size="311", ean="2000000000015"),
            sku("CAM-1-M", size="312", ean="2000000000022"),
            sku("CAM-1-G", size="313", ean="2000000000039"),
        ),
    )
    values.update(changes)
    return CatalogProduct(**values)


def writes(emu):
    return [r for r in emu.requests_log if r.method != "GET" and "refids" not in r.path]


def test_spec_declares_the_catalog_flow():
    spec = VtexConnector.spec
    assert Flow.CATALOG in spec.limits.flows
    assert Flow.CATALOG not in spec.unsupported_flows  # the engine's flow is on
    assert spec.limits.for_flow(Flow.CATALOG).max_items_per_request == 1
    assert {Capability.CATALOG_CREATE, Capability.CATALOG_UPDATE} <= spec.capabilities


def test_create_publishes_product_skus_eans_images_and_specifications(vtex):
    result = connector(vtex).publish_product(product())
    assert result.outcome == CatalogOutcome.CREATED, result.message
    held = vtex.catalog_product("CAM-1-M")
    assert held["RefId"] == "CAM-1"
    assert held["Name"] == "Camiseta básica"
    assert (held["CategoryId"], held["BrandId"]) == (10, 2000001)
    by_code = {s["code"]: s for s in held["skus"]}
    assert set(by_code) == {"CAM-1-P", "CAM-1-M", "CAM-1-G"}
    assert by_code["CAM-1-M"]["ean"] == "2000000000022"
    assert by_code["CAM-1-M"]["weight"] == 300
    assert by_code["CAM-1-M"]["images"] == list(product().images)
    assert by_code["CAM-1-M"]["specifications"] == [(30, 301), (31, 312)]
    for key, ref in result.refs.items():
        assert ref.item_id == held["id"]
        assert ref.sku_id == by_code[key]["id"]
        assert ref.seller_sku == key
    # 1 read + 1 product + 3 × (SKU + EAN + 2 images + 2 specifications).
    assert result.requests == 1 + 1 + 3 * 6
    assert len(vtex.requests_log) == result.requests


def test_publishing_again_unchanged_writes_nothing(vtex):
    adapter = connector(vtex)
    adapter.publish_product(product())
    vtex.reset_stats()
    result = adapter.publish_product(product())
    assert result.outcome == CatalogOutcome.UNCHANGED
    assert writes(vtex) == []
    assert result.requests == 1 + 1 + 3  # product by RefId, SKU ids by RefId, 3 SKU documents
    assert set(result.refs) == {"CAM-1-P", "CAM-1-M", "CAM-1-G"}


def test_a_change_writes_only_that_change(vtex):
    adapter = connector(vtex)
    adapter.publish_product(product())
    vtex.reset_stats()
    before = len(vtex.catalog_writes())
    changed = product(name="Camiseta premium")
    result = adapter.publish_product(changed)
    assert result.outcome == CatalogOutcome.UPDATED
    assert result.changes == ("product Name",)
    assert [(r.method, r.path) for r in writes(vtex)] == [
        ("PUT", f"/api/catalog/pvt/product/{result.refs['CAM-1-P'].item_id}")
    ]
    assert [a for _c, a, _d in vtex.catalog_writes()[before:]] == ["update_product"]
    held = vtex.catalog_product("CAM-1-P")
    assert held["Name"] == "Camiseta premium"
    assert held["Description"] == "Algodão"  # the PUT kept what it did not change

    skus = list(changed.skus)
    skus[1] = dataclasses.replace(skus[1], weight_g=350)
    vtex.reset_stats()
    result = adapter.publish_product(dataclasses.replace(changed, skus=tuple(skus)))
    assert result.changes == ("sku CAM-1-M weight",)
    sku_id = result.refs["CAM-1-M"].sku_id
    assert [(r.method, r.path) for r in writes(vtex)] == [
        ("PUT", f"/api/catalog/pvt/stockkeepingunit/{sku_id}")
    ]
    assert vtex.skus[int(sku_id)].weight == 350


def test_a_retry_after_a_lost_answer_finds_the_product_by_ref_id(vtex):
    adapter = connector(vtex)
    first = adapter.publish_product(product())  # the answer "lost": the engine never saw it
    retry = adapter.publish_product(product())
    assert retry.outcome == CatalogOutcome.UNCHANGED
    assert retry.refs == first.refs
    assert [a for _c, a, _d in vtex.catalog_writes()].count("create_product") == 1
    assert len(vtex.products) == 1


def test_a_new_sku_of_an_existing_product_is_created_alone(vtex):
    adapter = connector(vtex)
    adapter.publish_product(product(skus=product().skus[:2]))
    vtex.reset_stats()
    result = adapter.publish_product(product())
    assert result.outcome == CatalogOutcome.UPDATED
    assert result.changes == ("sku CAM-1-G created",)
    assert [r.method for r in writes(vtex)] == ["POST"] * 6  # SKU, EAN, 2 images, 2 specs


def test_refusals_come_back_in_vtex_words(vtex):
    adapter = connector(vtex)
    result = adapter.publish_product(product(category="999"))
    assert result.outcome == CatalogOutcome.REFUSED
    assert "Category 999 not found." in result.message
    assert vtex.products == {}
    taken = adapter.publish_product(product(code="CAM-2", key=2))
    assert taken.outcome == CatalogOutcome.CREATED
    clash = product(code="CAM-3", key=3, skus=(sku("CAM-2-P"),))
    adapter.publish_product(product(code="CAM-4", key=4, skus=(sku("CAM-2-P"),)))
    refused = adapter.publish_product(clash)
    assert refused.outcome == CatalogOutcome.REFUSED
    assert "There is already an SKU with RefId CAM-2-P." in refused.message
    # Found again under another product: refused, never moved from the product holding it.
    again = adapter.publish_product(clash)
    assert again.outcome == CatalogOutcome.REFUSED
    assert "belongs to product" in again.message
    assert vtex.catalog_product("CAM-2-P")["RefId"] == "CAM-4"


def test_missing_required_data_waits_naming_it(vtex):
    result = connector(vtex).publish_product(
        product(brand="", skus=(sku("CAM-1-P", weight_g=None),))
    )
    assert result.outcome == CatalogOutcome.WAITING
    assert result.missing == ("brand", "sku CAM-1-P weight_g")
    assert vtex.requests_log == []


def test_stock_and_price_reach_a_created_product(vtex):
    adapter = connector(vtex)
    refs = adapter.publish_product(product()).refs
    stock = adapter.push_stock([StockUpdate(key="CAM-1-M", ref=refs["CAM-1-M"], quantity=7)])
    price = adapter.push_prices(
        [PriceUpdate(key="CAM-1-M", ref=refs["CAM-1-M"], price=Decimal("59.90"))]
    )
    assert stock.accepted == ["CAM-1-M"] and price.accepted == ["CAM-1-M"]
    assert vtex.stock_of("CAM-1-M") == 7
    assert vtex.price_of("CAM-1-M") == Decimal("59.90")


def test_reference_lists(vtex):
    adapter = connector(vtex)
    categories = adapter.catalog_references("category")
    assert ("10", "Vestuário / Camisetas") in {(c.code, c.label) for c in categories}
    assert "1" not in {c.code for c in categories}  # products go in leaf categories
    assert [b.code for b in adapter.catalog_references("brand", query="acme")] == ["2000002"]
    fields = adapter.catalog_references("attribute", parent="10")
    assert {f.code for f in fields} == {"30", "31"}
    values = adapter.catalog_references("attribute_value", parent="31")
    assert [v.label for v in values] == ["P", "M", "G"]
