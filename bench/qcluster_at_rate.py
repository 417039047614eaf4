"""`manage.py qcluster` with a vendor's declared rate raised, for the activation benchmark.

The preflight paces its calls at the vendor's declared rate (sync.services.limits), in the
worker's process; the benchmark's emulator allows far more than ANYMARKET's 1.35 requests/s
so that a 100k-listing store is read in minutes. This launcher declares the same rate in the
worker (vendors.testing.override_rate; the forked workers inherit it), from
BENCH_DECLARED_RATE="<vendor>=<rate>:<burst>". Never used by the product.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "erpintegr.settings")
    import django

    django.setup()
    from django.core.management import execute_from_command_line

    from vendors.testing import override_rate

    key, _, pace = os.environ["BENCH_DECLARED_RATE"].partition("=")
    rate, _, burst = pace.partition(":")
    with override_rate(key, rate=float(rate), burst=int(burst)):
        execute_from_command_line(["manage.py", "qcluster"])


if __name__ == "__main__":
    main()
