"""The catalog flow end to end against the emulators (real HTTP on loopback): ERP products
created at the vendor and bound, stock and price reaching the created listing, updates only
of what changed, a missing de-para holding the product until the row is added, refusals in the
vendor's words, and the queries a batch costs."""

from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from erp.models import Attribute, AttributeValue, Brand, Category, Product, Sku
from erp.services import ImageSpec, price_set, product_images_set, product_update
from mappings.models import Listing, MappingKind, UnmappedValue
from mappings.services import mapping_create
from sync.models import CatalogPublication, PendingChange, PublicationState, RunState
from sync.services.runs import run_flow
from tests.sync.engine import active_channel, declared_rate, set_stock
from vendors.anymarket.adapter import AnymarketConnector
from vendors.mercadolivre.adapter import MercadoLivreConnector
from vendors.spec import Flow
from vendors.vtex.adapter import VtexConnector

pytestmark = pytest.mark.django_db(transaction=True)


@dataclass
class VendorCase:
    key: str
    adapter: type
    category: str  # the channel's category code for the ERP category
    brand: str
    attributes: dict  # ERP value -> (channel attribute code, channel value code)
    sizes: tuple[str, ...]  # one SKU per size (ML's MLB1000 takes no variations: one SKU)
    refused_category: str  # a category the vendor refuses, and its words
    refusal: str


CASES = {
    # sandbox/vtex/catalog.py: category 10 (Camisetas), brand 2000001, field 31 Tamanho.
    "vtex": VendorCase(
        "vtex",
        VtexConnector,
        "10",
        "2000001",
        {"P": ("31", "311"), "M": ("31", "312")},
        ("P", "M"),
        "99",
        "Category 99 not found.",
    ),
    # sandbox/anymarket/catalog.py: category 102, brand 501; attributes by name.
    "anymarket": VendorCase(
        "anymarket",
        AnymarketConnector,
        "102",
        "501",
        {"P": ("Tamanho", "P"), "M": ("Tamanho", "M")},
        ("P", "M"),
        "999",
        "Categoria 999 não encontrada.",
    ),
    # sandbox/mercadolivre/catalog.py: MLB1000 requires only BRAND and takes no variations.
    "mercadolivre": VendorCase(
        "mercadolivre",
        MercadoLivreConnector,
        "MLB1000",
        "Marca Demo",
        {},
        ("U",),
        "MLB999999",
        "MLB999999",
    ),
}


@pytest.fixture(params=sorted(CASES))
def case(request):
    return CASES[request.param]


@pytest.fixture
def vendor(case, emulator):
    with declared_rate(case.adapter, rate=1000, burst=1000):
        yield emulator(case.key, rate=1000, burst=1000)


