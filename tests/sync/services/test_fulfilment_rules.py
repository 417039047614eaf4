"""The fulfilment flow's rules that need no vendor: the reverse de-para's choice among rows,
the migration's rows for existing channels, and account errors."""

import importlib

import pytest
from django.apps import apps

from channels.models import ChannelStatus, SyncSetting
from mappings.models import MappingKind
from mappings.services import mapping_create
from sync.models import FulfilmentEvent, FulfilmentState, RunState
from sync.services.fulfilment import reverse_carrier
from sync.services.runs import run_flow
from tests.factories import make_carrier_service, make_channel, make_order, make_sku
from tests.sync.engine import active_channel
from vendors.registry import get_spec
from vendors.spec import FULFILMENT, Flow


@pytest.mark.django_db
def test_reverse_de_para_prefers_a_row_naming_a_service_then_the_oldest():
    channel = make_channel()
    sedex10 = make_carrier_service(channel.company, "Correios", "SEDEX 10")
    other = make_carrier_service(channel.company, "Jadlog", "Package")

    def row(carrier, service, target=sedex10, **kwargs):
        return mapping_create(
            channel=channel,
            kind=MappingKind.CARRIER_SERVICE,
            parent_code=carrier,
            code=service,
            target=target,
            **kwargs,
        )

    assert reverse_carrier(channel.pk, sedex10.pk) is None
    row("", "", is_fallback=True)  # "anything else" names no channel code: never used
    assert reverse_carrier(channel.pk, sedex10.pk) is None
    row("ECT", "")  # carrier-wide
    assert (reverse_carrier(channel.pk, sedex10.pk).code, "") == ("ECT", "")
    oldest = row("ECT", "40215")
    row("Correios", "SEDEX10")
    row("JAD", "PKG", target=other)
    chosen = reverse_carrier(channel.pk, sedex10.pk)
    assert chosen.pk == oldest.pk
    assert (chosen.code, chosen.service_code) == ("ECT", "40215")
    assert reverse_carrier(channel.pk, other.pk).code == "JAD"


@pytest.mark.django_db
def test_the_migration_adds_the_fulfilment_row_with_the_vendor_defaults():
    migration = importlib.import_module("channels.migrations.0010_fulfilment_flow")
    channel = make_channel(connector="anymarket")
    SyncSetting.objects.filter(channel=channel, flow=Flow.FULFILMENT).delete()
    assert channel.sync_settings.count() == len(Flow.values) - 1
    migration.add_fulfilment_settings(apps, None)
    migration.add_fulfilment_settings(apps, None)  # again: nothing more
    row = SyncSetting.objects.get(channel=channel, flow=Flow.FULFILMENT)
    limits = get_spec("anymarket").limits.for_flow(FULFILMENT)
    assert (row.enabled, row.interval_minutes, row.batch_size) == (
        True,
        limits.default_interval_minutes,
        limits.default_batch_size,
    )


def test_a_refused_access_fails_the_run_suspends_the_channel_and_keeps_the_event(emulator, db):
    from erp import services

    shop = emulator("anymarket", rate=500, burst=50)
    channel = active_channel("anymarket", shop)
    company = channel.company
    sku = make_sku(company, code="CAM-P")
    shop.seed_catalog(["CAM-P"])
    external = shop.add_order([("CAM-P", 1, "59.90")], status="PAID_WAITING_SHIP")
    order = make_order(company, channel, external_id=external, lines=[(sku, 1, "59.90", None)])
    services.order_cancel(order=order, reason="Buyer gave up")
    shop.echo_secrets_in_errors("token", status=401)
    run = run_flow(channel_id=channel.pk, flow="fulfilment")
    assert run.state == RunState.FAILED
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.SUSPENDED
    event = FulfilmentEvent.objects.get(order=order)
    # Still pending; the attempt is counted (a request went out), so the next run reads the
    # order before writing again.
    assert (event.state, event.attempts) == (FulfilmentState.PENDING, 1)
    assert shop.fulfilment_of(external) == []


def test_an_unreadable_snapshot_is_refused_naming_the_problem_not_a_failed_run(emulator, db):
    from erp import services
    from tests.factories import nfe_access_key

    shop = emulator("anymarket", rate=500, burst=50)
    channel = active_channel("anymarket", shop)
    sku = make_sku(channel.company, code="CAM-P")
    shop.seed_catalog(["CAM-P"])
    external = shop.add_order([("CAM-P", 1, "59.90")], status="PAID_WAITING_SHIP")
    order = make_order(
        channel.company, channel, external_id=external, lines=[(sku, 1, "59.90", None)]
    )
    from django.utils import timezone

    now = timezone.now()
    services.order_invoice(
        order=order,
        number=5,
        series=1,
        access_key=nfe_access_key(
            channel.company.cnpj, series=1, number=5, year_month=now.strftime("%y%m")
        ),
        issued_at=now,
        total=order.total,
    )
    event = FulfilmentEvent.objects.get(order=order)
    event.payload = {**event.payload, "issued_at": "2026-12-03T10:00:00"}  # no time zone
    event.save()
    run = run_flow(channel_id=channel.pk, flow="fulfilment")
    assert run.state == RunState.PARTIAL, run.error
    event.refresh_from_db()
    assert event.state == FulfilmentState.REFUSED
    assert "issued_at has no time zone" in event.last_error
    assert shop.fulfilment_of(external) == []


@pytest.mark.django_db
def test_the_fulfilment_settings_are_validated_within_the_vendor_limits():
    from django.core.exceptions import ValidationError

    channel = make_channel(connector="anymarket")
    setting = SyncSetting.objects.get(channel=channel, flow=Flow.FULFILMENT)
    limits = get_spec("anymarket").limits.for_flow(FULFILMENT)
    setting.batch_size = limits.max_batch_size + 1
    setting.interval_minutes = limits.min_interval_minutes - 1
    with pytest.raises(ValidationError) as error:
        setting.full_clean()
    assert set(error.value.message_dict) == {"batch_size", "interval_minutes"}
    assert f"at most {limits.max_batch_size} items per run for fulfilment" in str(error.value)
