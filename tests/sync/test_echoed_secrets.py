"""A vendor that echoes our credentials in its error texts: no piece of them is kept anywhere.

For each vendor, the emulator (a real HTTP server) answers every request carrying one of the
channel's secrets (VTEX app key and token, ANYMARKET gumgaToken, Mercado Livre access token,
client secret and refresh token) with an error whose text echoes them — `token=<v>`,
`token: <v>`, `token <v>`, percent-encoded, JSON-escaped (`\\/`, `\\u00XX`), cut by the vendor
after 10 characters, and placed across the lengths at which we cut error texts (200 characters
of the vendor's sentence, 500 of its body). The real engine then tests the connection (the
admin page), runs the preflight (stored, as a worker runs it) and shows the activation page,
and runs the orders and stock flows (an auth error that suspends the channel, a validation
error on a push, an outage retried until the client gives up). Nothing may keep the secret,
encoded or not, nor 8 or more characters of it: no database row, no log record, no admin
page.
"""

from __future__ import annotations

import html
import json
import logging
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, quote_plus, unquote, unquote_plus

import pytest
from django.apps import apps
from django.urls import reverse

from channels.models import ChannelStatus, Credential, SalesChannel
from channels.services import channel_set_status
from sandbox.registry import EMULATORS
from sandbox.server import ECHO_SHAPES, json_escaped
from sync.activation.runs import preflight_run_now
from sync.models import PreflightRun, PreflightState, RunState, SyncRun
from sync.services.runs import run_flow
from tests.factories import make_channel, make_sku, make_warehouse
from tests.sync.engine import bind, set_stock
from vendors.errors import MAX_BODY_IN_ERROR
from vendors.testing import override_rate

pytestmark = pytest.mark.django_db

# Shaped like keys, with the characters that percent-encoding and JSON escaping change.
CHANNEL_SECRETS = {
    "vtex": {
        "account_name": "echostore",
        "app_key": "vtexappkey-echostore-Q7/W+3=KX",  # the account name is no secret
        "app_token": "VTXtok/9+Qz=Rw&5\"Lm<Np>Kd'Ts%Hy3Gb0Jc8FxW",
        "warehouse_id": "1_1",
    },
    "anymarket": {"gumga_token": "AMgumga/4+Wx=Ty&8\"Pq<Rs>Uv'Zn%Bc1Dk6Hm2"},
    "mercadolivre": {
        "client_id": "5503910054141466",
        "client_secret": "MLsecret/7+Jk=Lp&3\"Qr<St>Wx'Yz%Ab9Cd4",
        "refresh_token": "TG-refresh/5+Mn=Op&2\"Gh<Ij>Kl'Ef%Cd8Ab0",
    },
}
VENDORS = sorted(EMULATORS)  # a vendor without an entry above fails here
MESSAGE_CUT = 200  # vendors.http.HttpClient._vendor_message keeps this much of the sentence
FAST = {"rate": 1000, "burst": 100}


def _cases():
    """(shape, where the echoed secret starts): at the start of the vendor's sentence, or
    12 characters before the length at which we cut the sentence or the body."""
    cases = [(shape, 0) for shape in ECHO_SHAPES]
    cases += [(shape, "sentence") for shape in ("token=", "token", "percent", "json")]
    cases += [("token", "body")]
    return cases


CASES = _cases()
_NAMES = {"token=": "token-equals", "token:": "token-colon", "token": "token-space"}
CASE_IDS = [f"{_NAMES.get(shape, shape)}-at-{where}" for shape, where in CASES]


def _offset(vendor, where, status: int) -> int:
    if where == 0:
        return 0
    if where == "sentence":
        return MESSAGE_CUT - 12
    marker = "\x00MARK\x00"
    start = json.dumps(vendor.error_body(status, marker, "echo"), default=str).index(
        json.dumps(marker)[1:-1]
    )
    return MAX_BODY_IN_ERROR - 12 - start


def _json_unescape(text: str) -> str:
    text = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)
    return re.sub(r"\\(.)", r"\1", text)


def _readings(text: str) -> set[str]:
    """The text as written and as each decoding a reader could apply shows it (HTML, URL,
    JSON escapes, twice over for an escaped text quoted in another)."""
    found = {text}
    for _ in range(2):
        for value in list(found):
            found |= {
                html.unescape(value),
                unquote(value),
                unquote_plus(value),
                _json_unescape(value),
            }
    return found


def _pieces(secret: str, *, windows: bool) -> set[str]:
    """What may not appear: the secret's encoded forms, its starts of 8 characters or more
    and, for a secret made up by this test, every run of 8 of its characters."""
    forms = {secret, quote(secret, safe=""), quote_plus(secret), json_escaped(secret)}
    forms |= {json.dumps(secret)[1:-1], html.escape(secret)}
    forms |= {secret[:n] for n in range(8, len(secret))}
    if windows:
        forms |= {secret[i : i + 8] for i in range(len(secret) - 7)}
    return forms


def assert_nothing_of(secrets: dict[str, bool], texts: dict[str, str]) -> None:
    for where, text in texts.items():
        for reading in _readings(text):
            for secret, windows in secrets.items():
                for piece in _pieces(secret, windows=windows):
                    if piece in reading:
                        at = reading.index(piece)
                        raise AssertionError(
                            f"{piece!r} of a secret is in {where}: …{reading[at - 300 : at + 100]}…"
                        )


