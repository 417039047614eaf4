"""The catalog de-para filled from the vendor's own lists (issue 15): the channel's categories,
brands and attributes with their values (vendors.base.Connector.catalog_references), cached
per channel in sync.CatalogReferenceValue so the “Fill catalog de-para” page reads the vendor
only when a person asks for it or the cache is older than ERPINTEGR_CATALOG_REFERENCE_HOURS,
and proposed for each ERP category, brand and attribute value the channel's products use and
the channel has no row for (mappings.suggestions.suggest_channel_value; Mercado Livre: its
category predictor's first suggestion for the category's product names).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from channels.models import SalesChannel
from erp.models import AttributeValue, Brand, Category, Product
from mappings.models import AttributeMapping, BrandMapping, CategoryMapping
from mappings.normalize import normalize_code
from mappings.suggestions import suggest_channel_value
from sync.models import CatalogReferenceValue
from sync.services.connectors import build_connector
from sync.services.limits import limiter_save, rate_limiter_for
from vendors.base import Connector
from vendors.errors import NotSupportedError
from vendors.types import CatalogReference

LISTED_KINDS = ("category", "brand")


def reference_max_age() -> timedelta:
    return timedelta(hours=float(getattr(settings, "ERPINTEGR_CATALOG_REFERENCE_HOURS", 24.0)))


def references_fetched_at(channel: SalesChannel) -> datetime | None:
    """When the channel's cached lists were read from the vendor (None: never)."""
    row = (
        CatalogReferenceValue.objects.filter(channel=channel)
        .order_by("-fetched_at")
        .values_list("fetched_at", flat=True)
        .first()
    )
    return row


def references_are_fresh(fetched_at: datetime | None) -> bool:
    return fetched_at is not None and timezone.now() - fetched_at < reference_max_age()


def _value_parent(channel: SalesChannel, category: str, attribute: str) -> str:
    # Mercado Livre's values live in the category's attribute list, so its adapter names an
    # attribute "CATEGORY:ATTRIBUTE" (vendors/mercadolivre/catalog.py catalog_references);
    # VTEX lists a specification field's values by the field id alone.
    return f"{category}:{attribute}" if channel.vendor.key == "mercadolivre" else attribute


def _predictor_query(products: list[str]) -> str:
    return " ".join(products[:1])[:300]


def _unmapped_categories(channel: SalesChannel) -> list[Category]:
    mapped = CategoryMapping.objects.filter(channel=channel).values("target_id")
    return list(
        Category.objects.filter(company_id=channel.company_id, products__isnull=False)
        .exclude(pk__in=mapped)
        .distinct()
        .order_by("path", "name")
    )


def _product_names(categories: list[Category]) -> dict[int, list[str]]:
    names: dict[int, list[str]] = {}
    for category_id, name in (
        Product.objects.filter(category__in=categories)
        .order_by("category_id", "name")
        .values_list("category_id", "name")
    ):
        names.setdefault(category_id, []).append(name)
    return names


def catalog_references_refresh(*, channel: SalesChannel, connector: Connector | None = None) -> int:
    """Read the vendor's lists through the channel's paced connector and replace the
    channel's cache with them in one transaction (the old lists stay if the vendor fails).
    Lists: categories and brands (where the vendor lists them); the attributes of each
    category the channel maps, and the values of those attributes (Mercado Livre: of the
    required ones and those a variation may vary by); Mercado Livre: the predictor's
    suggestions for each unmapped category's product names. Returns the values cached.
    HTTP: never call it inside a database transaction. Raises vendors.errors.ConnectorError
    (its message redacted, fit to show) when the vendor cannot be read."""
    # Paced by the channel's own rate limiter and its state saved back, as
    # sync.activation.connection.paced_connector / save_pace do (sync.services may not import
    # sync.activation): the page and the runs share one budget.
    connector = connector or build_connector(channel, rate_limiter=rate_limiter_for(channel))
    found: list[tuple[CatalogReference, str]] = []
    try:
        listed: set[str] = set()
        for kind in LISTED_KINDS:
            try:
                found += [(ref, "") for ref in connector.catalog_references(kind)]
                listed.add(kind)
            except NotSupportedError:
                continue
        if "category" not in listed:
            # No category list (Mercado Livre): its predictor, per unmapped category.
            categories = _unmapped_categories(channel)
            names = _product_names(categories)
            for category in categories:
                query = _predictor_query(names.get(category.pk, [])) or category.name
                try:
                    found += [
                        (ref, query)
                        for ref in connector.catalog_references("category", query=query)
                    ]
                except NotSupportedError:
                    break
        category_codes = sorted(
            set(CategoryMapping.objects.filter(channel=channel).values_list("code", flat=True))
        )
        value_parents: set[str] = set()
        for code in category_codes:
            try:
                attributes = connector.catalog_references("attribute", parent=code)
            except NotSupportedError:
                break
            found += [(ref, "") for ref in attributes]
            for attribute in attributes:
                if channel.vendor.key == "mercadolivre" and not (
                    attribute.required or attribute.allows_variations
                ):
                    continue
                value_parents.add(_value_parent(channel, code, attribute.code))
        for parent in sorted(value_parents):
            try:
                found += [
                    (ref, "")
                    for ref in connector.catalog_references("attribute_value", parent=parent)
                ]
            except NotSupportedError:
                break
    finally:
        limiter_save(channel_id=channel.pk, limiter=connector.rate_limiter)
    now = timezone.now()
    rows = [
        CatalogReferenceValue(
            channel=channel,
            kind=ref.kind,
            code=ref.code[:120],
            label=ref.label[:300],
            parent_code=ref.parent_code[:240],
            required=ref.required,
            allows_variations=ref.allows_variations,
            score=ref.score,
            query=query,
            fetched_at=now,
        )
        for ref, query in found
        if ref.code
    ]
    with transaction.atomic():
        CatalogReferenceValue.objects.filter(channel=channel).delete()
        CatalogReferenceValue.objects.bulk_create(rows)
    return len(rows)


