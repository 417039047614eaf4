"""The activation's admin side: permission, buttons, pages, changelist actions."""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group, Permission, User
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_q.conf import Conf

from channels.models import (
    ActivationAction,
    ActivationRecord,
    ChannelStatus,
    Credential,
    SalesChannel,
)
from channels.services import channel_credentials
from erp.gtin import gtin13_with_check_digit
from mappings.models import Listing, MappingKind
from sandbox.vtex import VtexEmulator
from sync.activation import preflight as preflight_module
from sync.activation import runs
from sync.models import PendingChange, PreflightRun, PreflightState
from tests.factories import make_channel, make_company, make_member, make_sku
from tests.sync.activation.builders import SELLER, add_fallbacks, ready_channel
from vendors.spec import Flow

CHANGELIST = "admin:channels_saleschannel_changelist"


def url(name: str, channel) -> str:
    return reverse(f"admin:channels_saleschannel_{name}", args=[channel.pk])


@pytest.fixture
def back_office_client(client, db):
    """Staff with every permission on our apps except the activation."""
    user = User.objects.create_user("backoffice", password="pw-backoffice-1", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label__in=["channels", "erp", "mappings", "sync"]
        ).exclude(codename="activate_integration")
    )
    client.force_login(user)
    client.user = user  # tests make it a member of their channel's company
    return client


@pytest.fixture
def support_client(client, db):
    user = User.objects.create_user("support", password="pw-support-1", is_staff=True)
    user.groups.add(Group.objects.get(name="Support"))
    client.force_login(user)
    client.user = user
    return client


class Worker:
    """What a qcluster worker does with the preflights the pages queue, here: django-q2 runs
    the task in this process (its Conf reads Q_CLUSTER once at import, so override_settings
    cannot switch it; shared/PITFALLS.md), when the test runs the on-commit callbacks a
    request registered."""

    def __init__(self, capture, client) -> None:
        self.capture = capture
        self.client = client

    @contextmanager
    def queued(self):
        """Collects what the requests inside queue after their commit, without running it."""
        with self.capture() as callbacks:
            yield callbacks

    @staticmethod
    def run(callbacks) -> None:
        for callback in callbacks:
            callback()

    def open_page(self, channel, client=None):
        """The activation page once its checks have run: start them, let the worker run
        them, open the page again."""
        client = client or self.client
        with self.queued() as callbacks:
            assert client.get(url("activate", channel)).status_code == 200
        self.run(callbacks)
        return client.get(url("activate", channel))


@pytest.fixture
def worker(support_client, django_capture_on_commit_callbacks, monkeypatch):
    monkeypatch.setattr(Conf, "SYNC", True)
    return Worker(django_capture_on_commit_callbacks, support_client)


def action_names(response) -> set[str]:
    return {name for name, _label in response.context["action_form"].fields["action"].choices}


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- permission -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_without_the_permission_no_action_no_button_and_403_on_every_url(back_office_client):
    channel = make_channel(connector="vtex")
    make_member(back_office_client.user, channel.company)
    response = back_office_client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    assert "activate_integration" not in action_names(response)
    assert "deactivate_integration" not in action_names(response)

    page = back_office_client.get(url("change", channel))
    tools = dict(page.context["channel_tools"])
    assert "Test connection" in tools  # any user who can change the channel
    assert "Activate…" not in tools

    for name in ("activate", "activation_status", "deactivate", "activation_report"):
        assert back_office_client.get(url(name, channel)).status_code == 403, name
        assert back_office_client.post(url(name, channel)).status_code == 403, name
    response = back_office_client.post(
        reverse(CHANGELIST),
        {"action": "activate_integration", ACTION_CHECKBOX_NAME: [channel.pk], "post": "yes"},
    )
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.DRAFT


@pytest.mark.django_db
def test_the_activation_permission_alone_does_not_open_a_channel_it_may_not_change(client):
    channel = make_channel(connector="vtex")
    user = User.objects.create_user("viewer", password="pw-viewer-1", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="channels",
            codename__in=["activate_integration", "view_saleschannel"],
        )
    )
    make_member(user, channel.company)  # not a member: 404 (tests/test_company_scoping.py)
    client.force_login(user)
    for name in ("activate", "activation_status", "activation_report"):
        assert client.get(url(name, channel)).status_code == 403, name
    assert not PreflightRun.objects.exists()


