"""ERP writes that matter to sync. Each announces the changed SKU ids (see erp.signals).

Announcements happen inside the caller's transaction on purpose: the listener's pending-work
rows commit or roll back together with the change.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from erp.models import (
    AttributeValue,
    Price,
    PriceList,
    Product,
    ProductImage,
    Sku,
    SkuAttributeValue,
    StockBalance,
    Warehouse,
)
from erp.signals import ChangeKind, skus_changed
from erp.validators import normalize_ncm


def announce_sku_changes(
    *,
    company_id: int,
    kind: ChangeKind,
    sku_ids: Iterable[int],
    warehouse_ids: Iterable[int] | None = None,
    price_list_id: int | None = None,
    source_channel_id: int | None = None,
) -> None:
    """Tell integrations that these SKUs changed. Callers outside this module are rare
    (bulk imports that wrote rows directly); prefer the functions below.

    `source_channel_id` names the sales channel the change came from (an order it sold),
    an opaque id to this app: that channel already knows, the others must be told."""
    ids = frozenset(sku_ids)
    if not ids:
        return
    skus_changed.send(
        sender=Sku,
        company_id=company_id,
        kind=kind,
        sku_ids=ids,
        warehouse_ids=frozenset(warehouse_ids) if warehouse_ids is not None else None,
        price_list_id=price_list_id,
        source_channel_id=source_channel_id,
    )


def _same_company(sku: Sku, company_id: int, what: str) -> None:
    if sku.company_id != company_id:
        messages = {
            "warehouse": _("SKU %(sku)s and the warehouse belong to different companies."),
            "price list": _("SKU %(sku)s and the price list belong to different companies."),
        }
        raise ValidationError(messages[what], code="other_company", params={"sku": sku.code})


@dataclass(frozen=True)
class StockLevel:
    sku: Sku
    warehouse: Warehouse
    on_hand: int


@transaction.atomic
def stock_set_many(*, levels: Iterable[StockLevel]) -> set[int]:
    """Set on-hand quantities (an inventory count, an ERP movement result).

    Returns the ids of SKUs whose balance actually changed; only those are announced.
    """
    changed: dict[tuple[int, int], set[int]] = defaultdict(set)  # (company, warehouse) -> skus
    for level in levels:
        _same_company(level.sku, level.warehouse.company_id, "warehouse")
        if level.on_hand < 0:
            raise ValidationError(
                _("Stock on hand for SKU %(sku)s cannot be negative (%(on_hand)s)."),
                code="negative_stock",
                params={"sku": level.sku.code, "on_hand": level.on_hand},
            )
        balance, created = StockBalance.objects.select_for_update().get_or_create(
            sku=level.sku, warehouse=level.warehouse, defaults={"on_hand": level.on_hand}
        )
        if not created:
            if balance.on_hand == level.on_hand:
                continue
            balance.on_hand = level.on_hand
            balance.save(update_fields=["on_hand", "updated_at"])
        changed[(level.sku.company_id, level.warehouse.pk)].add(level.sku.pk)
    all_ids: set[int] = set()
    for (company_id, warehouse_id), sku_ids in changed.items():
        announce_sku_changes(
            company_id=company_id,
            kind=ChangeKind.STOCK,
            sku_ids=sku_ids,
            warehouse_ids=[warehouse_id],
        )
        all_ids |= sku_ids
    return all_ids


def stock_set(*, sku: Sku, warehouse: Warehouse, on_hand: int) -> bool:
    """Set one balance's on-hand quantity. Returns whether it changed."""
    return bool(stock_set_many(levels=[StockLevel(sku=sku, warehouse=warehouse, on_hand=on_hand)]))


@transaction.atomic
def stock_adjust(*, sku: Sku, warehouse: Warehouse, delta: int) -> StockBalance:
    """Add `delta` (negative to remove) to on hand, atomically; never below zero."""
    _same_company(sku, warehouse.company_id, "warehouse")
    balance, _created = StockBalance.objects.select_for_update().get_or_create(
        sku=sku, warehouse=warehouse
    )
    if balance.on_hand + delta < 0:
        raise ValidationError(
            _(
                "Cannot remove %(quantity)s of SKU %(sku)s from %(warehouse)s: "
                "only %(on_hand)s on hand."
            ),
            code="not_enough_stock",
            params={
                "quantity": -delta,
                "sku": sku.code,
                "warehouse": warehouse.code,
                "on_hand": balance.on_hand,
            },
        )
    StockBalance.objects.filter(pk=balance.pk).update(on_hand=F("on_hand") + delta)
    balance.refresh_from_db()
    announce_sku_changes(
        company_id=sku.company_id,
        kind=ChangeKind.STOCK,
        sku_ids=[sku.pk],
        warehouse_ids=[warehouse.pk],
    )
    return balance