class World:
    """An ERP product with a SKU per size (dimensions, prices, stock, images), its channel
    with catalog publishing on, and the de-para rows the product needs."""

    def __init__(self, case: VendorCase, emu, *, map_brand: bool = True):
        self.case = case
        self.emu = emu
        self.channel = active_channel(case.key, emu)
        self.channel.sync_settings.filter(flow=Flow.CATALOG).update(enabled=True, batch_size=100)
        company = self.channel.company
        self.category = Category.objects.create(company=company, name="Camisetas")
        self.brand = Brand.objects.create(company=company, name="Acme")
        self.size = Attribute.objects.create(company=company, name="Tamanho")
        self.product = Product.objects.create(
            company=company,
            name="Camiseta básica",
            description="Algodão",
            category=self.category,
            brand=self.brand,
            ncm="61091000",
            origin="0",
        )
        self.skus = []
        for size in case.sizes:
            sku = Sku.objects.create(
                company=company,
                product=self.product,
                code=f"CAM-{self.channel.pk}-{size}",
                name=f"Camiseta {size}",
                weight_grams=300,
                height_cm=Decimal("3"),
                width_cm=Decimal("25"),
                length_cm=Decimal("30"),
            )
            if case.attributes:
                value = AttributeValue.objects.create(attribute=self.size, value=size)
                sku.attribute_values.create(attribute=self.size, value=value)
            self.skus.append(sku)
        for i, sku in enumerate(self.skus):
            price_set(price_list=self.channel.price_list, sku=sku, amount=Decimal(49 + i))
        set_stock(self.channel.warehouses.get(), [(sku, 5) for sku in self.skus])
        self.map(MappingKind.CATEGORY, case.category, self.category)
        if map_brand:
            self.map_brand()
        for value in AttributeValue.objects.filter(attribute=self.size):
            code, value_code = case.attributes[value.value]
            mapping_create(
                channel=self.channel,
                kind=MappingKind.ATTRIBUTE,
                parent_code=code,
                code=value_code,
                target=value,
            )
        product_images_set(
            product=self.product, images=[ImageSpec(url="https://img.example.com/cam-a.jpg")]
        )
        # Everything above was announced; the stock and price rows of unbound SKUs go.
        PendingChange.objects.filter(channel=self.channel).exclude(flow=Flow.CATALOG).delete()

    def map(self, kind, code, target):
        mapping_create(channel=self.channel, kind=kind, code=code, target=target)

    def map_brand(self):
        self.map(MappingKind.BRAND, self.case.brand, self.brand)

    def run(self, flow=Flow.CATALOG):
        return run_flow(channel_id=self.channel.pk, flow=flow)

    def publication(self):
        return CatalogPublication.objects.get(channel=self.channel, product=self.product)

    def writes(self):
        # VTEX reads SKU ids by RefId with a POST (catalog.json: "Get SKU IDs by RefIds").
        return [
            (m, p)
            for m, p in self.requests()
            if m != "GET" and not p.endswith("/stockkeepingunitidsbyrefids")
        ]

    def requests(self):
        return [(r.method, r.path) for r in self.emu.requests_log]


def test_create_binds_and_stock_and_price_reach_the_created_listing(case, vendor):
    world = World(case, vendor)
    assert PendingChange.objects.filter(channel=world.channel, flow=Flow.CATALOG).count() == len(
        world.skus
    )

    run = world.run()
    assert run.state == RunState.SUCCEEDED, (run.error, run.detail)
    publication = world.publication()
    assert publication.state == PublicationState.PUBLISHED
    assert publication.outcome == "created"
    assert publication.external_item_id
    listings = {b.sku_id: b for b in Listing.objects.filter(channel=world.channel)}
    assert set(listings) == {sku.pk for sku in world.skus}
    for sku in world.skus:
        held = vendor.catalog_product(sku.code)
        assert held is not None and str(held["id"]) == listings[sku.pk].external_item_id
        assert listings[sku.pk].seller_sku == sku.code
    assert not PendingChange.objects.filter(channel=world.channel, flow=Flow.CATALOG).exists()
    # The new bindings are pending for stock and price: those runs reach the listing.
    assert PendingChange.objects.filter(channel=world.channel, flow=Flow.STOCK).count() == len(
        world.skus
    )
    set_stock(world.channel.warehouses.get(), [(world.skus[0], 7)])
    price_set(price_list=world.channel.price_list, sku=world.skus[0], amount=Decimal("59.90"))
    assert world.run(Flow.STOCK).state == RunState.SUCCEEDED
    assert world.run(Flow.PRICE).state == RunState.SUCCEEDED
    assert vendor.stock_of(world.skus[0].code) == 7
    assert vendor.price_of(world.skus[0].code) == Decimal("59.90")