@pytest.mark.django_db
def test_support_sees_the_actions_and_buttons(support_client):
    channel = make_channel(connector="vtex")
    response = support_client.get(reverse(CHANGELIST))
    assert {"activate_integration", "deactivate_integration"} <= action_names(response)
    tools = dict(support_client.get(url("change", channel)).context["channel_tools"])
    assert tools["Activate…"] == url("activate", channel)
    assert tools["Test connection"] == url("test_connection", channel)
    assert "Deactivate…" not in tools


# --- test connection --------------------------------------------------------------------------


@pytest.mark.django_db
def test_test_connection_button(ml, back_office_client):
    channel = ready_channel(ml, "mercadolivre")
    make_member(back_office_client.user, channel.company)
    assert back_office_client.get(url("test_connection", channel)).status_code == 200

    response = back_office_client.post(url("test_connection", channel))

    assert response.status_code == 302
    assert response["Location"] == url("change", channel)
    assert "Connected to Mercado Livre: account 123456789." in texts(response)
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.READY


# --- the confirmation page --------------------------------------------------------------------


def listing_reads(emulator) -> int:
    """Requests that read listings (Mercado Livre: item search and item reads)."""
    return sum(
        count
        for route, count in emulator.stats.items()
        if route.startswith("GET ") and "items" in route
    )


@pytest.mark.django_db
def test_the_page_answers_without_reading_listings_and_confirms_against_the_stored_result(
    ml, support_client, worker
):
    channel = ready_channel(ml, "mercadolivre")
    make_sku(channel.company, code="A-1")
    ml.add_listing(seller_sku="A-1")

    with worker.queued() as queued:
        page = support_client.get(url("activate", channel))

    # The page answered before anything asked the vendor: a worker runs the checks.
    assert page.status_code == 200
    html = page.content.decode()
    assert ml.stats["requests"] == 0
    assert "Running the checks" in html
    assert 'value="Activate" disabled' in html
    run = PreflightRun.objects.get(channel=channel)
    assert (run.state, run.requested_by) == (PreflightState.QUEUED, support_client.user)
    assert f'data-status-url="{url("activation_status", channel)}?run={run.pk}"' in html
    assert support_client.get(url("activation_status", channel)).json()["state"] == "queued"
    assert len(queued) == 1  # one task, queued after the commit

    worker.run(queued)  # what the qcluster worker does
    assert listing_reads(ml) > 0

    page = support_client.get(url("activate", channel))
    html = page.content.decode()
    for title in ("Credentials complete", "No other ERP connected", "De-para complete"):
        assert title in html
    assert 'value="Activate" >' in html or 'value="Activate">' in html  # enabled
    assert "Previous ERP" not in html  # Mercado Livre lists the apps: nothing to type
    assert f'name="run" value="{run.pk}"' in html
    assert PreflightRun.objects.count() == 1  # the fresh result is shown, not checked again

    reads, requests = listing_reads(ml), ml.stats["requests"]
    response = support_client.post(url("activate", channel), {"run": run.pk})

    assert response.status_code == 302, texts(response)
    assert listing_reads(ml) == reads  # the confirmation read no listing…
    assert ml.stats["requests"] == requests  # …nor anything else (no vendor setup on ML)
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.ACTIVE
    assert Listing.objects.filter(channel=channel).count() == 1
    record = ActivationRecord.objects.get(channel=channel)
    assert record.user == support_client.user
    tools = dict(support_client.get(url("change", channel)).context["channel_tools"])
    assert "Deactivate…" in tools and "Activate…" not in tools