@transaction.atomic
def stock_reserve(*, sku: Sku, warehouse: Warehouse, quantity: int) -> StockBalance:
    """Reserve units for an order (positive) or release a reservation (negative).

    Reserving more than is available is allowed on purpose: an order the channel already
    sold must be recorded; the available quantity pushed out then floors at zero, which is
    what stops further overselling.
    """
    _same_company(sku, warehouse.company_id, "warehouse")
    balance, _created = StockBalance.objects.select_for_update().get_or_create(
        sku=sku, warehouse=warehouse
    )
    new_reserved = max(balance.reserved + quantity, 0)
    StockBalance.objects.filter(pk=balance.pk).update(reserved=new_reserved)
    balance.reserved = new_reserved
    announce_sku_changes(
        company_id=sku.company_id,
        kind=ChangeKind.STOCK,
        sku_ids=[sku.pk],
        warehouse_ids=[warehouse.pk],
    )
    return balance


@transaction.atomic
def price_set(
    *, price_list: PriceList, sku: Sku, amount: Decimal, list_amount: Decimal | None = None
) -> bool:
    """Set a SKU's price on a price list. Returns whether anything changed."""
    _same_company(sku, price_list.company_id, "price list")
    if amount < 0 or (list_amount is not None and list_amount < 0):
        raise ValidationError(
            _("Price of SKU %(sku)s cannot be negative."),
            code="negative_price",
            params={"sku": sku.code},
        )
    price, created = Price.objects.select_for_update().get_or_create(
        price_list=price_list, sku=sku, defaults={"amount": amount, "list_amount": list_amount}
    )
    if not created:
        if price.amount == amount and price.list_amount == list_amount:
            return False
        price.amount, price.list_amount = amount, list_amount
        price.save(update_fields=["amount", "list_amount", "updated_at"])
    announce_sku_changes(
        company_id=sku.company_id,
        kind=ChangeKind.PRICE,
        sku_ids=[sku.pk],
        price_list_id=price_list.pk,
    )
    return True


CATALOG_FIELDS = frozenset(
    {"name", "ean", "active", "weight_grams", "height_cm", "width_cm", "length_cm"}
)


@transaction.atomic
def sku_update(*, sku: Sku, **fields) -> Sku:
    """Change catalog data of a SKU (name, EAN, active, package weight and dimensions) and
    announce it. Raises ValidationError (per field) and writes nothing on bad data."""
    unknown = set(fields) - CATALOG_FIELDS
    if unknown:
        # A programming error (the caller names the fields), not a user's: not translated.
        raise ValidationError(f"Not catalog fields of a SKU: {', '.join(sorted(unknown))}.")
    changed = [name for name, value in fields.items() if getattr(sku, name) != value]
    if not changed:
        return sku
    for name in changed:
        setattr(sku, name, fields[name])
    sku.full_clean()
    sku.save(update_fields=[*changed, "updated_at"])
    announce_sku_changes(company_id=sku.company_id, kind=ChangeKind.CATALOG, sku_ids=[sku.pk])
    return sku


PRODUCT_CATALOG_FIELDS = frozenset(
    {"name", "description", "brand", "category", "ncm", "origin", "active"}
)


def _announce_product(product: Product) -> None:
    announce_sku_changes(
        company_id=product.company_id,
        kind=ChangeKind.CATALOG,
        sku_ids=Sku.objects.filter(product=product).values_list("pk", flat=True),
    )


@transaction.atomic
def product_update(*, product: Product, **fields) -> Product:
    """Change catalog data of a product (name, description, brand, category, NCM, origin,
    active) and announce every SKU of the product. Raises ValidationError (per field) and
    writes nothing on bad data (an NCM that is not 8 digits, a brand of another company)."""
    unknown = set(fields) - PRODUCT_CATALOG_FIELDS
    if unknown:
        raise ValidationError(f"Not catalog fields of a product: {', '.join(sorted(unknown))}.")
    if fields.get("ncm") and normalize_ncm(fields["ncm"]).isdigit():
        fields["ncm"] = normalize_ncm(fields["ncm"])  # "6109.10.00" is the stored "61091000"
    changed = [name for name, value in fields.items() if getattr(product, name) != value]
    if not changed:
        return product
    for name in changed:
        setattr(product, name, fields[name])
    product.full_clean()
    product.save(update_fields=[*changed, "updated_at"])
    _announce_product(product)
    return product


@dataclass(frozen=True)
class ImageSpec:
    """One image in a product's ordered list: its URL and, optionally, the SKU it shows."""

    url: str
    sku: Sku | None = None


