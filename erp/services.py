"""ERP writes that matter to sync. Each announces the changed SKU ids (see erp.signals).

Announcements happen inside the caller's transaction on purpose: the listener's pending-work
rows commit or roll back together with the change.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from erp.models import (
    AttributeValue,
    CarrierService,
    Invoice,
    Order,
    OrderStatus,
    Price,
    PriceList,
    Product,
    ProductAttributeValue,
    ProductImage,
    Shipment,
    Sku,
    SkuAttributeValue,
    StockBalance,
    Warehouse,
)
from erp.signals import ChangeKind, FulfilmentKind, order_fulfilment_changed, skus_changed
from erp.validators import normalize_ncm, validate_nfe_access_key_for


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
    """One image in a product's ordered list: its URL or its file, and optionally the SKU it
    shows. `file`: a new upload to store (a django File), or the stored name of one of the
    product's image files, kept as it is."""

    url: str = ""
    sku: Sku | None = None
    file: File | str | None = None


def _image_of(product: Product, spec: ImageSpec, position: int) -> ProductImage:
    image = ProductImage(
        product=product, sku=spec.sku, url=str(spec.url or "").strip(), position=position
    )
    if spec.file:
        image.file = spec.file  # a name: the stored file; a File: stored by bulk_create
    return image


@transaction.atomic
def product_images_set(*, product: Product, images: Iterable[ImageSpec]) -> bool:
    """Make the product's images exactly `images`, in that order (position 0 is the main
    image). Returns whether anything changed; announces the product's SKUs when it did.

    Every image is validated first (an http/https URL, or a JPEG/PNG/WebP/GIF file within
    settings.PRODUCT_IMAGE_MAX_BYTES; exactly one of them), then the rows are replaced: bad
    input writes nothing. The same URL or file twice for the same SKU (or twice for the
    product) is refused; a kept file must be one of this product's. New files are stored
    with the rows; files no longer listed are deleted from storage after the commit."""
    images = list(images)
    stored = dict(
        ProductImage.objects.filter(product=product).exclude(file="").values_list("file", "pk")
    )
    wanted = [_image_of(product, spec, index) for index, spec in enumerate(images)]
    errors: list[ValidationError] = []
    seen: set[tuple[int | None, str, str]] = set()
    for spec, image in zip(images, wanted, strict=True):
        if isinstance(spec.file, str) and spec.file not in stored:
            errors.append(
                ValidationError(
                    _("Image file %(file)s is not one of this product's."),
                    code="image_other_file",
                    params={"file": spec.file},
                )
            )
            continue
        try:
            image.full_clean(exclude=["product"], validate_constraints=False)
        except ValidationError as exc:
            errors.extend(
                ValidationError(message, code="image")
                for messages in exc.message_dict.values()
                for message in messages
            )
            continue
        if image.file and not isinstance(spec.file, str):
            continue  # a new upload: a file of its own
        key = (image.sku_id, image.url, image.file.name if image.file else "")
        if key in seen:
            errors.append(
                ValidationError(
                    _("Image %(url)s is listed twice."),
                    code="image_twice",
                    params={"url": image.url or image.file.name},
                )
            )
        seen.add(key)
    if errors:
        raise ValidationError(errors)
    current = list(
        ProductImage.objects.filter(product=product)
        .order_by("position", "id")
        .values_list("sku_id", "url", "file", "position")
    )
    kept_names = {spec.file for spec in images if isinstance(spec.file, str)}
    if all(not spec.file or isinstance(spec.file, str) for spec in images) and current == [
        (i.sku_id, i.url, i.file.name or "", i.position) for i in wanted
    ]:
        return False
    ProductImage.objects.filter(product=product).delete()
    ProductImage.objects.bulk_create(wanted)  # stores the new files (FileField.pre_save)
    dropped = [name for name in stored if name not in kept_names]
    if dropped:
        transaction.on_commit(lambda: [default_storage.delete(name) for name in dropped])
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


