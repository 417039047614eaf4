from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from erp.models import OrderStatus
from mappings.models import MappingKind
from mappings.selectors import LookupRequest, Missing, lookups_for_order, translate
from mappings.services import mapping_create
from vendors.types import (
    NormalizedOrder,
    ReferenceValue,
)

pytestmark = pytest.mark.django_db

CARRIER = MappingKind.CARRIER_SERVICE
PAYMENT = MappingKind.PAYMENT_METHOD
STATUS = MappingKind.ORDER_STATUS
LOCATION = MappingKind.STOCK_LOCATION


def test_exact_row_and_normalized_lookup(channel, erp):
    mapping_create(channel=channel, kind=PAYMENT, code="PIX", target=erp.pix)
    result = translate(channel=channel, requests=[LookupRequest(PAYMENT, " pix ")])
    assert result.get(PAYMENT, "Pix") == erp.pix
    assert result.complete


def test_fallback_is_used_only_when_no_exact_row(channel, erp):
    mapping_create(channel=channel, kind=PAYMENT, code="pix", target=erp.pix)
    mapping_create(channel=channel, kind=PAYMENT, target=erp.boleto, is_fallback=True)
    result = translate(
        channel=channel,
        requests=[LookupRequest(PAYMENT, "pix"), LookupRequest(PAYMENT, "bitcoin")],
    )
    assert result.get(PAYMENT, "pix") == erp.pix
    assert not result.resolve(PAYMENT, "pix").mapping.is_fallback
    assert result.get(PAYMENT, "bitcoin") == erp.boleto
    assert result.resolve(PAYMENT, "bitcoin").mapping.is_fallback
    assert result.missing == []


def test_value_without_row_or_fallback_is_reported_missing(channel, erp):
    mapping_create(channel=channel, kind=PAYMENT, code="pix", target=erp.pix)
    # A fallback of another kind does not help.
    mapping_create(channel=channel, kind=STATUS, target=OrderStatus.NEW, is_fallback=True)
    result = translate(
        channel=channel,
        requests=[
            LookupRequest(PAYMENT, "visa", "Visa crédito"),
            LookupRequest(PAYMENT, " VISA"),
            LookupRequest(STATUS, "whatever"),
        ],
    )
    assert result.get(PAYMENT, "visa") is None
    assert result.missing == [Missing(PAYMENT, "visa", "Visa crédito")]
    assert result.missing[0].count == 2
    assert result.get(STATUS, "whatever") == OrderStatus.NEW
    assert not result.complete


def test_carrier_service_lookup_order(channel, erp):
    mapping_create(
        channel=channel, kind=CARRIER, parent_code="ECT", code="40215", target=erp.sedex10
    )
    mapping_create(channel=channel, kind=CARRIER, parent_code="ECT", target=erp.pac)
    result = translate(
        channel=channel,
        requests=[
            LookupRequest.carrier_service(carrier_code="ect", service_code="40215"),
            LookupRequest.carrier_service(carrier_code="ECT", service_code="99999"),
            LookupRequest.carrier_service(carrier_code="JADLOG", service_code=".package"),
        ],
    )
    assert result.get(CARRIER, "40215", parent_code="ECT") == erp.sedex10
    # No exact row: the carrier's "any service" row.
    assert result.get(CARRIER, "99999", parent_code="ECT") == erp.pac
    assert result.missing == [Missing(CARRIER, ".package", parent_code="JADLOG")]
    # The kind's fallback comes last.
    mapping_create(channel=channel, kind=CARRIER, target=erp.jadlog, is_fallback=True)
    again = translate(
        channel=channel,
        requests=[
            LookupRequest.carrier_service(carrier_code="JADLOG", service_code=".package"),
            LookupRequest.carrier_service(carrier_code="ECT", service_code="40215"),
        ],
    )
    assert again.get(CARRIER, ".package", parent_code="JADLOG") == erp.jadlog
    assert again.get(CARRIER, "40215", parent_code="ECT") == erp.sedex10


