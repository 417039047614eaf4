"""Settings for erpintegr, read from the environment with django-environ.

With no environment and no `.env` file the project runs on the embedded default: SQLite,
the django-q2 ORM broker on the same database, one worker, DEBUG on. Production is switched
by environment variables only (see `.env.example`). With DEBUG off, importing these settings
raises ImproperlyConfigured when SECRET_KEY or FERNET_KEYS is missing or a development value,
so every entry point (gunicorn/wsgi, asgi, qcluster, manage.py) refuses to start unsafely.
"""

import os
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
_env_file = BASE_DIR / ".env"
if _env_file.exists():
    environ.Env.read_env(_env_file)

# Used only when DEBUG is on; the check erpintegr.E002 refuses it otherwise.
DEV_SECRET_KEY = "django-insecure-erpintegr-dev-only-key"  # noqa: S105 - dev-only marker

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET_KEY)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Hosts a production channel's "API base URL override" may point at (its credentials go there):
# exact names or "*.example.com"; empty = production channels always use the vendor's address.
CHANNEL_BASE_URL_ALLOWED_HOSTS = env.list("CHANNEL_BASE_URL_ALLOWED_HOSTS", default=[])

# Credentials are encrypted with django-fernet-fields-v2. FERNET_KEYS is comma-separated,
# newest first: new values are written with the first key, every key can decrypt.
FERNET_KEYS_FROM_ENV = env.list("FERNET_KEYS", default=[])
# Without FERNET_KEYS the library would silently fall back to SECRET_KEY, so rotating
# SECRET_KEY would lock every secret out; we allow that fallback only in DEBUG (E001).
FERNET_KEYS = FERNET_KEYS_FROM_ENV or [SECRET_KEY]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_q",
    "import_export",
    "erpintegr",
    "erp",
    "channels",
    "mappings",
    "sync",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "erpintegr.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "erpintegr.wsgi.application"

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Same backend, with SQLite's real parameter limit (see erpintegr/db/sqlite3/base.py).
    DATABASES["default"]["ENGINE"] = "erpintegr.db.sqlite3"
    # Measured (shared/PITFALLS.md): with a worker and the web server writing at once, plain
    # SQLite settings give "database is locked"; IMMEDIATE transactions + WAL do not. IMMEDIATE
    # also makes every atomic() block a writer lock, which is what our row locks rely on here.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # Tests use a real file (not shared-cache memory, whose table locks fail instead of
    # waiting), one per process so parallel test runs never share it.
    DATABASES["default"].setdefault("TEST", {}).setdefault(
        "NAME",
        str(Path(env.str("TEST_DB_DIR", default="/tmp")) / f"erpintegr-test-{os.getpid()}.sqlite3"),
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Brazilian back offices read Portuguese by default; a browser asking for English gets it
# (LocaleMiddleware), and the admin header switches between the two (set_language).
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="pt-br")
LANGUAGES = [("pt-br", "Português (Brasil)"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="America/Sao_Paulo")
USE_I18N = True
USE_TZ = True

# The channel page posts every de-para row of its inlines (about 6 fields each); Django's
# default of 1,000 fields would refuse a channel with more than ~150 rows.
DATA_UPLOAD_MAX_NUMBER_FIELDS = env.int("DATA_UPLOAD_MAX_NUMBER_FIELDS", default=20_000)

# De-para CSV imports: bound the file so one upload cannot tie up a web worker or fill the
# database (larger tables are imported in several files). Files of up to
# DE_PARA_IMPORT_SYNC_ROWS rows are previewed and confirmed in the request; larger ones are
# stored and imported by a worker (mappings.imports), with their progress on their own page.
DE_PARA_IMPORT_MAX_BYTES = env.int("DE_PARA_IMPORT_MAX_BYTES", default=2 * 1024 * 1024)
DE_PARA_IMPORT_MAX_ROWS = env.int("DE_PARA_IMPORT_MAX_ROWS", default=5_000)
DE_PARA_IMPORT_SYNC_ROWS = env.int("DE_PARA_IMPORT_SYNC_ROWS", default=2_000)
if DE_PARA_IMPORT_SYNC_ROWS < 0:
    raise ImproperlyConfigured("DE_PARA_IMPORT_SYNC_ROWS must be 0 (always in a worker) or more.")

# Company scope in the admin: a user sees only the companies they are a member of (Company page
# → members). Superusers and members of these groups see every company. Support activates
# every company's integrations, hence the default.
COMPANY_SCOPE_ALL_GROUPS = env.list("COMPANY_SCOPE_ALL_GROUPS", default=["Support"])

# Where a vendor-rotated credential (Mercado Livre's single-use refresh token) is kept,
# encrypted with FERNET_KEYS, from the vendor's answer until it is committed to the database;
# left there when storing it failed, for `manage.py restore_rescued_credentials`
# (docs/security.md). Persistent storage, readable by the workers only.
CREDENTIAL_RESCUE_DIR = env.path(
    "CREDENTIAL_RESCUE_DIR", default=BASE_DIR / ".state" / "credential-rescue"
)

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / ".state" / "static")
# Uploaded files: NF-e XMLs (never served: fiscal documents) and product images, which
# erp.views.product_image_file serves publicly under MEDIA_URL + "products/" so the channels
# can download them (their absolute address starts with ERPINTEGR_PUBLIC_URL).
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / ".state" / "media")
MEDIA_URL = "/" + env.str("MEDIA_URL", default="/media/").strip("/") + "/"
# Largest product image accepted for upload, in bytes: Mercado Livre takes pictures up to
# 10 MB (developers.mercadolivre.com.br/en_us/working-with-pictures).
PRODUCT_IMAGE_MAX_BYTES = env.int("PRODUCT_IMAGE_MAX_BYTES", default=10 * 1024 * 1024)

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