@pytest.mark.django_db
def test_the_status_endpoint_reports_progress_while_the_worker_reads(
    ml, support_client, worker, monkeypatch
):
    monkeypatch.setattr(runs, "PROGRESS_EVERY_SECONDS", 0)  # write every listing
    channel = ready_channel(ml, "mercadolivre")
    for n in range(25):
        ml.add_listing(seller_sku=f"P-{n}")
    with worker.queued():
        support_client.get(url("activate", channel))
    run = PreflightRun.objects.get(channel=channel)
    status_url = f"{url('activation_status', channel)}?run={run.pk}"
    seen = []

    def poll(_fetched: int) -> None:  # the page polling while the worker reads
        seen.append(support_client.get(status_url).json())

    runs.preflight_run_execute(run_id=run.pk, progress=poll)

    assert {s["state"] for s in seen} == {"running"}
    assert all(not s["finished"] for s in seen)
    assert {s["phase"] for s in seen} == {"Reading the listings from Mercado Livre"}
    done = [s["done"] for s in seen]
    assert done == sorted(done) and done[-1] == 24  # written before the 25th was counted
    assert seen[0]["percent"] is None  # first run: how many listings there are is unknown
    final = support_client.get(status_url)
    assert "no-store" in final["Cache-Control"]
    status = final.json()
    assert (status["state"], status["finished"], status["done"], status["percent"]) == (
        "done",
        True,
        25,
        100,
    )
    # The next run expects as many as this one read: a real bar.
    with worker.queued() as queued:
        support_client.post(url("activate", channel), {"rerun": "1"})
    assert PreflightRun.objects.filter(channel=channel).first().total == 25
    # Runs before the one a new run replaces are deleted: two per channel at most.
    worker.run(queued)
    with worker.queued():
        support_client.post(url("activate", channel), {"rerun": "1"})
    assert PreflightRun.objects.filter(channel=channel).count() == 2
    assert not PreflightRun.objects.filter(pk=run.pk).exists()


@pytest.mark.django_db
def test_a_second_page_load_reuses_the_running_preflight(ml, support_client, worker):
    channel = ready_channel(ml, "mercadolivre")
    with worker.queued() as queued:
        first = support_client.get(url("activate", channel))
        second = support_client.get(url("activate", channel))
    assert first.context["run"].pk == second.context["run"].pk
    assert len(queued) == 1
    PreflightRun.objects.update(state=PreflightState.RUNNING, updated_at=timezone.now())
    with worker.queued() as queued:
        third = support_client.get(url("activate", channel))
    assert third.context["run"].pk == first.context["run"].pk
    assert not queued
    assert PreflightRun.objects.count() == 1


@pytest.mark.django_db
def test_confirming_refuses_a_missing_running_stale_superseded_or_foreign_result(
    ml, support_client, worker, settings
):
    settings.ACTIVATION_PREFLIGHT_MAX_AGE_MINUTES = 30
    channel = ready_channel(ml, "mercadolivre")
    make_sku(channel.company, code="A-1")
    ml.add_listing(seller_sku="A-1")
    other = make_channel(make_company(), connector="mercadolivre")

    def refused(data: dict, expected: str) -> None:
        reads = listing_reads(ml)
        response = support_client.post(url("activate", channel), data)
        assert response.status_code == 200
        assert any(expected in m for m in texts(response)), texts(response)
        assert listing_reads(ml) == reads
        channel.refresh_from_db()
        assert channel.status != ChannelStatus.ACTIVE
        assert not Listing.objects.filter(channel=channel).exists()

    refused({}, "there is no preflight result to confirm")
    refused({"run": "not-a-number"}, "there is no preflight result to confirm")

    with worker.queued() as queued:
        support_client.get(url("activate", channel))
    run = PreflightRun.objects.get(channel=channel)
    refused({"run": run.pk}, "the checks are still running")
    worker.run(queued)

    foreign = PreflightRun.objects.create(
        channel=other, state=PreflightState.DONE, finished_at=timezone.now()
    )
    refused({"run": foreign.pk}, "belongs to another channel")

    PreflightRun.objects.filter(pk=run.pk).update(
        finished_at=timezone.now() - timedelta(minutes=31)
    )
    refused({"run": run.pk}, "older than 30 minutes")

    page = worker.open_page(channel)  # the old result is not shown again: a new run
    newer = page.context["run"]
    assert newer.pk != run.pk and newer.state == PreflightState.DONE
    refused({"run": run.pk}, "a newer preflight of this channel exists")

    # Someone types other keys after the checks: what they verified no longer holds.
    Credential.objects.filter(channel=channel).update(
        updated_at=timezone.now() + timedelta(seconds=1)
    )
    refused({"run": newer.pk}, "credentials changed after the checks ran")


