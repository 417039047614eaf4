import json
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from django.conf import settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("vendor", ["mercadolivre", "vtex", "anymarket"])
def test_sandbox_command_serves_a_seeded_emulator_standalone(vendor):
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "sandbox",
            vendor,
            "--port",
            str(port),
            "--orders",
            "3",
            "--listings",
            "5",
            "--faults",
            '{"latency_ms": 1}',
        ],
        cwd=settings.BASE_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/__emulator__/stats") as r:
                    stats = json.loads(r.read())
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise AssertionError(process.stdout.read().decode()) from None
                time.sleep(0.2)
        assert stats["vendor"] == vendor
        assert stats["faults"]["latency_ms"] == 1
        # Strict: an unknown path gets the vendor's error, not a silent 200.
        with pytest.raises(urllib.error.HTTPError) as exc:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/no/such/path")
        assert exc.value.code in (401, 404)
    finally:
        process.terminate()
        process.wait(10)


def test_the_emulator_fixture_starts_on_a_free_port(emulator):
    first = emulator("anymarket")
    second = emulator("anymarket", account="another")
    assert first.url != second.url
    with urllib.request.urlopen(f"{first.url}/__emulator__/stats") as response:
        assert json.loads(response.read())["vendor"] == "anymarket"
