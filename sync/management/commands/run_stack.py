"""`make run`: the admin, the sandbox emulators and the django-q2 worker, together.

Ctrl-C stops everything. qcluster is stopped with SIGINT to its own PID only: SIGTERM to its
whole process group makes it hang (shared/PITFALLS.md).
"""

import os
import signal
import subprocess
import sys
import time

from django.core.management.base import BaseCommand

from sandbox.registry import (
    DEFAULT_PORTS,
    EMULATORS,
    get_emulator_class,
)
from sync.demo import demo_sku_codes


class Command(BaseCommand):
    help = "Serve the admin on 127.0.0.1:8000 with the sandbox emulators and one worker."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000")
        parser.add_argument("--no-worker", action="store_true")
        parser.add_argument("--no-emulators", action="store_true")
        parser.add_argument("--orders", type=int, default=20, help="demo orders per emulator")

    def handle(self, *args, addr, no_worker, no_emulators, orders, **options):
        emulators = []
        if not no_emulators:
            for key in EMULATORS:
                emulator = get_emulator_class(key)()
                emulator.seed_demo(sku_codes=demo_sku_codes(), orders=orders)
                try:
                    emulator.start("127.0.0.1", DEFAULT_PORTS[key])
                except OSError as exc:
                    self.stderr.write(
                        f"{key} emulator not started on port {DEFAULT_PORTS[key]}: {exc}"
                    )
                    continue
                emulators.append(emulator)
                self.stdout.write(f"Sandbox {key} emulator on {emulator.url}")
        children: list[subprocess.Popen] = []
        # qcluster stops cleanly on SIGINT only; runserver on SIGTERM (SIGINT may be ignored
        # when the stack was started in the background).
        stop_signals: list[int] = []
        manage = [sys.executable, "manage.py"]
        if not no_worker:
            children.append(subprocess.Popen([*manage, "qcluster"]))
            stop_signals.append(signal.SIGINT)
            self.stdout.write("Worker (django-q2 qcluster) started")
        children.append(subprocess.Popen([*manage, "runserver", "--noreload", addr]))
        stop_signals.append(signal.SIGTERM)
        self.stdout.write(self.style.SUCCESS(f"Admin on http://{addr}/admin/  — Ctrl-C stops all"))
        # `kill <pid>` (SIGTERM) stops everything the same way Ctrl-C does.
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        try:
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            for child, stop_signal in zip(children, stop_signals, strict=True):
                if child.poll() is None:
                    os.kill(child.pid, stop_signal)
            deadline = time.monotonic() + 15
            for child in children:
                try:
                    child.wait(timeout=max(deadline - time.monotonic(), 0.1))
                except subprocess.TimeoutExpired:
                    child.kill()
            for emulator in emulators:
                emulator.stop()
            self.stdout.write("Stopped.")


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt
