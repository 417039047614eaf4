"""ANYMARKET catalog publishing against the emulator over HTTP: one POST creates the product
with its SKUs and images, nothing written when nothing changed, only the change written, a
retry after a lost answer finds the product by partnerId, refusals in ANYMARKET's words, stock
and price reach the created SKUs."""

import dataclasses
from decimal import Decimal

import pytest

from vendors.anymarket.adapter import AnymarketConnector
from vendors.spec import Capability, Flow
from vendors.types import CatalogOutcome, CatalogProduct, CatalogSku, PriceUpdate, StockUpdate


@pytest.fixture
def anymarket(emulator):
    return emulator("anymarket", rate=1000, burst=1000)


def connector(emu):
    return AnymarketConnector(
        credentials=emu.credentials, base_url=emu.url + "/v2", sleep=lambda s: None
    )


def sku(code, size, **changes):
    values = dict(
        key=code,
        code=code,
        name=f"Camiseta {code}",
        ean="",
        weight_g=300,
        height_cm=Decimal("3"),
        width_cm=Decimal("25"),
        length_cm=Decimal("30"),
        price=Decimal("49.90"),
        list_price=Decimal("59.90"),
        stock=4,
        attributes=(("Tamanho", size),),
    )
    values.update(changes)
    return CatalogSku(**values)


def product(**changes):
    values = dict(
        key=1,
        code="CAM-1",
        name="Camiseta básica",
        description="Algodão",
        brand="501",
        category="102",
        ncm="61091000",
        origin="0",
        images=("https://img.example.com/a.jpg", "https://img.example.com/b.jpg"),
        skus=(sku("CAM-1-P", "P", ean="2000000000015"), sku("CAM-1-M", "M"), sku("CAM-1-G", "G")),
    )
    values.update(changes)
    return CatalogProduct(**values)


def writes(emu):
    return [(r.method, r.path) for r in emu.requests_log if r.method != "GET"]


def test_spec_declares_the_catalog_flow():
    spec = AnymarketConnector.spec
    assert Flow.CATALOG in spec.limits.flows
    assert Flow.CATALOG not in spec.unsupported_flows  # the engine's flow is on
    assert spec.limits.for_flow(Flow.CATALOG).max_items_per_request == 1
    assert {Capability.CATALOG_CREATE, Capability.CATALOG_UPDATE} <= spec.capabilities


def test_create_is_one_search_and_one_post(anymarket):
    result = connector(anymarket).publish_product(product())
    assert result.outcome == CatalogOutcome.CREATED, result.message
    assert result.requests == 2
    assert writes(anymarket) == [("POST", "/v2/products")]
    held = anymarket.catalog_product("CAM-1-M")
    assert held["title"] == "Camiseta básica"
    assert held["category"] == {"id": 102} and held["brand"] == {"id": 501}
    assert held["nbm"] == {"id": "61091000"} and held["origin"] == {"id": 0}
    assert held["weight"] == 0.3
    assert [i["url"] for i in held["images"]] == list(product().images)
    by_code = {s["code"]: s for s in held["skus"]}
    assert by_code["CAM-1-M"]["variations"] == {"Tamanho": "M"}
    assert by_code["CAM-1-P"]["ean"] == "2000000000015"
    assert (by_code["CAM-1-P"]["price"], by_code["CAM-1-P"]["sellPrice"]) == (59.9, 49.9)
    assert anymarket.stock_of("CAM-1-G") == 4
    for key, ref in result.refs.items():
        assert (ref.item_id, ref.sku_id, ref.seller_sku) == (held["id"], by_code[key]["id"], key)


def test_publishing_again_unchanged_writes_nothing(anymarket):
    adapter = connector(anymarket)
    first = adapter.publish_product(product())
    anymarket.reset_stats()
    again = adapter.publish_product(product())
    assert again.outcome == CatalogOutcome.UNCHANGED
    assert again.requests == 1 and writes(anymarket) == []
    assert again.refs == first.refs


