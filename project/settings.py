"""SYSeducore settings: one file, every value read from the environment.

APP_ENV says where the process runs: ``production`` (the default, so a bare deploy is safe),
``development`` (``make run``) or ``test`` (pytest). Production refuses unsafe values loudly.
"""

import os
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF, UNSAFE_EVAL, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured
from django.templatetags.static import static
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    value = env_str(name)
    if not value:
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be 1/0, true/false, yes/no or on/off, not {value!r}.")


def env_int(name: str, default: int) -> int:
    value = env_str(name)
    try:
        return int(value) if value else default
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from exc


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


# pytest imports Django settings before any conftest can set variables, so a test run
# is recognised here; everything else must say APP_ENV or is treated as production.
APP_ENV = env_str("APP_ENV", "test" if "pytest" in sys.modules else "production")
if APP_ENV not in {"production", "development", "test"}:
    raise ImproperlyConfigured(f"APP_ENV must be production, development or test, not {APP_ENV!r}.")
PRODUCTION = APP_ENV == "production"
TESTING = APP_ENV == "test"

DEBUG = env_bool("DEBUG", False)

DEV_SECRET_KEY = "dev-only-insecure-key-for-make-run-and-tests-never-use-in-production-0123456789"  # noqa: S105
KNOWN_WEAK_SECRET_KEYS = {DEV_SECRET_KEY, "changeme", "secret", "django-insecure"}
SECRET_KEY = env_str("SECRET_KEY", "" if PRODUCTION else DEV_SECRET_KEY)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")


def refuse_unsafe_production_settings() -> None:
    """Stop a production process with one line naming the variable to fix."""
    if DEBUG:
        raise ImproperlyConfigured(
            "DEBUG is on in production: set DEBUG=0 (or APP_ENV=development on a developer machine)."
        )
    weak = (
        len(SECRET_KEY) < 50
        or SECRET_KEY in KNOWN_WEAK_SECRET_KEYS
        or SECRET_KEY.startswith("django-insecure")
        or len(set(SECRET_KEY)) < 5
    )
    if weak:
        raise ImproperlyConfigured(
            "SECRET_KEY is missing or weak: set SECRET_KEY to a random string of at least 50 characters."
        )
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured(
            "ALLOWED_HOSTS is empty: set ALLOWED_HOSTS to the site's host names, comma-separated."
        )


if PRODUCTION:
    refuse_unsafe_production_settings()

INSTALLED_APPS = [
    "core.web.admin_site.SiteConfig",  # unfold, with a cheaper sidebar (core/web/admin_site.py)
    "unfold.contrib.filters",
    "unfold.contrib.forms",
    "unfold.contrib.import_export",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "import_export",
    "core.web.i18n_thirdparty.AxesConfig",  # axes with a translated app name
    "csp",
    "django_q",
    "core",
]

MIDDLEWARE = [
    # First, so latency and query counts cover the whole stack (core/ops/metrics.py).
    "core.ops.metrics.MetricsMiddleware",
    "core.web.middleware.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Pages compressed (a 25-row list: ~250 KB to ~15 KB). BREACH needs a secret in a compressed page
    # beside text the attacker chooses: the CSRF token is masked afresh in every response (Django),
    # and this middleware pads each response with up to 100 random bytes ("Heal the BREACH", Django
    # 4.2+), so response sizes do not leak page content. Static files come pre-compressed from
    # whitenoise (CompressedManifestStaticFilesStorage) and are skipped here (Content-Encoding set).
    "django.middleware.gzip.GZipMiddleware",
    "core.web.middleware.PermissionsPolicyMiddleware",
    # /health/ and /health/tasks/ answer here, before CommonMiddleware's ALLOWED_HOSTS check:
    # PaaS probes send the container's address as Host (core/ops/health.py).
    "core.ops.health.HealthProbeMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.web.middleware.UserLanguageMiddleware",
    "core.web.middleware.IdleSessionMiddleware",
    "core.web.middleware.LoginRateLimitMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, so it sees the final authentication outcome of the request.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "project.urls"
WSGI_APPLICATION = "project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Overrides of unfold's own templates (its app comes first, so core/templates cannot).
        "DIRS": [BASE_DIR / "core" / "unfold_overrides"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
            ],
        },
    },
]

