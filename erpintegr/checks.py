"""System checks for misconfiguration a user can make in the environment."""

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=False)
def check_production_secrets(app_configs=None, **kwargs):
    errors = []
    if settings.DEBUG:
        return errors
    if not settings.FERNET_KEYS_FROM_ENV:
        errors.append(
            Error(
                "FERNET_KEYS is not set while DEBUG is off.",
                hint="Set FERNET_KEYS (comma-separated, newest first) to keys kept apart from "
                "SECRET_KEY; without them credentials would be encrypted with SECRET_KEY and "
                "lost when it rotates.",
                id="erpintegr.E001",
            )
        )
    if settings.SECRET_KEY == settings.DEV_SECRET_KEY:
        errors.append(
            Error(
                "SECRET_KEY is the development default while DEBUG is off.",
                hint="Set SECRET_KEY in the environment.",
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
                    f"Q_CLUSTER timeout ({conf['timeout']} s) must be smaller than retry "
                    f"({conf['retry']} s).",
                    hint="Otherwise a long task is delivered again and runs twice at once. "
                    "Adjust Q_TIMEOUT / Q_RETRY.",
                    id="erpintegr.E003",
                )
            )
    if "orm" not in conf and "redis" not in conf:
        errors.append(
            Error(
                "Q_CLUSTER names no broker.",
                hint="django-q2 would silently pick Redis; set REDIS_URL or leave the ORM default.",
                id="erpintegr.E004",
            )
        )
    return errors
