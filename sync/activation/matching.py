"""Listing matching: which ERP SKU each channel listing is (by SKU code, then EAN).

Pure over what it is given (the vendor's listings, already fetched; the company's SKUs, read
in one streamed pass): the data check reads the result, the activation binds its matches and
the CSV report lists what matched nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from erp.models import Sku
from erp.validators import normalize_sku_code, only_digits
from vendors.types import RemoteListing

EXTERNAL_ID_MAX = 80  # mappings.Listing external id columns


@dataclass(frozen=True)
class ErpSkuRow:
    id: int
    code: str
    name: str
    ean: str
    active: bool


def ean_key(value: str) -> str:
    """EAN-13 and the same GTIN-14 with a leading zero are one product."""
    return only_digits(value or "").lstrip("0")


@dataclass
class ErpIndex:
    """The company's SKUs, keyed the way listings are matched."""

    rows: dict[int, ErpSkuRow] = field(default_factory=dict)
    by_code: dict[str, int] = field(default_factory=dict)
    by_ean: dict[str, list[int]] = field(default_factory=dict)
    duplicate_codes: dict[str, list[int]] = field(default_factory=dict)

    @property
    def duplicate_eans(self) -> dict[str, list[int]]:
        return {ean: ids for ean, ids in self.by_ean.items() if len(ids) > 1}


def erp_index(company_id: int) -> ErpIndex:
    """One pass over the company's SKUs (streamed, whatever the catalog size).

    Codes are normalized here, not read from `code_key`: rows written around `save()` (bulk
    loads) may carry a stale key, and two codes differing only by case or spaces are exactly
    the duplicate that must block. EAN matching uses active SKUs only: an inactive SKU
    keeping the EAN of its replacement is normal and must not block."""
    index = ErpIndex()
    codes: dict[str, list[int]] = defaultdict(list)
    rows = (
        Sku.objects.filter(company_id=company_id)
        .order_by("pk")
        .values_list("pk", "code", "name", "ean", "active")
    )
    for pk, code, name, ean, active in rows.iterator(chunk_size=2000):
        index.rows[pk] = ErpSkuRow(pk, code, name, ean, active)
        codes[normalize_sku_code(code)].append(pk)
        if active and ean_key(ean):
            index.by_ean.setdefault(ean_key(ean), []).append(pk)
    for key, ids in codes.items():
        if len(ids) > 1:
            index.duplicate_codes[key] = ids
        else:
            index.by_code[key] = ids[0]
    return index


@dataclass
class MatchResult:
    fetched: int = 0
    matches: list[tuple[RemoteListing, int, str]] = field(default_factory=list)  # sku id, by
    unmatched: list[RemoteListing] = field(default_factory=list)
    unbindable: list[RemoteListing] = field(default_factory=list)
    absent: list[ErpSkuRow] = field(default_factory=list)
    duplicate_listing_codes: dict[str, list[RemoteListing]] = field(default_factory=dict)
    sku_matched_twice: dict[int, list[RemoteListing]] = field(default_factory=dict)
    erp: ErpIndex = field(default_factory=ErpIndex)


def _external_key(listing: RemoteListing) -> tuple[str, str, str]:
    ref = listing.ref
    return (ref.item_id.strip(), ref.variation_id.strip(), ref.sku_id.strip())


def match_listings(
    listings: Iterable[RemoteListing],
    erp: ErpIndex,
    *,
    progress: Callable[[int], None] | None = None,
) -> MatchResult:
    """Match channel listings to ERP SKUs: by SKU code (case and spaces ignored), then EAN.

    A listing the vendor returned twice (paging over a changing catalog) counts once."""
    result = MatchResult(erp=erp)
    unique: dict[tuple[str, str, str], RemoteListing] = {}
    for listing in listings:
        result.fetched += 1
        if progress is not None:
            progress(result.fetched)
        key = _external_key(listing)
        if not any(key) or any(len(part) > EXTERNAL_ID_MAX for part in key):
            result.unbindable.append(listing)
            continue
        unique.setdefault(key, listing)

    by_code: dict[str, list[RemoteListing]] = defaultdict(list)
    for listing in unique.values():
        code = normalize_sku_code(listing.seller_sku or listing.ref.seller_sku)
        if code:
            by_code[code].append(listing)
    result.duplicate_listing_codes = {c: ls for c, ls in by_code.items() if len(ls) > 1}

    claimed: dict[int, list[RemoteListing]] = defaultdict(list)
    tentative: list[tuple[RemoteListing, int, str]] = []
    for listing in unique.values():
        code = normalize_sku_code(listing.seller_sku or listing.ref.seller_sku)
        if code in result.duplicate_listing_codes:
            continue  # blocked; binding either would lose the other
        sku_id, by = None, ""
        if code and code in erp.by_code:
            sku_id, by = erp.by_code[code], "code"
        else:
            candidates = erp.by_ean.get(ean_key(listing.ean), []) if listing.ean else []
            if len(candidates) == 1:
                sku_id, by = candidates[0], "ean"
        if sku_id is None:
            result.unmatched.append(listing)
            continue
        claimed[sku_id].append(listing)
        tentative.append((listing, sku_id, by))
    result.sku_matched_twice = {s: ls for s, ls in claimed.items() if len(ls) > 1}
    result.matches = [m for m in tentative if m[1] not in result.sku_matched_twice]
    matched_ids = {sku_id for _, sku_id, _ in tentative}
    result.absent = [row for pk, row in erp.rows.items() if row.active and pk not in matched_ids]
    return result


def describe_listing(listing: RemoteListing) -> str:
    ids = " / ".join(p for p in _external_key(listing) if p) or _("(no id)")
    parts = [
        ids,
        _("SKU “%(code)s”") % {"code": listing.seller_sku}
        if listing.seller_sku
        else _("no SKU code"),
    ]
    if listing.ean:
        parts.append(f"EAN {listing.ean}")
    if listing.title:
        parts.append(listing.title[:80])
    return " — ".join(parts)


def describe_sku(row: ErpSkuRow) -> str:
    parts = [row.code]
    if row.name:
        parts.append(row.name)
    if row.ean:
        parts.append(f"EAN {row.ean}")
    return " — ".join(parts)
