"""The channel page in a real browser (headless Debian Chromium driven by Playwright).

One walk through what the back office and support do: open CRM › Sales channels, create a VTEX
channel pointing at the emulator, type its credentials, add a carrier de-para row inline, test
the connection, read the activation checks (run by a worker while the page shows their
progress), activate as support, run the flows and see the first runs on the panel.

The walk runs twice: in pt-BR (the product's language; it saves the screenshots the README
shows, docs/screenshots/) and in English, each browser asking for its language through
Accept-Language (Playwright's `locale`). The words each page shows are in `Words`, one
instance per language (`PORTUGUESE`, `ENGLISH`): pages still English in both languages are
reached through language-neutral selectors (URLs, CSS classes), so translating them only adds
fields there.

The live server and the emulator run in this process; no qcluster runs, so the tasks the
"Run now" button queued are taken from django-q2's ORM queue and run here.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.urls import reverse
from django.utils import translation
from django.utils.module_loading import import_string
from django_q.models import OrmQ
from playwright.sync_api import Browser, Page, expect

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

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
# Committed and shown in README.md: deterministic names, one fixed viewport (small PNGs).
SCREENSHOTS = ROOT / "docs" / "screenshots"
VIEWPORT = {"width": 1440, "height": 900}
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


@dataclass(frozen=True)
class Words:
    """What the user reads in one language, on the pages the walk asserts texts of."""

    locale: str  # the browser's (Accept-Language)
    html_lang: str  # <html lang> the admin answers with
    crm: str
    sales_channels: str
    add_channel: str
    added: str
    changed: str
    authentication: str
    test_connection: str
    test_now: str
    connected: str  # {account}
    activate_link: str
    activate_button: str
    running: str
    titles: tuple[str, ...]
    matched: str
    passed: str
    active_message: str
    active: str


PORTUGUESE = Words(
    locale="pt-BR",
    html_lang="pt-br",
    crm="CRM",
    sales_channels="Canais de venda",
    add_channel="Adicionar canal de venda",
    added="foi adicionado com sucesso",
    changed="foi alterado com sucesso",
    authentication="Configuração de integração — Autenticação",
    test_connection="Testar conexão",
    test_now="Testar a conexão agora",
    connected="Conectado a VTEX: conta {account}",
    activate_link="Ativar…",
    activate_button="Ativar",
    running="Executando as verificações…",
    titles=(
        "Credenciais completas",
        "Conexão verificada ao vivo",
        "Nenhum outro canal deste sistema na conta",
        "Nenhum outro ERP conectado à conta",
        "De-para completo",
        "Dados compatíveis",
        "Fluxos e configurações dentro dos limites do fornecedor",
        "Publicação do catálogo",
    ),
    matched="4 correspondem a um SKU do ERP",
    passed="✔ aprovada",
    active_message="está ativo na conta",
    active="Ativo",
)
ENGLISH = Words(
    locale="en-US",
    html_lang="en",
    crm="CRM",
    sales_channels="Sales channels",
    add_channel="Add sales channel",
    added="was added successfully",
    changed="was changed successfully",
    authentication="Integration configuration — Authentication",
    test_connection="Test connection",
    test_now="Test connection now",
    connected="Connected to VTEX: account {account}",
    activate_link="Activate…",
    activate_button="Activate",
    running="Running the checks…",
    titles=(
        "Credentials complete",
        "Connection verified live",
        "No other channel of this system on the account",
        "No other ERP connected to the account",
        "De-para complete",
        "Data compatible",
        "Flows and settings within the vendor's limits",
        "Catalog publishing",
    ),
    matched="4 match an ERP SKU",
    passed="✔ pass",
    active_message="is active on account",
    active="Active",
)


def screenshot(page: Page, words: Words, name: str) -> None:
    """The pt-BR pages the README shows (the viewport only: a fixed size, a small file), with
    the admin's navigation sidebar folded so the page itself has the width."""
    if words is not PORTUGUESE:
        return
    if page.locator("#nav-sidebar").is_visible():
        page.click("#toggle-nav-sidebar")  # remembered by the browser for the next pages
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-pt-br.png"))


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("words", [PORTUGUESE, ENGLISH], ids=["pt-BR", "en"])
def test_back_office_and_support_switch_a_vtex_channel_on(
    browser: Browser, live_server, store, words: Words
):
    vtex, company = store["vtex"], store["company"]
    credentials = type(vtex).demo_credentials()
    secrets = (credentials["app_token"], credentials["app_key"])
    base = live_server.url
    context = browser.new_context(locale=words.locale, viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(15_000)

    # --- back office: CRM › Sales channels, create the channel with its credentials ---------
    log_in(page, base, "backoffice")
    expect(page.locator("html")).to_have_attribute("lang", words.html_lang)
    crm = page.locator("#content-main .app-channels")
    expect(crm.locator("caption")).to_contain_text(words.crm)
    crm.get_by_role("link", name=words.sales_channels, exact=True).click()
    expect(page.locator(".breadcrumbs")).to_contain_text(words.crm)
    page.get_by_role("link", name=words.add_channel).click()
    page.fill("#id_name", "Loja VTEX (navegador)")
    page.select_option("#id_connector", "vtex")
    # The add page lists every connector's authentication fields; only VTEX's show now.
    expect(page.locator("#id_cred__vtex__app_token")).to_be_visible()
    expect(page.locator("#id_cred__anymarket__gumga_token")).to_be_hidden()
    expect(page.locator("#content-main")).to_contain_text(words.authentication)
    autocomplete(page, ".field-company", "Navegador", "Loja Navegador")
    page.select_option("#id_environment", "sandbox")
    autocomplete(page, ".field-price_list", "Navegador", "Varejo Navegador")
    page.select_option("#id_warehouses_from", label="CD-NAV — CD Navegador")
    page.click("#id_warehouses_add")
    page.fill("#id_api_base_url", vtex.url)
    for name, value in credentials.items():
        page.fill(f"#id_cred__vtex__{name}", value)
    page.click("input[name=_continue]")
    expect(page.locator(".messagelist .success")).to_contain_text(words.added)
    channel = SalesChannel.objects.get(name="Loja VTEX (navegador)")
    assert (channel.connector, channel.environment, channel.company) == ("vtex", "sandbox", company)
    # Write-only secrets: stored, never sent back to the browser.
    html = page.content()
    assert not [secret for secret in secrets if secret in html]

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
    expect(page.locator(".messagelist .success")).to_contain_text(words.changed)
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
    page.get_by_role("link", name=words.test_connection, exact=True).click()
    page.click(f"input[type=submit][value='{words.test_now}']")
    expect(page.locator(".messagelist .success")).to_contain_text(
        words.connected.format(account=credentials["account_name"])
    )
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.READY

    # --- the activation page lists its checks (the back office may look, not activate) -----
    # A worker runs them (here: this test); the page shows its progress bar meanwhile, then
    # the checks once its poll sees them done.
    page.get_by_role("link", name=words.activate_link).click()
    expect(page.locator("#preflight-progress")).to_be_visible()
    expect(page.locator("#preflight-progress h2")).to_have_text(words.running)
    assert [func for func, *_ in run_queued_tasks()] == ["sync.tasks.run_preflight"]
    checks = page.locator("table.activation-checks tbody tr")
    expect(checks).to_have_count(len(words.titles))
    for title in words.titles:
        expect(checks.filter(has_text=title)).to_have_count(1)
    expect(page.locator(".activation-status.block")).to_have_count(0)
    expect(page.locator("table.activation-checks")).to_contain_text(words.matched)

    # --- support activates ------------------------------------------------------------------
    page.click("#logout-form button[type=submit]")
    log_in(page, base, "support")
    page.goto(f"{base}/admin/channels/saleschannel/{channel.pk}/change/")
    page.get_by_role("link", name=words.activate_link).click()
    expect(page.locator(".activation-status.block")).to_have_count(0)
    expect(page.locator(".activation-status.pass").first).to_have_text(words.passed)
    activate = page.locator(f"input[type=submit][value='{words.activate_button}']")
    expect(activate).to_be_enabled()
    assert not [secret for secret in secrets if secret in page.content()]
    screenshot(page, words, "activation-page")
    activate.click()
    expect(page.locator(".messagelist .success")).to_contain_text(words.active_message)
    expect(page.locator(".field-status .readonly")).to_have_text(words.active)
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.ACTIVE
    assert Listing.objects.filter(channel=channel).count() == 4

    # --- the first runs: Run now queues them; a worker (here: this test) runs them ---------
    # Run now and the sync panel belong to the sync engine's pages: reached by URL and CSS.
    run_now = reverse("admin:sync_channel_run_now", args=[channel.pk])
    page.locator(f"a[href='{run_now}']").click()
    page.click("#content-main form input[type=submit]")
    expect(page.locator(".messagelist .success")).to_be_visible()
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
    price = SyncRun.objects.get(channel=channel, flow="price")
    assert price.state in (RunState.SUCCEEDED, RunState.PARTIAL), price.error
    with translation.override(words.html_lang):  # the run states as the page names them
        shown = {run.flow: str(run.get_state_display()) for run in (first, price)}
    stock_row = page.locator("#sync-status tr.sync-flow-stock")
    expect(stock_row.locator(".sync-last-run")).to_contain_text(shown["stock"])
    expect(stock_row.locator(".sync-last-run")).to_contain_text(re.compile(r"\b4/4\b"))
    expect(page.locator("#sync-status tr.sync-flow-price .sync-last-run")).to_contain_text(
        shown["price"]
    )

    # The back office sees the same channel with its settings and de-para inlines: that page
    # is the artifact (and, in pt-BR, the README's screenshot: no secret on it).
    page.click("#logout-form button[type=submit]")
    log_in(page, base, "backoffice")
    page.goto(f"{base}/admin/channels/saleschannel/{channel.pk}/change/")
    expect(page.locator("#sync-status tr.sync-flow-stock .sync-last-run")).to_contain_text(
        re.compile(r"\b4/4\b")
    )
    expect(page.locator("#carrierservicemapping_set-group")).to_contain_text("SEDEX 10")
    expect(page.locator(".breadcrumbs")).to_contain_text(words.sales_channels)
    expect(page.locator("#content-main")).to_contain_text(words.authentication)
    html = page.content()
    assert not [secret for secret in secrets if secret in html]
    for name in ("app_key", "app_token"):  # write-only: no secret shows in the picture
        assert page.locator(f"#id_cred__vtex__{name}").input_value() == ""
    screenshot(page, words, "channel-page")
    # The authentication group: the stored keys are write-only (the fields above are empty).
    page.locator("fieldset", has_text=words.authentication).first.evaluate(
        "element => element.scrollIntoView()"
    )
    screenshot(page, words, "channel-authentication")
    page.evaluate("window.scrollTo(0, 0)")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"channel-page-{words.locale}.png"), full_page=True)
    context.close()
