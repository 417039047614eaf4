"""Activation by support: test connection, preflight checks, activate, deactivate.

Against the sandbox emulators on loopback: each test starts from a channel whose checks all
pass (`ready_channel`) and breaks exactly the thing it is about."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.utils import translation
from django_q.models import Schedule

from channels.models import ActivationAction, ActivationRecord, ChannelStatus, SalesChannel
from erp.gtin import gtin13_with_check_digit
from mappings.models import Listing, MappingKind
from mappings.services import mapping_create
from sandbox.vtex import VtexEmulator
from sync.activation import checks
from sync.activation.activate import RACE_LOST, activation_activate, activation_deactivate
from sync.activation.checks import Check, CheckStatus
from sync.activation.connection import activation_test_connection
from sync.activation.matching import erp_index, match_listings
from sync.activation.preflight import activation_preflight
from sync.activation.report import activation_report_csv
from sync.activation.runs import PreflightResult, preflight_run_now
from sync.models import PendingChange, PreflightRun, PreflightState
from tests.factories import (
    make_carrier_service,
    make_channel,
    make_company,
    make_member,
    make_sku,
)
from tests.sync.activation.builders import SELLER, add_fallbacks, ready_channel
from vendors.spec import Flow
from vendors.types import (
    ExternalRef,
    RemoteListing,
)


def check_of(report, key: str) -> Check:
    return next(c for c in report.checks if c.key == key)


# --- the permission and its group -------------------------------------------------------------


@pytest.mark.django_db
def test_the_support_group_holds_the_activation_permission():
    perms = set(
        Group.objects.get(name="Support").permissions.values_list(
            "content_type__app_label", "codename"
        )
    )
    assert ("channels", "activate_integration") in perms
    assert ("channels", "change_credentials") in perms
    assert {("channels", "view_saleschannel"), ("channels", "change_saleschannel")} <= perms


# --- test connection ------------------------------------------------------------------------


@pytest.mark.django_db
def test_test_connection_stores_the_account_and_moves_draft_to_ready(ml):
    channel = ready_channel(ml, "mercadolivre")
    assert channel.status == ChannelStatus.DRAFT
    result = activation_test_connection(channel=channel)
    assert result.ok, result.message
    channel.refresh_from_db()
    assert channel.external_account_id == SELLER
    assert channel.verified_at is not None
    assert channel.status == ChannelStatus.READY


@pytest.mark.django_db
def test_test_connection_shows_the_vendors_refusal_without_secrets(vtex):
    secret = "WRONG-app-token-value-9f8e7d6c5b4a"
    channel = ready_channel(
        vtex, "vtex", credentials={**VtexEmulator.demo_credentials(), "app_token": secret}
    )
    result = activation_test_connection(channel=channel)
    assert not result.ok
    assert "VTEX refused the connection" in result.message
    assert secret not in result.message
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.DRAFT
    assert channel.external_account_id == ""


# --- a full activation, then deactivation -------------------------------------------------------


@pytest.mark.django_db
def test_activation_creates_bindings_schedules_and_record_warnings_do_not_block(ml, support_user):
    channel = ready_channel(ml, "mercadolivre")
    company = channel.company
    ean = gtin13_with_check_digit("789000000001")
    by_code = make_sku(company, code="CAM-AZUL")
    by_ean = make_sku(company, code="CANECA-300", ean=ean)
    absent = make_sku(company, code="NOT-ON-ML")  # warning: an ERP SKU the channel lacks
    item_code = ml.add_listing(seller_sku="cam- azul", title="Camiseta azul")  # case + spaces
    item_ean = ml.add_listing(title="Caneca", ean=ean)  # no SKU code: matched by EAN
    ml.add_listing(seller_sku="ONLY-ON-ML", title="Sem cadastro")  # warning: matches nothing
    item_variations = ml.add_listing(
        title="Tênis",
        variations=[
            {"seller_sku": "TEN-39", "combination": {"Tamanho": "39"}},
            {"seller_sku": "TEN-40", "combination": {"Tamanho": "40"}},
        ],
    )
    ten39, ten40 = make_sku(company, code="TEN-39"), make_sku(company, code="TEN-40")

    outcome = activation_activate(channel=channel, user=support_user)

    assert outcome.ok, outcome.message
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.ACTIVE
    assert channel.external_account_id == SELLER
    data = check_of(outcome.report, "data")
    assert data.status == CheckStatus.WARN
    assert any("ONLY-ON-ML" in line for line in data.details)
    assert any(absent.code in line for line in data.details)

    bindings = {b.sku_id: b for b in Listing.objects.filter(channel=channel)}
    assert set(bindings) == {by_code.pk, by_ean.pk, ten39.pk, ten40.pk}
    assert bindings[by_code.pk].external_item_id == item_code
    assert bindings[by_ean.pk].external_item_id == item_ean
    variation_ids = ml.variation_ids(item_variations)
    assert bindings[ten39.pk].external_variation_id == str(variation_ids[0])
    assert bindings[ten40.pk].external_variation_id == str(variation_ids[1])
    assert outcome.bindings_created == 4

    names = set(
        Schedule.objects.filter(name__startswith="erpintegr:channel:").values_list(
            "name", flat=True
        )
    )
    assert names == {
        f"erpintegr:channel:{channel.pk}:{flow}"
        for flow in (Flow.STOCK, Flow.PRICE, Flow.ORDERS, Flow.FULFILMENT, "reconcile")
    }
    # Every bound SKU is queued for a first push of stock and price.
    assert PendingChange.objects.filter(channel=channel, flow=Flow.STOCK).count() == 4
    assert PendingChange.objects.filter(channel=channel, flow=Flow.PRICE).count() == 4

    record = ActivationRecord.objects.get(channel=channel)
    assert record.action == ActivationAction.ACTIVATE
    assert record.user == support_user
    assert record.account_id == SELLER
    assert {c["key"]: c["status"] for c in record.checks} == {
        "credentials": "pass",
        "connection": "pass",
        "same_account": "pass",
        "other_back_office": "pass",
        "de_para": "pass",
        "data": "warn",
        "settings": "pass",
        "catalog": "pass",  # off on a new channel: says so
    }
    entry = LogEntry.objects.get(object_id=str(channel.pk))
    assert entry.user == support_user
    assert "Activated the integration" in entry.get_change_message()


@pytest.mark.django_db
def test_deactivation_removes_schedules_keeps_bindings_and_reactivation_checks_again(
    ml, support_user
):
    channel = ready_channel(ml, "mercadolivre")
    make_sku(channel.company, code="A-1")
    ml.add_listing(seller_sku="A-1")
    assert activation_activate(channel=channel, user=support_user).ok
    assert Schedule.objects.filter(name__startswith=f"erpintegr:channel:{channel.pk}:").exists()

    outcome = activation_deactivate(channel=channel, user=support_user)

    assert outcome.ok, outcome.message
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.PAUSED
    assert not Schedule.objects.filter(name__startswith=f"erpintegr:channel:{channel.pk}:").exists()
    assert Listing.objects.filter(channel=channel).count() == 1  # kept
    assert channel.carrierservicemapping_set.filter(is_fallback=True).exists()  # de-para kept
    record = ActivationRecord.objects.filter(channel=channel).first()  # newest first
    assert record.action == ActivationAction.DEACTIVATE and record.user == support_user
    assert record.account_id == SELLER

    # Meanwhile another ERP is granted access: re-activation runs the preflight again.
    ml.add_application("7770001", "Bling ERP")
    again = activation_activate(channel=channel, user=support_user)
    assert not again.ok
    assert check_of(again.report, "other_back_office").blocks
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.PAUSED


@pytest.mark.django_db
def test_reactivation_keeps_existing_bindings(ml, support_user):
    channel = ready_channel(ml, "mercadolivre")
    make_sku(channel.company, code="A-1")
    ml.add_listing(seller_sku="A-1")
    assert activation_activate(channel=channel, user=support_user).ok
    assert activation_deactivate(channel=channel, user=support_user).ok
    outcome = activation_activate(channel=channel, user=support_user)
    assert outcome.ok, outcome.message
    assert outcome.bindings_created == 0
    assert Listing.objects.filter(channel=channel).count() == 1


# --- each blocking check blocks with its message ----------------------------------------------


@pytest.mark.django_db
def test_same_account_active_in_another_companys_channel_blocks(ml, support_user):
    channel = ready_channel(ml, "mercadolivre")
    other = make_channel(make_company(), connector="mercadolivre", name="Loja antiga")
    SalesChannel.objects.filter(pk=other.pk).update(
        status=ChannelStatus.ACTIVE, external_account_id=SELLER, environment="production"
    )

    outcome = activation_activate(channel=channel, user=support_user)

    assert not outcome.ok
    check = check_of(outcome.report, "same_account")
    assert check.blocks
    assert f"Account {SELLER} is already integrated through another active channel" in (
        check.message
    )
    assert any("Loja antiga" in line for line in check.details)
    assert "already integrated through another active channel" in outcome.message
    channel.refresh_from_db()
    assert channel.status != ChannelStatus.ACTIVE
    assert not ActivationRecord.objects.filter(channel=channel).exists()

    # A user of the channel's company alone is blocked the same, without the other's name.
    user = User.objects.create_user("member", is_staff=True)
    make_member(user, channel.company)
    check = check_of(activation_activate(channel=channel, user=user).report, "same_account")
    assert check.blocks
    assert check.details == ["An active channel of another company (Production)"]


@pytest.mark.django_db
def test_mercadolivre_reporting_another_granted_application_blocks(ml, support_user):
    channel = ready_channel(ml, "mercadolivre")
    ml.add_application("7770001", "Bling ERP")

    outcome = activation_activate(channel=channel, user=support_user)

    assert not outcome.ok
    check = check_of(outcome.report, "other_back_office")
    assert check.blocks and not check.needs_confirmation
    assert "1 other application(s) connected" in check.message
    assert any("Bling ERP" in line and "7770001" in line for line in check.details)


@pytest.mark.django_db
def test_anymarket_account_already_linked_blocks(anymarket, support_user):
    channel = ready_channel(anymarket, "anymarket")
    anymarket.mark_linked_to("ERP Concorrente")

    outcome = activation_activate(channel=channel, user=support_user)

    assert not outcome.ok
    check = check_of(outcome.report, "other_back_office")
    assert check.blocks
    assert any("ERP Concorrente" in line for line in check.details)
    channel.refresh_from_db()
    assert channel.status != ChannelStatus.ACTIVE


ANYMARKET_CONFIRMATION = "Previous ERP: none — no other ERP was integrated with this store."


@pytest.mark.django_db
def test_anymarket_says_what_it_could_not_check_and_activates_on_confirmation(
    anymarket, support_user
):
    anymarket.add_product("Camiseta", [{"partnerId": "CAM-P", "amount": 3}])
    channel = ready_channel(anymarket, "anymarket")
    make_sku(channel.company, code="CAM-P")

    blocked = activation_activate(channel=channel, user=support_user)

    # The probe learned nothing: never "lists no other application", but what was checked.
    assert not blocked.ok
    other = check_of(blocked.report, "other_back_office")
    assert other.blocks and other.needs_confirmation
    assert other.message.startswith("Not checkable through the API")
    assert any("empty stock write" in line for line in other.details)
    assert "lists no other application" not in other.message
    assert blocked.report.can_activate_with_confirmation

    outcome = activation_activate(
        channel=channel, user=support_user, confirmation=ANYMARKET_CONFIRMATION
    )

    assert outcome.ok, outcome.message
    assert check_of(outcome.report, "other_back_office").status == CheckStatus.PASS
    binding = Listing.objects.get(channel=channel)
    assert binding.seller_sku == "CAM-P" and binding.external_sku_id
    assert anymarket.stock_of("CAM-P") == 3  # the probe wrote nothing
    record = ActivationRecord.objects.get(channel=channel)
    assert record.confirmation == ANYMARKET_CONFIRMATION


@pytest.mark.django_db
def test_a_second_anymarket_account_is_never_blocked_as_the_same_account(emulator, support_user):
    from tests.sync.activation.builders import FAST

    first_store = emulator("anymarket", account="loja-a", **FAST)
    second_store = emulator("anymarket", account="loja-b", **FAST)
    # Both accounts have stock location 1, as two real accounts did.
    assert first_store.default_local_id == second_store.default_local_id
    first = ready_channel(first_store, "anymarket", credentials=first_store.credentials)
    assert activation_activate(
        channel=first, user=support_user, confirmation=ANYMARKET_CONFIRMATION
    ).ok
    second = ready_channel(
        second_store, "anymarket", company=make_company(), credentials=second_store.credentials
    )

    report = activation_preflight(channel=second)

    # Not a block without recourse: ANYMARKET names no account, so support confirms, seeing
    # the active ANYMARKET channels.
    same = check_of(report, "same_account")
    assert same.needs_confirmation and same.message.startswith("Not checkable through the API")
    assert same.details == [f"“{first.name}” of {first.company} (Sandbox / homologation)"]
    assert report.can_activate_with_confirmation
    outcome = activation_activate(
        channel=second, user=support_user, confirmation=ANYMARKET_CONFIRMATION
    )
    assert outcome.ok, outcome.message
    second.refresh_from_db()
    assert second.status == ChannelStatus.ACTIVE


@pytest.mark.django_db
def test_duplicate_sku_codes_in_listings_block(ml, support_user):
    channel = ready_channel(ml, "mercadolivre")
    make_sku(channel.company, code="DUP-1")
    ml.add_listing(seller_sku="DUP-1", title="Primeiro")
    ml.add_listing(seller_sku=" dup-1", title="Segundo")  # same code, other case and spacing

    outcome = activation_activate(channel=channel, user=support_user)

    assert not outcome.ok
    check = check_of(outcome.report, "data")
    assert check.blocks
    assert "duplicate(s) would register something twice" in check.message
    assert any("2 listings carry SKU code DUP-1" in line for line in check.details)
    assert not Listing.objects.filter(channel=channel).exists()


@pytest.mark.django_db
def test_unmapped_carrier_listed_by_the_vendor_blocks(ml, support_user):
    channel = ready_channel(ml, "mercadolivre", de_para=False)
    add_fallbacks(channel, [MappingKind.PAYMENT_METHOD, MappingKind.ORDER_STATUS])
    correios = make_carrier_service(channel.company, "Correios", "PAC")
    mapping_create(
        channel=channel, kind=MappingKind.CARRIER_SERVICE, target=correios, code="Correios"
    )  # every Correios service; Jadlog and Mercado Envios stay unmapped

    outcome = activation_activate(channel=channel, user=support_user)

    assert not outcome.ok
    check = check_of(outcome.report, "de_para")
    assert check.blocks
    assert check.message.startswith("3 of the")
    assert any("Carrier + service: Jadlog / 511645 (Expresso)" == line for line in check.details)
    assert not any("Correios" in line for line in check.details)


@pytest.mark.django_db
def test_one_ean_on_two_erp_skus_blocks(ml):
    channel = ready_channel(ml, "mercadolivre")
    ean = gtin13_with_check_digit("789000000777")
    make_sku(channel.company, code="OLD-1", ean=ean)
    make_sku(channel.company, code="NEW-1", ean=ean)

    report = activation_preflight(channel=channel)

    check = check_of(report, "data")
    assert check.blocks
    assert any(f"EAN {ean} is on 2 active ERP SKUs: OLD-1, NEW-1" in d for d in check.details)


def test_erp_codes_differing_only_by_case_or_spaces_block():
    # The database refuses such codes today; rows loaded around save() (stale code_key)
    # can still hold them, so the check normalizes codes itself.
    from sync.activation.checks import check_data
    from sync.activation.matching import ErpIndex, ErpSkuRow

    index = ErpIndex()
    for pk, code in ((1, "AB 12"), (2, "ab12")):
        index.rows[pk] = ErpSkuRow(pk, code, "", "", True)
    index.duplicate_codes["AB12"] = [1, 2]
    check = check_data(match_listings([], index))
    assert check.blocks
    assert any("“AB 12”, “ab12”" in line for line in check.details)


@pytest.mark.django_db
def test_settings_outside_limits_or_nothing_enabled_block(ml):
    channel = ready_channel(ml, "mercadolivre")
    channel.sync_settings.filter(flow=Flow.STOCK).update(batch_size=999_999)
    report = activation_preflight(channel=channel)
    check = check_of(report, "settings")
    assert check.blocks
    assert any("at most 2000 items per run" in line for line in check.details)

    channel.sync_settings.update(enabled=False)
    report = activation_preflight(channel=channel)
    assert any("No flow is enabled" in line for line in check_of(report, "settings").details)


@pytest.mark.django_db
def test_incomplete_credentials_block_without_calling_the_vendor(ml):
    channel = ready_channel(ml, "mercadolivre")
    channel.credentials.filter(name="client_secret").delete()
    before = ml.stats.get("token_calls", 0)

    report = activation_preflight(channel=channel)

    assert check_of(report, "credentials").blocks
    assert "Secret key (client secret)" in check_of(report, "credentials").message
    assert check_of(report, "connection").blocks
    assert ml.stats.get("token_calls", 0) == before


@pytest.mark.django_db
def test_vendor_that_tells_nothing_needs_the_typed_confirmation_which_is_recorded(
    vtex, support_user
):
    # Our VTEX key may not read the app key list: the vendor then tells nothing.
    vtex.app_keys[VtexEmulator.demo_credentials()["app_key"]].license_manager = False
    channel = ready_channel(vtex, "vtex")

    blocked = activation_activate(channel=channel, user=support_user)
    assert not blocked.ok
    check = check_of(blocked.report, "other_back_office")
    assert check.blocks and check.needs_confirmation
    assert blocked.report.can_activate_with_confirmation

    typed = "Previous ERP: Tiny — confirmed disconnected from this store."
    outcome = activation_activate(channel=channel, user=support_user, confirmation=typed)

    assert outcome.ok, outcome.message
    record = ActivationRecord.objects.get(channel=channel)
    assert record.confirmation == typed
    assert record.account_id == "lojademo"


# --- the race guard ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_database_refuses_two_active_channels_on_one_account():
    first = make_channel(connector="vtex")
    second = make_channel(make_company(), connector="vtex")
    SalesChannel.objects.filter(pk=first.pk).update(status="active", external_account_id="loja")
    SalesChannel.objects.filter(pk=second.pk).update(status="paused", external_account_id="loja")
    with pytest.raises(IntegrityError), transaction.atomic():
        SalesChannel.objects.filter(pk=second.pk).update(status="active")
    # Other vendors, or blank account ids, are not the same account.
    third = make_channel(make_company(), connector="anymarket")
    SalesChannel.objects.filter(pk=third.pk).update(status="active", external_account_id="loja")


@pytest.mark.django_db
def test_a_race_past_the_checks_is_stopped_by_the_constraint(ml, support_user, monkeypatch):
    channel = ready_channel(ml, "mercadolivre")
    other = make_channel(make_company(), connector="mercadolivre")
    SalesChannel.objects.filter(pk=other.pk).update(status="active", external_account_id=SELLER)
    # As if the other activation committed after both of our reads of it.
    monkeypatch.setattr(
        checks,
        "check_same_account",
        lambda channel, account_id, *scope: Check("same_account", "t", CheckStatus.PASS, "ok"),
    )

    outcome = activation_activate(channel=channel, user=support_user)

    assert not outcome.ok
    assert RACE_LOST in outcome.message
    channel.refresh_from_db()
    assert channel.status != ChannelStatus.ACTIVE
    assert not Listing.objects.filter(channel=channel).exists()
    assert not ActivationRecord.objects.filter(channel=channel).exists()
    assert not Schedule.objects.filter(name__startswith=f"erpintegr:channel:{channel.pk}:").exists()


# --- matching and progress --------------------------------------------------------------------


@pytest.mark.django_db
def test_a_listing_returned_twice_by_the_vendor_counts_once():
    company = make_company()
    sku = make_sku(company, code="X-1")
    twice = RemoteListing(ref=ExternalRef(item_id="MLB1", seller_sku="X-1"), seller_sku="X-1")
    match = match_listings([twice, twice], erp_index(company.pk))
    assert match.fetched == 2
    assert [(m[1], m[2]) for m in match.matches] == [(sku.pk, "code")]
    assert not match.duplicate_listing_codes


@pytest.mark.django_db
def test_preflight_reports_progress_and_the_command_prints_it(ml, capsys):
    channel = ready_channel(ml, "mercadolivre")
    for n in range(25):  # more than one multiget of 20
        ml.add_listing(seller_sku=f"P-{n}")
    seen = []
    report = activation_preflight(channel=channel, progress=seen.append)
    assert seen == list(range(1, 26))
    assert report.match.fetched == 25

    call_command("activation_preflight", channel.pk)
    out = capsys.readouterr().out
    assert "fetched 25 listings in all." in out
    assert "[WARN ] Data compatible" in out
    assert "activation possible" in out
    # Stored like the page's, so support can confirm it there.
    run = PreflightRun.objects.get(channel=channel)
    assert (run.state, run.requested_by, run.done) == (PreflightState.DONE, None, 25)
    assert f"Stored as preflight #{run.pk}" in out

    with translation.override("pt-br"):  # the product's language, as a shell has it
        call_command("activation_preflight", channel.pk)
    out = capsys.readouterr().out
    assert "25 anúncios lidos no total." in out and "ativação possível" in out


@pytest.mark.django_db
def test_csv_report_lists_every_unmatched_listing_and_absent_sku(ml):
    channel = ready_channel(ml, "mercadolivre")
    make_sku(channel.company, code="ERP-ONLY", name="Só no ERP")
    for n in range(30):
        ml.add_listing(seller_sku=f"ML-ONLY-{n}")
    assert activation_report_csv(channel=channel) is None  # no preflight read the listings yet
    report = PreflightResult.of(preflight_run_now(channel=channel))
    check = check_of(report, "data")
    assert check.status == CheckStatus.WARN
    assert "… and 10 more (download the CSV report)." in check.details
    text = activation_report_csv(channel=channel)  # stored with the run, nothing read again
    lines = text.strip().splitlines()
    assert len(lines) == 1 + 30 + 1
    assert sum("listing matches no ERP SKU" in line for line in lines) == 30
    assert any(line.startswith("ERP SKU not on the channel,ERP-ONLY") for line in lines)


@pytest.mark.django_db
@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
def test_csv_report_defuses_vendor_titles_that_a_spreadsheet_would_run(ml, start):
    channel = ready_channel(ml, "mercadolivre")
    ml.add_listing(seller_sku="ML-EVIL", title=f'{start}HYPERLINK("http://evil.example")')
    preflight_run_now(channel=channel)
    text = activation_report_csv(channel=channel)
    (line,) = [line for line in text.splitlines() if "ML-EVIL" in line]
    assert f"'{start}HYPERLINK" in line