# --- Database --------------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 600),
        conn_health_checks=True,
    )
}
# The door prepares its per-scan read once per connection (core/selectors/scan_read.py). Turn off
# behind a pooler in transaction mode (PgBouncer before 1.21), which cannot keep prepared statements.
DB_PREPARED_STATEMENTS = env_bool("DB_PREPARED_STATEMENTS", True)
# A stalled database must not hang the door (issue 15). Every process gives up connecting after
# DB_CONNECT_TIMEOUT seconds. Web processes (project/wsgi.py sets SYSEDUCORE_WEB) also bound each
# statement and each lock wait on the server; the worker, migrations and backups run unbounded,
# since a settlement run or a dump may rightly take long. 0 turns a bound off (e.g. behind a
# pooler in transaction mode, which refuses startup options). A frozen server enforces nothing:
# the door's endpoints also cut their own connection after KIOSK_DB_DEADLINE_SECONDS (core/ops/db_deadline.py).
DB_CONNECT_TIMEOUT = env_int("DB_CONNECT_TIMEOUT", 3)
DB_STATEMENT_TIMEOUT_MS = env_int("DB_STATEMENT_TIMEOUT_MS", 5000)
DB_LOCK_TIMEOUT_MS = env_int("DB_LOCK_TIMEOUT_MS", 3000)
KIOSK_DB_DEADLINE_SECONDS = env_int("KIOSK_DB_DEADLINE_SECONDS", 3)
if DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql"):
    _db_options = DATABASES["default"].setdefault("OPTIONS", {})
    if DB_CONNECT_TIMEOUT > 0:
        _db_options["connect_timeout"] = DB_CONNECT_TIMEOUT
    if env_bool("SYSEDUCORE_WEB"):
        _bounds = [("statement_timeout", DB_STATEMENT_TIMEOUT_MS), ("lock_timeout", DB_LOCK_TIMEOUT_MS)]
        _db_options["options"] = " ".join(f"-c {name}={value}" for name, value in _bounds if value > 0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite serves the demo and the tests: wait for a busy writer instead of failing,
    # and take the write lock at BEGIN so select_for_update-style sections serialize.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL;",
    }
    # A file, not shared-cache memory, so threaded tests wait on the lock instead of failing;
    # one per process, so parallel test runs never share it.
    DATABASES["default"]["TEST"] = {"NAME": str(Path(tempfile.gettempdir()) / f"syseducore-test-{os.getpid()}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache: shared by every process (lockouts and rate limits must hold across workers) ------
REDIS_URL = env_str("REDIS_URL")
if TESTING:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
elif REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "core_cache"}}

# --- Authentication and sessions -------------------------------------------------------------
AUTH_USER_MODEL = "core.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "admin:login"
LOGIN_REDIRECT_URL = "admin:index"
# Staff sessions end after an hour without activity (IdleSessionMiddleware refreshes the expiry).
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_SECONDS", 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = False
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# django-axes: lock the username (a front desk shares one IP) after 5 failures for 30 minutes.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 30))
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_LOCKOUT_CALLABLE = "core.web.views.lockout_response"  # translated page naming the retry time
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "core.web.http.client_ip"
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_VERBOSE = False
# axes warns when the lock key lacks the IP. Locking by IP would lock a whole front desk that
# shares one connection; per-address abuse is capped by LoginRateLimitMiddleware instead.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
# Reverse proxies in front of the app whose X-Forwarded-For is believed (core/web/http.py). None by
# default: a server reached directly would let any client write its own address there and slip
# past the login and kiosk rate limits. Behind a PaaS router set 1 (app.json, render.yaml and
# fly.toml do); behind a load balancer and the router, 2.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
LOGIN_RATE_LIMIT_PER_MINUTE = env_int("LOGIN_RATE_LIMIT_PER_MINUTE", 20)

# --- Security headers --------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# The kiosk page needs the camera on our own origin; nothing else is allowed.
PERMISSIONS_POLICY = "camera=(self), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"
CSRF_COOKIE_HTTPONLY = False  # unfold's htmx posts read it from the form, not the cookie
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^health/"]  # the PaaS probes the web check over plain HTTP
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)