def test_a_change_writes_only_that_change(anymarket):
    adapter = connector(anymarket)
    refs = adapter.publish_product(product()).refs
    anymarket.reset_stats()
    result = adapter.publish_product(product(description="Algodão orgânico"))
    assert result.changes == ("product description",)
    assert writes(anymarket) == [("PUT", f"/v2/products/{refs['CAM-1-P'].item_id}")]
    assert anymarket.catalog_product("CAM-1-P")["description"] == "Algodão orgânico"
    assert anymarket.catalog_product("CAM-1-P")["category"] == {"id": 102}  # kept

    skus = list(product().skus)
    skus[2] = dataclasses.replace(skus[2], ean="2000000000039")
    anymarket.reset_stats()
    changed = product(description="Algodão orgânico", skus=tuple(skus))
    result = adapter.publish_product(changed)
    assert result.changes == ("sku CAM-1-G ean",)
    ref = refs["CAM-1-G"]
    assert writes(anymarket) == [("PUT", f"/v2/products/{ref.item_id}/skus/{ref.sku_id}")]
    assert anymarket.stock_of("CAM-1-G") == 4  # the SKU PUT left its stock alone

    anymarket.reset_stats()
    result = adapter.publish_product(
        dataclasses.replace(changed, images=("https://img.example.com/b.jpg",))
    )
    assert result.changes == ("images",)
    assert [m for m, _p in writes(anymarket)] == ["DELETE"]


def test_a_retry_after_a_lost_answer_finds_the_product_by_partner_id(anymarket):
    adapter = connector(anymarket)
    first = adapter.publish_product(product())
    retry = adapter.publish_product(product())
    assert retry.outcome == CatalogOutcome.UNCHANGED and retry.refs == first.refs
    assert len(anymarket.products) == 1
    assert [a for _c, a, _d in anymarket.catalog_writes()].count("create_product") == 1


def test_a_new_sku_is_added_to_the_product(anymarket):
    adapter = connector(anymarket)
    adapter.publish_product(product(skus=product().skus[:2]))
    anymarket.reset_stats()
    result = adapter.publish_product(product())
    assert result.changes == ("sku CAM-1-G created",)
    assert writes(anymarket) == [("POST", f"/v2/products/{result.refs['CAM-1-P'].item_id}/skus")]
    assert result.refs["CAM-1-G"].sku_id == anymarket.catalog_product("CAM-1-G")["skus"][2]["id"]


def test_refusals_come_back_in_anymarket_words(anymarket):
    adapter = connector(anymarket)
    result = adapter.publish_product(product(category="999"))
    assert result.outcome == CatalogOutcome.REFUSED
    assert "Categoria 999 não encontrada." in result.message
    adapter.publish_product(product(code="OTHER", key=2, skus=(sku("CAM-9", "P"),)))
    duplicate = adapter.publish_product(product(skus=(sku("CAM-1-P", "P"), sku("CAM-1-M", "P"))))
    assert duplicate.outcome == CatalogOutcome.REFUSED
    assert "Variação repetida no SKU CAM-1-M." in duplicate.message


def test_missing_data_waits_naming_it(anymarket):
    result = connector(anymarket).publish_product(
        product(category="", skus=(sku("CAM-1-P", "P", price=None), sku("CAM-1-M", "M")))
    )
    assert result.outcome == CatalogOutcome.WAITING
    assert result.missing == ("category", "sku CAM-1-P price")
    assert anymarket.requests_log == []


def test_stock_and_price_reach_a_created_product(anymarket):
    adapter = connector(anymarket)
    refs = adapter.publish_product(product()).refs
    stock = adapter.push_stock([StockUpdate(key="CAM-1-M", ref=refs["CAM-1-M"], quantity=9)])
    price = adapter.push_prices(
        [PriceUpdate(key="CAM-1-M", ref=refs["CAM-1-M"], price=Decimal("39.90"))]
    )
    assert stock.accepted == ["CAM-1-M"] and price.accepted == ["CAM-1-M"]
    assert anymarket.stock_of("CAM-1-M") == 9
    assert anymarket.price_of("CAM-1-M") == Decimal("39.90")


def test_reference_lists(anymarket):
    adapter = connector(anymarket)
    assert [c.code for c in adapter.catalog_references("category", query="camisetas")] == ["102"]
    assert [b.label for b in adapter.catalog_references("brand")] == ["Marca Demo", "Acme"]
