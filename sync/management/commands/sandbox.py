"""Run one vendor emulator standalone: `manage.py sandbox mercadolivre --port 8701 …`."""

import json
import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from sandbox.registry import (
    DEFAULT_PORTS,
    EMULATORS,
    get_emulator_class,
)
from sandbox.server import Faults


class Command(BaseCommand):
    help = "Serve a sandbox emulator of a vendor API on 127.0.0.1 (Ctrl-C stops it)."

    def add_arguments(self, parser):
        parser.add_argument("vendor", choices=sorted(EMULATORS))
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, help="default: the vendor's demo port")
        parser.add_argument("--listings", type=int, default=0, help="seed N listings")
        parser.add_argument("--orders", type=int, default=0, help="seed M orders")
        parser.add_argument("--demo", action="store_true", help="seed the demo catalog's SKUs")
        parser.add_argument("--rate", type=float, help="requests/s (default: the vendor's)")
        parser.add_argument("--burst", type=int)
        parser.add_argument(
            "--faults",
            default="{}",
            help='JSON, e.g. \'{"rate_429": 0.2, "rate_5xx": 0.1, "latency_ms": 50}\'',
        )
        parser.add_argument("--seed", type=int, default=1)

    def handle(
        self,
        *args,
        vendor,
        host,
        port,
        listings,
        orders,
        demo,
        rate,
        burst,
        faults,
        seed,
        **options,
    ):
        try:
            fault_settings = Faults(**json.loads(faults))
        except (ValueError, TypeError) as exc:
            raise CommandError(f"--faults must be a JSON object of Faults fields: {exc}") from None
        emulator = get_emulator_class(vendor)(
            rate=rate, burst=burst, faults=fault_settings, seed=seed
        )
        if demo:
            from sync.demo import demo_sku_codes

            emulator.seed_demo(sku_codes=demo_sku_codes(), orders=orders)
        elif listings or orders:
            emulator.seed_data(listings=listings, orders=orders)
        url = emulator.start(host, port if port is not None else DEFAULT_PORTS[vendor])
        self.stdout.write(self.style.SUCCESS(f"{vendor} emulator on {url} — Ctrl-C stops it"))
        self.stdout.write(f"Demo credentials: {', '.join(sorted(emulator.demo_credentials()))}")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
        finally:
            emulator.stop()
