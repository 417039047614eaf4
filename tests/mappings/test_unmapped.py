from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from erp.models import OrderStatus
from mappings.models import MappingKind, UnmappedValue
from mappings.selectors import LookupRequest, Missing
from mappings.services import (
    mapping_create,
    mapping_save,
    translate_and_record,
    unmapped_apply_suggestions,
    unmapped_record_many,
)
from mappings.suggestions import load_erp_values, suggest, suggestions_for_unmapped
from tests.factories import make_channel
from vendors.types import ReferenceValue

pytestmark = pytest.mark.django_db

CARRIER = MappingKind.CARRIER_SERVICE
PAYMENT = MappingKind.PAYMENT_METHOD
STATUS = MappingKind.ORDER_STATUS


def test_a_value_is_recorded_once_with_first_last_seen_and_count(channel):
    t0 = timezone.now() - timedelta(hours=2)
    unmapped_record_many(
        channel=channel,
        missing=[
            Missing(PAYMENT, "visa", "Visa"),
            Missing(PAYMENT, " VISA "),
            Missing(PAYMENT, "master", count=3),
        ],
        seen_at=t0,
    )
    t1 = timezone.now()
    unmapped_record_many(channel=channel, missing=[Missing(PAYMENT, "Visa")], seen_at=t1)

    visa = UnmappedValue.objects.get(channel=channel, kind=PAYMENT, code_key="visa")
    assert (visa.count, visa.first_seen, visa.last_seen) == (3, t0, t1)
    assert visa.code == "visa" and visa.label == "Visa"
    assert UnmappedValue.objects.get(code_key="master").count == 3
    assert UnmappedValue.objects.count() == 2


def test_values_are_separate_per_channel_kind_and_carrier(channel, erp):
    other = make_channel(erp.company, "vtex", name="VTEX")
    unmapped_record_many(
        channel=channel,
        missing=[
            Missing(PAYMENT, "x"),
            Missing(STATUS, "x"),
            Missing(CARRIER, "x", parent_code="ECT"),
            Missing(CARRIER, "x", parent_code="JADLOG"),
        ],
    )
    unmapped_record_many(channel=other, missing=[Missing(PAYMENT, "x")])
    assert UnmappedValue.objects.filter(channel=channel).count() == 4
    assert UnmappedValue.objects.filter(channel=other).count() == 1


def _values(n: int) -> list[Missing]:
    return [Missing(PAYMENT, f"pay-{i}") for i in range(n)]


def test_recording_runs_a_constant_number_of_queries(channel):
    with CaptureQueriesContext(connection) as few_new:
        unmapped_record_many(channel=channel, missing=_values(3))
    with CaptureQueriesContext(connection) as many_new:
        # Below the database's per-statement parameter limit, so one INSERT.
        unmapped_record_many(channel=channel, missing=_values(60)[3:])
    with CaptureQueriesContext(connection) as many_known:
        unmapped_record_many(channel=channel, missing=_values(60) * 3)
    with CaptureQueriesContext(connection) as few_known:
        unmapped_record_many(channel=channel, missing=_values(2))
    assert len(few_new) == len(many_new)
    assert len(few_known) == len(many_known) < len(few_new)
    assert UnmappedValue.objects.get(code_key="pay-0").count == 5
    assert UnmappedValue.objects.get(code_key="pay-59").count == 4


def test_translate_and_record_queues_what_is_missing(channel, erp):
    mapping_create(channel=channel, kind=PAYMENT, code="pix", target=erp.pix)
    result = translate_and_record(
        channel=channel,
        requests=[
            ReferenceValue(PAYMENT, "pix"),
            ReferenceValue(PAYMENT, "bolbradesco", "Boleto Bradesco"),
            ReferenceValue(PAYMENT, "bolbradesco"),
        ],
    )
    assert result.get(PAYMENT, "pix") == erp.pix
    entry = UnmappedValue.objects.get()
    assert (entry.code, entry.label, entry.count) == ("bolbradesco", "Boleto Bradesco", 2)


def test_creating_a_mapping_resolves_the_entry_and_sends_the_hook(
    channel, erp, hooks, django_capture_on_commit_callbacks
):
    unmapped_record_many(
        channel=channel,
        missing=[
            Missing(CARRIER, "40215", "SEDEX 10", parent_code="ECT"),
            Missing(CARRIER, "04510", "PAC", parent_code="ECT"),
            Missing(PAYMENT, "visa"),
        ],
    )
    with django_capture_on_commit_callbacks(execute=True):
        mapping = mapping_create(
            channel=channel, kind=CARRIER, parent_code="ect", code="40215", target=erp.sedex10
        )
    assert hooks == [(channel.pk, CARRIER, mapping)]
    resolved = UnmappedValue.objects.filter(resolved_at__isnull=False)
    assert [e.code for e in resolved] == ["40215"]

    # "Any service of ECT" covers the rest of that carrier.
    with django_capture_on_commit_callbacks(execute=True):
        mapping_create(channel=channel, kind=CARRIER, parent_code="ECT", target=erp.pac)
    assert UnmappedValue.objects.get(code="04510").resolved_at is not None
    assert UnmappedValue.objects.get(code="visa").resolved_at is None

    # A fallback covers every open value of its kind.
    with django_capture_on_commit_callbacks(execute=True):
        mapping_create(channel=channel, kind=PAYMENT, target=erp.boleto, is_fallback=True)
    assert UnmappedValue.objects.get(code="visa").resolved_at is not None
    assert len(hooks) == 3


