"""Real `manage.py qcluster` processes for end-to-end tests, bound to the test database.

A child is a separate interpreter that builds its settings from the environment, so it gets
DATABASE_URL pointing at the database pytest-django created (on SQLite the per-process file,
on PostgreSQL test_<name>) and inherits REDIS_URL: without it both sides use the ORM broker on
that database, with it both use the same Redis list. Tasks enqueued here with async_task()
are therefore the ones the children run. The tests need @pytest.mark.django_db(transaction=True)
so what they write is committed and visible to the children.

Stopping follows shared/PITFALLS.md: SIGINT to the main PID (SIGTERM to the whole process group
makes qcluster hang); a crash is SIGKILL to the whole group (main, sentinel, workers).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from urllib.parse import quote

from django.db import connection

BASE_DIR = Path(__file__).resolve().parents[2]
READY_LINE = "running."  # "Q Cluster <name> [<queue>] running." once the workers are up


def child_database_url() -> str:
    """DATABASE_URL of the database this test process is using right now (the test DB)."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        name = str(settings["NAME"])
        if not name or name == ":memory:" or name.startswith("file:"):
            raise RuntimeError(
                f"The test database {name!r} is not a file another process can open; the "
                "end-to-end tests need the per-process SQLite file of erpintegr.settings."
            )
        return f"sqlite:///{Path(name).resolve()}"  # absolute path: sqlite:////tmp/…
    if connection.vendor == "postgresql":
        user = quote(settings.get("USER") or "", safe="")
        password = quote(settings.get("PASSWORD") or "", safe="")
        auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        host = settings.get("HOST") or "127.0.0.1"
        port = f":{settings['PORT']}" if settings.get("PORT") else ""
        return f"postgres://{auth}{host}{port}/{quote(settings['NAME'], safe='')}"
    raise RuntimeError(f"No child DATABASE_URL for database vendor {connection.vendor!r}.")


class QCluster:
    """One `manage.py qcluster` child with its own log file."""

    def __init__(self, name: str, log_dir: Path, *, workers: int = 2, env: dict | None = None):
        self.name = name
        self.workers = workers
        self.extra_env = dict(env or {})
        self.log_path = Path(log_dir) / f"qcluster-{name}.log"
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self, *, ready_timeout: float = 60) -> QCluster:
        assert not self.alive, f"qcluster {self.name} is already running"
        env = {
            **os.environ,
            "DATABASE_URL": child_database_url(),
            "Q_WORKERS": str(self.workers),
            "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": "INFO",
            **self.extra_env,
        }
        self._ready_before = self.log().count(READY_LINE)
        with open(self.log_path, "ab") as log:
            log.write(f"\n--- start #{self.starts + 1} of qcluster {self.name} ---\n".encode())
            log.flush()
            self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
                [sys.executable, "manage.py", "qcluster"],
                cwd=BASE_DIR,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: the crash kills all of it
            )
        self.starts += 1
        wait_for(
            lambda: self.log().count(READY_LINE) > self._ready_before,
            timeout=ready_timeout,
            what=f"qcluster {self.name} to report it is running",
            clusters=[self],
        )
        return self

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, *, timeout: float = 60) -> None:
        """Graceful stop: SIGINT to the main PID only; workers finish their task first."""
        if not self.alive:
            return
        os.kill(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(
                f"qcluster {self.name} did not stop within {timeout:.0f} s of SIGINT; it was "
                f"killed.\n{self.tail()}"
            ) from None

    def kill(self) -> None:
        """The crash: SIGKILL to the whole process group, then wait until it is gone."""
        if self.proc is None:
            return
        pgid = self.proc.pid  # start_new_session: the group id is the main PID
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=30)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, 0)  # raises once no process of the group is left
            except ProcessLookupError:
                return
            time.sleep(0.05)
        raise AssertionError(f"processes of qcluster {self.name} survived SIGKILL")

    # --- what it said ------------------------------------------------------------------------
    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def tail(self, lines: int = 40) -> str:
        text = "\n".join(self.log().splitlines()[-lines:])
        state = "running" if self.alive else f"exited {self.proc.returncode if self.proc else '-'}"
        return f"--- last {lines} lines of {self.log_path} ({state}) ---\n{text}"

    def tasks_processed(self, func: str = "sync.tasks.run_flow") -> int:
        """How many tasks of `func` its workers picked up (django-q2's "processing" lines)."""
        return sum(1 for line in self.log().splitlines() if "processing" in line and func in line)


def wait_for(
    condition: Callable[[], object],
    *,
    timeout: float,
    what: str,
    state: Callable[[], object] | None = None,
    clusters: Iterable[QCluster] = (),
    tick: Callable[[], None] | None = None,
    interval: float = 0.2,
):
    """Poll `condition` until it is truthy (and return it). On timeout, or when a cluster dies
    meanwhile, fail with what was awaited, the last `state()` and the clusters' log tails."""
    clusters = list(clusters)
    deadline = time.monotonic() + timeout
    while True:
        if tick is not None:
            tick()
        value = condition()
        if value:
            return value
        dead = [c for c in clusters if c.proc is not None and not c.alive]
        if dead or time.monotonic() > deadline:
            reason = (
                f"qcluster {', '.join(c.name for c in dead)} exited"
                if dead
                else f"timed out after {timeout:.0f} s"
            )
            details = [f"Waiting for {what}: {reason}."]
            if state is not None:
                details.append(f"Last state: {state()}")
            details.extend(c.tail() for c in clusters)
            raise AssertionError("\n".join(details))
        time.sleep(interval)


class TaskFeeder:
    """Keeps run_flow tasks queued for the given (channel id, flow) pairs, as the schedules
    would, but without waiting for the scheduler's ~30 s wake-up. A new round is enqueued only
    when the broker's queue is nearly empty, so skipped runs don't pile up."""

    def __init__(self, pairs: Iterable[tuple[int, str]], *, low_water: int = 2, every: float = 0.3):
        from django_q.brokers import get_broker

        self.pairs = list(pairs)
        self.low_water = low_water
        self.every = every
        self.broker = get_broker()
        self.enqueued = 0
        self._last = 0.0

    def round(self, times: int = 1) -> None:
        from django_q.tasks import async_task

        for _ in range(times):
            for channel_id, flow in self.pairs:
                async_task("sync.tasks.run_flow", channel_id, flow, broker=self.broker)
                self.enqueued += 1

    def tick(self) -> None:
        now = time.monotonic()
        if now - self._last < self.every:
            return
        self._last = now
        if self.broker.queue_size() < self.low_water:
            self.round()

    def purge(self) -> None:
        self.broker.purge_queue()