# --- what the page proposes ------------------------------------------------------------------


@dataclass
class CatalogProposal:
    """One ERP value with no catalog de-para row on the channel, and the channel value
    suggested for it (None: no suggestion). `attribute_code`: for an attribute value, the
    channel attribute suggested (or already mapped for the ERP attribute)."""

    kind: str  # mappings.models.MappingKind: category, brand or attribute
    target: object  # erp Category, Brand or AttributeValue
    suggestion: CatalogReferenceValue | None = None
    attribute_code: str = ""
    attribute_suggestion: CatalogReferenceValue | None = None
    predicted_from: str = ""


@dataclass
class RequiredAttribute:
    category_code: str
    category_label: str
    attribute: CatalogReferenceValue
    mapped: bool


@dataclass
class CatalogDePara:
    fetched_at: datetime | None
    proposals: list[CatalogProposal] = field(default_factory=list)
    references: dict[str, list[CatalogReferenceValue]] = field(default_factory=dict)
    required: list[RequiredAttribute] = field(default_factory=list)

    def values_of(self, attribute_code: str) -> list[CatalogReferenceValue]:
        """The cached values of a channel attribute (Mercado Livre's "CATEGORY:ATTRIBUTE"
        parents included), each code once."""
        seen: dict[str, CatalogReferenceValue] = {}
        for ref in self.references.get("attribute_value", []):
            parent = ref.parent_code.rpartition(":")[2]
            if parent == attribute_code and ref.code not in seen:
                seen[ref.code] = ref
        return list(seen.values())


def catalog_de_para(*, channel: SalesChannel, kinds: set[str]) -> CatalogDePara:
    """What the page shows, from the cache and the database only (no vendor request)."""
    cached = list(CatalogReferenceValue.objects.filter(channel=channel))
    references: dict[str, list[CatalogReferenceValue]] = {}
    for ref in cached:
        references.setdefault(ref.kind, []).append(ref)
    listed_categories = [r for r in references.get("category", []) if not r.query]
    predicted: dict[str, list[CatalogReferenceValue]] = {}
    for ref in references.get("category", []):
        if ref.query:
            predicted.setdefault(ref.query, []).append(ref)
    result = CatalogDePara(
        fetched_at=max((r.fetched_at for r in cached), default=None), references=references
    )
    if "category" in kinds:
        categories = _unmapped_categories(channel)
        names = _product_names(categories)
        for category in categories:
            proposal = CatalogProposal("category", category)
            query = _predictor_query(names.get(category.pk, [])) or category.name
            scored = sorted(predicted.get(query, []), key=lambda r: -(r.score or 0))
            if scored:
                proposal.suggestion, proposal.predicted_from = scored[0], query
            else:
                proposal.suggestion = suggest_channel_value(
                    [category.name, category.path], listed_categories
                )
            result.proposals.append(proposal)
    if "brand" in kinds:
        mapped = BrandMapping.objects.filter(channel=channel).values("target_id")
        for brand in (
            Brand.objects.filter(company_id=channel.company_id, products__isnull=False)
            .exclude(pk__in=mapped)
            .distinct()
            .order_by("name")
        ):
            result.proposals.append(
                CatalogProposal(
                    "brand",
                    brand,
                    suggest_channel_value([brand.name], references.get("brand", [])),
                )
            )
    if "attribute" in kinds:
        rows = AttributeMapping.objects.filter(channel=channel)
        mapped_values = {r.target_value_id for r in rows if r.target_value_id is not None}
        attribute_codes = {r.target_id: r.code for r in rows}
        attributes_cached: dict[str, CatalogReferenceValue] = {}
        for ref in references.get("attribute", []):
            attributes_cached.setdefault(ref.code, ref)
        for value in (
            AttributeValue.objects.filter(
                attribute__company_id=channel.company_id, sku_values__isnull=False
            )
            .exclude(pk__in=mapped_values)
            .select_related("attribute")
            .distinct()
            .order_by("attribute__name", "value")
        ):
            proposal = CatalogProposal("attribute", value)
            code = attribute_codes.get(value.attribute_id, "")
            attribute = attributes_cached.get(code) if code else None
            if not code:
                attribute = suggest_channel_value(
                    [value.attribute.name], attributes_cached.values(), attribute=True
                )
                code = attribute.code if attribute is not None else ""
            proposal.attribute_code, proposal.attribute_suggestion = code, attribute
            if code:
                proposal.suggestion = suggest_channel_value([value.value], result.values_of(code))
            result.proposals.append(proposal)
    # What each mapped category requires (Mercado Livre tags.required; VTEX IsRequired):
    # the attributes with no de-para row yet are what products of that category wait for.
    mapped_categories = {r.code: r for r in CategoryMapping.objects.filter(channel=channel)}
    mapped_attributes = set(
        AttributeMapping.objects.filter(channel=channel).values_list("code_key", flat=True)
    )
    category_labels = {r.code: r.label for r in references.get("category", [])}
    for ref in references.get("attribute", []):
        mapping = mapped_categories.get(ref.parent_code)
        if ref.required and mapping is not None:
            result.required.append(
                RequiredAttribute(
                    ref.parent_code,
                    mapping.label or category_labels.get(ref.parent_code, ""),
                    ref,
                    normalize_code(ref.code) in mapped_attributes,
                )
            )
    return result
