"""System checks for misconfiguration a user can make in the environment."""

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.utils.translation import gettext as _


@register(Tags.security, deploy=False)
def check_production_secrets(app_configs=None, **kwargs):
    errors = []
    if settings.DEBUG:
        return errors
    if not settings.FERNET_KEYS_FROM_ENV:
        errors.append(
            Error(
                _("FERNET_KEYS is not set while DEBUG is off."),
                hint=_(
                    "Set FERNET_KEYS (comma-separated, newest first) to keys kept apart from "
                    "SECRET_KEY; without them credentials would be encrypted with SECRET_KEY and "
                    "lost when it rotates."
                ),
                id="erpintegr.E001",
            )
        )
    if settings.SECRET_KEY == settings.DEV_SECRET_KEY:
        errors.append(
            Error(
                _("SECRET_KEY is the development default while DEBUG is off."),
                hint=_("Set SECRET_KEY in the environment."),
                id="erpintegr.E002",
            )
        )
    return errors


@register()
def check_q_cluster(app_configs=None, **kwargs):
    conf = settings.Q_CLUSTER
    errors = []
    if conf.get("timeout") is not None and conf.get("retry") is not None:
        if conf["timeout"] >= conf["retry"]:
            errors.append(
                Error(
                    _("Q_CLUSTER timeout (%(timeout)s s) must be smaller than retry (%(retry)s s).")
                    % {"timeout": conf["timeout"], "retry": conf["retry"]},
                    hint=_(
                        "Otherwise a long task is delivered again and runs twice at once. "
                        "Adjust Q_TIMEOUT / Q_RETRY."
                    ),
                    id="erpintegr.E003",
                )
            )
    if "orm" not in conf and "redis" not in conf:
        errors.append(
            Error(
                _("Q_CLUSTER names no broker."),
                hint=_(
                    "django-q2 would silently pick Redis; set REDIS_URL or leave the ORM default."
                ),
                id="erpintegr.E004",
            )
        )
    return errors


@register(Tags.database)
def check_lock_wait_outlasts_locked_vendor_calls(app_configs=None, **kwargs):
    """A vendor call made under the credential lock (ML's single-use token refresh) must end
    before another writer's wait for that lock does, or that writer fails with "database is
    locked" (SQLite: the lock is the whole database's)."""
    return lock_wait_errors(settings.DATABASES["default"])


def lock_wait_errors(database: dict) -> list[Error]:
    from vendors.registry import VENDORS, get_spec

    if "sqlite" not in database.get("ENGINE", ""):
        return []
    busy_timeout = float(database.get("OPTIONS", {}).get("timeout", 5))
    errors = []
    for key in VENDORS:
        spec = get_spec(key)
        if spec.locked_call_timeout is None:
            continue
        longest = sum(spec.locked_call_timeout)
        if longest >= busy_timeout:
            errors.append(
                Error(
                    _(
                        "%(vendor)s's token refresh may hold the database lock for %(longest)s s, "
                        "but other writers wait only %(wait)s s for it."
                    )
                    % {
                        "vendor": spec.label,
                        "longest": f"{longest:g}",
                        "wait": f"{busy_timeout:g}",
                    },
                    hint=_(
                        "Raise the SQLite timeout in DATABASES OPTIONS above that, or use "
                        "PostgreSQL (row locks)."
                    ),
                    id="erpintegr.E005",
                )
            )
    return errors
