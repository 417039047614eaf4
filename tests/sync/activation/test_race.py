"""Two supports activating two channels (two companies) on one vendor account at the same
moment: exactly one succeeds, the other is told why. Real transactions and threads."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection
from django_q.models import Schedule

from channels.models import ActivationRecord, ChannelStatus, SalesChannel
from sandbox.vtex import VtexEmulator
from sync.activation import activate as activate_module
from tests.sync.activation.builders import FAST, ready_channel

ACCOUNT = "lojarace"


def keys(suffix: str) -> dict:
    # Same store (account name), each channel with its own app key, as two ERPs would have.
    return {
        "account_name": ACCOUNT,
        "app_key": f"vtexappkey-{ACCOUNT}-{suffix}",
        "app_token": f"TOKEN-{suffix}-0123456789abcdef0123456789abcdef",
        "warehouse_id": "1_1",
    }


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_activations_on_one_account_exactly_one_succeeds(monkeypatch):
    emulators = [VtexEmulator(credentials=keys(s), **FAST) for s in ("A", "B")]
    for emulator in emulators:
        emulator.start()
    try:
        channels = [
            ready_channel(emulator, "vtex", credentials=keys(s))
            for emulator, s in zip(emulators, ("A", "B"), strict=True)
        ]
        assert channels[0].company_id != channels[1].company_id

        # Both pass every vendor check, then enter the activation transaction together.
        barrier = threading.Barrier(2, timeout=30)
        original = activate_module._prepare_vendor

        def prepare_then_wait(connector, channel):
            original(connector, channel)
            barrier.wait()

        monkeypatch.setattr(activate_module, "_prepare_vendor", prepare_then_wait)
        outcomes: dict[int, activate_module.ActivationOutcome] = {}
        errors: list[BaseException] = []

        def activate(channel):
            try:
                outcomes[channel.pk] = activate_module.activation_activate(
                    channel=channel, user=None
                )
            except BaseException as exc:  # reported below, not lost in the thread
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=activate, args=(c,)) for c in channels]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        assert not errors, errors
        assert sorted(o.ok for o in outcomes.values()) == [False, True]
        loser = next(o for o in outcomes.values() if not o.ok)
        assert (
            "already integrated through another active channel" in loser.message
            or activate_module.RACE_LOST in loser.message
        ), loser.message
        active = SalesChannel.objects.filter(status=ChannelStatus.ACTIVE)
        assert active.count() == 1
        winner = active.get()
        assert winner.external_account_id == ACCOUNT
        assert ActivationRecord.objects.count() == 1
        assert ActivationRecord.objects.get().channel_id == winner.pk
        loser_id = loser.channel.pk
        assert SalesChannel.objects.get(pk=loser_id).status != ChannelStatus.ACTIVE
        assert not Schedule.objects.filter(name__startswith=f"erpintegr:channel:{loser_id}:")
    finally:
        for emulator in emulators:
            emulator.stop()


@pytest.mark.django_db(transaction=True)
def test_two_page_loads_at_once_start_one_preflight(monkeypatch):
    """Two supports open the activation page of one channel at the same moment: one run is
    queued, both pages follow it."""
    from sync.activation import runs
    from sync.models import PreflightRun
    from tests.factories import make_channel

    channel = make_channel(connector="vtex")
    queued: list[int] = []
    monkeypatch.setattr(runs, "_enqueue", lambda run_id, _language: queued.append(run_id))
    original = runs.preflight_latest

    def look_slowly(**kwargs):
        found = original(**kwargs)
        time.sleep(0.2)  # both would create a run here, were the looks not serialised
        return found

    monkeypatch.setattr(runs, "preflight_latest", look_slowly)
    barrier = threading.Barrier(2, timeout=30)
    shown: list[int] = []
    errors: list[BaseException] = []

    def open_page():
        try:
            barrier.wait()
            shown.append(runs.preflight_start(channel=channel, user=None).pk)
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=open_page) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors, errors
    assert PreflightRun.objects.filter(channel=channel).count() == 1
    assert shown == [PreflightRun.objects.get().pk] * 2
    assert queued == shown[:1]
