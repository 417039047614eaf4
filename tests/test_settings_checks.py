import logging

from django.utils import translation

from erpintegr.checks import check_production_secrets, check_q_cluster
from erpintegr.logging import RedactSecretsFilter
from erpintegr.redaction import redact, register_secret


def ids(errors):
    return [e.id for e in errors]


def test_production_without_fernet_keys_fails_the_system_check(settings):
    settings.DEBUG = False
    settings.FERNET_KEYS_FROM_ENV = []
    settings.SECRET_KEY = "a-real-production-secret-key-value"
    assert ids(check_production_secrets()) == ["erpintegr.E001"]


def test_production_with_dev_secret_key_fails(settings):
    settings.DEBUG = False
    settings.FERNET_KEYS_FROM_ENV = ["k"]
    settings.SECRET_KEY = settings.DEV_SECRET_KEY
    assert ids(check_production_secrets()) == ["erpintegr.E002"]


def test_production_with_keys_passes_and_debug_never_fails(settings):
    settings.DEBUG = False
    settings.FERNET_KEYS_FROM_ENV = ["k"]
    settings.SECRET_KEY = "a-real-production-secret-key-value"
    assert check_production_secrets() == []
    settings.DEBUG = True
    settings.FERNET_KEYS_FROM_ENV = []
    assert check_production_secrets() == []


def test_q_cluster_timeout_must_be_below_retry(settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "timeout": 800, "retry": 700}
    assert ids(check_q_cluster()) == ["erpintegr.E003"]
    settings.Q_CLUSTER = {"timeout": 10, "retry": 20}
    assert ids(check_q_cluster()) == ["erpintegr.E004"]


def test_default_q_cluster_is_the_orm_broker_with_explicit_retry_policy(settings):
    conf = settings.Q_CLUSTER
    assert conf["orm"] == "default" and conf["workers"] == 1
    assert conf["timeout"] < conf["retry"]
    assert conf["max_attempts"] >= 1 and conf["ack_failures"] is True
    assert check_q_cluster() == []


def test_redaction_masks_registered_secrets_and_token_shapes():
    register_secret("s3cr3t-value-42")
    text = (
        "failed with s3cr3t-value-42; Authorization: Bearer abc.def-123 "
        "refresh_token=TG-0123456789abcdef access APP_USR-987654321-xyz"
    )
    cleaned = redact(text)
    for leaked in ["s3cr3t-value-42", "abc.def-123", "TG-0123456789abcdef", "APP_USR-987654321"]:
        assert leaked not in cleaned
    assert "failed with" in cleaned


def test_log_filter_redacts_arguments_and_exception_text():
    register_secret("another-secret-777")
    record = logging.LogRecord(
        "x", logging.ERROR, __file__, 1, "token %s", ("another-secret-777",), None
    )
    try:
        raise RuntimeError("boom another-secret-777")
    except RuntimeError:
        import sys

        record.exc_info = sys.exc_info()
    RedactSecretsFilter().filter(record)
    assert "another-secret-777" not in record.getMessage()
    assert "boom" in record.getMessage()


def test_sqlite_lock_wait_must_outlast_a_token_refresh_under_the_lock(settings):
    from erpintegr.checks import check_lock_wait_outlasts_locked_vendor_calls, lock_wait_errors
    from vendors.registry import get_spec

    assert sum(get_spec("mercadolivre").locked_call_timeout) < 20
    assert check_lock_wait_outlasts_locked_vendor_calls() == []  # the shipped settings
    sqlite = {"ENGINE": "erpintegr.db.sqlite3", "OPTIONS": {"timeout": 5}}
    assert ids(lock_wait_errors(sqlite)) == ["erpintegr.E005"]
    assert lock_wait_errors({"ENGINE": "django.db.backends.postgresql"}) == []


def test_system_checks_speak_the_operators_language(settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "timeout": 800, "retry": 700}
    with translation.override("pt-br"):
        [error] = check_q_cluster()
    assert error.id == "erpintegr.E003"
    assert error.msg == "O timeout do Q_CLUSTER (800 s) deve ser menor que o retry (700 s)."
    assert "Ajuste Q_TIMEOUT / Q_RETRY" in error.hint
