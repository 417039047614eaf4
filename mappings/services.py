"""Writes of the de-para: mapping rows, the unmapped-value queue, product bindings.

Every write to this app's tables goes through here, the sync engine's included (bindings
created at activation, last pushed values).

Every path that creates a mapping (admin form, channel inline, admin action, CSV import)
goes through `mapping_save`, which resolves the matching queue entries and sends
`mappings.signals.mapping_created` after commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, F, IntegerField, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext

from channels.models import SalesChannel
from erp.models import AttributeValue
from erpintegr.db.bulk import db_value, insert_rows, update_by_id
from mappings.models import (
    EXTERNAL_KEY_SEPARATOR,
    PARENT_CODE_KINDS,
    ChannelMapping,
    Listing,
    MappingKind,
    UnmappedValue,
    listing_external_key,
    mapping_model_for,
)
from mappings.selectors import LookupKey, Translation, canonical_parts, lookup_key, translate
from mappings.signals import mapping_created
from mappings.suggestions import suggestions_for_unmapped
from vendors.types import ExternalRef, ReferenceValue


@transaction.atomic
def mapping_save(*, mapping: ChannelMapping, validated: bool = False) -> ChannelMapping:
    """Validate (unless a form already did) and save one de-para row.

    When the row starts matching new values (created, or code/fallback changed), the
    queue entries it covers are marked resolved and `mapping_created` is sent on commit.
    Raises ValidationError with per-field messages; nothing is written then.
    """
    if not validated:
        mapping.full_clean()
    newly_matching = mapping.key_changed()
    try:
        with transaction.atomic():
            mapping.save()
    except IntegrityError:
        # Lost a race with another save of the same code between clean() and save().
        raise ValidationError(
            {
                "code": gettext("This channel already maps %(code)s.")
                % {"code": mapping.describe_code()}
            }
        ) from None
    if newly_matching:
        _resolve_unmapped(mapping)
        channel_id, kind = mapping.channel_id, str(mapping.kind)
        transaction.on_commit(
            lambda: mapping_created.send(
                sender=type(mapping), channel_id=channel_id, kind=kind, mapping=mapping
            ),
            robust=True,
        )
    return mapping


def mapping_create(
    *,
    channel: SalesChannel,
    kind: str,
    target,
    code: str = "",
    label: str = "",
    parent_code: str = "",
    parent_label: str = "",
    is_fallback: bool = False,
) -> ChannelMapping:
    """Create a de-para row. For carrier + service, `parent_code` is the carrier and `code`
    the service (as in ReferenceValue); a blank service maps every service of the carrier."""
    model = mapping_model_for(kind)
    if kind == MappingKind.CARRIER_SERVICE:
        if not parent_code and not is_fallback:
            parent_code, parent_label, code, label = code, label, "", ""
        mapping = model(
            channel=channel,
            code=parent_code,
            label=parent_label,
            service_code=code,
            service_label=label,
            target=target,
            is_fallback=is_fallback,
        )
    elif kind == MappingKind.ATTRIBUTE:
        # A value row targets the ERP value (its attribute is implied); an attribute row
        # the ERP attribute. `parent_code` is the channel's attribute, `code` its value.
        if not parent_code:
            parent_code, parent_label, code, label = code, label, "", ""
        value = target if isinstance(target, AttributeValue) else None
        mapping = model(
            channel=channel,
            code=parent_code,
            label=parent_label,
            value_code=code,
            value_label=label,
            target=value.attribute if value is not None else target,
            target_value=value,
        )
    else:
        mapping = model(
            channel=channel, code=code, label=label, target=target, is_fallback=is_fallback
        )
    return mapping_save(mapping=mapping)


@dataclass
class MappingsCreated:
    created: list[ChannelMapping] = field(default_factory=list)
    # (the channel value, why its row was refused)
    failed: list[tuple[ReferenceValue, str]] = field(default_factory=list)


def mappings_create_many(
    *, channel: SalesChannel, rows: Iterable[tuple[ReferenceValue, object]]
) -> MappingsCreated:
    """Create one de-para row per (channel value, ERP value): the de-para filled from the
    values a vendor lists (the channel's “Fill de-para” page, the demo). A value is a
    vendors.types.ReferenceValue (carrier + service: `parent_code` is the carrier, `code` the
    service; a blank service maps every service of the carrier). Each row is saved on its
    own through `mapping_create`, so one refusal (mapped meanwhile, a target of another
    company) does not undo the others."""
    outcome = MappingsCreated()
    for value, target in rows:
        kind, code, label, parent_code, parent_label = canonical_parts(value)
        try:
            outcome.created.append(
                mapping_create(
                    channel=channel,
                    kind=kind,
                    target=target,
                    code=code,
                    label=label,
                    parent_code=parent_code,
                    parent_label=parent_label,
                )
            )
        except ValidationError as exc:
            outcome.failed.append((value, "; ".join(exc.messages)))
    return outcome


def mapping_create_from_unmapped(*, unmapped: UnmappedValue, target) -> ChannelMapping:
    """Map a queued value to `target` (the admin's suggestion, or the user's choice)."""
    return mapping_create(
        channel=unmapped.channel,
        kind=unmapped.kind,
        target=target,
        code=unmapped.code,
        label=unmapped.label,
        parent_code=unmapped.parent_code,
        parent_label=unmapped.parent_label,
    )


def _resolve_unmapped(mapping: ChannelMapping) -> int:
    open_entries = UnmappedValue.objects.filter(
        channel_id=mapping.channel_id, kind=mapping.kind, resolved_at__isnull=True
    )
    if mapping.is_fallback:
        covered = open_entries  # the fallback now answers every value of the kind
    elif mapping.kind == MappingKind.CARRIER_SERVICE:
        covered = open_entries.filter(parent_key=mapping.code_key)
        if mapping.service_key:
            covered = covered.filter(code_key=mapping.service_key)
    elif mapping.kind in PARENT_CODE_KINDS:
        # An attribute's own row covers the attribute, not its values.
        covered = open_entries.filter(parent_key=mapping.code_key, code_key=mapping.second_key())
    else:
        covered = open_entries.filter(code_key=mapping.code_key)
    return covered.update(resolved_at=timezone.now())


def unmapped_record_many(
    *,
    channel: SalesChannel,
    missing: Iterable,
    seen_at: datetime | None = None,
) -> int:
    """Record values seen in channel data that have no de-para (e.g. `Translation.missing`,
    or ReferenceValue objects). Each item counts `item.count` sightings (1 by default).

    One row per channel + kind + normalized code: first_seen is kept, last_seen and count
    move on, and an entry resolved earlier opens again (its mapping is gone). Constant
    queries: read, insert the new keys (batched only by the database's parameter limit),
    re-read their ids, one UPDATE with the increments. Returns the number of distinct values.
    """
    now = seen_at or timezone.now()
    seen: dict[LookupKey, dict] = {}
    for item in missing:
        kind, code, label, parent_code, parent_label = canonical_parts(item)
        mapping_model_for(kind)  # an unknown kind fails loudly instead of being queued
        # Stored keys are capped at the column width; compare with the same cap.
        key = tuple(part[:200] for part in lookup_key(item))
        entry = seen.get(key)
        if entry is None:
            seen[key] = entry = {
                "code": code,
                "label": label,
                "parent_code": parent_code,
                "parent_label": parent_label,
                "count": 0,
            }
        entry["count"] += max(int(getattr(item, "count", 1) or 1), 1)
        entry["label"] = entry["label"] or label
        entry["parent_label"] = entry["parent_label"] or parent_label
    if not seen:
        return 0

    def _key_of(kind: str, parent_key: str, code_key: str) -> LookupKey:
        if kind in PARENT_CODE_KINDS:
            return (kind, parent_key, code_key)
        return (kind, code_key, "")

    def _existing() -> dict[LookupKey, int]:
        # A superset by kind and code key, narrowed in Python: fewer SQL parameters than
        # one OR per key.
        code_keys = {k[2] if k[0] in PARENT_CODE_KINDS else k[1] for k in seen}
        rows = UnmappedValue.objects.filter(
            channel=channel, kind__in={k[0] for k in seen}, code_key__in=code_keys
        ).values_list("id", "kind", "parent_key", "code_key")
        found = {_key_of(kind, parent_key, code_key): pk for pk, kind, parent_key, code_key in rows}
        return {key: pk for key, pk in found.items() if key in seen}

    with transaction.atomic():
        ids = _existing()
        new_keys = [key for key in seen if key not in ids]
        if new_keys:
            UnmappedValue.objects.bulk_create(
                [
                    UnmappedValue(
                        channel=channel,
                        kind=key[0],
                        code=seen[key]["code"][:120],
                        code_key=key[2] if key[0] in PARENT_CODE_KINDS else key[1],
                        label=seen[key]["label"][:200],
                        parent_code=seen[key]["parent_code"][:120],
                        parent_key=key[1] if key[0] in PARENT_CODE_KINDS else "",
                        parent_label=seen[key]["parent_label"][:200],
                        first_seen=now,
                        last_seen=now,
                        count=0,
                    )
                    for key in new_keys
                ],
                # A concurrent worker may insert the same value: its row wins, and the
                # increment below still counts our sightings on it.
                ignore_conflicts=True,
            )
            ids = _existing()
        labelled = [(ids[key], seen[key]["label"]) for key in ids if seen[key]["label"]]
        UnmappedValue.objects.filter(pk__in=ids.values()).update(
            count=F("count")
            + Case(
                *[When(pk=pk, then=Value(seen[key]["count"])) for key, pk in ids.items()],
                default=Value(0),
                output_field=IntegerField(),
            ),
            last_seen=now,
            resolved_at=None,
            label=Case(
                *[When(pk=pk, then=Value(label[:200])) for pk, label in labelled],
                default=F("label"),
            )
            if labelled
            else F("label"),
        )
    return len(seen)


def translate_and_record(*, channel: SalesChannel, requests: Iterable) -> Translation:
    """`translate`, then queue what is missing. What the order import calls."""
    translation = translate(channel=channel, requests=requests)
    if translation.missing:
        unmapped_record_many(channel=channel, missing=translation.missing)
    return translation


@transaction.atomic
def listing_save(*, listing: Listing, validated: bool = False) -> Listing:
    """Validate and save a product binding (unique both ways per channel)."""
    if not validated:
        listing.full_clean()
    try:
        with transaction.atomic():
            listing.save()
    except IntegrityError:
        raise ValidationError(
            gettext("This SKU or these channel ids were just bound by another save.")
        ) from None
    return listing


# Listing columns that remember what the vendor accepted, each with its `<column>_at`.
PUSHED_COLUMNS = ("last_pushed_stock", "last_pushed_price")


def listings_record_pushed(
    *,
    column: str,
    values: Sequence[tuple[int, object]],
    at: datetime | None = None,
) -> None:
    """Remember what the vendor accepted: (listing id, value pushed) into `column` (one of
    PUSHED_COLUMNS) and `<column>_at`. One statement per 5,000 bindings, so the sync engine's
    query count per batch does not grow with the batch."""
    if column not in PUSHED_COLUMNS:
        raise ValueError(f"{column!r} is not a last-pushed column of Listing.")
    update_by_id(Listing, values, column, {f"{column}_at": at or timezone.now()})


LISTING_INSERT_COLUMNS = (
    "channel_id",
    "sku_id",
    "external_item_id",
    "external_variation_id",
    "external_sku_id",
    "external_key",
    "seller_sku",
    "created_at",
    "updated_at",
)


def listings_bind_many(*, channel: SalesChannel, refs: Iterable[tuple[int, ExternalRef]]) -> int:
    """Create bindings (ERP SKU id, where it lives on the channel) in bulk; returns how many.

    Existing bindings are kept as they are: a SKU already bound, or channel ids already bound
    to a SKU, is skipped (a re-activation binds only what is new), and so is the second of two
    entries for one SKU or one identity. `ref.seller_sku` is the code the channel stores."""
    existing = Listing.objects.filter(channel=channel).values_list("sku_id", "external_key")
    bound_skus: set[int] = set()
    bound_keys: set[str] = set()
    for sku_id, key in existing.iterator(chunk_size=2000):
        bound_skus.add(sku_id)
        bound_keys.add(key)
    now = db_value(timezone.now())
    new: list[tuple] = []
    for sku_id, ref in refs:
        # What Listing.normalize_keys() does on save(); the rows are inserted set-based (an
        # activation binds a whole store: 100k rows are ~1 s this way, ~20 s by bulk_create).
        item_id, variation_id = ref.item_id.strip(), ref.variation_id.strip()
        external_sku_id = ref.sku_id.strip()
        key = listing_external_key(item_id, variation_id, external_sku_id)
        if sku_id in bound_skus or key in bound_keys:
            continue
        bound_skus.add(sku_id)
        bound_keys.add(key)
        seller_sku = (ref.seller_sku or "").strip()[:80]
        new.append(
            (channel.pk, sku_id, item_id, variation_id, external_sku_id, key, seller_sku, now, now)
        )
    return insert_rows(Listing, LISTING_INSERT_COLUMNS, new)


def listings_record_published(
    *, channel: SalesChannel, refs: Iterable[tuple[int, ExternalRef]]
) -> tuple[list[int], list[int]]:
    """Bind the SKUs the catalog flow published where the vendor says they now live: a new
    binding for a SKU not bound yet; a binding whose channel ids differ moves to them (its
    last-sent values no longer hold). Channel ids already bound to another SKU are left as
    they are. Returns (SKU ids newly bound, SKU ids in conflict). Three queries at most,
    whatever the number of SKUs."""
    wanted: dict[int, Listing] = {}
    for sku_id, ref in refs:
        listing = Listing(
            channel=channel,
            sku_id=sku_id,
            external_item_id=ref.item_id,
            external_variation_id=ref.variation_id,
            external_sku_id=ref.sku_id,
            seller_sku=(ref.seller_sku or "")[:80],
        )
        listing.normalize_keys()
        if listing.external_key.strip(EXTERNAL_KEY_SEPARATOR):
            wanted[sku_id] = listing
    if not wanted:
        return [], []
    keys = [listing.external_key for listing in wanted.values()]
    by_sku: dict[int, Listing] = {}
    by_key: dict[str, Listing] = {}
    for listing in Listing.objects.filter(
        Q(sku_id__in=list(wanted)) | Q(external_key__in=keys), channel=channel
    ).order_by():
        by_sku[listing.sku_id] = listing
        by_key[listing.external_key] = listing
    new: list[Listing] = []
    moved: list[Listing] = []
    conflicts: list[int] = []
    now = timezone.now()
    for sku_id, listing in wanted.items():
        holder = by_key.get(listing.external_key)
        if holder is not None and holder.sku_id != sku_id:
            conflicts.append(sku_id)
            continue
        current = by_sku.get(sku_id)
        if current is None:
            new.append(listing)
        elif (current.external_key, current.seller_sku) != (
            listing.external_key,
            listing.seller_sku,
        ):
            if current.external_key != listing.external_key:
                current.last_pushed_stock = current.last_pushed_stock_at = None
                current.last_pushed_price = current.last_pushed_price_at = None
            for name in PUBLISHED_COLUMNS:
                setattr(current, name, getattr(listing, name))
            current.updated_at = now
            moved.append(current)
    if new:
        Listing.objects.bulk_create(new)
    if moved:
        Listing.objects.bulk_update(
            moved,
            [
                *PUBLISHED_COLUMNS,
                "last_pushed_stock",
                "last_pushed_stock_at",
                "last_pushed_price",
                "last_pushed_price_at",
                "updated_at",
            ],
        )
    return [listing.sku_id for listing in new], conflicts


PUBLISHED_COLUMNS = (
    "external_item_id",
    "external_variation_id",
    "external_sku_id",
    "external_key",
    "seller_sku",
)


@dataclass
class SuggestionsApplied:
    created: list[ChannelMapping] = field(default_factory=list)
    without_suggestion: list[UnmappedValue] = field(default_factory=list)
    failed: list[tuple[UnmappedValue, str]] = field(default_factory=list)


def unmapped_apply_suggestions(
    *, entries: Iterable[UnmappedValue], allowed_kinds: Iterable[str] | None = None
) -> SuggestionsApplied:
    """Create a mapping from the suggested ERP value of each open entry (admin action).

    Entries must come with their channel loaded. Each mapping is saved on its own, so one
    refusal (e.g. mapped meanwhile) does not undo the others.
    """
    allowed = set(MappingKind.values if allowed_kinds is None else allowed_kinds)
    entries = [e for e in entries if e.resolved_at is None]
    suggestions = suggestions_for_unmapped(entries)
    outcome = SuggestionsApplied()
    for entry in entries:
        target = suggestions.get(entry.pk)
        if target is None:
            outcome.without_suggestion.append(entry)
        elif entry.kind not in allowed:
            outcome.failed.append((entry, "you may not create this kind of de-para"))
        else:
            try:
                outcome.created.append(mapping_create_from_unmapped(unmapped=entry, target=target))
            except ValidationError as exc:
                outcome.failed.append((entry, "; ".join(exc.messages)))
    return outcome
