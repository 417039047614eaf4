"""Activation of a large store: the preflight reads N listings in a worker while the
confirmation page answers at once; the confirmation acts on the stored result.

Three processes, as in production: the ANYMARKET emulator (seeded with N listings, two per
product) in a child process, a real `manage.py qcluster` (the embedded default: ORM broker,
one worker) on the benchmark's database, and this process, which plays the browser with
Django's test client (the whole request: middleware, admin, template). The ERP company has
the same N SKU codes, so the activation binds every listing.

Steps, each timed as the page's response time: GET the activation page (starts the
preflight), the page's status poll every second until the preflight is done, GET the page
with the result, POST the confirmation (activation against the stored result: no vendor
listing read — counted at the emulator). The preflight's own time is reported too.

ANYMARKET lists 100 SKUs per request (50 products), the fastest of the three emulators for
listings (VTEX needs one request per SKU, Mercado Livre one per 20 items). Its declared rate
(1.35 requests/s) would make 100k listings a 12-minute read bound by the vendor, so the
emulator here allows 10,000 requests/s, as the orders benchmark does.

Size: BENCH_ACTIVATION_LISTINGS (or `bench/run.py --listings N`); default 100,000, 2,000
with --quick.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bench.support import Row, fmt_int, make_company, progress

DEFAULT_LISTINGS = 100_000
QUICK_LISTINGS = 2_000
TARGET_SECONDS = 1.0
POLL_EVERY = 1.0  # as the page's script
EMULATOR_RATE = 10_000.0
ROOT = Path(__file__).resolve().parent.parent


def size(quick: bool) -> int:
    raw = os.environ.get("BENCH_ACTIVATION_LISTINGS", "").replace("_", "").replace(",", "")
    if raw:
        value = int(raw)
        if value < 2:
            raise ValueError("BENCH_ACTIVATION_LISTINGS must be at least 2.")
        return value
    return QUICK_LISTINGS if quick else DEFAULT_LISTINGS


# --- the vendor, in its own process -----------------------------------------------------------


def _serve_emulator(codes: list[str], pipe, stop) -> None:  # runs in the child
    from sandbox.anymarket import AnymarketEmulator

    emulator = AnymarketEmulator(rate=EMULATOR_RATE, burst=int(EMULATOR_RATE))
    emulator.seed_data(partner_ids=codes)
    pipe.send(emulator.start("127.0.0.1", 0))
    stop.wait()
    emulator.stop()


class EmulatorProcess:
    def __init__(self, codes: list[str]) -> None:
        from django.db import connections

        connections.close_all()  # the child is forked: it must not share our connection
        context = multiprocessing.get_context("fork")
        self.stop_event = context.Event()
        receive, send = context.Pipe(duplex=False)
        self.process = context.Process(
            target=_serve_emulator, args=(codes, send, self.stop_event), daemon=True
        )
        self.process.start()
        if not receive.poll(300):
            raise RuntimeError("The emulator did not start within 300 s.")
        self.url: str = receive.recv()

    def stats(self) -> dict:
        with urllib.request.urlopen(f"{self.url}/__emulator__/stats", timeout=10) as answer:  # noqa: S310 - loopback
            return json.loads(answer.read())["stats"]

    def listing_reads(self) -> int:
        return sum(n for route, n in self.stats().items() if route.startswith("GET ^/v2/products"))

    def close(self) -> None:
        self.stop_event.set()
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()


# --- the worker: a real qcluster --------------------------------------------------------------


class Worker:
    """`manage.py qcluster` on this database; stopped with SIGINT to its main PID only
    (shared/PITFALLS.md: SIGTERM to the whole group makes it hang)."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        env = {
            **os.environ,
            "Q_WORKERS": "1",
            "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": "INFO",
            # The preflight paces itself at the declared rate: declare the emulator's.
            "BENCH_DECLARED_RATE": f"anymarket={EMULATOR_RATE}:{int(EMULATOR_RATE)}",
        }
        self.log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
            [sys.executable, "bench/qcluster_at_rate.py"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while "running." not in self.log_path.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"qcluster did not start:\n{self.tail()}")
            time.sleep(0.1)

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)
        self.log.close()


# --- the store on our side --------------------------------------------------------------------


