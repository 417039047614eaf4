"""The demo of `make run` goes live by itself against the real emulators: three channels
Active with their de-para filled and activated by the "demo" user, one left in Draft, orders
imported, stock and prices pushed, and exactly one order held for the carrier “ECT” until its
de-para row exists."""

from contextlib import ExitStack

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model

from channels.models import ActivationAction, ActivationRecord, ChannelStatus, SalesChannel
from erp.models import CarrierService, Order, Price
from mappings.models import MAPPING_MODELS, Listing, MappingKind
from mappings.selectors import lookup_key, translate
from mappings.services import mapping_create
from mappings.signals import mapping_created
from sync.demo import (
    DEMO_CHANNELS,
    DEMO_MAIN_WAREHOUSE,
    DEMO_USERNAME,
    HELD_ORDER_CHANNEL,
    KNOWN_VALUES,
    demo_emulator,
    demo_go_live,
    demo_place_held_order,
    load_demo,
)
from sync.models import HeldOrder, PreflightRun, QuarantinedOrder, RunState
from sync.services.connectors import build_connector
from sync.services.runs import run_flow
from sync.tasks import reprocess_held_orders
from vendors.testing import override_rate

FAST = {"rate": 1000.0, "burst": 1000}
LIVE = [demo for demo in DEMO_CHANNELS if demo.live]


@pytest.fixture
def demo_emulators():
    """The demo's emulators on free ports, at a rate (declared and enforced) that keeps the
    test short."""
    started = {}
    with ExitStack() as stack:
        for connector in {demo.connector for demo in DEMO_CHANNELS}:
            stack.enter_context(override_rate(connector, **FAST))
        try:
            for demo in DEMO_CHANNELS:
                emulator = demo_emulator(demo, **FAST)
                emulator.start("127.0.0.1", 0)
                started[demo.key] = emulator
            yield started
        finally:
            for emulator in started.values():
                emulator.stop()


@pytest.fixture
def signals():
    """(channel id, kind) of every mapping_created sent: each row saved by mapping_save."""
    sent = []

    def receiver(sender, channel_id, kind, **kwargs):
        sent.append((channel_id, kind))

    mapping_created.connect(receiver, weak=False)
    yield sent
    mapping_created.disconnect(receiver)


def _port(emulator) -> int:
    return int(emulator.url.rstrip("/").rsplit(":", 1)[1])


def _channels() -> dict[str, SalesChannel]:
    by_name = {channel.name: channel for channel in SalesChannel.objects.all()}
    return {demo.key: by_name[demo.name] for demo in DEMO_CHANNELS}


def _mapping_count() -> int:
    return sum(model.objects.count() for model in MAPPING_MODELS.values())


def _state() -> dict:
    return {
        "channels": list(SalesChannel.objects.order_by("pk").values_list("pk", "status")),
        "mappings": _mapping_count(),
        "records": ActivationRecord.objects.count(),
        "preflights": PreflightRun.objects.count(),
        "orders": Order.objects.count(),
        "held": HeldOrder.objects.count(),
        "listings": Listing.objects.count(),
        "users": get_user_model().objects.filter(username=DEMO_USERNAME).count(),
        "log": LogEntry.objects.count(),
    }