def _database_texts() -> dict[str, str]:
    """Every row of every table (credentials excepted: encrypted, and decrypted here)."""
    texts = {}
    for model in apps.get_models():
        if model is Credential:
            continue
        for row in model._default_manager.values():
            texts[f"{model._meta.label} {row.get('id', '')}"] = json.dumps(row, default=str)
    return texts


def _channel(vendor_key: str, emulator) -> tuple[SalesChannel, dict[str, bool]]:
    credentials = dict(CHANNEL_SECRETS[vendor_key])
    # A VTEX app key holds the account name, which pages show: only its starts are checked.
    secrets = {
        value: name != "app_key"
        for name, value in credentials.items()
        if name not in ("account_name", "client_id", "warehouse_id")
    }
    if vendor_key == "mercadolivre":
        # A valid access token already stored: the first call is an API call carrying it
        # (echoed, then refreshed with the client secret and refresh token, echoed too).
        access = emulator.issue_access_token()
        expires = datetime.now(UTC) + timedelta(hours=5)
        credentials |= {"access_token": access, "access_token_expires_at": expires.isoformat()}
        secrets[access] = False  # the emulator's own shape: its tail is the seller id
    channel = make_channel(
        connector=vendor_key,
        credentials=credentials,
        api_base_url=emulator.url,
        environment="sandbox",
    )
    warehouse = make_warehouse(channel.company, code=f"CD-{channel.pk}")
    channel.warehouses.set([warehouse])
    (entry,) = emulator.seed_catalog(["ECHO-1"], quantity=1)
    sku = make_sku(channel.company, code="ECHO-1")
    bind(
        channel,
        sku,
        external_item_id=entry.item_id,
        external_variation_id=entry.variation_id,
        external_sku_id=entry.sku_id,
        seller_sku=entry.seller_sku,
    )
    return channel, secrets


@pytest.mark.parametrize(("shape", "where"), CASES, ids=CASE_IDS)
@pytest.mark.parametrize("vendor_key", VENDORS)
def test_no_piece_of_an_echoed_secret_is_kept_anywhere(
    vendor_key, shape, where, emulator, admin_client, caplog
):
    caplog.set_level(logging.DEBUG)
    with override_rate(vendor_key, **FAST):
        vendor = emulator(vendor_key, credentials=CHANNEL_SECRETS[vendor_key], **FAST)
        channel, secrets = _channel(vendor_key, vendor)
        assert set(secrets) <= vendor.secrets()
        texts: dict[str, str] = {}

        # Test connection (admin page), then the preflight: refused with the echo.
        vendor.echo_secrets_in_errors(shape, status=401, offset=_offset(vendor, where, 401))
        page = admin_client.post(
            reverse("admin:channels_saleschannel_test_connection", args=[channel.pk]),
            follow=True,
        )
        assert "refused the connection" in page.content.decode()
        texts["test connection page"] = page.content.decode()
        # The preflight as a worker runs it (its result stored), then its page.
        preflight = preflight_run_now(channel=channel)
        assert preflight.state == PreflightState.DONE
        page = admin_client.get(reverse("admin:channels_saleschannel_activate", args=[channel.pk]))
        assert page.status_code == 200
        texts["activation page"] = page.content.decode()

        # An active channel whose orders run is refused: the run fails, the channel is
        # suspended with the vendor's reason.
        channel_set_status(channel=channel, status=ChannelStatus.ACTIVE)
        refused = run_flow(channel_id=channel.pk, flow="orders")
        assert refused.state == RunState.FAILED
        channel.refresh_from_db()
        assert channel.status == ChannelStatus.SUSPENDED
        assert channel.status_reason

        # A push refused item by item (422), then a vendor outage retried until given up.
        warehouse, sku = channel.warehouses.get(), channel.listings.get().sku
        for quantity, status in ((7, 422), (8, 503)):
            channel_set_status(channel=channel, status=ChannelStatus.ACTIVE)
            set_stock(warehouse, [(sku, quantity)])
            vendor.echo_secrets_in_errors(
                shape, status=status, offset=_offset(vendor, where, status)
            )
            run = run_flow(
                channel_id=channel.pk,
                flow="stock",
                connector_options={"sleep": lambda seconds: None},
            )
            assert run.state in (RunState.FAILED, RunState.PARTIAL), run.state
        assert vendor.stats["fault echo"] >= 4

    assert PreflightRun.objects.get(channel=channel).checks  # stored: searched below
    runs = SyncRun.objects.filter(channel=channel)
    assert runs.count() == 3 and all(run.error or run.detail for run in runs)
    texts.update(_database_texts())
    texts["logs"] = "\n".join(record.getMessage() for record in caplog.records)
    for run in runs:
        for url in (
            reverse("admin:sync_syncrun_change", args=[run.pk]),
            reverse("admin:sync_syncrun_changelist"),
        ):
            response = admin_client.get(url)
            assert response.status_code == 200
            texts[url] = response.content.decode()
    for url in (
        reverse("admin:channels_saleschannel_change", args=[channel.pk]),
        reverse("admin:channels_saleschannel_changelist"),
    ):
        response = admin_client.get(url)
        assert response.status_code == 200
        texts[url] = response.content.decode()
    assert_nothing_of(secrets, texts)