def test_reference_values_are_accepted_as_they_are(channel, erp):
    mapping_create(channel=channel, kind=LOCATION, code="WH-1", target=erp.cd_sp)
    mapping_create(
        channel=channel, kind=CARRIER, parent_code="ECT", code="40215", target=erp.sedex10
    )
    result = translate(
        channel=channel,
        requests=[
            ReferenceValue(LOCATION, "wh-1", "Armazém 1"),
            ReferenceValue(CARRIER, "40215", "SEDEX 10", parent_code="ECT"),
            ReferenceValue(CARRIER, "ME2"),  # carrier only, no service
        ],
    )
    assert result.get(LOCATION, "WH-1") == erp.cd_sp
    assert result.get(CARRIER, "40215", "ECT") == erp.sedex10
    assert result.missing == [Missing(CARRIER, "", parent_code="ME2")]


def test_other_channels_rows_are_never_used(channel, erp):
    from tests.factories import make_channel

    other = make_channel(erp.company, "vtex", name="VTEX")
    mapping_create(channel=other, kind=PAYMENT, code="pix", target=erp.pix)
    result = translate(channel=channel, requests=[LookupRequest(PAYMENT, "pix")])
    assert result.get(PAYMENT, "pix") is None


def _requests(n: int) -> list[LookupRequest]:
    per_kind = n // 4
    return (
        [
            LookupRequest.carrier_service(carrier_code="ECT", service_code=f"S{i}")
            for i in range(per_kind)
        ]
        + [LookupRequest(PAYMENT, f"p{i}") for i in range(per_kind)]
        + [LookupRequest(STATUS, f"st{i}") for i in range(per_kind)]
        + [LookupRequest(LOCATION, f"w{i}") for i in range(n - 3 * per_kind)]
    )


def test_translation_runs_one_query_per_kind_whatever_the_volume(channel, erp):
    for i in range(0, 500, 2):  # half of the values have rows
        mapping_create(
            channel=channel, kind=CARRIER, parent_code="ECT", code=f"S{i}", target=erp.sedex
        )
        mapping_create(channel=channel, kind=PAYMENT, code=f"p{i}", target=erp.pix)
        mapping_create(channel=channel, kind=STATUS, code=f"st{i}", target=OrderStatus.PAID)
        mapping_create(channel=channel, kind=LOCATION, code=f"w{i}", target=erp.cd_sp)
    mapping_create(channel=channel, kind=STATUS, target=OrderStatus.NEW, is_fallback=True)

    with CaptureQueriesContext(connection) as small:
        translate(channel=channel, requests=_requests(8))
    with CaptureQueriesContext(connection) as large:
        result = translate(channel=channel, requests=_requests(500))

    assert len(small) == len(large) == 4
    assert result.get(CARRIER, "S2", "ECT") == erp.sedex
    assert result.get(LOCATION, "W4") == erp.cd_sp
    assert result.get(STATUS, "st3") == OrderStatus.NEW  # fallback
    missing_kinds = {m.kind for m in result.missing}
    assert missing_kinds == {CARRIER, PAYMENT, LOCATION}
    assert len(result.missing) == 3 * 62  # the odd codes (1..123) of three kinds


def test_lookups_for_a_normalized_order(channel, erp):
    order = NormalizedOrder(
        external_id="2000001",
        status_code="paid",
        carrier_code="ECT",
        carrier_label="Correios",
        service_code="40215",
        service_label="SEDEX 10",
        payment_code="pix",
        total=Decimal("10"),
    )
    lookups = lookups_for_order(order)
    assert LookupRequest(STATUS, "paid") in lookups
    assert LookupRequest(CARRIER, "40215", "SEDEX 10", "ECT", "Correios") in lookups
    assert LookupRequest(PAYMENT, "pix") in lookups
    bare = lookups_for_order(NormalizedOrder(external_id="1", status_code="x"))
    assert bare == [LookupRequest(STATUS, "x")]


def test_unknown_kind_fails_loudly(channel):
    with pytest.raises(ValueError, match="Unknown de-para kind"):
        translate(channel=channel, requests=[LookupRequest("colour", "blue")])
