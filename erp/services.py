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

from erp.models import Price, PriceList, Sku, StockBalance, Warehouse
from erp.signals import ChangeKind, skus_changed


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


CATALOG_FIELDS = frozenset({"name", "ean", "active", "weight_grams"})


@transaction.atomic
def sku_update(*, sku: Sku, **fields) -> Sku:
    """Change catalog data of a SKU (name, EAN, active, weight) and announce it."""
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
