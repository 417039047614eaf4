"""The oversell window (issue 16): a sale on one vendor → the ERP order → the lowered stock at
the other two vendors, measured as deployed.

Processes and servers, as in production:
- the web process: Django's WSGI application served by a threaded HTTP server (wsgiref +
  ThreadingMixIn) on loopback in this process; ERPINTEGR_PUBLIC_URL points at it and each
  channel's notification URL is that + `notification_receive`'s path;
- the worker: a real `manage.py qcluster` subprocess (ORM broker) on the same SQLite file,
  with WORKERS processes (default 3, BENCH_OVERSELL_WORKERS): an event task spends its
  debounce (2 s) asleep in a worker, and one sale arms up to four of them at once (the
  seller's orders run, then a stock run per channel), so one worker would serialize them;
  three is what a small deployment runs on two cores;
- the three emulators (Mercado Livre, VTEX, ANYMARKET) in this process, each at the vendor's
  DECLARED rate and burst, each an active channel of one company, the same ERP SKUs bound on
  all three (CODES SKUs, STOCK units each, one shared warehouse), notifications configured to
  each channel's URL (VTEX: the orders hook registered by the connector, which VTEX pings).

One case per selling vendor: a sale (one unit, paid) every INTERVAL seconds for WINDOW
seconds (20 s with --quick), placed through the emulator's buyer API. Per sale:
t0 = add_order returned (the sale exists at the vendor); t1 = the ERP order's created_at
(stored by the worker); t2 = when each other vendor's emulator first shows the SKU's stock at
or below the value the sale left (polled every POLL seconds in process). Reported: p50/p95/max
of t1 − t0 and of t2 − t0 per other vendor; requests per imported order at the seller and
stock-write requests per stock value at the others (emulator request logs); 429s.

The polling-only figure (notifications off, stock not run on change: the engine before issue
16) is DERIVED, not run: at the default intervals (orders every 2 min, stock every 5 min —
each vendor spec's FlowLimits.default_interval_minutes) a sale waits uniformly for the next
orders run, then uniformly for the next stock run of each other channel; running it for real
would take many minutes per sample. Its p50/p95 are those of U(0, orders interval) +
U(0, stock interval) plus the run times measured here (a fixed-seed Monte Carlo).

Last, a flood: 1,000 ANYMARKET order notifications (distinct ids, most of them unknown) sent
to one channel's URL within about a second: what the endpoint answered, the event runs it
caused (one at a time: no two overlap) and the 429s at the vendor (ANYMARKET, 1.35 req/s).
"""

from __future__ import annotations

import json
import os
import random
import socketserver
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from bench.activation import Worker
from bench.support import Row, active_channel, make_company, progress, start_emulator

ROOT = Path(__file__).resolve().parent.parent
VENDORS = ("mercadolivre", "vtex", "anymarket")
CODES = 20
STOCK = 50
INTERVAL = 2.0  # one sale every 2 s
WINDOW, QUICK_WINDOW = 60.0, 20.0
POLL = 0.05
SETTLE_TIMEOUT = 120.0
CATCH_UP_TIMEOUT = 90.0
FLOOD = 1_000
WORKERS = int(os.environ.get("BENCH_OVERSELL_WORKERS", "3"))
ORDER_TARGET = 3.0
WINDOW_TARGET = 5.0
PAID = {"mercadolivre": "paid", "vtex": "ready-for-handling", "anymarket": "PAID_WAITING_SHIP"}
# Requests an imported order may cost at the seller (bench/order_requests.py's targets for one
# version of a paid order: the order document, its shipment / acknowledgement, the listing
# share; Mercado Livre + one billing-info read per paid order).
ORDER_REQUEST_TARGET = {"mercadolivre": 2.25, "vtex": 1.5, "anymarket": 2.5}


# --- the web process --------------------------------------------------------------------------


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 256


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args) -> None:  # noqa: A002 - the paths hold tokens
        pass


