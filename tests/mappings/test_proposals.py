"""De-para proposed from a vendor's values (mappings.suggestions.propose_de_para) and created
in one go (mappings.services.mappings_create_many)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from erp.models import OrderStatus
from mappings.models import CarrierServiceMapping, MappingKind
from mappings.services import mapping_create, mappings_create_many
from mappings.suggestions import propose_de_para
from vendors.types import ReferenceValue

VALUES = [
    ReferenceValue(MappingKind.ORDER_STATUS, "paid", "Paid"),
    ReferenceValue(MappingKind.CARRIER_SERVICE, "40215", "SEDEX 10", parent_code="ECT"),
    ReferenceValue(MappingKind.CARRIER_SERVICE, "04510", "PAC", parent_code="ECT"),
    ReferenceValue(MappingKind.CARRIER_SERVICE, ".Package", parent_code="Jadlog"),
    ReferenceValue(MappingKind.PAYMENT_METHOD, "pix", "Pix"),
    ReferenceValue(MappingKind.PAYMENT_METHOD, " PIX ", "Pix"),  # the same value again
    ReferenceValue(MappingKind.PAYMENT_METHOD, "cripto", "Criptomoeda"),
    ReferenceValue(MappingKind.STOCK_LOCATION, "1_1", "Estoque principal"),
]


def test_every_unmapped_value_is_proposed_once_with_its_suggestion(erp, channel):
    proposals = propose_de_para(channel=channel, values=VALUES)
    assert [(p.kind, p.parent_code, p.code, p.suggestion) for p in proposals] == [
        (MappingKind.CARRIER_SERVICE, "ECT", "40215", erp.sedex10),
        (MappingKind.CARRIER_SERVICE, "ECT", "04510", erp.pac),
        (MappingKind.CARRIER_SERVICE, "Jadlog", ".Package", erp.jadlog),
        (MappingKind.PAYMENT_METHOD, "", "pix", erp.pix),
        (MappingKind.PAYMENT_METHOD, "", "cripto", None),
        (MappingKind.ORDER_STATUS, "", "paid", OrderStatus.PAID),
        (MappingKind.STOCK_LOCATION, "", "1_1", None),
    ]
    assert not any(p.covered_by_fallback for p in proposals)


def test_values_with_a_row_are_left_out_and_fallback_ones_flagged(erp, channel):
    # ECT's "any service" row covers both of its services; the payment fallback covers all.
    mapping_create(
        channel=channel, kind=MappingKind.CARRIER_SERVICE, code="ECT", target=erp.sedex10
    )
    mapping_create(channel=channel, kind=MappingKind.PAYMENT_METHOD, code="pix", target=erp.pix)
    mapping_create(
        channel=channel, kind=MappingKind.PAYMENT_METHOD, target=erp.boleto, is_fallback=True
    )
    proposals = propose_de_para(channel=channel, values=VALUES)
    assert [(p.code, p.covered_by_fallback) for p in proposals] == [
        (".Package", False),
        ("cripto", True),
        ("paid", False),
        ("1_1", False),
    ]


def test_proposals_cost_the_same_queries_for_many_values(erp, channel):
    many = [
        ReferenceValue(MappingKind.CARRIER_SERVICE, f"S{n}", parent_code=f"C{n}")
        for n in range(200)
    ]
    with CaptureQueriesContext(connection) as few_queries:
        propose_de_para(channel=channel, values=VALUES)
    with CaptureQueriesContext(connection) as many_queries:
        propose_de_para(channel=channel, values=VALUES + many)
    assert len(many_queries) == len(few_queries)


def test_one_refused_row_does_not_undo_the_others(
    erp, other_erp, channel, hooks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        outcome = mappings_create_many(
            channel=channel,
            rows=[
                (VALUES[1], erp.sedex10),
                (VALUES[2], other_erp.pac),  # another company's carrier service
                (VALUES[4], erp.pix),
            ],
        )
    assert [str(m) for m in outcome.created] == ["ECT / 40215", "pix"]
    assert [(value.code, "another company" in reason) for value, reason in outcome.failed] == [
        ("04510", True)
    ]
    row = CarrierServiceMapping.objects.get(channel=channel)
    assert (row.code, row.service_code, row.service_label, row.target) == (
        "ECT",
        "40215",
        "SEDEX 10",
        erp.sedex10,
    )
    assert [(kind, str(mapping)) for _channel, kind, mapping in hooks] == [
        (MappingKind.CARRIER_SERVICE, "ECT / 40215"),
        (MappingKind.PAYMENT_METHOD, "pix"),
    ]


@pytest.mark.parametrize(
    ("code", "status"),
    [("partially_refunded", OrderStatus.PAID), ("pending_cancel", OrderStatus.CANCELED)],
)
def test_mercado_livre_statuses_have_a_suggestion(erp, channel, code, status):
    value = ReferenceValue(MappingKind.ORDER_STATUS, code, code.replace("_", " ").capitalize())
    assert propose_de_para(channel=channel, values=[value])[0].suggestion == status
