"""Memory: peak resident memory of a worker process while the push engine works through 1M
pending SKUs (a full resync of a 1M-SKU channel).

The parent marks every binding pending with the engine's own full resync, then starts a
fresh process (python -m bench.memory) that calls run_flow until nothing is pending, at
the flow's maximum batch size, with a connector that accepts every item without HTTP (the
vendor's side is not what this measures). Its VmHWM is the figure: a process of its own so
the numbers of the other benchmarks, and the catalog building, stay out of it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bench.support import Row, fmt_int, progress

ROOT = Path(__file__).resolve().parent.parent
TARGET_MB = 250
RESULT_PREFIX = "RESULT "


def run(state, *, quick: bool) -> list[Row]:
    from sync.services.pending import pending_full_resync

    size = 100_000 if quick else 1_000_000
    channel = state.big_channel()
    progress(f"memory: catalog of {fmt_int(size)} SKUs")
    state.ensure_catalog(size)
    started = time.monotonic()
    marked = pending_full_resync(channel=channel).get("stock", 0)
    resync_seconds = time.monotonic() - started
    progress(
        f"memory: full resync marked {fmt_int(marked)} bindings pending in "
        f"{resync_seconds:.1f} s; worker process starts"
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "bench.memory", str(channel.pk)],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        text=True,
    )
    result = None
    assert worker.stdout is not None
    for line in worker.stdout:
        if line.startswith(RESULT_PREFIX):
            result = json.loads(line[len(RESULT_PREFIX) :])
        else:
            print(line, end="", flush=True)
    if worker.wait() != 0 or result is None:
        raise RuntimeError(f"memory worker failed (exit {worker.returncode})")
    label = "1M" if size == 1_000_000 else f"{size // 1000}k"
    peak = result["peak_rss_mb"]
    return [
        Row(
            "Memory",
            f"peak RSS, push of {label} pending SKUs "
            f"({result['runs']} runs × {fmt_int(result['batch_size'])})",
            f"{peak:.0f} MB (at start {result['start_rss_mb']:.0f} MB)",
            f"≤ {TARGET_MB} MB",
            peak <= TARGET_MB,
            {**result, "resync_seconds": resync_seconds, "marked": marked},
        ),
        Row(
            "Memory",
            f"time: full resync marks {label} + worker pushes them (no HTTP)",
            f"{resync_seconds:.1f} s + {result['seconds']:.1f} s "
            f"({fmt_int(result['items'] / result['seconds'])} items/s)",
            "-",
            None,
        ),
    ]


def worker(channel_id: int) -> None:
    import django

    django.setup()
    from bench.support import no_http_connectors, peak_rss_mb, rss_mb
    from channels.models import SyncSetting
    from sync.models import PendingChange, RunState, RunTrigger
    from sync.services.runs import run_flow

    start_rss = rss_mb()
    batch_size = SyncSetting.objects.get(channel_id=channel_id, flow="stock").batch_size
    pending = PendingChange.objects.filter(channel_id=channel_id, flow="stock")
    total = pending.count()
    runs = items = 0
    started = time.monotonic()
    with no_http_connectors() as built:
        while pending.exists():
            run = run_flow(channel_id=channel_id, flow="stock", trigger=RunTrigger.COMMAND)
            if run is None or run.state != RunState.SUCCEEDED:
                raise SystemExit(f"run failed: {getattr(run, 'error', 'no run')}")
            runs += 1
            items += built[-1].items
            if runs % 40 == 0:
                print(
                    f"[worker] {fmt_int(items)} of {fmt_int(total)} pushed, "
                    f"RSS {rss_mb():.0f} MB, peak {peak_rss_mb():.0f} MB",
                    flush=True,
                )
    seconds = time.monotonic() - started
    print(
        RESULT_PREFIX
        + json.dumps(
            {
                "peak_rss_mb": round(peak_rss_mb(), 1),
                "start_rss_mb": round(start_rss, 1),
                "end_rss_mb": round(rss_mb(), 1),
                "runs": runs,
                "items": items,
                "pending_at_start": total,
                "batch_size": batch_size,
                "seconds": round(seconds, 1),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(worker(int(sys.argv[1])))