@pytest.mark.django_db(transaction=True)
def test_the_demo_goes_live_and_holds_one_order_for_ect(demo_emulators, signals, monkeypatch):
    load_demo(ports={key: _port(emulator) for key, emulator in demo_emulators.items()})
    steps = demo_go_live(only=set(demo_emulators))

    channels = _channels()
    assert [(step.channel.name, step.activated, step.failed) for step in steps] == [
        (demo.name, True, False) for demo in LIVE
    ], [step.message for step in steps]
    for demo in DEMO_CHANNELS:
        channels[demo.key].refresh_from_db()
    assert {key: channel.status for key, channel in channels.items()} == {
        "mercadolivre": ChannelStatus.ACTIVE,
        "vtex": ChannelStatus.ACTIVE,
        "anymarket": ChannelStatus.ACTIVE,
        "mercadolivre-2": ChannelStatus.DRAFT,
    }
    # One per category, each activated once by the demo user.
    assert {channels[demo.key].category for demo in LIVE} == {
        "platform",
        "marketplace",
        "integrator",
    }
    records = ActivationRecord.objects.select_related("user", "channel")
    assert sorted((r.channel.name, r.action, r.user.username) for r in records) == sorted(
        (demo.name, ActivationAction.ACTIVATE, DEMO_USERNAME) for demo in LIVE
    )
    demo_user = records[0].user
    assert not demo_user.is_active and not demo_user.has_usable_password()
    # ANYMARKET lists no connected applications: the demo typed the confirmation support types.
    assert records.get(channel=channels["anymarket"]).confirmation.startswith("Previous ERP: none")

    # The de-para: every row through mapping_save (its signal), covering every value the vendor
    # lists; the draft channel untouched.
    assert len(signals) == _mapping_count() == sum(step.rows_created for step in steps)
    assert {channel_id for channel_id, _kind in signals} == {channels[d.key].pk for d in LIVE}
    for demo, step in zip(LIVE, steps, strict=True):
        channel = channels[demo.key]
        values = [*build_connector(channel).reference_values(), *KNOWN_VALUES.get(demo.key, [])]
        assert translate(channel=channel, requests=values).complete, demo.key
        assert step.rows_created == len({lookup_key(value) for value in values}), demo.key
    assert steps[0].rows_created == 19  # Mercado Livre: the 19 rows once typed by hand
    locations = MAPPING_MODELS[MappingKind.STOCK_LOCATION].objects.select_related("target")
    assert {m.target.code for m in locations} == {DEMO_MAIN_WAREHOUSE}
    assert not channels["mercadolivre-2"].activation_records.exists()

    # The order with the carrier no de-para knows, then one orders run per live channel.
    held_id = demo_place_held_order(demo_emulators[HELD_ORDER_CHANNEL])
    for demo in LIVE:
        run = run_flow(channel_id=channels[demo.key].pk, flow="orders")
        assert run.state == RunState.SUCCEEDED, (demo.key, run.error)
    for demo in LIVE:
        placed = len(demo_emulators[demo.key].order_ids())
        expected = placed - 1 if demo.key == HELD_ORDER_CHANNEL else placed
        assert Order.objects.filter(channel=channels[demo.key]).count() == expected, demo.key
    held = HeldOrder.objects.get()
    assert (held.channel, held.external_id, held.resolved_at) == (
        channels[HELD_ORDER_CHANNEL],
        held_id,
        None,
    )
    assert held.missing == [
        {"kind": MappingKind.CARRIER_SERVICE, "code": "ECT / SEDEX 10", "label": "ECT / SEDEX 10"}
    ]
    assert not QuarantinedOrder.objects.exists()

    # Stock and prices reach the vendors: what each binding last pushed is what the vendor holds.
    for demo in LIVE:
        channel, emulator = channels[demo.key], demo_emulators[demo.key]
        for flow in ("stock", "price"):
            run = run_flow(channel_id=channel.pk, flow=flow)
            assert run.state == RunState.SUCCEEDED and run.done == 16, (demo.key, flow, run.error)
        listings = Listing.objects.filter(channel=channel).select_related("sku")
        prices = dict(Price.objects.values_list("sku__code", "amount"))
        for listing in listings:
            assert emulator.price_of(listing.sku.code) == prices[listing.sku.code]
            assert listing.last_pushed_price == prices[listing.sku.code]
            assert listing.last_pushed_stock is not None
            if demo.key != "vtex":  # VTEX keeps stock per warehouse
                assert emulator.stock_of(listing.sku.code) == listing.last_pushed_stock

    # The user adds Correios / SEDEX 10 = ECT (any service): the held order is imported.
    enqueued = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda *a, **k: enqueued.append(a))
    anymarket = channels[HELD_ORDER_CHANNEL]
    mapping_create(
        channel=anymarket,
        kind=MappingKind.CARRIER_SERVICE,
        code="ECT",
        target=CarrierService.objects.get(
            carrier__company=anymarket.company, carrier__name="Correios", name="SEDEX 10"
        ),
    )
    assert enqueued == [("sync.tasks.reprocess_held_orders", anymarket.pk)]
    assert reprocess_held_orders(anymarket.pk) == {"imported": 1, "still_held": 0}
    order = Order.objects.get(channel=anymarket, external_id=held_id)
    assert str(order.carrier_service) == "Correios / SEDEX 10"
    held.refresh_from_db()
    assert held.resolved_at is not None

    # `make run` again: nothing is duplicated, nothing changes.
    before = _state()
    load_demo(ports={key: _port(emulator) for key, emulator in demo_emulators.items()})
    again = demo_go_live(only=set(demo_emulators))
    assert [(step.activated, step.failed, step.rows_created) for step in again] == [
        (False, False, 0)
    ] * len(LIVE)
    assert _state() == before


@pytest.mark.django_db(transaction=True)
def test_make_run_points_every_emulators_notifications_at_its_channel(
    demo_emulators, live_server, settings
):
    """What `make run` does once the admin answers: VTEX through the hook the integration
    registers (VTEX pings our endpoint first), Mercado Livre and ANYMARKET as a seller pastes
    the URL; then a sale on each emulator reaches its channel as a stored hint."""
    from sync.demo import demo_connect_notifications
    from sync.models import NotificationHint

    settings.ERPINTEGR_PUBLIC_URL = live_server.url
    load_demo(ports={key: _port(emulator) for key, emulator in demo_emulators.items()})
    demo_go_live(only=set(demo_emulators))
    lines = demo_connect_notifications(demo_emulators)

    channels = _channels()
    assert len(lines) == len(LIVE)
    assert not any(channels[d.key].notification_token in line for d in LIVE for line in lines)
    for demo in LIVE:
        emulator = demo_emulators[demo.key]
        code = next(iter(emulator.seed_catalog(["NOTIFY-1"]))).seller_sku
        placed = emulator.add_order([(code, 1, "10.00")])
        assert emulator.wait_notifications(10)
        hints = NotificationHint.objects.filter(channel=channels[demo.key])
        assert any(str(placed) in hint.resource for hint in hints), (
            demo.key,
            list(hints.values_list("kind", "resource")),
        )
    # The draft channel's emulator is not pointed anywhere.
    draft = next(demo for demo in DEMO_CHANNELS if not demo.live)
    assert not demo_emulators[draft.key].notification_settings()["enabled"]