def test_no_hook_when_nothing_new_is_matched(
    channel, erp, hooks, django_capture_on_commit_callbacks
):
    row = mapping_create(channel=channel, kind=PAYMENT, code="visa", target=erp.pix)
    row.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        row.target = erp.credit
        mapping_save(mapping=row)  # only the target changed
        with pytest.raises(ValidationError):
            mapping_create(channel=channel, kind=PAYMENT, code="VISA", target=erp.pix)
    assert hooks == []


def test_a_value_seen_again_after_resolution_opens_again(channel, erp):
    unmapped_record_many(channel=channel, missing=[Missing(PAYMENT, "visa")])
    row = mapping_create(channel=channel, kind=PAYMENT, code="visa", target=erp.credit)
    assert UnmappedValue.objects.get().resolved_at is not None
    row.delete()
    unmapped_record_many(channel=channel, missing=[Missing(PAYMENT, "visa")])
    entry = UnmappedValue.objects.get()
    assert entry.resolved_at is None and entry.count == 2


# --- suggestions ------------------------------------------------------------------------------


def _suggest(erp, kind, code, label="", parent_code="", parent_label=""):
    values = load_erp_values(company_ids=[erp.company.pk], kinds=[kind])
    return suggest(
        kind=kind,
        code=code,
        label=label,
        parent_code=parent_code,
        parent_label=parent_label,
        company_id=erp.company.pk,
        erp=values,
    )


def test_ect_is_suggested_as_correios(erp):
    assert _suggest(erp, CARRIER, "40215", parent_code="ECT") == erp.sedex10
    assert _suggest(erp, CARRIER, "x", "Sedex 10", parent_code=" ect ") == erp.sedex10
    assert _suggest(erp, CARRIER, "04510", parent_code="ECT") == erp.pac
    assert _suggest(erp, CARRIER, "package", ".Package", parent_code="JADLOG") == erp.jadlog
    # A carrier the ERP does not have: nothing is guessed.
    assert _suggest(erp, CARRIER, "1", parent_code="LOGGI") is None


def test_payment_status_and_location_suggestions(erp):
    assert _suggest(erp, PAYMENT, "bolbradesco") == erp.boleto
    assert _suggest(erp, PAYMENT, "visa") == erp.credit
    assert _suggest(erp, PAYMENT, "pix") == erp.pix
    assert _suggest(erp, PAYMENT, "cartao de credito") == erp.credit
    assert _suggest(erp, PAYMENT, "crypto") is None
    assert _suggest(erp, STATUS, "PAID_WAITING_SHIP") == OrderStatus.PAID
    assert _suggest(erp, STATUS, "payment-approved") == OrderStatus.PAID
    assert _suggest(erp, STATUS, "CANCELED") == OrderStatus.CANCELED
    assert _suggest(erp, STATUS, "cancelled") == OrderStatus.CANCELED
    assert _suggest(erp, STATUS, "Invoiced") == OrderStatus.INVOICED
    assert _suggest(erp, MappingKind.STOCK_LOCATION, "cd sp") == erp.cd_sp


def test_suggestions_for_a_page_cost_one_query_per_erp_table(channel, erp):
    unmapped_record_many(
        channel=channel,
        missing=[Missing(CARRIER, f"s{i}", parent_code="ECT") for i in range(30)]
        + [
            Missing(PAYMENT, "visa"),
            Missing(STATUS, "paid"),
            Missing(MappingKind.STOCK_LOCATION, "CD-RJ"),
        ],
    )
    entries = list(UnmappedValue.objects.select_related("channel"))
    with CaptureQueriesContext(connection) as queries:
        suggestions = suggestions_for_unmapped(entries)
    assert len(queries) == 3  # services, payment methods, warehouses
    by_code = {e.code: suggestions.get(e.pk) for e in entries}
    assert by_code["visa"] == erp.credit
    assert by_code["paid"] == OrderStatus.PAID
    assert by_code["CD-RJ"] == erp.cd_rj


def test_applying_suggestions_creates_mappings(
    channel, erp, hooks, django_capture_on_commit_callbacks
):
    unmapped_record_many(
        channel=channel,
        missing=[
            Missing(CARRIER, "40215", "SEDEX 10", parent_code="ECT", parent_label="Correios"),
            Missing(PAYMENT, "crypto"),
        ],
    )
    with django_capture_on_commit_callbacks(execute=True):
        outcome = unmapped_apply_suggestions(
            entries=UnmappedValue.objects.select_related("channel")
        )
    [created] = outcome.created
    assert (created.code, created.service_code, created.target) == ("ECT", "40215", erp.sedex10)
    assert created.label == "Correios" and created.service_label == "SEDEX 10"
    assert [e.code for e in outcome.without_suggestion] == ["crypto"]
    assert UnmappedValue.objects.get(code="40215").resolved_at is not None
    assert [h[1] for h in hooks] == [CARRIER]
    # Translation now finds it.
    result = translate_and_record(
        channel=channel,
        requests=[LookupRequest.carrier_service(carrier_code="ECT", service_code="40215")],
    )
    assert result.complete