@pytest.mark.django_db
def test_a_failed_preflight_shows_its_error_without_secrets(
    ml, support_client, worker, monkeypatch
):
    channel = ready_channel(ml, "mercadolivre")
    secret = channel_credentials(channel=channel)["client_secret"]

    def broken(company_id):
        raise RuntimeError(f"index broke while holding {secret}")

    fixed = preflight_module.erp_index
    monkeypatch.setattr(preflight_module, "erp_index", broken)
    page = worker.open_page(channel)

    run = PreflightRun.objects.get(channel=channel)
    assert run.state == PreflightState.FAILED
    assert "RuntimeError: index broke while holding [REDACTED]" in run.error
    html = page.content.decode()
    assert "The preflight failed. RuntimeError: index broke while holding [REDACTED]" in html
    assert secret not in html
    assert 'value="Activate" disabled' in html
    assert "Run the checks again" in html
    status = support_client.get(url("activation_status", channel)).json()
    assert status["state"] == "failed" and secret not in status["error"]
    response = support_client.post(url("activate", channel), {"run": run.pk})
    assert any("the preflight failed" in m for m in texts(response))

    monkeypatch.setattr(preflight_module, "erp_index", fixed)
    with worker.queued() as queued:
        support_client.post(url("activate", channel), {"rerun": "1"})
    worker.run(queued)
    assert PreflightRun.objects.filter(channel=channel).first().state == PreflightState.DONE


@pytest.mark.django_db
def test_a_preflight_whose_worker_died_is_marked_failed_when_looked_at(ml, support_client):
    channel = ready_channel(ml, "mercadolivre")
    long_ago = timezone.now() - runs.STALLED_AFTER - timedelta(seconds=1)
    run = PreflightRun.objects.create(
        channel=channel, state=PreflightState.RUNNING, started_at=long_ago, updated_at=long_ago
    )
    status = support_client.get(url("activation_status", channel)).json()
    assert status["state"] == "failed"
    assert "stopped reporting progress" in status["error"]
    run.refresh_from_db()
    assert run.state == PreflightState.FAILED and run.finished_at is not None


@pytest.mark.django_db
def test_stored_results_hold_no_secret(ml, support_client, worker, monkeypatch):
    channel = ready_channel(ml, "mercadolivre")

    def vendor_echoes_the_key(channel, connector=None):
        # As if a vendor's refusal quoted our key and the adapter passed it on unmasked.
        secret = channel_credentials(channel=channel)["client_secret"]  # what the worker holds
        return None, "", f"Mercado Livre refused the connection: bad key {secret}"

    monkeypatch.setattr(preflight_module, "verify_account", vendor_echoes_the_key)
    page = worker.open_page(channel)

    secret = channel_credentials(channel=channel)["client_secret"]
    run = PreflightRun.objects.get(channel=channel)
    stored = json.dumps(list(PreflightRun.objects.filter(pk=run.pk).values()), default=str)
    assert "bad key [REDACTED]" in stored
    assert secret not in stored
    assert secret not in page.content.decode()


@pytest.mark.django_db
def test_blocked_confirmation_page_disables_the_button(ml, support_client, worker):
    channel = ready_channel(ml, "mercadolivre", de_para=False)
    add_fallbacks(channel, [MappingKind.PAYMENT_METHOD, MappingKind.ORDER_STATUS])

    page = worker.open_page(channel)

    html = page.content.decode()
    assert 'value="Activate" disabled' in html
    assert "Jadlog" in html
    run = page.context["run"]
    response = support_client.post(url("activate", channel), {"run": run.pk})
    assert response.status_code == 200  # the page again, with the reason
    assert any("De-para complete" in m for m in texts(response))
    channel.refresh_from_db()
    assert channel.status != ChannelStatus.ACTIVE


