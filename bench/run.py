"""Run the benchmarks and print one table: `make bench`, or

    .venv/bin/python bench/run.py [--only NAME[,NAME…]] [--quick] [--keep-db] [--output PATH]
                                  [--listings N]

Each benchmark runs the real engine (sync.services.runs.run_flow and what it calls) against
the sandbox emulators on loopback, on a throwaway SQLite file under /tmp, with DEBUG off as
in production. A full run writes bench/results.json (rows + machine); see bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import platform
import secrets
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# name -> module; run in this order (cheap first, the 1M-SKU ones last: they share a catalog).
BENCHMARKS = {
    "queries": "bench.queries",
    "orders": "bench.orders",
    "order-requests": "bench.order_requests",
    "fulfilment": "bench.fulfilment",
    "coalescing": "bench.coalescing",
    "push": "bench.push_efficiency",
    "limits": "bench.limits",
    "activation": "bench.activation",
    "oversell": "bench.oversell",
    "reconciliation": "bench.reconciliation",
    "delta": "bench.delta_cost",
    "memory": "bench.memory",
    "catalog": "bench.catalog_publish",
}
RESULTS = ROOT / "bench" / "results.json"


def configure_environment(db_path: Path) -> None:
    """Before django.setup(): a throwaway database and production-like settings. Forced,
    not defaulted: a benchmark must never write into the project's own database."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "erpintegr.settings"
    os.environ["DATABASE_URL"] = f"sqlite:///{db_path}"
    os.environ["DEBUG"] = "false"  # no per-query bookkeeping, as in production
    os.environ["SECRET_KEY"] = secrets.token_urlsafe(40)
    os.environ["FERNET_KEYS"] = secrets.token_urlsafe(32)
    os.environ["LOG_LEVEL"] = "WARNING"


def machine_info() -> dict:
    import sqlite3

    import django

    model = ""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory_mb = None
    try:
        with open("/proc/meminfo") as meminfo:
            memory_mb = int(meminfo.readline().split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return {
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_model": model,
        "memory_mb": memory_mb,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "sqlite": sqlite3.sqlite_version,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def print_table(rows) -> None:
    headers = ("benchmark", "case", "measured", "target", "met?")
    lines = [
        (r.benchmark, r.case, r.measured, r.target, {True: "yes", False: "NO", None: "-"}[r.met])
        for r in rows
    ]
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(headers)]

    def render(cells) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    print(render(headers))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for line in lines:
        print(render(line))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", help=f"comma-separated benchmarks to run: {', '.join(BENCHMARKS)}"
    )
    parser.add_argument(
        "--quick", action="store_true", help="smaller sizes and shorter windows (a smoke run)"
    )
    parser.add_argument("--keep-db", action="store_true", help="keep the SQLite file afterwards")
    parser.add_argument(
        "--output",
        help="where to write the JSON results (default: bench/results.json on a full run, "
        "nothing on --only/--quick runs)",
    )
    parser.add_argument(
        "--listings",
        type=int,
        help="listings of the store in the activation benchmark (default 100,000; 2,000 with "
        "--quick); same as BENCH_ACTIVATION_LISTINGS",
    )
    args = parser.parse_args(argv)
    if args.listings is not None:
        if args.listings < 2:
            parser.error("--listings must be at least 2")
        os.environ["BENCH_ACTIVATION_LISTINGS"] = str(args.listings)
    names = list(BENCHMARKS)
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in BENCHMARKS]
        if unknown:
            parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    full_run = not args.only and not args.quick
    output = Path(args.output) if args.output else (RESULTS if full_run else None)

    load_at_start = os.getloadavg()
    workdir = Path(tempfile.mkdtemp(prefix="erpintegr-bench-"))
    configure_environment(workdir / "bench.sqlite3")
    started = time.monotonic()

    import django
    from django.core.management import call_command

    from bench.catalog import SharedCatalog
    from bench.support import Row, progress

    django.setup()
    progress(f"database {workdir / 'bench.sqlite3'}: migrating")
    call_command("migrate", verbosity=0, interactive=False)
    state = SharedCatalog()
    rows: list[Row] = []
    failed = False
    try:
        for name in names:
            progress(f"--- {name}")
            module = importlib.import_module(BENCHMARKS[name])
            try:
                rows.extend(module.run(state, quick=args.quick))
            except Exception as exc:  # one broken benchmark must not hide the others
                failed = True
                traceback.print_exc()
                rows.append(Row(name, "crashed", f"{type(exc).__name__}: {exc}"[:120], "-", False))
    finally:
        if args.keep_db:
            progress(f"database kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    duration = time.monotonic() - started
    print()
    print_table(rows)
    load_at_end = os.getloadavg()
    if load_at_start[0] > 0.5:
        # The timings share the CPUs with whatever else runs; say so next to the numbers.
        # (Only the load before the start tells: at the end it includes this run.)
        print(
            f"\nnote: 1-min load average was {load_at_start[0]:.2f} before the start: other "
            "processes were using the CPUs, timings may be pessimistic."
        )
    print(f"\n{len(rows)} rows in {duration / 60:.1f} min", end="")
    if output is not None:
        result = {
            "machine": {
                **machine_info(),
                "load_average_start": [round(x, 2) for x in load_at_start],
                "load_average_end": [round(x, 2) for x in load_at_end],
            },
            "options": {"only": names if args.only else None, "quick": args.quick},
            "duration_seconds": round(duration, 1),
            "rows": [row.as_json() for row in rows],
        }
        output.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n")
        print(f"; results written to {output}")
    else:
        print()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
