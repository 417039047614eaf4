"""The catalog flow: the ERP's products published on a channel (issue 15, DESIGN.md §4.3).

Per batch: read up to `limit` pending catalog rows (one per SKU, index on channel, flow, id),
group them by product, build one `vendors.types.CatalogProduct` per product from the ERP —
every SKU of the product, not only the pending ones — translated through the channel's
catalog de-para (category, brand, attribute + value), and hand each to
`Connector.publish_product`, which reads what the vendor holds under the ERP codes (VTEX
RefId, ANYMARKET partnerId, Mercado Livre SELLER_SKU) and writes only what differs. Then, in
one transaction: the bindings (Listing) of what the vendor now holds, the product's result
(`sync.models.CatalogPublication`) and the deletion of the settled pending rows whose version
did not change meanwhile.

A product with an ERP value that has no de-para row is not sent: it WAITS with what is
missing (shown on its publication row, and queued as an unmapped value), and goes back to
pending when a catalog de-para row is created for the channel (`catalog_release_waiting`).
A crash between the vendor's create and our commit loses nothing and duplicates nothing: the
rows are still pending, and the next run's publish_product finds the product by its codes.

Building a batch costs a fixed number of queries, whatever the number of products in it
(`catalog_batch_build`); the vendor calls happen outside any transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import IntegerField, Value
from django.utils import timezone
from django.utils.translation import gettext

from channels.models import SalesChannel, SyncSetting
from erp.models import (
    Product,
    ProductAttributeValue,
    ProductImage,
    Sku,
    SkuAttributeValue,
)
from mappings.models import (
    AttributeMapping,
    BrandMapping,
    CategoryMapping,
    MappingKind,
    UnmappedValue,
)
from mappings.normalize import normalize_code
from mappings.services import listings_record_published, unmapped_record_many
from sync.models import CatalogPublication, PendingChange, PublicationState
from sync.services.context import RunContext
from sync.services.pending import pending_upsert
from sync.services.push import (
    ChannelConfigError,
    available_stock,
    commit_pushed,
    current_prices,
)
from vendors.spec import Flow
from vendors.types import (
    CatalogOutcome,
    CatalogProduct,
    CatalogResult,
    CatalogSku,
    ExternalRef,
    ReferenceValue,
)

# Flows a new binding is marked pending for, so the next stock and price runs reach the
# listing the catalog just created (the vendor got a first quantity at most).
FLOWS_AFTER_BINDING = (Flow.STOCK, Flow.PRICE)


@dataclass
class CatalogBatch:
    """The products of one batch as the channel will get them. `waiting`: products that
    cannot be sent (a de-para row missing) with what they lack; `unmapped`: the ERP values
    without a de-para row, for the unmapped queue."""

    products: dict[int, CatalogProduct] = field(default_factory=dict)
    waiting: dict[int, CatalogResult] = field(default_factory=dict)
    unmapped: list[ReferenceValue] = field(default_factory=list)
    codes: dict[int, str] = field(default_factory=dict)  # product id -> display name


def _category_text(category) -> str:
    return category.path or category.name


def _translated(
    values: list[tuple[str, int, str]],
    attribute_codes: dict[int, tuple[str, str]],
    missing: list[str],
    unmapped: list[ReferenceValue],
) -> list[tuple[str, str]]:
    """ERP (attribute, value) pairs in the channel's (attribute code, value code); a value
    without a de-para row is added to `missing` (once) and to the unmapped queue."""
    found = []
    for attribute_name, value_id, text in values:
        codes = attribute_codes.get(value_id)
        if codes is None:
            label = f"attribute de-para: {attribute_name} = {text}"
            if label not in missing:
                missing.append(label)
                unmapped.append(
                    ReferenceValue(MappingKind.ATTRIBUTE, text, text, parent_code=attribute_name)
                )
            continue
        found.append(codes)
    return found


def catalog_batch_build(*, channel: SalesChannel, product_ids: Iterable[int]) -> CatalogBatch:
    """One CatalogProduct per product (all its SKUs), in the channel's codes. Ten queries at
    most, whatever the number of products: products, SKUs, images, attribute values (the
    SKUs' and the products' own, one statement), prices, stock (two), and the three de-para
    kinds. A product's own attribute values become `CatalogProduct.attributes`, its SKUs'
    the variation; either without a de-para row holds the product (WAITING)."""
    product_ids = list(product_ids)
    batch = CatalogBatch()
    if not product_ids:
        return batch
    products = {
        p.pk: p
        for p in Product.objects.filter(pk__in=product_ids)
        .select_related("brand", "category")
        .order_by()
    }
    skus_of: dict[int, list[Sku]] = defaultdict(list)
    skus: dict[int, Sku] = {}
    for sku in Sku.objects.filter(product_id__in=list(products)).order_by("code_key", "pk"):
        skus_of[sku.product_id].append(sku)
        skus[sku.pk] = sku
    images: dict[int, list[str]] = defaultdict(list)
    unreachable_images: set[int] = set()  # an uploaded file, and no ERPINTEGR_PUBLIC_URL
    for image in (
        ProductImage.objects.filter(product_id__in=list(products))
        .order_by("product_id", "position", "id")
        .only("product_id", "url", "file")
    ):
        url = image.public_url()
        if not url:
            unreachable_images.add(image.product_id)
        elif url not in images[image.product_id]:
            images[image.product_id].append(url)
    # The SKUs' variation values (Cor = Azul) and the products' own values (Modelo = Básica)
    # in one statement: (level, owner id, attribute name, value id, value text).
    sku_values_of: dict[int, list[tuple[str, int, str]]] = defaultdict(list)
    product_values_of: dict[int, list[tuple[str, int, str]]] = defaultdict(list)
    value_ids: set[int] = set()
    columns = ("attribute__name", "value_id", "value__value")
    sku_rows = (
        SkuAttributeValue.objects.filter(sku_id__in=list(skus))
        .order_by()
        .values_list(Value(0, output_field=IntegerField()), "sku_id", *columns)
    )
    product_rows = (
        ProductAttributeValue.objects.filter(product_id__in=list(products))
        .order_by()
        .values_list(Value(1, output_field=IntegerField()), "product_id", *columns)
    )
    for level, owner_id, attribute_name, value_id, text in sorted(
        sku_rows.union(product_rows, all=True), key=lambda row: (row[0], row[1], row[2])
    ):
        (product_values_of if level else sku_values_of)[owner_id].append(
            (attribute_name, value_id, text)
        )
        value_ids.add(value_id)
    prices: dict[int, tuple] = {}
    if channel.price_list_id is not None:
        prices = current_prices(channel=channel, sku_ids=list(skus))
    try:
        stock = available_stock(channel=channel, sku_ids=list(skus), skus=skus)
    except ChannelConfigError:
        stock = {}  # no warehouse chosen: the stock flow would offer 0 as well
    category_ids = {p.category_id for p in products.values() if p.category_id}
    brand_ids = {p.brand_id for p in products.values() if p.brand_id}
    categories = dict(
        CategoryMapping.objects.filter(channel=channel, target_id__in=category_ids).values_list(
            "target_id", "code"
        )
    )
    brands = dict(
        BrandMapping.objects.filter(channel=channel, target_id__in=brand_ids).values_list(
            "target_id", "code"
        )
    )
    attribute_codes = {
        value_id: (code, value_code)
        for value_id, code, value_code in AttributeMapping.objects.filter(
            channel=channel, target_value_id__in=value_ids
        ).values_list("target_value_id", "code", "value_code")
    }
    for product_id in product_ids:
        product = products.get(product_id)
        if product is None:
            continue
        batch.codes[product_id] = product.name
        missing: list[str] = []
        category = brand = ""
        if product.category_id:
            category = categories.get(product.category_id, "")
            if not category:
                text = _category_text(product.category)
                missing.append(f"category de-para: {text}")
                batch.unmapped.append(ReferenceValue(MappingKind.CATEGORY, text, text))
        if product.brand_id:
            brand = brands.get(product.brand_id, "")
            if not brand:
                missing.append(f"brand de-para: {product.brand.name}")
                batch.unmapped.append(
                    ReferenceValue(MappingKind.BRAND, product.brand.name, product.brand.name)
                )

        product_attributes = _translated(
            product_values_of.get(product_id, []), attribute_codes, missing, batch.unmapped
        )
        catalog_skus = []
        for sku in skus_of.get(product_id, []):
            attributes = _translated(
                sku_values_of.get(sku.pk, []), attribute_codes, missing, batch.unmapped
            )
            price, list_price = prices.get(sku.pk, (None, None))
            catalog_skus.append(
                CatalogSku(
                    key=sku.pk,
                    code=sku.code,
                    name=sku.name or product.name,
                    ean=sku.ean,
                    weight_g=sku.weight_grams,
                    height_cm=sku.height_cm,
                    width_cm=sku.width_cm,
                    length_cm=sku.length_cm,
                    price=price,
                    list_price=list_price,
                    stock=stock.get(sku.pk, 0),
                    attributes=tuple(attributes),
                    active=sku.active,
                )
            )
        if missing:
            batch.waiting[product_id] = CatalogResult.waiting(
                missing,
                gettext("Product “%(product)s” waits for the channel's de-para: %(missing)s.")
                % {"product": product.name, "missing": "; ".join(missing)},
            )
            continue
        if product_id in unreachable_images:
            # A vendor downloads the image itself: a relative address would be refused.
            batch.waiting[product_id] = CatalogResult.waiting(
                ["ERPINTEGR_PUBLIC_URL"],
                gettext(
                    "Product “%(product)s” waits: set ERPINTEGR_PUBLIC_URL so the channel can "
                    "download uploaded images."
                )
                % {"product": product.name},
            )
            continue
        batch.products[product_id] = CatalogProduct(
            key=product_id,
            code=str(product_id),
            name=product.name,
            skus=tuple(catalog_skus),
            description=product.description,
            brand=brand,
            category=category,
            ncm=product.ncm,
            origin=product.origin,
            active=product.active,
            images=tuple(images.get(product_id, ())),
            attributes=tuple(product_attributes),
        )
    return batch


def catalog_publish_pending(ctx: RunContext, *, limit: int) -> int:
    """Publish the products of up to `limit` pending catalog rows. Returns the rows settled.
    One batch: what `bench/` and the run dispatcher call."""
    channel = ctx.channel
    rows = list(
        PendingChange.objects.filter(channel=channel, flow=Flow.CATALOG)
        .order_by("id")
        .values_list("id", "sku_id", "version")[:limit]
    )
    if not rows:
        return 0
    ctx.run.total += len(rows)
    product_of = dict(
        Sku.objects.filter(pk__in=[sku_id for _, sku_id, _ in rows]).values_list("pk", "product_id")
    )
    settled: list[tuple[int, int]] = []
    rows_of: dict[int, list[tuple[int, int]]] = {}
    for pending_id, sku_id, version in rows:
        product_id = product_of.get(sku_id)
        if product_id is None:
            settled.append((pending_id, version))
            continue
        rows_of.setdefault(product_id, []).append((pending_id, version))
    ctx.run.done += len(settled)
    batch = catalog_batch_build(channel=channel, product_ids=list(rows_of))
    results: dict[int, CatalogResult] = dict(batch.waiting)
    try:
        for product_id, product in batch.products.items():
            if not ctx.has_time():
                ctx.extra["stopped"] = "time budget used up; the rest stays pending"
                break
            results[product_id] = ctx.connector.publish_product(product)
            ctx.checkpoint()
    finally:
        # Whatever the vendor answered before a failure is recorded; the rest stays pending.
        settled.extend(_settle(ctx, batch=batch, results=results, rows_of=rows_of))
        catalog_commit(ctx, batch=batch, results=results, settled=settled)
    return len(settled)


def _settle(ctx, *, batch, results, rows_of) -> list[tuple[int, int]]:
    settled = []
    for product_id, result in results.items():
        name = batch.codes.get(product_id, product_id)
        if result.outcome == CatalogOutcome.RETRY:
            ctx.note("deferred", {"product": name, "error": result.message})
            continue
        if result.published:
            ctx.note(str(result.outcome), name)
        elif result.outcome == CatalogOutcome.REFUSED:
            ctx.note("rejected", {"product": name, "error": result.message})
        else:
            ctx.note("waiting", {"product": name, "missing": list(result.missing)})
        settled.extend(rows_of.get(product_id, ()))
        ctx.run.done += len(rows_of.get(product_id, ()))
    # Rows of products that vanished between the read and the build are settled too.
    for product_id, product_rows in rows_of.items():
        if product_id not in batch.codes:
            settled.extend(product_rows)
            ctx.run.done += len(product_rows)
    return settled


STATE_OF = {
    CatalogOutcome.CREATED: PublicationState.PUBLISHED,
    CatalogOutcome.UPDATED: PublicationState.PUBLISHED,
    CatalogOutcome.UNCHANGED: PublicationState.PUBLISHED,
    CatalogOutcome.REFUSED: PublicationState.REFUSED,
    CatalogOutcome.WAITING: PublicationState.WAITING,
}


@transaction.atomic
def catalog_commit(
    ctx: RunContext,
    *,
    batch: CatalogBatch,
    results: dict[int, CatalogResult],
    settled: list[tuple[int, int]],
) -> None:
    """Bindings of what the vendor holds, the products' results, and the settled rows gone,
    in one transaction: a binding is never recorded without its product's result."""
    channel = ctx.channel
    now = timezone.now()
    refs: list[tuple[int, ExternalRef]] = []
    publications = []
    for product_id, result in results.items():
        state = STATE_OF.get(result.outcome)
        if state is None:  # RETRY: the previous result stands
            continue
        product = batch.products.get(product_id)
        sku_keys = {sku.key for sku in product.skus} if product is not None else set()
        item_ids = []
        if result.published:
            for key, ref in result.refs.items():
                if key in sku_keys:
                    refs.append((key, ref))
                    item_ids.append(ref.item_id)
        publications.append(
            CatalogPublication(
                channel=channel,
                product_id=product_id,
                state=state,
                outcome=str(result.outcome) if result.published else "",
                message=result.message[:2000],
                missing=list(result.missing),
                external_item_id=next((i for i in item_ids if i), "")[:80],
                changes=list(result.changes),
                published_at=now if result.published else None,
                updated_at=now,
            )
        )
    if refs:
        new_sku_ids, conflicts = listings_record_published(channel=channel, refs=refs)
        for sku_id in conflicts:
            ctx.note("binding_conflict", sku_id)
        if new_sku_ids:
            flows = channel.sync_settings.filter(
                enabled=True, flow__in=FLOWS_AFTER_BINDING
            ).values_list("flow", flat=True)
            for flow in flows:
                pending_upsert(channel_ids=[channel.pk], flow=flow, sku_ids=new_sku_ids)
    fields = ["state", "outcome", "message", "missing", "changes", "updated_at"]
    # A refused or waiting product keeps where and when it was last published.
    published = [p for p in publications if p.published_at is not None]
    others = [p for p in publications if p.published_at is None]
    for rows, update_fields in (
        (published, [*fields, "external_item_id", "published_at"]),
        (others, fields),
    ):
        if rows:
            CatalogPublication.objects.bulk_create(
                rows,
                update_conflicts=True,
                unique_fields=["channel", "product"],
                update_fields=update_fields,
            )
    if batch.unmapped:
        unmapped_record_many(channel=channel, missing=batch.unmapped)
    commit_pushed(ctx, flow=Flow.CATALOG, pushed=[], settled=settled, listings={})


