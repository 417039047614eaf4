"""Production refuses to start unsafely, under every entry point (not only manage.py).

Each case runs in a fresh interpreter with a clean environment: settings are read once at import,
so only a new process shows what gunicorn, qcluster or manage.py would do."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "FERNET_KEYS": Fernet.generate_key().decode(),
    "ALLOWED_HOSTS": "erp.example.com",
}


def run(args: list[str], **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    clean["DATABASE_URL"] = "sqlite:////tmp/erpintegr-production-settings-test.sqlite3"
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True
    )


WSGI = ["-c", "import erpintegr.wsgi"]
ASGI = ["-c", "import erpintegr.asgi"]
MANAGE = ["manage.py", "check"]


@pytest.mark.parametrize("entry", [WSGI, ASGI, MANAGE], ids=["wsgi", "asgi", "manage.py"])
@pytest.mark.parametrize(
    "missing",
    [
        {"SECRET_KEY": None, "FERNET_KEYS": None},
        {"SECRET_KEY": "django-insecure-erpintegr-dev-only-key"},
        {"FERNET_KEYS": None},
        {"FERNET_KEYS": "same-as-secret"},
    ],
    ids=["nothing-set", "dev-secret-key", "no-fernet-keys", "fernet-key-is-secret-key"],
)
def test_debug_off_without_real_secrets_refuses_to_start(entry, missing):
    env = dict(PRODUCTION)
    for name, value in missing.items():
        if value is None:
            env.pop(name)
        elif value == "same-as-secret":
            env[name] = env["SECRET_KEY"]
        else:
            env[name] = value
    result = run(entry, **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    # The refusal names what to set, and never echoes a secret it was given.
    assert ("SECRET_KEY" in result.stderr) or ("FERNET_KEYS" in result.stderr)
    assert PRODUCTION["SECRET_KEY"] not in result.stderr
    assert PRODUCTION["FERNET_KEYS"] not in result.stderr


@pytest.mark.parametrize("entry", [WSGI, ASGI], ids=["wsgi", "asgi"])
def test_with_real_secrets_production_starts(entry):
    result = run(entry, **PRODUCTION)
    assert result.returncode == 0, result.stderr


def test_deploy_check_is_clean_with_production_environment():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_behind_a_proxy_the_forwarded_proto_header_is_trusted_only_when_configured():
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.SECURE_PROXY_SSL_HEADER, settings.SECURE_HSTS_SECONDS, "
        "settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE)"
    )
    plain = run(["-c", code], DJANGO_SETTINGS_MODULE="erpintegr.settings", **PRODUCTION)
    assert plain.stdout.split() == ["None", "31536000", "True", "True"], plain.stderr
    proxied = run(
        ["-c", code],
        DJANGO_SETTINGS_MODULE="erpintegr.settings",
        SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https",
        **PRODUCTION,
    )
    assert proxied.stdout.split()[:2] == ["('HTTP_X_FORWARDED_PROTO',", "'https')"], proxied.stderr


def test_nothing_set_runs_the_embedded_default():
    # `make run` with no environment: DEBUG on, the development key allowed.
    result = run(["manage.py", "check"])
    assert result.returncode == 0, result.stderr