# django-csp 4: the admin policy measured in STACK-NOTES.md. unfold's Alpine build needs
# 'unsafe-eval'; its two inline <style> blocks need 'unsafe-inline' in style-src-elem only.
# Our own pages (kiosk, print) replace this with a stricter policy (core/web/csp.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, UNSAFE_EVAL],
        "style-src": [SELF],
        "style-src-elem": [SELF, UNSAFE_INLINE],
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}

# --- Internationalisation: Arabic first, whatever the browser sends ----------------------------
LANGUAGE_CODE = "ar"
LANGUAGES = [("ar", _("Arabic")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = env_str("TIME_ZONE", "Africa/Cairo")
USE_TZ = True
# Day-month-year dates, 24-hour times and a decimal point in both languages (project/formats/).
FORMAT_MODULE_PATH = ["project.formats"]

# --- Static and media --------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
# Backups (core/services/backups.py): one archive per backup in the "backups" storage.
BACKUP_ROOT = Path(env_str("BACKUP_ROOT", str(BASE_DIR / "backups")))
BACKUP_KEEP_DAILY = env_int("BACKUP_KEEP_DAILY", 7)
BACKUP_KEEP_MONTHLY = env_int("BACKUP_KEEP_MONTHLY", 12)
# A PaaS wipes the dyno's disk on every deploy and restart: there, uploads and backups must go to
# S3-compatible object storage (any provider), configured by these variables. Without a bucket,
# the local disk as on a single server.
AWS_STORAGE_BUCKET_NAME = env_str("AWS_STORAGE_BUCKET_NAME")
S3_OPTIONS = {
    "bucket_name": AWS_STORAGE_BUCKET_NAME,
    "endpoint_url": env_str("AWS_S3_ENDPOINT_URL") or None,
    "region_name": env_str("AWS_S3_REGION_NAME") or None,
    "access_key": env_str("AWS_ACCESS_KEY_ID") or None,
    "secret_key": env_str("AWS_SECRET_ACCESS_KEY") or None,
    "default_acl": None,  # private objects: the bucket's own policy, never public-read
    "querystring_auth": True,
    "file_overwrite": False,
}
STORAGES = {
    "default": {"BACKEND": "core.ops.storage_s3.PrivateMediaS3Storage", "OPTIONS": {**S3_OPTIONS, "location": "media"}}
    if AWS_STORAGE_BUCKET_NAME
    else {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "backups": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {**S3_OPTIONS, "location": "backups"}}
    if AWS_STORAGE_BUCKET_NAME
    else {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": BACKUP_ROOT}},
    "staticfiles": {
        # Manifest storage needs collectstatic; tests and make run serve the app folders directly.
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Outside production whitenoise serves straight from the app folders (no collectstatic needed).
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = DEBUG
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Spreadsheets: django-import-export (exports; imports use the package core/imports/) -------
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"
IMPORT_EXPORT_ESCAPE_ILLEGAL_CHARS_ON_EXPORT = True  # control characters would break .xlsx files
IMPORT_EXPORT_SKIP_ADMIN_LOG = True

# --- Background work: django-q2 ------------------------------------------------------------------
Q_CLUSTER = {
    "name": "syseducore",
    "workers": env_int("Q_WORKERS", 2),
    "timeout": 240,  # a task running longer is killed ...
    "retry": 300,  # ... and only then offered again: retry must exceed timeout
    "max_attempts": 3,
    "catch_up": False,
    "ack_failures": True,
    "save_limit": 1000,
    "label": _("Background jobs"),  # the app name in the admin (lazy: translated per request)
    "sync": TESTING,
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
TASK_HEARTBEAT_MAX_AGE_SECONDS = env_int("TASK_HEARTBEAT_MAX_AGE_SECONDS", 180)
# manage.py worker: after SIGTERM, how long running tasks may finish before the cluster is killed
# (under the PaaS's grace period: Heroku sends SIGKILL 30 s after SIGTERM).
WORKER_STOP_SECONDS = env_int("WORKER_STOP_SECONDS", 20)

# --- Metrics: /metrics for Prometheus, off (404) unless a token is set (core/ops/metrics.py) ---------
METRICS_TOKEN = env_str("METRICS_TOKEN")

# --- WhatsApp messages (SPEC.md R10) --------------------------------------------------------------
# console logs messages instead of sending them: the development default, and always in tests
# (tests that need UltraMsg point it at a local server).
WHATSAPP_PROVIDER = "console" if TESTING else env_str("WHATSAPP_PROVIDER", "console").lower()
if WHATSAPP_PROVIDER not in {"console", "ultramsg", "cloud"}:
    raise ImproperlyConfigured(f"WHATSAPP_PROVIDER must be console, ultramsg or cloud, not {WHATSAPP_PROVIDER!r}.")
ULTRAMSG_BASE_URL = env_str("ULTRAMSG_BASE_URL", "https://api.ultramsg.com").rstrip("/")
ULTRAMSG_INSTANCE_ID = env_str("ULTRAMSG_INSTANCE_ID")
ULTRAMSG_TOKEN = env_str("ULTRAMSG_TOKEN")
WHATSAPP_TIMEOUT_SECONDS = env_int("WHATSAPP_TIMEOUT_SECONDS", 10)
if WHATSAPP_PROVIDER == "ultramsg" and not (ULTRAMSG_INSTANCE_ID and ULTRAMSG_TOKEN):
    raise ImproperlyConfigured("WHATSAPP_PROVIDER=ultramsg needs ULTRAMSG_INSTANCE_ID and ULTRAMSG_TOKEN.")
# UltraMsg's status and incoming-message callbacks carry this secret in their URL
# (/webhooks/ultramsg/<secret>/); empty refuses every callback.
ULTRAMSG_WEBHOOK_SECRET = env_str("ULTRAMSG_WEBHOOK_SECRET")
# Meta's WhatsApp Cloud API (issue 19): sends approved templates; its webhook (/webhooks/whatsapp/)
# is verified with the verify token once and every POST is signed with the app secret.
WHATSAPP_CLOUD_BASE_URL = env_str("WHATSAPP_CLOUD_BASE_URL", "https://graph.facebook.com").rstrip("/")
WHATSAPP_CLOUD_API_VERSION = env_str("WHATSAPP_CLOUD_API_VERSION", "v21.0")
WHATSAPP_CLOUD_PHONE_NUMBER_ID = env_str("WHATSAPP_CLOUD_PHONE_NUMBER_ID")
WHATSAPP_CLOUD_TOKEN = env_str("WHATSAPP_CLOUD_TOKEN")
WHATSAPP_CLOUD_APP_SECRET = env_str("WHATSAPP_CLOUD_APP_SECRET")
WHATSAPP_CLOUD_VERIFY_TOKEN = env_str("WHATSAPP_CLOUD_VERIFY_TOKEN")
if WHATSAPP_PROVIDER == "cloud" and not (
    WHATSAPP_CLOUD_PHONE_NUMBER_ID and WHATSAPP_CLOUD_TOKEN and WHATSAPP_CLOUD_APP_SECRET
):
    raise ImproperlyConfigured(
        "WHATSAPP_PROVIDER=cloud needs WHATSAPP_CLOUD_PHONE_NUMBER_ID, WHATSAPP_CLOUD_TOKEN and WHATSAPP_CLOUD_APP_SECRET."
    )
# SMS through a generic HTTP gateway (core/providers/sms.py): for guardians who prefer SMS and as
# the fallback when WhatsApp cannot deliver. Off (empty) unless configured; never on in tests
# unless a test turns it on.
SMS_PROVIDER = "" if TESTING else env_str("SMS_PROVIDER", "").lower()
if SMS_PROVIDER not in {"", "console", "http"}:
    raise ImproperlyConfigured(f"SMS_PROVIDER must be empty, console or http, not {SMS_PROVIDER!r}.")
SMS_GATEWAY_URL = env_str("SMS_GATEWAY_URL")
SMS_GATEWAY_METHOD = env_str("SMS_GATEWAY_METHOD", "post").lower()
if SMS_GATEWAY_METHOD not in {"post", "json", "get"}:
    raise ImproperlyConfigured(f"SMS_GATEWAY_METHOD must be post, json or get, not {SMS_GATEWAY_METHOD!r}.")
SMS_PARAM_TO = env_str("SMS_PARAM_TO", "to")
SMS_PARAM_TEXT = env_str("SMS_PARAM_TEXT", "text")
SMS_PARAM_SENDER = env_str("SMS_PARAM_SENDER", "sender")
SMS_SENDER = env_str("SMS_SENDER")
SMS_PARAM_USERNAME = env_str("SMS_PARAM_USERNAME", "username")
SMS_USERNAME = env_str("SMS_USERNAME")
SMS_PARAM_PASSWORD = env_str("SMS_PARAM_PASSWORD", "password")
SMS_PASSWORD = env_str("SMS_PASSWORD")
SMS_PARAM_REFERENCE = env_str("SMS_PARAM_REFERENCE")
SMS_EXTRA_PARAMS = env_str("SMS_EXTRA_PARAMS")
SMS_SUCCESS_TEXT = env_str("SMS_SUCCESS_TEXT")
SMS_ID_FIELD = env_str("SMS_ID_FIELD")
SMS_PHONE_STYLE = env_str("SMS_PHONE_STYLE", "e164").lower()
if SMS_PROVIDER == "http" and not SMS_GATEWAY_URL:
    raise ImproperlyConfigured("SMS_PROVIDER=http needs SMS_GATEWAY_URL.")
# Circuit breaker per channel: after this many failures in a row the channel pauses for the
# cooling period (messages wait), then one probe message decides whether it works again.
CHANNEL_BREAKER_FAILURES = env_int("CHANNEL_BREAKER_FAILURES", 5)
CHANNEL_BREAKER_COOLDOWN_SECONDS = env_int("CHANNEL_BREAKER_COOLDOWN_SECONDS", 300)

# --- Logging: one line per record on stdout, collected by the PaaS ------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "core.ops.logging.RequestContextFilter"}},
    "formatters": {"line": {"()": "core.ops.logging.LineFormatter"}},
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "filters": ["request_context"],
            "formatter": "line",
        }
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        # The request log middleware reports every request once; silence Django's duplicate.
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}

SENTRY_DSN = env_str("SENTRY_DSN")
if SENTRY_DSN:
    import sentry_sdk

    sentry_sdk.init(dsn=SENTRY_DSN, environment=APP_ENV, send_default_pii=False, traces_sample_rate=0.0)

# --- Admin theme ---------------------------------------------------------------------------------
UNFOLD = {
    "SITE_TITLE": _("SYSeducore"),
    "SITE_HEADER": _("SYSeducore"),
    "SITE_SUBHEADER": _("Tutoring center"),
    "SITE_URL": None,  # no "View site" link: the admin is the whole site
    "SITE_SYMBOL": "school",
    "SITE_LOGO": "core.web.branding.site_logo",
    "SHOW_HISTORY": True,
    "SHOW_VIEW_ON_SITE": False,
    "SHOW_LANGUAGES": True,
    "ENVIRONMENT": "core.web.branding.environment_badge",
    "DASHBOARD_CALLBACK": "core.admin.dashboard.dashboard_callback",
    "STYLES": [
        lambda request: static("core/fonts/fonts.css"),
        lambda request: static("core/admin-rtl.css"),
    ],
    "COLORS": {
        "primary": {
            "50": "oklch(97.8% .014 180.7)",
            "100": "oklch(95.3% .051 180.8)",
            "200": "oklch(91% .096 180.4)",
            "300": "oklch(85.5% .138 181.1)",
            "400": "oklch(77.7% .152 181.9)",
            "500": "oklch(70.4% .14 182.5)",
            "600": "oklch(60% .118 184.7)",
            "700": "oklch(51.1% .096 186.4)",
            "800": "oklch(43.7% .078 188.2)",
            "900": "oklch(38.6% .063 188.4)",
            "950": "oklch(27.7% .046 192.5)",
        },
    },
    "SIDEBAR": {
        "show_search": True,
        "show_all_applications": False,
        "navigation": "core.web.navigation.sidebar",
    },
    "LOGIN": {"redirect_after": reverse_lazy("admin:index")},
}

# Center-level facts that are not editable data (the editable ones live in CenterSettings).
DEMO_OWNER_USERNAME = env_str("DEMO_OWNER_USERNAME", "owner")
DEMO_OWNER_PASSWORD = env_str("DEMO_OWNER_PASSWORD", "owner-demo-2026")