@transaction.atomic
def product_attributes_set(*, product: Product, values: Iterable[AttributeValue]) -> bool:
    """Make the product's own attributes exactly `values` (Marca = Acme, Modelo = Básica,
    Gênero = Masculino): what the product is for every SKU of it, which a channel's category
    may require on the item (Mercado Livre's MODEL, GENDER). One value per attribute,
    attributes of the product's company. Returns whether anything changed; announces every
    SKU of the product when it did. Bad input writes nothing."""
    by_attribute: dict[int, AttributeValue] = {}
    for value in values:
        attribute = value.attribute
        if attribute.company_id != product.company_id:
            raise ValidationError(
                _("Attribute %(attribute)s belongs to another company."),
                code="other_company",
                params={"attribute": attribute.name},
            )
        if attribute.pk in by_attribute and by_attribute[attribute.pk].pk != value.pk:
            raise ValidationError(
                _("Product %(product)s can have one value of %(attribute)s, not two."),
                code="attribute_twice",
                params={"product": product.name, "attribute": attribute.name},
            )
        by_attribute[attribute.pk] = value
    current = dict(
        ProductAttributeValue.objects.filter(product=product).values_list(
            "attribute_id", "value_id"
        )
    )
    wanted = {attribute_id: value.pk for attribute_id, value in by_attribute.items()}
    if current == wanted:
        return False
    ProductAttributeValue.objects.filter(product=product).exclude(
        attribute_id__in=list(wanted)
    ).delete()
    for attribute_id, value_id in wanted.items():
        if current.get(attribute_id) == value_id:
            continue
        ProductAttributeValue.objects.update_or_create(
            product=product, attribute_id=attribute_id, defaults={"value_id": value_id}
        )
    _announce_product(product)
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


# --- order fulfilment: invoice, ship, deliver, cancel -----------------------------------------
#
# Each function locks the order row (so two back-office users, or a user and the order import,
# cannot both invoice or cancel it), validates, writes, sets the order's status and announces
# the change with erp.signals.order_fulfilment_changed in the same transaction: the listener's
# outbound event rows (sync's FulfilmentEvent) commit or roll back with the change itself.

# The NF-e total (vNF) and the channel's order total are computed by different systems: the
# channel apportions discounts and freight over the lines with its own rounding, the NF-e rounds
# each line's values to centavos (MOC: values with 2 decimals per item). Each line can therefore
# differ by at most one centavo; more than that is a different amount, not rounding.
INVOICE_TOTAL_TOLERANCE_PER_LINE = Decimal("0.01")


def _locked(order: Order) -> Order:
    return Order.objects.select_for_update().get(pk=order.pk)


def _announce_fulfilment(order: Order, kind: FulfilmentKind) -> None:
    order_fulfilment_changed.send(
        sender=Order,
        company_id=order.company_id,
        order_id=order.pk,
        kind=kind,
        status=order.status,
        channel_id=order.channel_id,
    )


def _set_status(order: Order, status: str, *extra_fields: str) -> None:
    order.status = status
    order.save(update_fields=["status", *extra_fields, "updated_at"])


def _refuse_if_canceled(order: Order, message) -> None:
    if order.status == OrderStatus.CANCELED:
        raise ValidationError(message, code="order_canceled", params={"order": str(order)})


def invoice_total_tolerance(order: Order) -> Decimal:
    return INVOICE_TOTAL_TOLERANCE_PER_LINE * max(order.items.count(), 1)


# An authorized NF-e XML (nfeProc) is tens to hundreds of KB; a few MB is already not one.
NFE_XML_MAX_BYTES = 5 * 1024 * 1024


def _check_nfe_xml(xml_file: File, key: str) -> None:
    """Refuse a file that is not this NF-e's XML: too big, not XML, or without the access key
    (the key is the infNFe Id, "NFe" + 44 digits, and chNFe of the authorization). The file is
    not parsed: it is stored for the channels, and a substring check needs no XML parser on
    untrusted input."""
    size = getattr(xml_file, "size", None)
    if size is not None and size > NFE_XML_MAX_BYTES:
        raise ValidationError(
            _("The XML file is too big for an NF-e (%(size)s bytes; at most %(limit)s)."),
            code="nfe_xml_too_big",
            params={"size": size, "limit": NFE_XML_MAX_BYTES},
        )
    xml_file.seek(0)
    content = xml_file.read(NFE_XML_MAX_BYTES + 1)
    xml_file.seek(0)
    if isinstance(content, str):
        content = content.encode()
    if len(content) > NFE_XML_MAX_BYTES:
        raise ValidationError(
            _("The XML file is too big for an NF-e (%(size)s bytes; at most %(limit)s)."),
            code="nfe_xml_too_big",
            params={"size": len(content), "limit": NFE_XML_MAX_BYTES},
        )
    if not content.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        raise ValidationError(_("The file is not an XML file."), code="nfe_xml_not_xml")
    if key.encode() not in content:
        raise ValidationError(
            _("The XML file is not this NF-e's: it does not contain the access key %(key)s."),
            code="nfe_xml_other_key",
            params={"key": key},
        )