def test_update_sends_only_what_changed(case, vendor):
    world = World(case, vendor)
    assert world.run().state == RunState.SUCCEEDED
    # The stock and price of the new bindings first (a catalog run would push stock first).
    assert world.run(Flow.STOCK).state == world.run(Flow.PRICE).state == RunState.SUCCEEDED
    creates = len(vendor.catalog_writes())

    # Announced again with nothing changed: the vendor is read, nothing is written.
    from sync.services.pending import pending_upsert

    pending_upsert(
        channel_ids=[world.channel.pk], flow=Flow.CATALOG, sku_ids=[s.pk for s in world.skus]
    )
    vendor.reset_stats()
    run = world.run()
    assert run.state == RunState.SUCCEEDED
    assert world.writes() == [], world.requests()
    assert world.publication().outcome == "unchanged"
    assert len(vendor.catalog_writes()) == creates

    product_update(product=world.product, name="Camiseta básica nova")
    vendor.reset_stats()
    run = world.run()
    assert run.state == RunState.SUCCEEDED, run.error
    publication = world.publication()
    assert publication.outcome == "updated"
    assert publication.changes and "sku" not in " ".join(publication.changes)
    assert len(world.writes()) == 1, world.writes()
    assert vendor.catalog_product(world.skus[0].code)["name"] == "Camiseta básica nova"
    # Still one product at the vendor, the bindings unchanged.
    assert Listing.objects.filter(channel=world.channel).count() == len(world.skus)


def test_a_missing_de_para_holds_the_product_until_the_row_is_added(case, vendor):
    world = World(case, vendor, map_brand=False)
    run = world.run()
    assert run.state == RunState.PARTIAL
    publication = world.publication()
    assert publication.state == PublicationState.WAITING
    assert publication.missing == ["brand de-para: Acme"]
    assert "Acme" in publication.message
    assert vendor.requests_log == []  # nothing was sent
    assert not Listing.objects.filter(channel=world.channel).exists()
    assert not PendingChange.objects.filter(channel=world.channel, flow=Flow.CATALOG).exists()
    queued = UnmappedValue.objects.get(channel=world.channel, kind=MappingKind.BRAND)
    assert queued.code == "Acme" and queued.resolved_at is None

    world.map_brand()
    queued.refresh_from_db()
    assert queued.resolved_at is not None
    assert PendingChange.objects.filter(channel=world.channel, flow=Flow.CATALOG).count() == len(
        world.skus
    )
    assert world.run().state == RunState.SUCCEEDED
    assert world.publication().state == PublicationState.PUBLISHED
    assert vendor.catalog_product(world.skus[0].code) is not None


def test_a_refusal_is_shown_in_the_vendor_words(case, vendor):
    world = World(case, vendor)
    from mappings.models import CategoryMapping

    CategoryMapping.objects.filter(channel=world.channel).update(
        code=case.refused_category, code_key=case.refused_category.lower()
    )
    run = world.run()
    assert run.state == RunState.PARTIAL
    publication = world.publication()
    assert publication.state == PublicationState.REFUSED
    assert case.refusal in publication.message
    assert not Listing.objects.filter(channel=world.channel).exists()
    assert not PendingChange.objects.filter(channel=world.channel, flow=Flow.CATALOG).exists()


@pytest.mark.parametrize("case", ["anymarket"], indirect=True)
def test_a_batch_costs_the_same_queries_for_1_or_20_products(case, vendor):
    from erp.services import product_attributes_set
    from sync.services.catalog import catalog_batch_build

    world = World(case, vendor)
    # A product-level value too (Modelo = Básica), mapped: read in the same statement as
    # the SKUs' values, so it costs no query of its own.
    model = AttributeValue.objects.create(
        attribute=Attribute.objects.create(company=world.product.company, name="Modelo"),
        value="Básica",
    )
    mapping_create(
        channel=world.channel,
        kind=MappingKind.ATTRIBUTE,
        parent_code="Modelo",
        code="Básica",
        target=model,
    )
    product_attributes_set(product=world.product, values=[model])

    def products_like_the_first(count):
        for i in range(count):
            product = Product.objects.create(
                company=world.product.company,
                name=f"Outra {i}",
                category=world.category,
                brand=world.brand,
            )
            product_attributes_set(product=product, values=[model])
            for size in case.sizes:
                sku = Sku.objects.create(
                    company=product.company, product=product, code=f"O-{i}-{size}"
                )
                sku.attribute_values.create(
                    attribute=world.size,
                    value=AttributeValue.objects.get(attribute=world.size, value=size),
                )
                price_set(price_list=world.channel.price_list, sku=sku, amount=Decimal(10))
        return list(Product.objects.filter(company=world.product.company).values_list("pk"))

    def queries(product_ids):
        with CaptureQueriesContext(connection) as captured:
            batch = catalog_batch_build(
                channel=world.channel, product_ids=[pk for (pk,) in product_ids]
            )
        assert len(batch.products) == len(product_ids)
        assert all(p.attributes == (("Modelo", "Básica"),) for p in batch.products.values())
        return len(captured)

    one = queries([(world.product.pk,)])
    many = queries(products_like_the_first(20))
    assert one == many <= 10  # catalog_batch_build: ten queries at most