@transaction.atomic
def product_images_set(*, product: Product, images: Iterable[ImageSpec]) -> bool:
    """Make the product's images exactly `images`, in that order (position 0 is the main
    image). Returns whether anything changed; announces the product's SKUs when it did.

    Every URL is validated first (http/https), then the rows are replaced: a bad URL
    writes nothing. The same URL twice for the same SKU (or twice for the product) is
    refused."""
    wanted = [
        ProductImage(product=product, sku=spec.sku, url=str(spec.url).strip(), position=index)
        for index, spec in enumerate(images)
    ]
    errors: list[ValidationError] = []
    seen: set[tuple[int | None, str]] = set()
    for image in wanted:
        try:
            image.full_clean(exclude=["product"], validate_constraints=False)
        except ValidationError as exc:
            errors.extend(
                ValidationError(message, code="image")
                for messages in exc.message_dict.values()
                for message in messages
            )
            continue
        key = (image.sku_id, image.url)
        if key in seen:
            errors.append(
                ValidationError(
                    _("Image %(url)s is listed twice."),
                    code="image_twice",
                    params={"url": image.url},
                )
            )
        seen.add(key)
    if errors:
        raise ValidationError(errors)
    current = list(
        ProductImage.objects.filter(product=product)
        .order_by("position", "id")
        .values_list("sku_id", "url", "position")
    )
    if current == [(i.sku_id, i.url, i.position) for i in wanted]:
        return False
    ProductImage.objects.filter(product=product).delete()
    ProductImage.objects.bulk_create(wanted)
    _announce_product(product)
    return True


@transaction.atomic
def sku_attributes_set(*, sku: Sku, values: Iterable[AttributeValue]) -> bool:
    """Make the SKU's variation attributes exactly `values` (Cor = Azul, Tamanho = M): one
    value per attribute, attributes of the SKU's company. Returns whether anything changed;
    announces the SKU when it did. Bad input writes nothing."""
    values = list(values)
    by_attribute: dict[int, AttributeValue] = {}
    for value in values:
        attribute = value.attribute
        if attribute.company_id != sku.company_id:
            raise ValidationError(
                _("Attribute %(attribute)s belongs to another company."),
                code="other_company",
                params={"attribute": attribute.name},
            )
        if attribute.pk in by_attribute and by_attribute[attribute.pk].pk != value.pk:
            raise ValidationError(
                _("SKU %(sku)s can have one value of %(attribute)s, not two."),
                code="attribute_twice",
                params={"sku": sku.code, "attribute": attribute.name},
            )
        by_attribute[attribute.pk] = value
    current = dict(
        SkuAttributeValue.objects.filter(sku=sku).values_list("attribute_id", "value_id")
    )
    wanted = {attribute_id: value.pk for attribute_id, value in by_attribute.items()}
    if current == wanted:
        return False
    SkuAttributeValue.objects.filter(sku=sku).exclude(attribute_id__in=list(wanted)).delete()
    for attribute_id, value_id in wanted.items():
        if current.get(attribute_id) == value_id:
            continue
        SkuAttributeValue.objects.update_or_create(
            sku=sku, attribute_id=attribute_id, defaults={"value_id": value_id}
        )
    announce_sku_changes(company_id=sku.company_id, kind=ChangeKind.CATALOG, sku_ids=[sku.pk])
    return True


@dataclass(frozen=True)
class Reservation:
    sku_id: int
    warehouse_id: int
    quantity: int  # positive reserves, negative releases


@transaction.atomic
def stock_reserve_many(
    *, company_id: int, reservations: Iterable[Reservation], source_channel_id: int | None = None
) -> set[int]:
    """Reserve (or release) many lines at once in a constant number of queries — the order
    import does a page of orders with this. Returns the SKU ids touched.

    Over-reservation is allowed (see stock_reserve); reserved never goes below zero.
    """
    wanted: dict[tuple[int, int], int] = defaultdict(int)
    for r in reservations:
        wanted[(r.sku_id, r.warehouse_id)] += r.quantity
    wanted = {pair: qty for pair, qty in wanted.items() if qty}
    if not wanted:
        return set()
    sku_ids = {s for s, _ in wanted}
    warehouse_ids = {w for _, w in wanted}
    if Sku.objects.filter(pk__in=sku_ids).exclude(company_id=company_id).exists() or (
        Warehouse.objects.filter(pk__in=warehouse_ids).exclude(company_id=company_id).exists()
    ):
        raise ValidationError(
            _("Reservations mix SKUs or warehouses of another company."), code="other_company"
        )
    balances = {
        (b.sku_id, b.warehouse_id): b
        for b in StockBalance.objects.select_for_update().filter(
            sku_id__in=sku_ids, warehouse_id__in=warehouse_ids
        )
    }
    to_update, to_create = [], []
    for (sku_id, warehouse_id), qty in wanted.items():
        balance = balances.get((sku_id, warehouse_id))
        if balance is None:
            to_create.append(
                StockBalance(sku_id=sku_id, warehouse_id=warehouse_id, reserved=max(qty, 0))
            )
        else:
            balance.reserved = max(balance.reserved + qty, 0)
            to_update.append(balance)
    if to_update:
        StockBalance.objects.bulk_update(to_update, ["reserved"])
    if to_create:
        StockBalance.objects.bulk_create(to_create)
    by_warehouse: dict[int, set[int]] = defaultdict(set)
    for sku_id, warehouse_id in wanted:
        by_warehouse[warehouse_id].add(sku_id)
    for warehouse_id, ids in by_warehouse.items():
        announce_sku_changes(
            company_id=company_id,
            kind=ChangeKind.STOCK,
            sku_ids=ids,
            warehouse_ids=[warehouse_id],
            source_channel_id=source_channel_id,
        )
    return sku_ids