def catalog_release_waiting(*, channel_id: int, mapping=None) -> int:
    """A catalog de-para row was created: the channel's waiting products go back to pending
    (every SKU of theirs, one statement each way) and the next catalog run tries them again;
    the queue entries the row answers are resolved. Returns the SKUs marked."""
    if mapping is not None:
        _resolve_catalog_unmapped(channel_id=channel_id, mapping=mapping)
    if not SyncSetting.objects.filter(
        channel_id=channel_id, flow=Flow.CATALOG, enabled=True
    ).exists():
        return 0
    waiting = CatalogPublication.objects.filter(
        channel_id=channel_id, state=PublicationState.WAITING
    ).values("product_id")
    sku_ids = list(Sku.objects.filter(product_id__in=waiting).values_list("pk", flat=True))
    return pending_upsert(channel_ids=[channel_id], flow=Flow.CATALOG, sku_ids=sku_ids)


def _resolve_catalog_unmapped(*, channel_id: int, mapping) -> None:
    """The unmapped queue holds a catalog value by its ERP text (the ERP value has no channel
    code yet): the row that maps that ERP value resolves it."""
    entries = UnmappedValue.objects.filter(
        channel_id=channel_id, kind=mapping.kind, resolved_at__isnull=True
    )
    if mapping.kind == MappingKind.CATEGORY:
        entries = entries.filter(code_key=normalize_code(_category_text(mapping.target)))
    elif mapping.kind == MappingKind.BRAND:
        entries = entries.filter(code_key=normalize_code(mapping.target.name))
    elif mapping.kind == MappingKind.ATTRIBUTE and mapping.target_value_id is not None:
        entries = entries.filter(
            parent_key=normalize_code(mapping.target.name),
            code_key=normalize_code(mapping.target_value.value),
        )
    else:
        return
    entries.update(resolved_at=timezone.now())