def _store(codes: list[str], emulator_url: str):
    """A Ready ANYMARKET channel whose settings and de-para pass the checks (a fallback row
    for every de-para kind), and the company's SKUs with the listings' codes (bulk insert)."""
    from channels.models import SalesChannel
    from channels.services import (
        channel_ensure_sync_settings,
        channel_set_credentials,
        channel_set_status,
    )
    from erp.models import (
        Carrier,
        CarrierService,
        OrderStatus,
        PaymentMethod,
        PriceList,
        Product,
        Sku,
        Warehouse,
    )
    from erp.validators import normalize_sku_code
    from mappings.models import MappingKind
    from mappings.services import mapping_create
    from sandbox.anymarket import AnymarketEmulator

    company = make_company("activation")
    channel = SalesChannel(
        company=company,
        connector="anymarket",
        name="Bench activation",
        environment="sandbox",
        api_base_url=emulator_url,
    )
    channel.full_clean()
    channel.save()
    channel_ensure_sync_settings(channel=channel)
    channel_set_credentials(channel=channel, values=AnymarketEmulator.demo_credentials())
    warehouse = Warehouse.objects.create(company=company, code="CD-ACT", name="CD activation")
    channel.warehouses.set([warehouse])
    channel.price_list = PriceList.objects.create(company=company, name="Lista activation")
    channel.save()
    channel_set_status(channel=channel, status="ready")
    carrier = Carrier.objects.create(company=company, name="Correios")
    targets = {
        MappingKind.CARRIER_SERVICE: CarrierService.objects.create(carrier=carrier, name="PAC"),
        MappingKind.PAYMENT_METHOD: PaymentMethod.objects.create(company=company, name="Pix"),
        MappingKind.ORDER_STATUS: OrderStatus.NEW,
        MappingKind.STOCK_LOCATION: warehouse,
    }
    for kind, target in targets.items():
        mapping_create(channel=channel, kind=kind, target=target, is_fallback=True)
    products = Product.objects.bulk_create(
        [Product(company=company, name=f"Produto {i}") for i in range(0, len(codes), 100)],
        batch_size=5000,
    )
    Sku.objects.bulk_create(
        [
            Sku(
                company=company,
                product=products[i // 100],
                code=code,
                code_key=normalize_sku_code(code),
            )
            for i, code in enumerate(codes)
        ],
        batch_size=5000,
    )
    return channel


def _browser():
    from django.contrib.auth.models import User
    from django.test import Client

    user = User.objects.create_superuser("bench-support", "support@example.com", "x")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    return client


def _timed(call):
    started = time.perf_counter()
    response = call()
    return response, time.perf_counter() - started


# --- the benchmark ----------------------------------------------------------------------------


def run(state, *, quick: bool = False) -> list[Row]:
    from django.conf import settings
    from django.urls import reverse

    from channels.models import ChannelStatus
    from mappings.models import Listing
    from sync.models import PreflightRun, PreflightState

    n = size(quick)
    codes = [f"PF-{i:07d}" for i in range(n)]
    progress(f"activation: seeding {fmt_int(n)} listings on the ANYMARKET emulator (own process)")
    emulator = EmulatorProcess(codes)
    worker = None
    try:
        progress(f"activation: {fmt_int(n)} ERP SKUs and a Ready channel")
        channel = _store(codes, emulator.url)
        client = _browser()
        page_url = reverse("admin:channels_saleschannel_activate", args=[channel.pk])
        status_url = reverse("admin:channels_saleschannel_activation_status", args=[channel.pk])
        # Beside the benchmark's database: removed with it, kept with --keep-db.
        log_path = Path(settings.DATABASES["default"]["NAME"]).parent / "qcluster-activation.log"
        worker = Worker(log_path)
        progress("activation: qcluster running; opening the activation page")

        started = time.monotonic()
        page, get_start = _timed(lambda: client.get(page_url, secure=True))
        if page.status_code != 200 or b"Running the checks" not in page.content:
            raise RuntimeError(f"the page did not start the preflight ({page.status_code})")
        run_id = PreflightRun.objects.filter(channel=channel).values_list("pk", flat=True).get()
        polls: list[float] = []
        status: dict = {}
        deadline = started + 3600
        while time.monotonic() < deadline:
            time.sleep(POLL_EVERY)
            answer, seconds = _timed(lambda: client.get(f"{status_url}?run={run_id}", secure=True))
            polls.append(seconds)
            status = answer.json()
            if len(polls) % 10 == 0:
                progress(
                    f"activation: {status['state']}, {fmt_int(status['done'])} listings read, "
                    f"{status['phase'] or '-'}"
                )
            if status["finished"]:
                break
        waited = time.monotonic() - started
        run_row = PreflightRun.objects.defer(*PreflightRun.HEAVY_FIELDS).get(pk=run_id)
        if run_row.state != PreflightState.DONE:
            raise RuntimeError(f"the preflight ended {run_row.state}: {run_row.error}")
        worker_seconds = (run_row.finished_at - run_row.started_at).total_seconds()

        result_page, get_result = _timed(lambda: client.get(page_url, secure=True))
        if b'value="Activate" >' not in result_page.content:
            raise RuntimeError("the result page does not offer the activation (a check blocks)")
        reads = emulator.listing_reads()
        # ANYMARKET cannot tell whether another ERP (or another channel) is on the account:
        # support types the confirmation, as on the real page. Above
        # ACTIVATION_INLINE_MAX_BINDINGS the POST hands the activation to the worker and the
        # page follows it, as it followed the preflight.
        form = {"run": run_id, "previous_erp": "none", "disconnected": "on"}
        confirmed = time.monotonic()
        confirm, post_confirm = _timed(lambda: client.post(page_url, form, secure=True))
        reads_in_post = emulator.listing_reads() - reads
        bound_in_post = Listing.objects.filter(channel=channel).count()
        if confirm.status_code != 302:
            raise RuntimeError(f"the confirmation was refused ({confirm.status_code})")
        activation_polls: list[float] = []
        while time.monotonic() < deadline:
            time.sleep(POLL_EVERY)
            answer, seconds = _timed(lambda: client.get(f"{status_url}?run={run_id}", secure=True))
            activation_polls.append(seconds)
            if answer.json()["finished"]:
                break
        activating = time.monotonic() - confirmed
        channel.refresh_from_db()
        bound = Listing.objects.filter(channel=channel).count()
        if channel.status != ChannelStatus.ACTIVE:
            message = PreflightRun.objects.values_list("confirm_message", flat=True).get(pk=run_id)
            raise RuntimeError(f"the worker did not activate: {message}")
        progress(f"activation: active, {fmt_int(bound)} bindings")
    finally:
        if worker is not None:
            worker.stop()
        emulator.close()

    def met(seconds: float) -> bool:
        return seconds < TARGET_SECONDS

    size_label = f"{fmt_int(n)} listings"
    target = f"< {TARGET_SECONDS:g} s"
    return [
        Row(
            "activation",
            f"{size_label}: page GET, starts the preflight",
            f"{get_start:.3f} s",
            target,
            met(get_start),
            {"seconds": get_start, "listings": n},
        ),
        Row(
            "activation",
            f"{size_label}: status polls (max; median) while the worker reads",
            f"{max(polls):.3f} s; {statistics.median(polls):.3f} s over {len(polls)} polls",
            target,
            met(max(polls)),
            {"max": max(polls), "median": statistics.median(polls), "polls": len(polls)},
        ),
        Row(
            "activation",
            f"{size_label}: page GET with the result",
            f"{get_result:.3f} s",
            target,
            met(get_result),
            {"seconds": get_result},
        ),
        Row(
            "activation",
            f"{size_label}: POST confirm (queues it: {reads_in_post} listing reads, "
            f"{bound_in_post} bindings in the request)",
            f"{post_confirm:.3f} s",
            target,
            # At or below ACTIVATION_INLINE_MAX_BINDINGS (--quick) the request activates.
            met(post_confirm)
            and reads_in_post == 0
            and (bound_in_post == 0 or n <= settings.ACTIVATION_INLINE_MAX_BINDINGS),
            {"seconds": post_confirm, "listing_reads": reads_in_post, "bound": bound_in_post},
        ),
        Row(
            "activation",
            f"{size_label}: status polls (max; median) while the worker activates",
            f"{max(activation_polls):.3f} s; {statistics.median(activation_polls):.3f} s over "
            f"{len(activation_polls)} polls",
            target,
            met(max(activation_polls)),
            {"max": max(activation_polls), "median": statistics.median(activation_polls)},
        ),
        Row(
            "activation",
            f"{size_label}: confirmed → active, {fmt_int(bound)} bindings (worker)",
            f"{activating:.1f} s",
            "completes",
            bound == n,
            {"seconds": activating, "bindings": bound},
        ),
        Row(
            "activation",
            f"{size_label}: preflight, queued → done (worker alone)",
            f"{waited:.1f} s ({worker_seconds:.1f} s)",
            "completes",
            status.get("state") == "done",
            {
                "seconds_page": waited,
                "seconds_worker": worker_seconds,
                "listings_per_second": n / worker_seconds if worker_seconds else None,
            },
        ),
    ]