@transaction.atomic
def order_invoice(
    *,
    order: Order,
    number: int,
    series: int,
    access_key: str,
    issued_at: datetime,
    total: Decimal,
    xml_file: File | None = None,
) -> Invoice:
    """Record the order's NF-e and mark the order invoiced.

    Refused: a canceled order, an order that already has an invoice, an access key that is
    malformed, has a wrong check digit or is not this company's / series / number / issue
    month, an NF-e total that differs from the order total by more than rounding
    (INVOICE_TOTAL_TOLERANCE_PER_LINE per order line)."""
    order = _locked(order)
    _refuse_if_canceled(order, _("Order %(order)s is canceled: it cannot be invoiced."))
    if Invoice.objects.filter(order=order).exists():
        raise ValidationError(
            _("Order %(order)s already has an invoice (NF-e %(number)s)."),
            code="already_invoiced",
            params={"order": str(order), "number": order.invoice.number},
        )
    if issued_at is None or timezone.is_naive(issued_at):
        # A programming error of the caller (forms give aware datetimes): not translated.
        raise ValueError("issued_at must be an aware datetime")
    key = validate_nfe_access_key_for(
        access_key,
        cnpj=order.company.cnpj,
        series=series,
        number=number,
        issued_on=timezone.localtime(issued_at).date(),
    )
    if Invoice.objects.filter(access_key=key).exists():
        raise ValidationError(
            _("This access key is already recorded on another order's invoice."),
            code="access_key_taken",
        )
    tolerance = invoice_total_tolerance(order)
    if abs(total - order.total) > tolerance:
        raise ValidationError(
            _(
                "The NF-e total (%(total)s) does not match the order total (%(order_total)s); "
                "at most %(tolerance)s of rounding difference is accepted."
            ),
            code="invoice_total_mismatch",
            params={"total": total, "order_total": order.total, "tolerance": tolerance},
        )
    invoice = Invoice(
        order=order,
        number=number,
        series=series,
        access_key=key,
        issued_at=issued_at,
        total=total,
    )
    invoice.full_clean(exclude=["order", "xml_file"])
    if xml_file is not None:
        _check_nfe_xml(xml_file, key)
        # FileField saves the file to storage here; a rollback leaves an orphan file, never
        # a row pointing at no file.
        invoice.xml_file.save(f"{key}.xml", xml_file, save=False)
    invoice.save()
    # Only forward: an order shipped before it was invoiced (shipping without an invoice
    # where the channel allows it) keeps its later status.
    if order.status in (OrderStatus.NEW, OrderStatus.AWAITING_PAYMENT, OrderStatus.PAID):
        _set_status(order, OrderStatus.INVOICED)
    _announce_fulfilment(order, FulfilmentKind.INVOICE)
    return invoice