@pytest.mark.parametrize("case", ["anymarket"], indirect=True)
def test_the_result_shows_on_the_product_page_and_the_channel_page(case, vendor, admin_client):
    world = World(case, vendor, map_brand=False)
    world.run()
    product_page = admin_client.get(f"/admin/erp/product/{world.product.pk}/change/")
    html = product_page.content.decode()
    assert "Waiting for a de-para or ERP data" in html and "brand de-para: Acme" in html
    channel_page = admin_client.get(f"/admin/channels/saleschannel/{world.channel.pk}/change/")
    link = f"/admin/sync/catalogpublication/?channel__id__exact={world.channel.pk}"
    assert link in channel_page.content.decode()
    listing = admin_client.get(link)
    assert listing.status_code == 200
    assert list(listing.context["cl"].result_list) == [world.publication()]


# --- Mercado Livre: product-level attributes and value ids (MLB31447 Camisetas) -----------------


class ShirtWorld:
    """An ERP product in Mercado Livre's MLB31447 (sandbox/mercadolivre/catalog.py: BRAND,
    MODEL, GENDER required on the item; COLOR and SIZE allow variations): Marca, Modelo and
    Gênero on the product, Cor and Tamanho on each of 3 SKUs, and the de-para to the
    category's codes — GENDER, COLOR and SIZE by the value ids Mercado Livre lists, MODEL and
    BRAND as text."""

    PRODUCT_VALUES = {
        ("Marca", "Acme"): ("BRAND", "Marca Demo"),
        ("Modelo", "Básica"): ("MODEL", "Básica Gola V"),
        ("Gênero", "Masculino"): ("GENDER", "339666"),
    }
    SKU_VALUES = {
        ("Cor", "Azul"): ("COLOR", "52028"),
        ("Cor", "Preto"): ("COLOR", "52049"),
        ("Tamanho", "P"): ("SIZE", "3259478"),
        ("Tamanho", "M"): ("SIZE", "3259501"),
        ("Tamanho", "G"): ("SIZE", "3259505"),
    }
    SKUS = (("Azul", "P"), ("Azul", "M"), ("Preto", "G"))

    def __init__(self, emu, *, unmapped=()):
        from erp.services import product_attributes_set, sku_attributes_set

        self.emu = emu
        self.channel = active_channel("mercadolivre", emu)
        self.channel.sync_settings.filter(flow=Flow.CATALOG).update(enabled=True, batch_size=100)
        company = self.channel.company
        self.category = Category.objects.create(company=company, name="Camisetas")
        self.values = {}
        for attribute_name, value in (*self.PRODUCT_VALUES, *self.SKU_VALUES):
            attribute, _ = Attribute.objects.get_or_create(company=company, name=attribute_name)
            self.values[attribute_name, value] = AttributeValue.objects.create(
                attribute=attribute, value=value
            )
        self.product = Product.objects.create(
            company=company, name="Camiseta gola V", description="Algodão", category=self.category
        )
        product_attributes_set(
            product=self.product, values=[self.values[key] for key in self.PRODUCT_VALUES]
        )
        self.skus = []
        for color, size in self.SKUS:
            sku = Sku.objects.create(
                company=company, product=self.product, code=f"GV-{color}-{size}", name=size
            )
            sku_attributes_set(
                sku=sku, values=[self.values["Cor", color], self.values["Tamanho", size]]
            )
            price_set(price_list=self.channel.price_list, sku=sku, amount=Decimal("59.90"))
            self.skus.append(sku)
        set_stock(self.channel.warehouses.get(), [(sku, 4) for sku in self.skus])
        mapping_create(
            channel=self.channel, kind=MappingKind.CATEGORY, code="MLB31447", target=self.category
        )
        for key in (*self.PRODUCT_VALUES, *self.SKU_VALUES):
            if key not in unmapped:
                self.map(key)
        product_images_set(
            product=self.product, images=[ImageSpec(url="https://img.example.com/gv.jpg")]
        )
        PendingChange.objects.filter(channel=self.channel).exclude(flow=Flow.CATALOG).delete()

    def map(self, key):
        code, value_code = {**self.PRODUCT_VALUES, **self.SKU_VALUES}[key]
        mapping_create(
            channel=self.channel,
            kind=MappingKind.ATTRIBUTE,
            parent_code=code,
            code=value_code,
            target=self.values[key],
        )

    def publication(self):
        return CatalogPublication.objects.get(channel=self.channel, product=self.product)


