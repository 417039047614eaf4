"""Emulated notifications, the sending side: how long from a sale at a vendor's emulator to
its notification arriving at a receiver (issue 16). The oversell-window benchmark builds on
`sale_to_notification`: with the receiving endpoint in place, the time from the same sale to
the lowered stock at the other emulators adds the engine's part.

Each case starts the vendor's emulator and a plain local HTTP receiver (the stand-in for our
endpoint: it answers 200 at once, or after `answer_delay`), points the emulator's
notifications at it and places `sales` orders at `rate` per second. The latency of one sale
is from `add_order` returning (the sale exists at the vendor) to the first notification about
that order reaching the receiver.

    .venv/bin/python -m bench.notifications [--quick]
"""

from __future__ import annotations

import json
import statistics
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VENDORS = ("mercadolivre", "vtex", "anymarket")


def _order_named(vendor: str, body: dict) -> str | None:
    """The order id a notification is about, or None when it is about something else."""
    if vendor == "mercadolivre":
        resource = str(body.get("resource") or "")
        if body.get("topic") == "orders_v2" and resource.startswith("/orders/"):
            return resource.removeprefix("/orders/")
        return None
    if vendor == "vtex":
        return body.get("OrderId")
    if body.get("type") == "ORDER":
        return str((body.get("content") or {}).get("id"))
    return None


class _Receiver:
    """Records when each notification arrived (time.monotonic())."""

    def __init__(self, answer_delay: float = 0.0) -> None:
        self.arrivals: list[tuple[float, dict]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                arrived = time.monotonic()
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.arrivals.append((arrived, json.loads(raw or b"null")))
                if answer_delay:
                    time.sleep(answer_delay)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format, *args) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/notifications/bench/"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def sale_to_notification(
    vendor: str,
    *,
    sales: int = 100,
    rate: float = 20.0,
    answer_delay: float = 0.0,
    wait: float = 30.0,
    place: Callable | None = None,
) -> dict:
    """Place `sales` orders at `rate` per second on `vendor`'s emulator with notifications on
    and return the sale → notification-received latencies in seconds (p50, p95, max), the
    number of orders whose notification arrived, and the POSTs per order (retries included).
    `place(emulator) -> order id` places one sale (default: one unit of the seeded SKU)."""
    from sandbox.registry import get_emulator_class

    emulator = get_emulator_class(vendor)(rate=10_000, burst=10_000)
    emulator.seed_catalog(["BENCH-1"], quantity=sales * 10)
    receiver = _Receiver(answer_delay)
    emulator.start()
    try:
        # VTEX notifies the statuses its hook filters on: every order here is placed
        # ready-for-handling, the status an ERP imports.
        options = {"statuses": ["ready-for-handling"]} if vendor == "vtex" else {}
        emulator.set_notification_callback(receiver.url, **options)
        if place is None:

            def place(em):
                status = {"vtex": "ready-for-handling"}.get(vendor)
                return em.add_order([("BENCH-1", 1)], **({"status": status} if status else {}))

        sold_at: dict[str, float] = {}
        interval = 1.0 / rate
        start = time.monotonic()
        for n in range(sales):
            delay = start + n * interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            order_id = str(place(emulator))
            sold_at[order_id] = time.monotonic()
        emulator.wait_notifications(wait)
        with receiver.lock:
            arrivals = list(receiver.arrivals)
        first: dict[str, float] = {}
        for arrived, body in arrivals:
            order_id = _order_named(vendor, body)
            if order_id in sold_at and order_id not in first:
                first[order_id] = arrived
        latencies = [first[o] - sold_at[o] for o in first]
        posts = len(emulator.notification_attempts())
        return {
            "vendor": vendor,
            "sales": sales,
            "rate": rate,
            "delivered": len(latencies),
            "p50": statistics.median(latencies) if latencies else None,
            "p95": _percentile(latencies, 0.95) if latencies else None,
            "max": max(latencies) if latencies else None,
            "posts_per_sale": posts / sales if sales else 0.0,
        }
    finally:
        emulator.stop()
        receiver.stop()


def run(state, *, quick: bool) -> list:
    """Rows for bench/run.py (not registered there yet: the oversell-window benchmark that
    needs the receiving side will sit next to it)."""
    from bench.support import Row

    rows = []
    for vendor in VENDORS:
        result = sale_to_notification(vendor, sales=30 if quick else 200, rate=20.0)
        rows.append(
            Row(
                "notifications",
                f"{vendor}: sale → notification received",
                f"p50 {result['p50'] * 1000:.1f} ms, p95 {result['p95'] * 1000:.1f} ms, "
                f"max {result['max'] * 1000:.1f} ms ({result['delivered']}/{result['sales']})",
                "",
                None,
                result,
            )
        )
    return rows


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    for vendor in VENDORS:
        print(json.dumps(sale_to_notification(vendor, sales=30 if quick else 200, rate=20.0)))