@pytest.mark.django_db
def test_de_para_removed_after_the_checks_is_caught_on_confirm(ml, support_client, worker):
    channel = ready_channel(ml, "mercadolivre")
    run = worker.open_page(channel).context["run"]
    channel.carrierservicemapping_set.all().delete()  # after the checks, before confirming
    reads = listing_reads(ml)

    response = support_client.post(url("activate", channel), {"run": run.pk})

    assert any("De-para complete" in m for m in texts(response)), texts(response)
    assert listing_reads(ml) == reads
    channel.refresh_from_db()
    assert channel.status != ChannelStatus.ACTIVE


@pytest.mark.django_db
def test_typed_confirmation_is_asked_and_recorded(vtex, support_client, worker):
    vtex.app_keys[VtexEmulator.demo_credentials()["app_key"]].license_manager = False
    channel = ready_channel(vtex, "vtex")
    page = worker.open_page(channel)
    html = page.content.decode()
    assert "Previous ERP on this store" in html
    assert 'value="Activate" >' in html or 'value="Activate">' in html
    run = page.context["run"]

    # Naming an ERP without confirming it is disconnected is refused by the form.
    response = support_client.post(
        url("activate", channel), {"previous_erp": "Bling", "run": run.pk}
    )
    assert response.status_code == 200
    assert "Tick this to confirm" in response.content.decode()
    # Nothing typed: the check still waits for it.
    response = support_client.post(url("activate", channel), {"run": run.pk})
    assert any("type the previous ERP" in m for m in texts(response)), texts(response)

    response = support_client.post(
        url("activate", channel), {"previous_erp": "Bling", "disconnected": "on", "run": run.pk}
    )
    assert response.status_code == 302, texts(response)
    record = ActivationRecord.objects.get(channel=channel)
    assert record.confirmation == "Previous ERP: Bling — confirmed disconnected from this store."
    other = next(c for c in record.checks if c["key"] == "other_back_office")
    assert other["status"] == "pass" and "support confirmed" in other["message"]


@pytest.mark.django_db
def test_deactivate_page(ml, support_client, worker):
    channel = ready_channel(ml, "mercadolivre")
    run = worker.open_page(channel).context["run"]
    assert support_client.post(url("activate", channel), {"run": run.pk}).status_code == 302
    assert support_client.get(url("deactivate", channel)).status_code == 200
    response = support_client.post(url("deactivate", channel))
    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.PAUSED
    assert ActivationRecord.objects.filter(
        channel=channel, action=ActivationAction.DEACTIVATE
    ).exists()


@pytest.mark.django_db
def test_csv_report_download(ml, support_client, worker):
    channel = ready_channel(ml, "mercadolivre")
    ml.add_listing(seller_sku="ONLY-ON-ML")
    # No preflight yet: nothing to download, and nothing is read here to make one.
    response = support_client.get(url("activation_report", channel))
    assert response.status_code == 302 and response["Location"] == url("activate", channel)
    assert ml.stats["requests"] == 0

    worker.open_page(channel)
    requests = ml.stats["requests"]
    response = support_client.get(url("activation_report", channel))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "ONLY-ON-ML" in response.content.decode()
    assert ml.stats["requests"] == requests


@pytest.mark.django_db
def test_the_account_conflict_names_another_companys_channel_only_to_who_sees_it(
    ml, worker, client
):
    """The same vendor account active on another company's channel blocks for everyone; a
    company user holding the activation permission is not told which channel it is."""
    channel = ready_channel(ml, "mercadolivre")
    other = make_channel(make_company(), connector="mercadolivre", name="Loja antiga")
    SalesChannel.objects.filter(pk=other.pk).update(
        status=ChannelStatus.ACTIVE, external_account_id=SELLER
    )
    user = User.objects.create_user("company-support", password="pw-company-1", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="channels"))
    make_member(user, channel.company)
    support = client.user  # the worker fixture logged support in
    client.force_login(user)
    selected = {"action": "activate_integration", ACTION_CHECKBOX_NAME: [channel.pk]}

    # The worker stores the result once; each reader's page scopes it to what they see.
    pages = (worker.open_page(channel, client), client.post(reverse(CHANGELIST), selected))
    for page in pages:
        html = page.content.decode()
        assert "already integrated through another active channel" in html
        assert "An active channel of another company" in html
        assert "Loja antiga" not in html

    client.force_login(support)
    assert "Loja antiga" in client.get(url("activate", channel)).content.decode()
    channel.refresh_from_db()
    assert channel.status != ChannelStatus.ACTIVE


# --- changelist actions ------------------------------------------------------------------------


@pytest.mark.django_db
def test_activating_several_channels_reports_each_outcome(ml, vtex, support_client, worker):
    good = ready_channel(ml, "mercadolivre")
    blocked = ready_channel(vtex, "vtex", de_para=False)  # nothing mapped
    selected = {"action": "activate_integration", ACTION_CHECKBOX_NAME: [good.pk, blocked.pk]}

    # The list starts each channel's checks in the worker and answers at once.
    with worker.queued() as queued:
        page = support_client.post(reverse(CHANGELIST), selected)
    assert page.status_code == 200
    assert ml.stats["requests"] == vtex.stats["requests"] == 0
    html = page.content.decode()
    assert str(good) in html and str(blocked) in html
    assert html.count("The checks are running") == 2
    assert 'value="Activate" disabled' in html
    assert len(queued) == 2
    worker.run(queued)

    page = support_client.post(reverse(CHANGELIST), selected)  # the stored results
    html = page.content.decode()
    assert "The checks are running" not in html
    assert "A check blocks this channel" in html
    runs_shown = {c.pk: PreflightRun.objects.filter(channel=c).get().pk for c in (good, blocked)}
    for channel_id, run_id in runs_shown.items():
        assert f'name="c{channel_id}-run" value="{run_id}"' in html

    reads = listing_reads(ml)
    response = support_client.post(
        reverse(CHANGELIST),
        {**selected, "post": "yes", **{f"c{c}-run": r for c, r in runs_shown.items()}},
    )
    assert listing_reads(ml) == reads

    assert response.status_code == 302
    messages = texts(response)
    assert any(m.startswith(f"“{good}” is active on account") for m in messages)
    assert any(m.startswith(f"“{blocked}” was not activated") for m in messages)
    good.refresh_from_db()
    blocked.refresh_from_db()
    assert good.status == ChannelStatus.ACTIVE
    assert blocked.status != ChannelStatus.ACTIVE

    response = support_client.post(
        reverse(CHANGELIST),
        {"action": "deactivate_integration", ACTION_CHECKBOX_NAME: [good.pk, blocked.pk]},
    )
    messages = texts(response)
    assert any(m.startswith(f"“{good}” is paused") for m in messages)
    assert any(m.startswith(f"“{blocked}” is not active") for m in messages)


# --- the audit trail ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_activation_records_are_read_only_with_constant_queries(admin_client):
    company = make_company()

    def add_records(n):
        for _ in range(n):
            channel = make_channel(company, connector="vtex")
            ActivationRecord.objects.create(
                channel=channel,
                action=ActivationAction.ACTIVATE,
                account_id="loja",
                checks=[{"key": "data", "title": "Data", "status": "warn", "message": "m"}],
            )

    changelist = reverse("admin:channels_activationrecord_changelist")
    add_records(2)
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get(changelist).status_code == 200
    add_records(8)
    with CaptureQueriesContext(connection) as many:
        assert admin_client.get(changelist).status_code == 200
    # The channel filter lists channels in one query whatever their number.
    assert len(many) == len(few)
    record = ActivationRecord.objects.first()
    page = admin_client.get(reverse("admin:channels_activationrecord_change", args=[record.pk]))
    assert page.status_code == 200
    # The title and status in the reader's language (the stored title is the one it ran in).
    assert "<strong>Data compatible</strong> [Warning] m" in page.content.decode()
    assert admin_client.get(reverse("admin:channels_activationrecord_add")).status_code == 403


