"""The channel page in a real browser (headless Debian Chromium driven by Playwright).

One walk through what the back office and support do: create a VTEX channel pointing at the
emulator, type its credentials, add a carrier de-para row inline, test the connection, read the
activation checks (run by a worker while the page shows their progress), activate as support,
run the flows and see the first runs on the panel.
The live server and the emulator run in this process; no qcluster runs, so the tasks the
"Run now" button queued are taken from django-q2's ORM queue and run here.
"""

from __future__ import annotations

import importlib
import re
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.utils.module_loading import import_string
from django_q.models import OrmQ
from playwright.sync_api import Page, expect

from channels.models import ChannelStatus, SalesChannel
from erp.models import OrderStatus
from erp.services import StockLevel, price_set, stock_set_many
from mappings.models import CarrierServiceMapping, Listing, MappingKind
from mappings.services import mapping_create
from sandbox.vtex import (
    SHIPPING_POLICIES,
    WAREHOUSES,
)
from sync.models import RunState, SyncRun
from tests.factories import (
    make_carrier_service,
    make_company,
    make_price_list,
    make_sku,
    make_warehouse,
)

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "browser-test-Pa55"  # noqa: S105 - throwaway users of the test database
STATUS_MAP = {
    "waiting-for-sellers-confirmation": OrderStatus.NEW,
    "payment-pending": OrderStatus.AWAITING_PAYMENT,
    "payment-approved": OrderStatus.PAID,
    "ready-for-handling": OrderStatus.PAID,
    "handling": OrderStatus.PAID,
    "invoiced": OrderStatus.INVOICED,
    "canceled": OrderStatus.CANCELED,
}


@pytest.fixture
def store(emulator):
    """A VTEX store with four SKUs and the ERP company whose SKUs carry the same codes."""
    vtex = emulator("vtex")
    vtex.seed_data(listings=4)
    company = make_company(trade_name="Loja Navegador")
    warehouse = make_warehouse(company, code="CD-NAV", name="CD Navegador")
    price_list = make_price_list(company, name="Varejo Navegador")
    skus = [make_sku(company, code=sku.ref_id) for sku in vtex.skus.values()]
    stock_set_many(
        levels=[StockLevel(sku=s, warehouse=warehouse, on_hand=10 + n) for n, s in enumerate(skus)]
    )
    for n, sku in enumerate(skus):
        price_set(price_list=price_list, sku=sku, amount=Decimal("49.90") + n)
    for _policy, carrier, service in SHIPPING_POLICIES:
        make_carrier_service(company, carrier, service)
    admin = User.objects.create_superuser("backoffice", "bo@example.com", PASSWORD)
    support = User.objects.create_user("support", "support@example.com", PASSWORD, is_staff=True)
    support.groups.add(support_group())
    return {"vtex": vtex, "company": company, "skus": skus, "admin": admin, "support": support}


def support_group() -> Group:
    """The "Support" group of the data migration channels/0004_support_group.

    A transactional test that ran earlier in the session flushed every table; post_migrate
    brings permissions and content types back, not the rows of data migrations (and
    serialized_rollback cannot help: it clashes with those recreated content types). The
    migration's own function then creates the group again, from the historical models, as
    `migrate` did."""
    group = Group.objects.filter(name="Support").first()
    if group is None:
        migration = importlib.import_module("channels.migrations.0004_support_group")
        state = MigrationLoader(connection).project_state(("channels", "0004_support_group"))
        migration.create_support_group(state.apps, SimpleNamespace(connection=connection))
        group = Group.objects.get(name="Support")
    return group


def log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#user-tools")).to_contain_text(username)


def autocomplete(page: Page, container: str, search: str, choice: str) -> None:
    """Pick `choice` in the admin's select2 autocomplete inside `container`."""
    page.locator(f"{container} .select2-selection").click()
    page.locator(".select2-container--open .select2-search__field").fill(search)
    page.locator(".select2-results__option", has_text=choice).first.click()