# django-q2. All of it lives here (shared/PITFALLS.md): timeout < retry so a long task is not
# delivered twice; explicit max_attempts/ack_failures so a failing task is not retried forever.
REDIS_URL = env.str("REDIS_URL", default="")
Q_CLUSTER = {
    "name": "erpintegr",
    "workers": env.int("Q_WORKERS", default=1),
    "timeout": env.int("Q_TIMEOUT", default=600),
    "retry": env.int("Q_RETRY", default=720),
    "max_attempts": env.int("Q_MAX_ATTEMPTS", default=2),
    "ack_failures": True,
    "catch_up": False,
    "save_limit": env.int("Q_SAVE_LIMIT", default=1000),
    "label": "Tasks (django-q2)",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
# How long one run may keep starting requests (sync.services.runs.run_budget_seconds).
# 0 / unset: 80 % of the task timeout. Lower it to hand a channel's backlog between runs
# (and workers) more often; the end-to-end tests do.
SYNC_RUN_BUDGET_SECONDS = float(env.str("SYNC_RUN_BUDGET_SECONDS", default="") or 0) or None

# Event-driven runs (sync.services.events): a notification or an ERP change runs the flow
# this many seconds later, so a burst of changes is one run. The interval stays the safety net.
ERPINTEGR_EVENT_DEBOUNCE_SECONDS = env.float("ERPINTEGR_EVENT_DEBOUNCE_SECONDS", default=2.0)
if not 0 <= ERPINTEGR_EVENT_DEBOUNCE_SECONDS <= 60:
    raise ImproperlyConfigured("ERPINTEGR_EVENT_DEBOUNCE_SECONDS must be between 0 and 60.")
# The catalog de-para page (sync.de_para_catalog_admin) keeps the vendor's category, brand and
# attribute lists this many hours before it reads them again ("Refresh from the vendor" forces it).
ERPINTEGR_CATALOG_REFERENCE_HOURS = env.float("ERPINTEGR_CATALOG_REFERENCE_HOURS", default=24.0)
# The public address vendors reach this server at (https://erp.example.com), shown on the
# channel page in front of each channel's notification path. Empty: the path only.
ERPINTEGR_PUBLIC_URL = env.str("ERPINTEGR_PUBLIC_URL", default="").rstrip("/")

# Runs log retention: a daily task deletes older runs (the newest of each channel × flow stays).
SYNC_RUN_RETENTION_DAYS = env.int("SYNC_RUN_RETENTION_DAYS", default=30)
if SYNC_RUN_RETENTION_DAYS < 1:
    raise ImproperlyConfigured("SYNC_RUN_RETENTION_DAYS must be at least 1.")

# Activation: the confirmation acts on the stored preflight result (run by a worker) only while
# it is younger than this; older, support runs the checks again (the store may have changed).
ACTIVATION_PREFLIGHT_MAX_AGE_MINUTES = env.int("ACTIVATION_PREFLIGHT_MAX_AGE_MINUTES", default=30)
if ACTIVATION_PREFLIGHT_MAX_AGE_MINUTES < 1:
    raise ImproperlyConfigured("ACTIVATION_PREFLIGHT_MAX_AGE_MINUTES must be at least 1.")
# A confirmation that binds more listings than this is handed to a worker (the page follows
# it), so the POST answers at once; smaller stores are activated inside the request.
ACTIVATION_INLINE_MAX_BINDINGS = env.int("ACTIVATION_INLINE_MAX_BINDINGS", default=5000)
if ACTIVATION_INLINE_MAX_BINDINGS < 0:
    raise ImproperlyConfigured("ACTIVATION_INLINE_MAX_BINDINGS must be 0 or more.")

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "erpintegr.logging.RedactSecretsFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]}
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# Admin login ensured by `manage.py ensure_admin` (make run). Without a password one is
# generated, printed once, and stored in .state/admin-password for the next runs.
ADMIN_USERNAME = env.str("ADMIN_USERNAME", default="admin")
ADMIN_PASSWORD = env.str("ADMIN_PASSWORD", default="")
ADMIN_EMAIL = env.str("ADMIN_EMAIL", default="admin@example.com")

if not DEBUG:
    # Refuse here, at import, not only in a system check: system checks run under manage.py,
    # while gunicorn (erpintegr.wsgi) would otherwise serve the admin signed with the public
    # development key — which is also the credentials' encryption key without FERNET_KEYS.
    if SECRET_KEY == DEV_SECRET_KEY or not SECRET_KEY.strip():
        raise ImproperlyConfigured(
            "DEBUG is off but SECRET_KEY is missing or the development default: set SECRET_KEY "
            "in the environment (a long random string)."
        )
    if not FERNET_KEYS_FROM_ENV or any(
        key in (SECRET_KEY, DEV_SECRET_KEY) for key in FERNET_KEYS_FROM_ENV
    ):
        raise ImproperlyConfigured(
            "DEBUG is off but FERNET_KEYS is missing or reuses SECRET_KEY: set FERNET_KEYS "
            "(comma-separated Fernet keys, newest first) kept apart from SECRET_KEY."
        )
    # HTTPS only. Behind a proxy that terminates TLS, tell Django which header says so, e.g.
    # SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO,https (only if the proxy always sets it).
    _proxy_header = env.list("SECURE_PROXY_SSL_HEADER", default=[])
    if _proxy_header:
        if len(_proxy_header) != 2:
            raise ImproperlyConfigured(
                "SECURE_PROXY_SSL_HEADER must be two comma-separated values: "
                "HTTP_X_FORWARDED_PROTO,https"
            )
        SECURE_PROXY_SSL_HEADER = tuple(_proxy_header)
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