@pytest.mark.django_db
def test_support_sees_what_the_channel_page_shows_but_cannot_change_de_para(client):
    from channels.services import channel_set_status
    from mappings.models import OrderStatusMapping
    from mappings.services import mapping_create
    from tests.factories import make_channel as build_channel

    channel = build_channel(connector="anymarket")
    channel_set_status(channel=channel, status="active")
    mapping_create(channel=channel, kind="order_status", code="PAID_WAITING_SHIP", target="paid")
    user = User.objects.create_user("suporte", password="pw-support-1", is_staff=True)
    user.groups.add(Group.objects.get(name="Support"))
    client.force_login(user)
    html = client.get(reverse("admin:channels_saleschannel_change", args=[channel.pk])).content
    html = html.decode()
    assert "PAID_WAITING_SHIP" in html  # the de-para inline is visible
    assert "how often and how much each flow syncs" in html  # the sync settings inline
    assert client.get(reverse("admin:sync_syncrun_changelist")).status_code == 200
    assert client.get(reverse("admin:sync_heldorder_changelist")).status_code == 200
    assert not user.has_perm("mappings.change_orderstatusmapping")
    assert OrderStatusMapping.objects.filter(channel=channel).count() == 1


@pytest.mark.django_db
def test_an_erp_duplicate_created_after_the_checks_is_caught_on_confirm(ml, support_client, worker):
    channel = ready_channel(ml, "mercadolivre")
    ean = gtin13_with_check_digit("789000000555")
    make_sku(channel.company, code="OLD-1", ean=ean)
    ml.add_listing(seller_sku="OLD-1")
    run = worker.open_page(channel).context["run"]
    make_sku(channel.company, code="NEW-1", ean=ean)  # after the checks, before confirming

    response = support_client.post(url("activate", channel), {"run": run.pk})

    assert any("1 duplicate registration(s) in the ERP" in m for m in texts(response)), texts(
        response
    )
    channel.refresh_from_db()
    assert channel.status != ChannelStatus.ACTIVE
    assert not Listing.objects.filter(channel=channel).exists()


# --- a large store: the confirmation is handed to a worker ------------------------------------


@pytest.mark.django_db
def test_confirming_a_large_store_queues_the_activation_and_the_page_follows_it(
    ml, support_client, worker, settings
):
    settings.ACTIVATION_INLINE_MAX_BINDINGS = 2  # three matches: "large"
    channel = ready_channel(ml, "mercadolivre")
    for code in ("A-1", "A-2", "A-3"):
        make_sku(channel.company, code=code)
        ml.add_listing(seller_sku=code)
    run = worker.open_page(channel).context["run"]

    with worker.queued() as queued:
        response = support_client.post(url("activate", channel), {"run": run.pk})
        support_client.post(url("activate", channel), {"run": run.pk})  # a double click

    # The POST answered before any binding was written; one task was queued for both POSTs.
    assert response.status_code == 302
    assert response["Location"] == url("activate", channel)
    assert not Listing.objects.filter(channel=channel).exists()
    assert len(queued) == 1
    run.refresh_from_db()
    assert (run.confirm_state, run.confirmed_by) == ("queued", support_client.user)
    page = support_client.get(url("activate", channel))
    html = page.content.decode()
    assert "Activating…" in html and 'value="Activate"' not in html
    assert page.context["run"].pk == run.pk  # no new preflight while it activates
    status = support_client.get(url("activation_status", channel)).json()
    assert (status["finished"], status["activating"]) == (False, True)

    worker.run(queued)

    channel.refresh_from_db()
    assert channel.status == ChannelStatus.ACTIVE
    assert Listing.objects.filter(channel=channel).count() == 3
    assert ActivationRecord.objects.get(channel=channel).user == support_client.user
    run.refresh_from_db()
    assert (run.confirm_state, run.confirm_ok) == ("done", True)
    assert support_client.get(url("activation_status", channel)).json()["finished"] is True
    done = support_client.get(url("activate", channel), follow=True)
    assert any("3 product binding(s) created" in m for m in texts(done)), texts(done)


@pytest.mark.django_db
def test_a_large_store_blocked_at_confirm_is_answered_at_once(ml, support_client, worker, settings):
    settings.ACTIVATION_INLINE_MAX_BINDINGS = 0
    channel = ready_channel(ml, "mercadolivre")
    make_sku(channel.company, code="A-1")
    ml.add_listing(seller_sku="A-1")
    run = worker.open_page(channel).context["run"]
    PreflightRun.objects.filter(pk=run.pk).update(finished_at=timezone.now() - timedelta(days=1))

    with worker.queued() as queued:
        response = support_client.post(url("activate", channel), {"run": run.pk})

    assert response.status_code == 200
    assert any("older than" in m for m in texts(response)), texts(response)
    assert queued == [] and PreflightRun.objects.get(pk=run.pk).confirm_state == ""


