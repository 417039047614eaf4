"""`make run`: the admin, the sandbox emulators and the django-q2 worker, together.

The emulators start first (one per demo channel, `sync.demo.DEMO_CHANNELS`); then the demo's
live channels go live (`sync.demo.demo_go_live`: de-para filled, activated — idempotent) and
the ANYMARKET emulator gets the order the de-para cannot translate; then the worker and the
admin start, so orders, stock and prices move within the first minute. Once the admin
answers, each emulator's notifications are pointed at its channel's URL
(`sync.demo.demo_connect_notifications`; ERPINTEGR_PUBLIC_URL defaults to the admin's
address here), so a sale on one emulator lowers the stock on the others within seconds.

Ctrl-C stops everything. qcluster is stopped with SIGINT to its own PID only: SIGTERM to its
whole process group makes it hang (shared/PITFALLS.md).
"""

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from sync.demo import (
    DEMO_CHANNELS,
    HELD_ORDER_CHANNEL,
    demo_connect_notifications,
    demo_emulator,
    demo_go_live,
    demo_place_held_order,
)


class Command(BaseCommand):
    help = "Serve the admin on 127.0.0.1:8000 with the sandbox emulators and one worker."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000")
        parser.add_argument("--no-worker", action="store_true")
        parser.add_argument("--no-emulators", action="store_true")
        parser.add_argument(
            "--no-go-live",
            action="store_true",
            help="leave the demo channels as they are (no de-para fill, no activation)",
        )
        parser.add_argument(
            "--orders",
            type=int,
            default=None,
            help="orders each emulator starts with (default: the demo channel's own)",
        )

    def handle(self, *args, addr, no_worker, no_emulators, no_go_live, orders, **options):
        emulators = {}
        if not no_emulators:
            for demo in DEMO_CHANNELS:
                emulator = demo_emulator(demo, orders=orders)
                try:
                    emulator.start("127.0.0.1", demo.port)
                except OSError as exc:
                    self.stderr.write(
                        _("%(channel)s: emulator not started on port %(port)s: %(error)s")
                        % {"channel": demo.name, "port": demo.port, "error": exc}
                    )
                    continue
                emulators[demo.key] = emulator
                self.stdout.write(
                    _("Sandbox emulator of “%(channel)s” on %(url)s")
                    % {"channel": demo.name, "url": emulator.url}
                )
        if emulators and not no_go_live:
            self._go_live(emulators)
        if not settings.ERPINTEGR_PUBLIC_URL:
            # The vendors (here the emulators, on this machine) reach the admin's address.
            settings.ERPINTEGR_PUBLIC_URL = f"http://{addr}"
            os.environ["ERPINTEGR_PUBLIC_URL"] = settings.ERPINTEGR_PUBLIC_URL
        children: list[subprocess.Popen] = []
        # qcluster stops cleanly on SIGINT only; runserver on SIGTERM (SIGINT may be ignored
        # when the stack was started in the background).
        stop_signals: list[int] = []
        manage = [sys.executable, "manage.py"]
        if not no_worker:
            children.append(subprocess.Popen([*manage, "qcluster"]))
            stop_signals.append(signal.SIGINT)
            self.stdout.write(_("Worker (django-q2 qcluster) started"))
        children.append(subprocess.Popen([*manage, "runserver", "--noreload", addr]))
        stop_signals.append(signal.SIGTERM)
        self.stdout.write(
            self.style.SUCCESS(
                _("Admin on http://%(addr)s/admin/  — Ctrl-C stops all") % {"addr": addr}
            )
        )
        # `kill <pid>` (SIGTERM) stops everything the same way Ctrl-C does.
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        try:
            if emulators and _answering(f"http://{addr}/admin/login/", children):
                for line in demo_connect_notifications(emulators):
                    self.stdout.write(line)
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
            for emulator in emulators.values():
                emulator.stop()
            self.stdout.write(_("Stopped."))

    def _go_live(self, emulators: dict) -> None:
        self.stdout.write(_("Demo go-live: filling the de-para and activating the channels…"))
        for step in demo_go_live(only=set(emulators)):
            if step.failed:
                self.stderr.write(self.style.WARNING(step.message))
            elif step.activated:
                filled = _("de-para rows filled: %(count)d") % {"count": step.rows_created}
                self.stdout.write(self.style.SUCCESS(f"{step.message} ({filled})"))
            else:
                self.stdout.write(step.message)
        if HELD_ORDER_CHANNEL in emulators:
            order_id = demo_place_held_order(emulators[HELD_ORDER_CHANNEL])
            self.stdout.write(
                _(
                    "ANYMARKET order %(order)s ships with carrier “ECT”: with no de-para row "
                    "for ECT it is held until you add Correios / SEDEX 10 = ECT on the channel."
                )
                % {"order": order_id}
            )


def _answering(url: str, children: list, seconds: float = 30) -> bool:
    """Wait until the admin answers (runserver takes a few seconds to start)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and all(c.poll() is None for c in children):
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own address
                return True
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    return False


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt
