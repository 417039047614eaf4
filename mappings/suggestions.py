"""Suggested ERP values for unmapped channel values.

A small alias table for well-known Brazilian cases (ECT is Correios; bolbradesco is a boleto;
PAID_WAITING_SHIP is paid…) plus string similarity on normalized labels. A suggestion is
only ever shown for a person to confirm; translation never uses it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from erp.models import (
    Attribute,
    AttributeValue,
    Brand,
    CarrierService,
    Category,
    OrderStatus,
    PaymentMethod,
    Warehouse,
)
from mappings.models import MappingKind
from mappings.normalize import loose_key, squash
from mappings.selectors import LookupRequest, canonical_parts, lookup_key, translate

# Below this similarity ratio nothing is suggested (0..1, difflib).
MIN_SIMILARITY = 0.75
MIN_SERVICE_SIMILARITY = 0.6

# Channel carrier code/label (loose key) -> canonical carrier name (loose key).
CARRIER_ALIASES: dict[str, str] = {
    "ect": "correios",
    "correios": "correios",
    "empresa brasileira de correios e telegrafos": "correios",
    "jadlog": "jadlog",
    "jad log": "jadlog",
    "me": "mercado envios",
    "me1": "mercado envios",
    "me2": "mercado envios",
    "mercado envios": "mercado envios",
    "mercadoenvios": "mercado envios",
    "loggi": "loggi",
    "total express": "total express",
    "totalexpress": "total express",
    "azul cargo": "azul cargo express",
    "azul cargo express": "azul cargo express",
}

# Correios' public service codes -> service name (loose key) as ERPs usually register it.
CORREIOS_SERVICE_CODES: dict[str, str] = {
    "04014": "sedex",
    "03220": "sedex",
    "04162": "sedex",
    "04510": "pac",
    "03298": "pac",
    "04669": "pac",
    "40215": "sedex 10",
    "40290": "sedex hoje",
}

# Channel payment code/label (loose key) -> ERP PaymentMethod.Kind.
PAYMENT_ALIASES: dict[str, str] = {
    **dict.fromkeys(["pix", "bank transfer"], PaymentMethod.Kind.PIX),
    **dict.fromkeys(
        [
            "credit card",
            "creditcard",
            "credit",
            "cartao de credito",
            "cartao",
            "creditcardpaymentgroup",
            "visa",
            "master",
            "mastercard",
            "amex",
            "american express",
            "elo",
            "hipercard",
            "hiper",
            "diners",
        ],
        PaymentMethod.Kind.CREDIT_CARD,
    ),
    **dict.fromkeys(
        [
            "debit card",
            "debitcard",
            "cartao de debito",
            "debitcardpaymentgroup",
            "debvisa",
            "debmaster",
            "debelo",
            "maestro",
        ],
        PaymentMethod.Kind.DEBIT_CARD,
    ),
    **dict.fromkeys(
        [
            "boleto",
            "boleto bancario",
            "bolbradesco",
            "ticket",
            "bank slip",
            "bankslip",
            "bankinvoicepaymentgroup",
            "pec",
        ],
        PaymentMethod.Kind.BOLETO,
    ),
    **dict.fromkeys(
        [
            "account money",
            "wallet",
            "digital wallet",
            "digital currency",
            "mercado pago",
            "paypal",
            "picpay",
        ],
        PaymentMethod.Kind.WALLET,
    ),
}

# Channel order status (loose key) -> ERP order status. Mercado Livre, VTEX and ANYMARKET
# spellings included.
STATUS_ALIASES: dict[str, str] = {
    **dict.fromkeys(
        ["new", "confirmed", "order created", "waiting for sellers confirmation", "novo"],
        OrderStatus.NEW,
    ),
    **dict.fromkeys(
        [
            "pending",
            "payment pending",
            "payment required",
            "payment in process",
            "partially paid",
            "waiting payment",
            "awaiting payment",
            "aguardando pagamento",
        ],
        OrderStatus.AWAITING_PAYMENT,
    ),
    **dict.fromkeys(
        [
            "paid",
            "payment approved",
            "approved",
            # Mercado Livre: the sale stands, part of the payment was given back ("Status da
            # order", https://developers.mercadolivre.com.br/gerenciamento-de-vendas).
            "partially refunded",
            "paid waiting ship",
            "ready for handling",
            "start handling",
            "handling",
            "pago",
            "aprovado",
        ],
        OrderStatus.PAID,
    ),
    **dict.fromkeys(["invoiced", "invoice", "faturado"], OrderStatus.INVOICED),
    **dict.fromkeys(
        ["shipped", "paid waiting delivery", "dispatched", "enviado"], OrderStatus.SHIPPED
    ),
    **dict.fromkeys(["delivered", "concluded", "entregue"], OrderStatus.DELIVERED),
    **dict.fromkeys(
        [
            "cancelled",
            "canceled",
            "cancel",
            "invalid",
            "cancelado",
            # Mercado Livre: a cancellation under way (same page); nothing to ship.
            "pending cancel",
            "pending cancellation",
        ],
        OrderStatus.CANCELED,
    ),
}


def similarity(a: str, b: str) -> float:
    if not a or not b:
        return 0.0
    return SequenceMatcher(None, a, b).ratio()


def _best(candidates: Iterable, hints: Iterable[str], names, minimum: float):
    """The candidate whose name is most similar to any hint, if similar enough."""
    best, best_score = None, minimum
    hints = [h for h in hints if h]
    for candidate in candidates:
        for name in names(candidate):
            for hint in hints:
                score = similarity(hint, name)
                if score > best_score or (best is None and score == best_score):
                    best, best_score = candidate, score
    return best


@dataclass
class ErpValues:
    """ERP values of some companies, loaded once for many suggestions (no per-row query)."""

    carrier_services: dict[int, list[CarrierService]] = field(default_factory=dict)
    payment_methods: dict[int, list[PaymentMethod]] = field(default_factory=dict)
    warehouses: dict[int, list[Warehouse]] = field(default_factory=dict)
    categories: dict[int, list[Category]] = field(default_factory=dict)
    brands: dict[int, list[Brand]] = field(default_factory=dict)
    attributes: dict[int, list[Attribute]] = field(default_factory=dict)
    attribute_values: dict[int, list[AttributeValue]] = field(default_factory=dict)


def load_erp_values(*, company_ids: Iterable[int], kinds: Iterable[str]) -> ErpValues:
    """One query per ERP table the kinds need."""
    company_ids, kinds = set(company_ids), set(kinds)
    values = ErpValues()
    if not company_ids:
        return values
    if MappingKind.CARRIER_SERVICE in kinds:
        grouped = defaultdict(list)
        for service in CarrierService.objects.filter(
            carrier__company_id__in=company_ids
        ).select_related("carrier"):
            grouped[service.carrier.company_id].append(service)
        values.carrier_services = dict(grouped)
    if MappingKind.PAYMENT_METHOD in kinds:
        grouped = defaultdict(list)
        for method in PaymentMethod.objects.filter(company_id__in=company_ids):
            grouped[method.company_id].append(method)
        values.payment_methods = dict(grouped)
    if MappingKind.STOCK_LOCATION in kinds:
        grouped = defaultdict(list)
        for warehouse in Warehouse.objects.filter(company_id__in=company_ids):
            grouped[warehouse.company_id].append(warehouse)
        values.warehouses = dict(grouped)
    for kind, model, attribute in (
        (MappingKind.CATEGORY, Category, "categories"),
        (MappingKind.BRAND, Brand, "brands"),
        (MappingKind.ATTRIBUTE, Attribute, "attributes"),
    ):
        if kind in kinds:
            grouped = defaultdict(list)
            for row in model.objects.filter(company_id__in=company_ids):
                grouped[row.company_id].append(row)
            setattr(values, attribute, dict(grouped))
    if MappingKind.ATTRIBUTE in kinds:
        grouped = defaultdict(list)
        for value in AttributeValue.objects.filter(
            attribute__company_id__in=company_ids
        ).select_related("attribute"):
            grouped[value.attribute_id].append(value)
        values.attribute_values = dict(grouped)
    return values


def suggest(
    *,
    kind: str,
    code: str,
    label: str = "",
    parent_code: str = "",
    parent_label: str = "",
    company_id: int,
    erp: ErpValues,
):
    """The ERP value most likely meant, or None. For carrier + service, `parent_code` is
    the carrier and `code` the service. Returns a model instance, or an OrderStatus value."""
    if kind == MappingKind.CARRIER_SERVICE:
        return _suggest_carrier_service(
            code, label, parent_code, parent_label, erp.carrier_services.get(company_id, [])
        )
    if kind == MappingKind.PAYMENT_METHOD:
        return _suggest_payment(code, label, erp.payment_methods.get(company_id, []))
    if kind == MappingKind.ORDER_STATUS:
        return _suggest_status(code, label)
    if kind == MappingKind.STOCK_LOCATION:
        return _suggest_warehouse(code, label, erp.warehouses.get(company_id, []))
    if kind == MappingKind.CATEGORY:
        return _suggest_by_name(
            code,
            label,
            erp.categories.get(company_id, []),
            lambda c: [loose_key(c.name), loose_key(c.path)],
        )
    if kind == MappingKind.BRAND:
        return _suggest_by_name(
            code, label, erp.brands.get(company_id, []), lambda b: [loose_key(b.name)]
        )
    if kind == MappingKind.ATTRIBUTE:
        return _suggest_attribute(code, label, parent_code, parent_label, company_id, erp)
    return None


# Channel attribute code/name (loose key) -> ERP attribute name (loose key): the ids
# Mercado Livre and VTEX use for the usual variation attributes.
ATTRIBUTE_ALIASES: dict[str, str] = {
    **dict.fromkeys(["color", "colour", "main color", "cor", "cor principal"], "cor"),
    **dict.fromkeys(["size", "tamanho", "tam"], "tamanho"),
    **dict.fromkeys(["voltage", "voltagem", "tensao"], "voltagem"),
    **dict.fromkeys(["flavor", "flavour", "sabor"], "sabor"),
}


def _suggest_by_name(code, label, candidates, names):
    """Name similarity: an exact (loose) name first, else the most similar one above
    MIN_SIMILARITY."""
    if not candidates:
        return None
    hints = [loose_key(v) for v in (label, code) if v]
    for candidate in candidates:
        if set(names(candidate)) & set(hints):
            return candidate
    return _best(candidates, hints, names, MIN_SIMILARITY)


def _suggest_attribute(code, label, parent_code, parent_label, company_id, erp):
    """The ERP attribute for a channel attribute, or, when the channel value (`code`) is
    given, the ERP value of that attribute."""
    attributes = erp.attributes.get(company_id, [])
    hints = [loose_key(v) for v in (parent_label, parent_code) if v]
    aliased = {_alias(ATTRIBUTE_ALIASES, [h]) for h in hints} - {None}
    attribute = next((a for a in attributes if loose_key(a.name) in aliased), None)
    if attribute is None:
        attribute = _suggest_by_name(
            parent_code, parent_label, attributes, lambda a: [loose_key(a.name)]
        )
    if attribute is None or not (code or label):
        return attribute
    return _suggest_by_name(
        code, label, erp.attribute_values.get(attribute.pk, []), lambda v: [loose_key(v.value)]
    )


def _alias(table: dict[str, str], hints: Iterable[str]) -> str | None:
    for hint in hints:
        for key in (hint, hint.replace(" ", "")):
            if key in table:
                return table[key]
    return None


def _canonical_carrier(value: str) -> str:
    key = loose_key(value)
    return _alias(CARRIER_ALIASES, [key]) or key


def _suggest_carrier_service(code, label, parent_code, parent_label, services):
    if not services:
        return None
    hints = {_canonical_carrier(v) for v in (parent_code, parent_label) if v}
    carriers = {}
    for service in services:
        carriers.setdefault(service.carrier_id, service.carrier)
    matched = [c for c in carriers.values() if _canonical_carrier(c.name) in hints]
    if not matched:
        best = _best(carriers.values(), hints, lambda c: [loose_key(c.name)], MIN_SIMILARITY)
        matched = [best] if best else []
    if len(matched) != 1:
        return None
    carrier = matched[0]
    own = [s for s in services if s.carrier_id == carrier.id]
    if not code and not label:
        return own[0] if len(own) == 1 else None
    service_hints = [squash(v) for v in (code, label) if v]
    if _canonical_carrier(carrier.name) == "correios":
        known = CORREIOS_SERVICE_CODES.get(squash(code))
        if known:
            service_hints.insert(0, squash(known))
    for hint in service_hints:
        for service in own:
            if hint in (squash(service.name), squash(service.code)):
                return service
    return _best(own, service_hints, lambda s: [squash(s.name)], MIN_SERVICE_SIMILARITY)


def _suggest_payment(code, label, methods):
    if not methods:
        return None
    hints = [loose_key(v) for v in (code, label) if v]
    for method in methods:
        if loose_key(method.name) in hints:
            return method
    kind = _alias(PAYMENT_ALIASES, hints)
    if kind is not None:
        same_kind = [m for m in methods if m.kind == kind]
        if len(same_kind) == 1:
            return same_kind[0]
        if same_kind:
            return _best(same_kind, hints, lambda m: [loose_key(m.name)], 0.0)
    return _best(methods, hints, lambda m: [loose_key(m.name)], MIN_SIMILARITY)


def _suggest_status(code, label):
    hints = [loose_key(v) for v in (code, label) if v]
    status = _alias(STATUS_ALIASES, hints)
    if status is not None:
        return status
    for value, text in OrderStatus.choices:
        if loose_key(value) in hints or loose_key(text) in hints:
            return value
    best = _best(
        OrderStatus.choices, hints, lambda c: [loose_key(c[0]), loose_key(c[1])], MIN_SIMILARITY
    )
    return best[0] if best else None


def _suggest_warehouse(code, label, warehouses):
    hints = [loose_key(v) for v in (code, label) if v]
    for warehouse in warehouses:
        if loose_key(warehouse.code) in hints or loose_key(warehouse.name) in hints:
            return warehouse
    return _best(
        warehouses,
        hints,
        lambda w: [loose_key(w.code), loose_key(w.name)],
        MIN_SIMILARITY,
    )


def suggestions_for_unmapped(entries: Iterable) -> dict[int, object]:
    """UnmappedValue id -> suggested target, for entries loaded with their channel
    (select_related): one query per ERP table, whatever the number of entries."""
    entries = list(entries)
    erp = load_erp_values(
        company_ids={e.channel.company_id for e in entries}, kinds={e.kind for e in entries}
    )
    suggestions = {}
    for entry in entries:
        target = suggest(
            kind=entry.kind,
            code=entry.code,
            label=entry.label,
            parent_code=entry.parent_code,
            parent_label=entry.parent_label,
            company_id=entry.channel.company_id,
            erp=erp,
        )
        if target is not None:
            suggestions[entry.pk] = target
    return suggestions


@dataclass(frozen=True)
class Proposal:
    """A value a vendor lists that has no de-para row of its own, with the ERP value the
    suggestions propose (None: a person picks one). For carrier + service, `parent_code` is
    the carrier and `code` the service, as in vendors.types.ReferenceValue."""

    kind: str
    code: str
    label: str
    parent_code: str
    parent_label: str
    suggestion: object  # CarrierService | PaymentMethod | Warehouse | OrderStatus value | None
    # An “anything else” row answers it today; a row of its own would say it explicitly.
    covered_by_fallback: bool = False

    @property
    def value(self) -> LookupRequest:
        return LookupRequest(
            self.kind, self.code, self.label, self.parent_code, parent_label=self.parent_label
        )


def propose_de_para(*, channel, values: Iterable) -> list[Proposal]:
    """The de-para rows `channel` lacks for the values its vendor lists (ReferenceValue
    objects), each with a suggested ERP value, grouped by kind in MappingKind's order and in
    the vendor's order within a kind. A value with a row of its own (for a carrier's service:
    also the carrier's "any service" row) is left out. One query per kind for the rows and
    one per ERP table, whatever the number of values."""
    values = list(values)
    translation = translate(channel=channel, requests=values)
    erp = load_erp_values(
        company_ids={channel.company_id}, kinds={str(value.kind) for value in values}
    )
    proposals: list[Proposal] = []
    seen: set = set()
    for value in values:
        key = lookup_key(value)
        if key in seen:
            continue
        seen.add(key)
        kind, code, label, parent_code, parent_label = canonical_parts(value)
        resolved = translation.resolve(kind, code, parent_code)
        if resolved is not None and not resolved.mapping.is_fallback:
            continue
        proposals.append(
            Proposal(
                kind=kind,
                code=code,
                label=label,
                parent_code=parent_code,
                parent_label=parent_label,
                suggestion=suggest(
                    kind=kind,
                    code=code,
                    label=label,
                    parent_code=parent_code,
                    parent_label=parent_label,
                    company_id=channel.company_id,
                    erp=erp,
                ),
                covered_by_fallback=resolved is not None,
            )
        )
    order = list(MappingKind.values)
    return sorted(proposals, key=lambda p: order.index(p.kind))


def suggest_channel_value(names: Iterable[str], candidates: Iterable, *, attribute: bool = False):
    """The catalog de-para the other way round: of the channel's values (objects with `code`
    and `label`, e.g. vendors.types.CatalogReference or its cached row), the one whose name
    matches an ERP value's `names` (its name, its full path), with the matching the order kinds
    use: an exact loose name first ("Camisetas" is "camisetas"; a path's last part counts), else
    the most similar name above MIN_SIMILARITY. `attribute`: the attribute aliases count too
    (Cor is COLOR). None when nothing is close enough."""
    candidates = list(candidates)
    if not candidates:
        return None

    def keys_of(text: str) -> list[str]:
        text = str(text or "")
        keys = [loose_key(text), loose_key(re.split(r"[/>]", text)[-1])]
        if attribute:
            keys.append(_alias(ATTRIBUTE_ALIASES, [keys[0]]) or "")
        return [k for k in keys if k]

    def candidate_names(candidate) -> list[str]:
        return [*keys_of(candidate.label), *(keys_of(candidate.code) if attribute else [])]

    hints = [key for name in names for key in keys_of(name)]
    for candidate in candidates:
        if set(candidate_names(candidate)) & set(hints):
            return candidate
    return _best(candidates, hints, candidate_names, MIN_SIMILARITY)