@pytest.mark.django_db
def test_a_worker_activation_that_fails_is_shown_and_can_be_confirmed_again(
    ml, support_client, worker, settings
):
    settings.ACTIVATION_INLINE_MAX_BINDINGS = 0
    channel = ready_channel(ml, "mercadolivre")
    make_sku(channel.company, code="A-1")
    ml.add_listing(seller_sku="A-1")
    run = worker.open_page(channel).context["run"]
    with worker.queued() as queued:
        support_client.post(url("activate", channel), {"run": run.pk})
    # Meanwhile a de-para row the store's values need is deleted: the worker's re-check blocks.
    channel.carrierservicemapping_set.all().delete()
    worker.run(queued)

    run.refresh_from_db()
    assert (run.confirm_state, run.confirm_ok) == ("failed", False)
    channel.refresh_from_db()
    assert channel.status != ChannelStatus.ACTIVE
    html = support_client.get(url("activate", channel)).content.decode()
    assert "activation-error" in html and "was not activated" in html
    assert 'value="Activate"' in html  # support may confirm again once fixed


@pytest.mark.django_db
def test_an_activation_whose_worker_died_is_marked_failed_when_looked_at(
    ml, support_client, worker, settings
):
    settings.ACTIVATION_INLINE_MAX_BINDINGS = 0
    channel = ready_channel(ml, "mercadolivre")
    make_sku(channel.company, code="A-1")
    ml.add_listing(seller_sku="A-1")
    run = worker.open_page(channel).context["run"]
    with worker.queued():
        support_client.post(url("activate", channel), {"run": run.pk})  # never run
    long_ago = timezone.now() - timedelta(seconds=settings.Q_CLUSTER["timeout"] + 300)
    PreflightRun.objects.filter(pk=run.pk).update(
        confirm_state="running", confirm_requested_at=long_ago
    )

    status = support_client.get(url("activation_status", channel)).json()

    assert status["finished"] is True and status["activating"] is False
    run.refresh_from_db()
    assert run.confirm_state == "failed" and "did not finish" in run.confirm_message


@pytest.mark.django_db
def test_support_chooses_catalog_publishing_on_the_activation_page(ml, support_client, worker):
    """The catalog check says what publishing would do; the checkbox beside it (off on a new
    channel, since publishing creates and overwrites products) decides, and is recorded."""
    channel = ready_channel(ml, "mercadolivre")
    make_sku(channel.company, code="A-1")
    catalog = channel.sync_settings.get(flow=Flow.CATALOG)
    assert not catalog.enabled

    page = worker.open_page(channel)
    html = page.content.decode()
    assert (
        'name="publish_catalog"' in html and "checked" not in html.split("publish_catalog")[1][:40]
    )
    assert "With it on, 1 product(s) would be created" in html
    run = PreflightRun.objects.get(channel=channel)

    response = support_client.post(
        url("activate", channel), {"run": run.pk, "publish_catalog": "on"}
    )

    assert response.status_code == 302, texts(response)
    catalog.refresh_from_db()
    channel.refresh_from_db()
    assert catalog.enabled and channel.status == ChannelStatus.ACTIVE
    # The activation's first push includes the catalog: the ERP's SKUs are pending for it.
    assert PendingChange.objects.filter(channel=channel, flow=Flow.CATALOG).count() == 1
    assert LogEntry.objects.filter(
        object_id=str(channel.pk), change_message__contains="Catalog publishing turned on"
    ).exists()


@pytest.mark.django_db
def test_activating_without_ticking_it_leaves_catalog_publishing_off(ml, support_client, worker):
    channel = ready_channel(ml, "mercadolivre")
    make_sku(channel.company, code="A-1")
    worker.open_page(channel)
    run = PreflightRun.objects.get(channel=channel)

    assert support_client.post(url("activate", channel), {"run": run.pk}).status_code == 302
    assert not channel.sync_settings.get(flow=Flow.CATALOG).enabled
    assert not PendingChange.objects.filter(channel=channel, flow=Flow.CATALOG).exists()