class WebServer:
    """Django's WSGI application on a threaded loopback server, in this process."""

    def __init__(self) -> None:
        from django.core.wsgi import get_wsgi_application

        application = get_wsgi_application()

        def behind_tls_proxy(environ, start_response):
            # Production serves Django behind a proxy that terminates TLS (DEBUG off:
            # SECURE_SSL_REDIRECT); this loopback server stands for both, so requests are
            # the HTTPS ones the proxy would hand on.
            environ["wsgi.url_scheme"] = "https"
            return application(environ, start_response)

        self.server = make_server(
            "127.0.0.1",
            0,
            behind_tls_proxy,
            server_class=_ThreadingWSGIServer,
            handler_class=_QuietHandler,
        )
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        host, port = self.server.server_address[:2]
        self.url = f"http://{host}:{port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class QclusterWorker(Worker):
    """`manage.py qcluster` at the vendors' declared rates (bench.activation.Worker's start
    and stop, without its rate override), WORKERS processes."""

    def __init__(self, log_path: Path) -> None:  # noqa: D107 - Worker.__init__'s, reworked
        self.log_path = log_path
        env = {
            **os.environ,
            "Q_WORKERS": str(WORKERS),
            "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": "INFO",
        }
        self.log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
            [sys.executable, "manage.py", "qcluster"],
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


# --- the store -----------------------------------------------------------------------------


def _store(n: int, web_url: str):
    """Three emulators and three active channels of one company sharing one warehouse and the
    same CODES ERP SKUs (STOCK units each), notifications pointed at each channel's URL."""
    from django.urls import reverse

    from bench.support import bind_skus
    from erp.models import Warehouse
    from mappings.models import Listing
    from sync.services.connectors import build_connector

    company = make_company(f"oversell {n}")
    emulators, channels = {}, {}
    warehouse = Warehouse.objects.create(company=company, code=f"CD-OV{n}", name="CD oversell")
    codes = [f"OV{n}-{i:02d}" for i in range(CODES)]
    skus = None
    for index, vendor in enumerate(VENDORS):
        emulator = start_emulator(vendor, 1000 + n * 10 + index)
        channel = active_channel(
            connector=vendor,
            company=company,
            credentials=emulator.credentials,
            base_url=emulator.url,
        )
        channel.warehouses.set([warehouse])
        channel.order_sweep_interval_minutes = 0
        channel.save()
        entries = emulator.seed_catalog(codes, quantity=STOCK)
        if skus is None:
            rows = [
                (
                    entry.seller_sku,
                    {
                        "seller_sku": entry.seller_sku,
                        "external_item_id": entry.item_id,
                        "external_variation_id": entry.variation_id,
                        "external_sku_id": entry.sku_id,
                    },
                )
                for entry in entries
            ]
            skus = bind_skus(channel, rows, on_hand=lambda i: STOCK)  # the shared warehouse
        else:
            listings = []
            for sku, entry in zip(skus, entries, strict=True):
                listing = Listing(
                    channel=channel,
                    sku=sku,
                    seller_sku=entry.seller_sku,
                    external_item_id=entry.item_id,
                    external_variation_id=entry.variation_id,
                    external_sku_id=entry.sku_id,
                )
                listing.normalize_keys()
                listings.append(listing)
            Listing.objects.bulk_create(listings)
        _de_para(channel, vendor)
        url = web_url + reverse("notification_receive", args=[channel.notification_token])
        if vendor == "vtex":
            connector = build_connector(channel)
            connector.configure_feed()
            connector.register_notifications(url, channel.notification_secret)  # pinged
        else:
            emulator.set_notification_callback(url)
        emulators[vendor], channels[vendor] = emulator, channel
    return emulators, channels, codes