@transaction.atomic
def order_ship(
    *,
    order: Order,
    carrier_service: CarrierService,
    tracking_code: str = "",
    tracking_url: str = "",
    shipped_at: datetime | None = None,
    require_invoice: bool = True,
    estimated_delivery: date | None = None,
) -> Shipment:
    """Record that the order left with a carrier and mark it shipped.

    `require_invoice` (default True) refuses shipping an order that has no NF-e: goods travel
    with an NF-e in Brazil and most channels (VTEX, Mercado Livre drop-off) need the invoice
    first. A caller whose channel and operation allow shipping first passes False."""
    order = _locked(order)
    _refuse_if_canceled(order, _("Order %(order)s is canceled: it cannot be shipped."))
    if Shipment.objects.filter(order=order).exists():
        raise ValidationError(
            _("Order %(order)s is already shipped."),
            code="already_shipped",
            params={"order": str(order)},
        )
    if require_invoice and not Invoice.objects.filter(order=order).exists():
        raise ValidationError(
            _("Order %(order)s has no invoice yet: invoice it (NF-e) before shipping."),
            code="not_invoiced",
            params={"order": str(order)},
        )
    if carrier_service.carrier.company_id != order.company_id:
        raise ValidationError(
            _("The carrier service %(service)s belongs to another company."),
            code="other_company",
            params={"service": str(carrier_service)},
        )
    shipment = Shipment(
        order=order,
        carrier_service=carrier_service,
        tracking_code=tracking_code.strip(),
        tracking_url=tracking_url.strip(),
        shipped_at=shipped_at or timezone.now(),
        estimated_delivery=estimated_delivery,
    )
    shipment.full_clean(exclude=["order", "carrier_service"])
    shipment.save()
    _set_status(order, OrderStatus.SHIPPED)
    _announce_fulfilment(order, FulfilmentKind.SHIP)
    return shipment


@transaction.atomic
def order_deliver(*, order: Order, delivered_at: datetime | None = None) -> Shipment:
    """Record that the buyer received the order and mark it delivered."""
    order = _locked(order)
    _refuse_if_canceled(order, _("Order %(order)s is canceled: it cannot be delivered."))
    shipment = Shipment.objects.filter(order=order).first()
    if shipment is None:
        raise ValidationError(
            _("Order %(order)s has not been shipped: ship it before marking it delivered."),
            code="not_shipped",
            params={"order": str(order)},
        )
    if shipment.delivered_at is not None:
        raise ValidationError(
            _("Order %(order)s is already delivered."),
            code="already_delivered",
            params={"order": str(order)},
        )
    delivered_at = delivered_at or timezone.now()
    if delivered_at < shipment.shipped_at:
        raise ValidationError(
            _("The delivery date cannot be before the shipping date (%(shipped_at)s)."),
            code="delivered_before_shipped",
            params={
                "shipped_at": timezone.localtime(shipment.shipped_at).strftime("%d/%m/%Y %H:%M")
            },
        )
    shipment.delivered_at = delivered_at
    shipment.save(update_fields=["delivered_at"])
    _set_status(order, OrderStatus.DELIVERED)
    _announce_fulfilment(order, FulfilmentKind.DELIVER)
    return shipment


@transaction.atomic
def order_cancel(*, order: Order, reason: str = "", canceled_at: datetime | None = None) -> Order:
    """Cancel the order and release the stock its lines reserved (exactly once: the locked
    status check refuses a second cancellation).

    A delivered order cannot be canceled (that is a return). An invoiced order needs a reason
    and is flagged `nfe_cancel_required`: its NF-e must be canceled in the ERP's fiscal module,
    which this system does not do."""
    order = _locked(order)
    reason = reason.strip()
    if order.status == OrderStatus.CANCELED:
        raise ValidationError(
            _("Order %(order)s is already canceled."),
            code="already_canceled",
            params={"order": str(order)},
        )
    if order.status == OrderStatus.DELIVERED or (
        Shipment.objects.filter(order=order, delivered_at__isnull=False).exists()
    ):
        raise ValidationError(
            _("Order %(order)s was delivered: it cannot be canceled. Record a return instead."),
            code="delivered",
            params={"order": str(order)},
        )
    invoiced = Invoice.objects.filter(order=order).exists()
    if invoiced and not reason:
        raise ValidationError(
            _(
                "Order %(order)s is invoiced: say why it is canceled (the NF-e must be "
                "canceled in the ERP too)."
            ),
            code="reason_required",
            params={"order": str(order)},
        )
    order.canceled_at = canceled_at or timezone.now()
    order.cancel_reason = reason
    order.nfe_cancel_required = invoiced
    _set_status(order, OrderStatus.CANCELED, "canceled_at", "cancel_reason", "nfe_cancel_required")
    stock_reserve_many(
        company_id=order.company_id,
        reservations=[
            Reservation(
                sku_id=item.sku_id, warehouse_id=item.reserved_warehouse_id, quantity=-item.quantity
            )
            for item in order.items.filter(reserved_warehouse__isnull=False)
        ],
    )
    _announce_fulfilment(order, FulfilmentKind.CANCEL)
    return order