def run_queued_tasks() -> list[tuple]:
    """What a qcluster worker would do with the ORM queue: run each queued task once."""
    ran = []
    for queued in OrmQ.objects.order_by("id"):
        task = queued.task  # the decoded payload
        import_string(task["func"])(*task["args"], **task["kwargs"])
        ran.append((task["func"], *task["args"]))
        queued.delete()
    return ran


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_back_office_and_support_switch_a_vtex_channel_on(page: Page, live_server, store):
    vtex, company = store["vtex"], store["company"]
    credentials = type(vtex).demo_credentials()
    base = live_server.url
    page.set_default_timeout(15_000)

    # --- back office: create the channel with its credentials -------------------------------
    log_in(page, base, "backoffice")
    page.goto(f"{base}/admin/channels/saleschannel/add/")
    page.fill("#id_name", "Loja VTEX (navegador)")
    page.select_option("#id_connector", "vtex")
    # The add page lists every connector's authentication fields; only VTEX's show now.
    expect(page.locator("#id_cred__vtex__app_token")).to_be_visible()
    expect(page.locator("#id_cred__anymarket__gumga_token")).to_be_hidden()
    autocomplete(page, ".field-company", "Navegador", "Loja Navegador")
    page.select_option("#id_environment", "sandbox")
    autocomplete(page, ".field-price_list", "Navegador", "Varejo Navegador")
    page.select_option("#id_warehouses_from", label="CD-NAV — CD Navegador")
    page.click("#id_warehouses_add")
    page.fill("#id_api_base_url", vtex.url)
    for name, value in credentials.items():
        page.fill(f"#id_cred__vtex__{name}", value)
    page.click("input[name=_continue]")
    expect(page.locator(".messagelist .success")).to_contain_text("was added successfully")
    channel = SalesChannel.objects.get(name="Loja VTEX (navegador)")
    assert (channel.connector, channel.environment, channel.company) == ("vtex", "sandbox", company)
    # Write-only secrets: stored, never sent back to the browser.
    html = page.content()
    assert credentials["app_token"] not in html and credentials["app_key"] not in html

    # --- the carrier de-para row, typed inline on the channel page --------------------------
    group = page.locator("#carrierservicemapping_set-group")
    group.locator(".add-row a").click()
    row = group.locator("tr.form-row.dynamic-carrierservicemapping_set").last
    row.locator("input[name$='-code']").fill("Correios")
    row.locator("input[name$='-service_code']").fill("SEDEX 10")
    autocomplete(
        page,
        "#carrierservicemapping_set-group tr.dynamic-carrierservicemapping_set",
        "SEDEX 10",
        "Correios / SEDEX 10",
    )
    page.click("input[name=_continue]")
    expect(page.locator(".messagelist .success")).to_contain_text("was changed successfully")
    typed = CarrierServiceMapping.objects.get(channel=channel)
    assert (typed.code, typed.service_code, str(typed.target)) == (
        "Correios",
        "SEDEX 10",
        "Correios / SEDEX 10",
    )

    # Every other value VTEX lists gets its de-para too (statuses, the other carriers, both
    # warehouses), or the activation's de-para check blocks — as it should.
    for _policy, carrier, service in SHIPPING_POLICIES:
        if (carrier, service) != ("Correios", "SEDEX 10"):
            mapping_create(
                channel=channel,
                kind=MappingKind.CARRIER_SERVICE,
                parent_code=carrier,
                code=service,
                target=make_carrier_service(company, carrier, service),
            )
    for code, status in STATUS_MAP.items():
        mapping_create(channel=channel, kind=MappingKind.ORDER_STATUS, code=code, target=status)
    for code, _name in WAREHOUSES:
        mapping_create(
            channel=channel,
            kind=MappingKind.STOCK_LOCATION,
            code=code,
            target=channel.warehouses.get(),
        )

    # --- test the connection against the emulator -----------------------------------------
    page.get_by_role("link", name="Test connection").click()
    page.click("input[value='Test connection now']")
    expect(page.locator(".messagelist .success")).to_contain_text(
        f"Connected to VTEX: account {credentials['account_name']}"
    )
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.READY

    # --- the activation page lists its checks (the back office may look, not activate) -----
    # A worker runs them (here: this test); the page shows its progress bar meanwhile, then
    # the checks once its poll sees them done.
    page.get_by_role("link", name="Activate…").click()
    expect(page.locator("#preflight-progress")).to_be_visible()
    assert [func for func, *_ in run_queued_tasks()] == ["sync.tasks.run_preflight"]
    checks = page.locator("table.activation-checks tbody tr")
    expect(checks).to_have_count(7)
    for title in (
        "Credentials complete",
        "Connection verified live",
        "No other channel of this system on the account",
        "No other ERP connected to the account",
        "De-para complete",
        "Data compatible",
        "Flows and settings within the vendor's limits",
    ):
        expect(checks.filter(has_text=title)).to_have_count(1)
    expect(page.locator(".activation-status.block")).to_have_count(0)
    expect(page.locator("table.activation-checks")).to_contain_text("4 match an ERP SKU")

    # --- support activates ------------------------------------------------------------------
    page.click("#logout-form button[type=submit]")
    log_in(page, base, "support")
    page.goto(f"{base}/admin/channels/saleschannel/{channel.pk}/change/")
    page.get_by_role("link", name="Activate…").click()
    expect(page.locator(".activation-status.block")).to_have_count(0)
    page.click("input[type=submit][value=Activate]")
    expect(page.locator(".messagelist .success")).to_contain_text("is active on account")
    expect(page.locator(".field-status .readonly")).to_have_text("Active")
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.ACTIVE
    assert Listing.objects.filter(channel=channel).count() == 4

    # --- the first runs: Run now queues them; a worker (here: this test) runs them ---------
    page.get_by_role("link", name="Run now").click()
    page.click("input[type=submit][value='Run now']")
    expect(page.locator(".messagelist .success")).to_contain_text("queued stock, price, orders")
    ran = run_queued_tasks()
    assert sorted(flow for _func, _channel_id, flow, *_ in ran) == [
        "fulfilment",
        "orders",
        "price",
        "stock",
    ]
    assert {func for func, *_ in ran} == {"sync.tasks.run_flow"}
    first = SyncRun.objects.get(channel=channel, flow="stock")
    assert (first.state, first.done, first.total) == (RunState.SUCCEEDED, 4, 4), first.error
    for sku, on_hand in zip(store["skus"], range(10, 14), strict=True):
        remote = Listing.objects.get(channel=channel, sku=sku).external_sku_id
        assert vtex.skus[int(remote)].ref_id == sku.code  # bound to the SKU of its RefId
        assert vtex.stock_of(sku.code, "1_1") == on_hand

    page.reload()
    stock_row = page.locator("#sync-status tr.sync-flow-stock")
    expect(stock_row.locator(".sync-last-run")).to_contain_text("Succeeded")
    expect(stock_row.locator(".sync-last-run")).to_contain_text("4/4 done")
    expect(page.locator("#sync-status tr.sync-flow-price .sync-last-run")).to_contain_text(
        re.compile(r"Succeeded|Finished")
    )

    # The back office sees the same channel with its settings and de-para inlines: that page
    # is the artifact.
    page.click("#logout-form button[type=submit]")
    log_in(page, base, "backoffice")
    page.goto(f"{base}/admin/channels/saleschannel/{channel.pk}/change/")
    expect(page.locator("#sync-status tr.sync-flow-stock .sync-last-run")).to_contain_text(
        "4/4 done"
    )
    expect(page.locator("#carrierservicemapping_set-group")).to_contain_text("SEDEX 10")
    html = page.content()
    assert credentials["app_token"] not in html and credentials["app_key"] not in html
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "channel-page.png"), full_page=True)