def _de_para(channel, vendor: str) -> None:
    """The paid status mapped, and one fallback row per kind (status, carrier + service,
    payment) so no order is held (bench/order_requests.py's, with the company's carrier and
    payment method shared by its three channels)."""
    from erp.models import Carrier, CarrierService, OrderStatus, PaymentMethod
    from mappings.models import MappingKind
    from mappings.services import mapping_create

    company = channel.company
    carrier, _ = Carrier.objects.get_or_create(company=company, name="Transportadora")
    service, _ = CarrierService.objects.get_or_create(carrier=carrier, name="Padrão")
    payment, _ = PaymentMethod.objects.get_or_create(company=company, name="Pagamento")
    mapping_create(
        channel=channel, kind=MappingKind.ORDER_STATUS, code=PAID[vendor], target=OrderStatus.PAID
    )
    for kind, target in (
        (MappingKind.ORDER_STATUS, OrderStatus.PAID),
        (MappingKind.CARRIER_SERVICE, service),
        (MappingKind.PAYMENT_METHOD, payment),
    ):
        mapping_create(channel=channel, kind=kind, target=target, is_fallback=True)


def _busy(channels) -> bool:
    from django_q.models import OrmQ

    from sync.models import SyncRun

    ids = [c.pk for c in channels.values()]
    return (
        SyncRun.objects.filter(channel_id__in=ids, finished_at__isnull=True).exists()
        or OrmQ.objects.exists()
    )


def _settle(channels, quiet: float = 4.0) -> float:
    """Wait until the first scheduled runs of the new channels are done and nothing is queued
    for `quiet` seconds. Returns the seconds waited."""
    started = time.monotonic()
    calm_since = None
    while time.monotonic() - started < SETTLE_TIMEOUT:
        if _busy(channels):
            calm_since = None
        elif calm_since is None:
            calm_since = time.monotonic()
        elif time.monotonic() - calm_since >= quiet:
            break
        time.sleep(0.25)
    return time.monotonic() - started


def _pause(channels) -> None:
    from channels.services import channel_set_status

    for channel in channels.values():
        channel.refresh_from_db()
        channel_set_status(channel=channel, status="paused")


# --- measures ------------------------------------------------------------------------------