@pytest.fixture
def ml_vendor(emulator):
    with declared_rate(MercadoLivreConnector, rate=1000, burst=1000):
        yield emulator("mercadolivre", rate=1000, burst=1000)


def test_ml_item_attributes_from_the_product_and_variations_from_the_skus(ml_vendor):
    world = ShirtWorld(ml_vendor)
    run = run_flow(channel_id=world.channel.pk, flow=Flow.CATALOG)
    assert run.state == RunState.SUCCEEDED, (run.error, run.detail, world.publication().message)
    assert world.publication().state == PublicationState.PUBLISHED
    held = ml_vendor.catalog_product(world.skus[0].code)
    item = ml_vendor.listings[held["id"]]
    attributes = {a["id"]: (a["value_id"], a["value_name"]) for a in item["attributes"]}
    # Product-level values on the item: the listed GENDER by its id, MODEL and BRAND as text.
    assert attributes["GENDER"] == ("339666", "Masculino")
    assert attributes["MODEL"] == (None, "Básica Gola V")
    assert attributes["BRAND"] == (None, "Marca Demo")
    # One variation per SKU, by COLOR and SIZE value ids, each with its SELLER_SKU.
    by_code = {s["code"]: s["combination"] for s in held["skus"]}
    assert by_code == {
        "GV-Azul-P": {"COLOR": "52028", "SIZE": "3259478"},
        "GV-Azul-M": {"COLOR": "52028", "SIZE": "3259501"},
        "GV-Preto-G": {"COLOR": "52049", "SIZE": "3259505"},
    }
    for variation in item["variations"]:
        assert all(a["value_id"] for a in variation["attribute_combinations"])
    listings = {b.sku_id: b for b in Listing.objects.filter(channel=world.channel)}
    variation_of = {s["code"]: s["id"] for s in held["skus"]}
    assert {sku.code: listings[sku.pk].external_variation_id for sku in world.skus} == (
        variation_of
    )


def test_ml_a_missing_product_level_de_para_waits_naming_it(ml_vendor):
    world = ShirtWorld(ml_vendor, unmapped=[("Gênero", "Masculino")])
    run = run_flow(channel_id=world.channel.pk, flow=Flow.CATALOG)
    assert run.state == RunState.PARTIAL
    publication = world.publication()
    assert publication.state == PublicationState.WAITING
    assert publication.missing == ["attribute de-para: Gênero = Masculino"]
    assert ml_vendor.requests_log == []  # nothing was sent
    queued = UnmappedValue.objects.get(channel=world.channel, kind=MappingKind.ATTRIBUTE)
    assert (queued.parent_code, queued.code, queued.resolved_at) == ("Gênero", "Masculino", None)

    world.map(("Gênero", "Masculino"))
    queued.refresh_from_db()
    assert queued.resolved_at is not None
    assert run_flow(channel_id=world.channel.pk, flow=Flow.CATALOG).state == RunState.SUCCEEDED
    assert world.publication().state == PublicationState.PUBLISHED