def pct(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def summary(values: list[float]) -> dict:
    if not values:
        return {"n": 0, "p50": None, "p95": None, "max": None}
    return {
        "n": len(values),
        "p50": statistics.median(values),
        "p95": pct(values, 0.95),
        "max": max(values),
    }


def fmt_summary(s: dict) -> str:
    if not s["n"]:
        return "none measured"
    return f"p50 {s['p50']:.2f} s, p95 {s['p95']:.2f} s, max {s['max']:.2f} s"


def _sell(seller: str, emulators, channels, codes, window: float) -> dict:
    """Sales at a steady rate on `seller`; t0/t1/t2 per sale."""
    from erp.models import Order
    from sync.models import RunTrigger, SyncRun

    others = [v for v in VENDORS if v != seller]
    for emulator in emulators.values():
        emulator.reset_stats()
    began = time.time()
    sold: dict[str, int] = dict.fromkeys(codes, 0)
    sales: list[dict] = []
    waiting: list[tuple[dict, str]] = []  # (sale, other vendor) whose lowered stock is unseen
    lock = threading.Lock()
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            now = time.time()
            with lock:
                pending = list(waiting)
            seen = []
            for sale, other in pending:
                if emulators[other].stock_of(sale["code"]) <= sale["expected"]:
                    sale["t2"][other] = now
                    seen.append((sale, other))
            if seen:
                with lock:
                    for item in seen:
                        waiting.remove(item)
            time.sleep(POLL)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    count = int(window / INTERVAL)
    start = time.monotonic()
    for k in range(count):
        delay = start + k * INTERVAL - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        code = codes[k % len(codes)]
        order_id = str(emulators[seller].add_order([(code, 1, "59.90")], status=PAID[seller]))
        t0 = time.time()
        sold[code] += 1
        sale = {"order": order_id, "code": code, "t0": t0, "expected": STOCK - sold[code], "t2": {}}
        with lock:
            sales.append(sale)
            waiting.extend((sale, other) for other in others)
    deadline = time.monotonic() + CATCH_UP_TIMEOUT
    while time.monotonic() < deadline:
        with lock:
            if not waiting:
                break
        time.sleep(0.2)
    stop.set()
    watcher.join(timeout=5)
    _settle(channels, quiet=3.0)
    ended = time.time()

    created = dict(
        Order.objects.filter(
            channel=channels[seller], external_id__in=[s["order"] for s in sales]
        ).values_list("external_id", "created_at")
    )
    order_latency = [
        created[s["order"]].timestamp() - s["t0"] for s in sales if s["order"] in created
    ]
    windows = {
        other: [s["t2"][other] - s["t0"] for s in sales if other in s["t2"]] for other in others
    }
    logs = {vendor: emulator.requests_log for vendor, emulator in emulators.items()}
    seller_requests = [r for r in logs[seller] if not r.stock_items]
    stock_writes = {vendor: [r for r in logs[vendor] if r.stock_items] for vendor in VENDORS}
    runs = list(
        SyncRun.objects.filter(
            channel_id__in=[c.pk for c in channels.values()],
            started_at__gte=_aware(began),
        ).values("channel_id", "flow", "trigger", "started_at", "finished_at", "requests")
    )
    by_channel = {c.pk: v for v, c in channels.items()}

    def durations(vendor, flow):
        return [
            (r["finished_at"] - r["started_at"]).total_seconds()
            for r in runs
            if by_channel[r["channel_id"]] == vendor and r["flow"] == flow and r["finished_at"]
        ]

    event_runs: dict[str, int] = {}
    for r in runs:
        if r["trigger"] == RunTrigger.EVENT:
            key = f"{by_channel[r['channel_id']]}:{r['flow']}"
            event_runs[key] = event_runs.get(key, 0) + 1
    return {
        "seller": seller,
        "sales": len(sales),
        "window_seconds": window,
        "elapsed_seconds": ended - began,
        "imported": len(created),
        "order_latency": summary(order_latency),
        "oversell_window": {other: summary(windows[other]) for other in others},
        "unseen": {other: len(sales) - len(windows[other]) for other in others},
        "seller_requests_non_stock": len(seller_requests),
        "seller_routes": dict(
            Counter(f"{r.method} {r.path.split('?')[0]}" for r in seller_requests)
        ),
        "requests_per_order": len(seller_requests) / len(created) if created else None,
        "stock_write_requests": {v: len(stock_writes[v]) for v in VENDORS},
        "stock_values_written": {v: sum(r.stock_items for r in stock_writes[v]) for v in VENDORS},
        "other_requests": {v: len([r for r in logs[v] if not r.stock_items]) for v in others},
        "status_429": {v: len([r for r in logs[v] if r.status == 429]) for v in VENDORS},
        "event_runs": event_runs,
        "scheduled_runs": len([r for r in runs if r["trigger"] != RunTrigger.EVENT]),
        "run_seconds": {
            "orders": summary(durations(seller, "orders")),
            **{f"stock {o}": summary(durations(o, "stock")) for o in others},
        },
        "notifications_sent": len(emulators[seller].notification_attempts()),
    }


def _aware(timestamp: float):
    import datetime as dt

    return dt.datetime.fromtimestamp(timestamp, tz=dt.UTC)


def polling_window(
    order_run: float,
    stock_run: float,
    orders_minutes: float,
    stock_minutes: float,
    samples: int = 200_000,
) -> dict:
    """Sale → lowered stock with polling only: wait U(0, orders interval) for the next orders
    run, its run time, then U(0, stock interval) for the other channel's next stock run and
    its run time. Fixed-seed Monte Carlo of the sum."""
    rng = random.Random(16)
    values = [
        rng.uniform(0, orders_minutes * 60)
        + order_run
        + rng.uniform(0, stock_minutes * 60)
        + stock_run
        for _ in range(samples)
    ]
    orders = [rng.uniform(0, orders_minutes * 60) + order_run for _ in range(samples)]
    return {
        "window": {
            "p50": statistics.median(values),
            "p95": pct(values, 0.95),
            "max": orders_minutes * 60 + order_run + stock_minutes * 60 + stock_run,
        },
        "order": {
            "p50": statistics.median(orders),
            "p95": pct(orders, 0.95),
            "max": orders_minutes * 60 + order_run,
        },
    }


def _flood(channel, emulator, web_url: str) -> dict:
    """FLOOD distinct ANYMARKET order notifications within about a second to one channel."""
    from django.urls import reverse

    from sync.models import RunTrigger, SyncRun

    url = web_url + reverse("notification_receive", args=[channel.notification_token])
    emulator.reset_stats()
    began = time.time()
    answers: dict[int, int] = {}
    lock = threading.Lock()
    start = time.monotonic()

    def send(k: int) -> None:
        delay = start + k / FLOOD - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        body = json.dumps({"type": "ORDER", "content": {"id": str(900_000 + k), "oi": "x"}})
        request = urllib.request.Request(  # noqa: S310 - loopback
            url, data=body.encode(), headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
                status = answer.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except OSError:
            status = 0
        with lock:
            answers[status] = answers.get(status, 0) + 1

    with ThreadPoolExecutor(max_workers=32) as pool:
        list(pool.map(send, range(FLOOD)))
    sent_in = time.monotonic() - start
    time.sleep(1.0)
    _settle({"x": channel}, quiet=4.0)
    runs = list(
        SyncRun.objects.filter(
            channel=channel, trigger=RunTrigger.EVENT, started_at__gte=_aware(began)
        )
        .order_by("started_at")
        .values_list("started_at", "finished_at")
    )
    pairs = zip(runs, runs[1:], strict=False)
    overlaps = sum(1 for (_, end), (start2, _) in pairs if end is None or start2 < end)
    log = emulator.requests_log
    return {
        "notifications": FLOOD,
        "sent_in_seconds": sent_in,
        "answers": {str(k): v for k, v in sorted(answers.items())},
        "event_runs": len(runs),
        "overlapping_runs": overlaps,
        "vendor_requests": len(log),
        "status_429": len([r for r in log if r.status == 429]),
    }


# --- the benchmark ---------------------------------------------------------------------------


def run(state, *, quick: bool = False) -> list[Row]:
    from django.conf import settings

    from vendors.registry import get_spec

    window = QUICK_WINDOW if quick else WINDOW
    sellers = ("mercadolivre",) if quick else VENDORS
    web = WebServer()
    settings.ERPINTEGR_PUBLIC_URL = web.url
    os.environ["ERPINTEGR_PUBLIC_URL"] = web.url
    log_path = Path(settings.DATABASES["default"]["NAME"]).parent / "qcluster-oversell.log"
    worker = QclusterWorker(log_path)
    progress(f"oversell: web on {web.url}, qcluster with {WORKERS} workers")
    results, flood = [], None
    try:
        for n, seller in enumerate(sellers):
            emulators, channels, codes = _store(n, web.url)
            try:
                waited = _settle(channels)
                progress(f"oversell: {seller} sells, first runs settled in {waited:.0f} s")
                result = _sell(seller, emulators, channels, codes, window)
                results.append(result)
                progress(
                    f"oversell: {seller}: {result['imported']}/{result['sales']} imported, "
                    f"order {fmt_summary(result['order_latency'])}; "
                    + "; ".join(
                        f"{o} {fmt_summary(s)}" for o, s in result["oversell_window"].items()
                    )
                )
                progress(
                    f"oversell: {seller} requests: {result['seller_routes']}; "
                    f"event runs {result['event_runs']}"
                )
                if n == len(sellers) - 1:
                    progress(f"oversell: flood of {FLOOD} notifications to ANYMARKET")
                    flood = _flood(channels["anymarket"], emulators["anymarket"], web.url)
            finally:
                _pause(channels)
                for emulator in emulators.values():
                    emulator.stop()
    finally:
        worker.stop()
        web.stop()

    rows: list[Row] = []
    for result in results:
        seller = result["seller"]
        ol = result["order_latency"]
        rows.append(
            Row(
                "oversell",
                f"{seller} sells 1 every {INTERVAL:g} s for {window:g} s: sale → ERP order "
                f"({result['imported']}/{result['sales']} imported), notifications on",
                fmt_summary(ol),
                f"p95 ≤ {ORDER_TARGET:g} s",
                ol["p95"] is not None
                and ol["p95"] <= ORDER_TARGET
                and result["imported"] == result["sales"],
                result,
            )
        )
        for other, s in result["oversell_window"].items():
            rate = get_spec(other).limits.requests_per_second
            rows.append(
                Row(
                    "oversell",
                    f"{seller} sells: sale → lowered stock at {other} ({rate:g} req/s), "
                    f"notifications on ({s['n']}/{result['sales']} seen)",
                    fmt_summary(s),
                    f"p95 ≤ {WINDOW_TARGET:g} s",
                    s["p95"] is not None
                    and s["p95"] <= WINDOW_TARGET
                    and s["n"] == result["sales"],
                    {"seller": seller, "other": other, **s},
                )
            )
        target = ORDER_REQUEST_TARGET[seller]
        per_order = result["requests_per_order"]
        writes = result["stock_write_requests"]
        values = result["stock_values_written"]
        rows.append(
            Row(
                "oversell",
                f"{seller} sells: requests per imported order at {seller}; stock-write "
                "requests / stock values at each vendor; 429s",
                (f"{per_order:.2f} requests/order; " if per_order is not None else "-; ")
                + ", ".join(f"{v} {writes[v]}/{values[v]}" for v in VENDORS)
                + f"; {sum(result['status_429'].values())} × 429",
                f"≤ {target:g} requests/order (order-requests' minimum); "
                "ML, VTEX 1 request per value; 0 × 429",
                per_order is not None
                and per_order <= target
                and writes["mercadolivre"] <= values["mercadolivre"]
                and writes["vtex"] <= values["vtex"]
                and sum(result["status_429"].values()) == 0,
                {
                    k: result[k]
                    for k in (
                        "requests_per_order",
                        "stock_write_requests",
                        "stock_values_written",
                        "status_429",
                        "event_runs",
                        "other_requests",
                        "seller_requests_non_stock",
                    )
                },
            )
        )
    # Polling only (derived): the default intervals and the run times measured above.
    for result in results:
        seller = result["seller"]
        orders_minutes = get_spec(seller).limits.flows["orders"].default_interval_minutes
        order_run = result["run_seconds"]["orders"]["p50"] or 0.0
        for other in result["oversell_window"]:
            stock_minutes = get_spec(other).limits.flows["stock"].default_interval_minutes
            stock_run = result["run_seconds"][f"stock {other}"]["p50"] or 0.0
            derived = polling_window(order_run, stock_run, orders_minutes, stock_minutes)
            w = derived["window"]
            rows.append(
                Row(
                    "oversell",
                    f"{seller} sells: sale → lowered stock at {other}, POLLING ONLY (derived: "
                    f"orders every {orders_minutes:g} min + stock every {stock_minutes:g} min "
                    "+ measured run times)",
                    f"p50 {w['p50']:.0f} s, p95 {w['p95']:.0f} s, max {w['max']:.0f} s",
                    "-",
                    None,
                    {
                        "seller": seller,
                        "other": other,
                        **derived,
                        "order_run_seconds": order_run,
                        "stock_run_seconds": stock_run,
                    },
                )
            )
        o = polling_window(order_run, 0, orders_minutes, 0)["order"]
        rows.append(
            Row(
                "oversell",
                f"{seller} sells: sale → ERP order, POLLING ONLY (derived: orders every "
                f"{orders_minutes:g} min + measured run time)",
                f"p50 {o['p50']:.0f} s, p95 {o['p95']:.0f} s, max {o['max']:.0f} s",
                "-",
                None,
                {"seller": seller, **o},
            )
        )
    if flood is not None:
        rows.append(
            Row(
                "oversell",
                f"flood: {FLOOD} ANYMARKET order notifications to one channel in "
                f"{flood['sent_in_seconds']:.1f} s",
                f"answers {flood['answers']}; {flood['event_runs']} event runs, "
                f"{flood['overlapping_runs']} overlapping; {flood['vendor_requests']} vendor "
                f"requests, {flood['status_429']} × 429",
                "one run at a time; 0 × 429",
                flood["overlapping_runs"] == 0 and flood["status_429"] == 0,
                flood,
            )
        )
    return rows
