"""Settings, read from the environment.

A bad value stops start-up with a message that names the variable.
"""

import base64
import hashlib
import math
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from trackerui.foundation.env import env_bool, env_choice, env_duration, env_float, env_int, env_list, env_rate, env_str

BASE_DIR = Path(__file__).resolve().parent.parent


LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]", "testserver"})


def is_loopback_host(host: str) -> bool:
    """Whether an ALLOWED_HOSTS entry names only this machine (or the test client's fake host)."""
    host = host.lower()
    return host in LOOPBACK_HOSTS or host.endswith(".localhost")


DEVELOPMENT_SECRET_KEY = "dev-only-insecure-key-change-me"

# Like healthchecks, development is the default; a deployment sets DEBUG=false and
# must then provide SECRET_KEY and TOKEN_ENCRYPTION_KEY.
DEBUG = env_bool("DEBUG", True)
SECRET_KEY = env_str("SECRET_KEY", DEVELOPMENT_SECRET_KEY if DEBUG else None)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
if SECRET_KEY == DEVELOPMENT_SECRET_KEY:
    # The development key is public (it is in this file), so anyone could forge sessions
    # with it: it may serve this machine only. A deployment that forgot DEBUG=false and
    # SECRET_KEY stops here instead of serving the world in development mode.
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set to a long random value when DEBUG is false.")
    public_hosts = [host for host in ALLOWED_HOSTS if not is_loopback_host(host)]
    if public_hosts:
        raise ImproperlyConfigured(
            f"ALLOWED_HOSTS={','.join(public_hosts)} serves other machines, but DEBUG is true (the default) "
            "and SECRET_KEY is the development key. Set DEBUG=false and SECRET_KEY for a deployment."
        )


def _token_encryption_keys() -> list[str]:
    """Fernet keys, newest first, comma separated (MultiFernet rotates through them)."""
    raw = os.environ.get("TOKEN_ENCRYPTION_KEY", "")
    if not raw:
        if not DEBUG:
            raise ImproperlyConfigured(
                "TOKEN_ENCRYPTION_KEY is required when DEBUG is false. Generate one with: "
                "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
            )
        # Development only: a key derived from SECRET_KEY keeps `make run` zero-config.
        digest = hashlib.sha256(f"token-encryption:{SECRET_KEY}".encode()).digest()
        return [base64.urlsafe_b64encode(digest).decode()]
    keys = [k.strip() for k in raw.split(",") if k.strip()]
    for key in keys:
        try:
            if len(base64.urlsafe_b64decode(key.encode())) != 32:
                raise ValueError
        except ValueError:
            raise ImproperlyConfigured(
                "TOKEN_ENCRYPTION_KEY must be one or more comma-separated Fernet keys "
                "(32 url-safe base64-encoded bytes)."
            ) from None
    return keys


TOKEN_ENCRYPTION_KEYS = _token_encryption_keys()

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "csp",
    "simple_history",
    "trackerui",
    "trackerui.dashboard",
    "trackerui.accounts",
    "mappings",
    "delivery",
    "delivery.alerts",
]

MIDDLEWARE = [
    # First, so every answer under /api/ passes it on the way out and leaves as JSON.
    "trackerui.foundation.api_errors.ApiErrorsMiddleware",
    # Writes RateLimit-Policy and RateLimit on answers that counted against a limit.
    "trackerui.foundation.rate_limit_headers.RateLimitHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Right after SecurityMiddleware, as WhiteNoise asks: static files get the security
    # headers and skip the rest of the stack.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Keeps the request at hand for the audit trail, which reads who acts and from where only when
    # it writes a change, after DRF has authenticated the request (trackerui/accounts/audit.py).
    "simple_history.middleware.HistoryRequestMiddleware",
    # Replays a POST sent again with the same Idempotency-Key (trackerui/accounts/idempotency.py).
    "trackerui.accounts.idempotency.IdempotencyKeyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Turns a sign-in refused by the sign-in limits into the lockout page.
    "trackerui.accounts.sign_in_throttle.SignInLockoutMiddleware",
]

ROOT_URLCONF = "trackerui.urls"
WSGI_APPLICATION = "trackerui.wsgi.application"

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
                "trackerui.accounts.context_processors.organization",
            ],
        },
    },
]


def _database() -> dict:
    default_url = f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
    url = env_str("DATABASE_URL", default_url)
    try:
        # Connections are kept between requests (and between a worker's tasks): opening one cost a
        # web worker about a tenth of its time at 300 events/s (docs/performance.md). Checked before
        # reuse, so a restarted database costs a request nothing.
        config = dj_database_url.parse(url, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 300, minimum=0),
                                       conn_health_checks=True)
    except Exception as exc:  # dj-database-url raises several types for bad URLs.
        raise ImproperlyConfigured(f"DATABASE_URL={url!r} is not a database URL: {exc}") from None
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # WAL and IMMEDIATE transactions: measured 3-4x more queue throughput,
        # and writers wait for the lock instead of failing with "database is locked".
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
        # Tests use a file (one per test process) so that a real qcluster started by a
        # test can share the database with it.
        config["TEST"] = {"NAME": str(BASE_DIR / f".test-db-{os.getpid()}.sqlite3")}
    elif os.environ.get("TEST_DATABASE_NAME"):
        # Tests on a shared server: a test database of this run's own (.ci/run names one per run),
        # instead of Django's fixed test_<NAME>.
        config["TEST"] = {"NAME": os.environ["TEST_DATABASE_NAME"]}
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# The admin writes times as the dashboard does: 2026-12-01 22:35:03 UTC (trackerui/formats/en/formats.py).
FORMAT_MODULE_PATH = ["trackerui.formats"]

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # In production WhiteNoise serves what `collectstatic` wrote: compressed, under hashed names,
    # cached for ever. Development and the tests read the files where they are, with no collectstatic.
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# Follow the DEBUG of the environment, not the one the test runner switches off, so the
# tests too read static files from their sources.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# Sign-in throttling (trackerui/accounts/sign_in_throttle.py), on the shared atomic counter:
# after 10 failed sign-ins within a 15-minute window for one username from one client address,
# or from one address, that pair or address is refused for 15 minutes, on the dashboard and in
# the admin alike. Failures for one username from many addresses only slow its sign-ins by
# SIGN_IN_SLOWDOWN_SECONDS and tell its user by e-mail, so nobody can lock another user out.
AUTHENTICATION_BACKENDS = ["trackerui.accounts.sign_in_throttle.SignInThrottleBackend"]
SIGN_IN_FAILURE_LIMIT = env_int("SIGN_IN_FAILURE_LIMIT", 10, minimum=1)
SIGN_IN_LOCKOUT_MINUTES = env_int("SIGN_IN_LOCKOUT_MINUTES", 15, minimum=1)
SIGN_IN_SLOWDOWN_SECONDS = env_float("SIGN_IN_SLOWDOWN_SECONDS", 1.0, minimum=0.0)

# Password-reset mails per hour (trackerui/accounts/password_reset_limits.py), counted in the shared cache.
PASSWORD_RESET_LIMIT_PER_ADDRESS = env_int("PASSWORD_RESET_LIMIT_PER_ADDRESS", 5, minimum=1)
PASSWORD_RESET_LIMIT_PER_EMAIL = env_int("PASSWORD_RESET_LIMIT_PER_EMAIL", 3, minimum=1)
# "Send test event" (page and API): real requests to Chartboost, so a few a minute per app.
TEST_EVENTS_PER_MINUTE = env_int("TEST_EVENTS_PER_MINUTE", 5, minimum=1)
# A backfill's deliveries fall due at this pace, so an app's live events never wait behind it
# (delivery/ingest/backfill.py).
BACKFILL_PER_SECOND = env_int("BACKFILL_PER_SECOND", 20, minimum=1, maximum=100_000)
# How many recent ingest outcomes the Live events page keeps per app (delivery/history/live.py).
LIVE_EVENTS_KEPT = env_int("LIVE_EVENTS_KEPT", 100, minimum=10, maximum=1000)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "app-list"
LOGOUT_REDIRECT_URL = "login"

# Password reset mails go to the console in development.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "tracker@localhost")
# For EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend: the folder mails are written to.
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(BASE_DIR / ".run" / "mail"))

if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)

# Behind a TLS proxy (docs/deploy.md). The proxy's scheme header is trusted only when the
# deployment says a proxy sets it: otherwise any client could claim to be on HTTPS.
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")
for origin in CSRF_TRUSTED_ORIGINS:
    if not origin.startswith(("https://", "http://")):
        raise ImproperlyConfigured(f"CSRF_TRUSTED_ORIGINS={origin!r} must start with https:// (or http://).")
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# How many proxies append to X-Forwarded-For in front of us; the client's address is the one
# the outermost of them saw (trackerui/foundation/client_ip.py). 0 ignores the header, which a client can forge.
PROXY_COUNT = env_int("PROXY_COUNT", 0, minimum=0, maximum=10)

SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# Load balancers and scrapers probe these over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz/?$", r"^metrics/?$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): scripts and styles come from our own static files only,
# never inline, so an injected <script> or style= does nothing. Charts are SVG with attributes
# and classes. The API docs page alone adds inline styles, which Swagger UI injects
# (trackerui/foundation/api_docs.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
    },
}
SILENCED_SYSTEM_CHECKS = [
    # security.W021 asks for HSTS preload. Preloading is the domain owner's choice, hard to undo
    # (browsers ship the list), so it stays off unless SECURE_HSTS_PRELOAD says otherwise.
    "security.W021",
]

# Chartboost delivery.
CHARTBOOST_ENDPOINT = env_str("CHARTBOOST_ENDPOINT", "https://live.chartboost.com/event_service/v2/level")
TRACKER_PARTY = env_str("TRACKER_PARTY", "CB Tracker").strip()
if not TRACKER_PARTY:
    raise ImproperlyConfigured("TRACKER_PARTY must not be empty: Chartboost requires `party` on every request.")
RETRY_MAX_AGE = env_duration("RETRY_MAX_AGE", "72h")
# Finished deliveries, their attempts and tracked events are pruned once older than this
# (delivery/history/retention.py), and ingestion refuses events older than this, so the
# event_id keys that answer `duplicate` are kept exactly as long as a repeat could arrive.
DELIVERY_RETENTION_DAYS = env_int("DELIVERY_RETENTION_DAYS", 30, minimum=1)
# A worker's claim on a delivery, renewed while it sends; after it runs out, another worker
# sends it (docs/design.md: at most 60 s). Short, so a crashed worker's deliveries go out within seconds.
DELIVERY_LEASE_SECONDS = env_int("DELIVERY_LEASE_SECONDS", 6, minimum=1, maximum=60)
# /healthz says "down" once no qcluster has reported for this long (its dispatcher loop reports every second).
WORKER_STALE_SECONDS = env_float("WORKER_STALE_SECONDS", 60.0, minimum=1.0)
# When set, /metrics wants `Authorization: Bearer <METRICS_TOKEN>`.
METRICS_TOKEN = env_str("METRICS_TOKEN", "").strip()
# The site's own address, for the links in alerts (which leave the site, so they must be absolute).
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# Alerts (docs/design.md, "Alerts"): the window conditions are read over, how often they are
# evaluated, how long an alert waits before the same one may go to a channel again, and how
# long a failing alert is retried.
ALERT_WINDOW_SECONDS = env_duration("ALERT_WINDOW", "15m")
ALERT_EVALUATE_SECONDS = env_float("ALERT_EVALUATE_SECONDS", 10.0, minimum=0.1)
ALERT_REPEAT_SECONDS = env_duration("ALERT_REPEAT", "1h")
ALERT_MIN_ATTEMPTS = env_int("ALERT_MIN_ATTEMPTS", 20, minimum=1)
ALERT_RETRY_MAX_AGE = env_duration("ALERT_RETRY_MAX_AGE", "12h")
ALERT_SEND_TIMEOUT_SECONDS = env_float("ALERT_SEND_TIMEOUT_SECONDS", 10.0, minimum=0.1)
# The per-app circuit (docs/design.md, "The circuit").
CIRCUIT_OPEN_AFTER = env_int("CIRCUIT_OPEN_AFTER", 5, minimum=1)
CIRCUIT_FIRST_PROBE_SECONDS = env_float("CIRCUIT_FIRST_PROBE_SECONDS", 2.0, minimum=0.05)
# A probe costs one request, so probing every 10 s is cheap, and it bounds how long a
# recovered Chartboost waits before the backlog drains, however long the outage lasted.
CIRCUIT_MAX_PROBE_SECONDS = env_float("CIRCUIT_MAX_PROBE_SECONDS", 10.0, minimum=0.05)
if CIRCUIT_MAX_PROBE_SECONDS < CIRCUIT_FIRST_PROBE_SECONDS:
    raise ImproperlyConfigured("CIRCUIT_MAX_PROBE_SECONDS must be at least CIRCUIT_FIRST_PROBE_SECONDS.")
# Seconds to connect to Chartboost and to wait for its answer; an answer later than that is retried.
CHARTBOOST_CONNECT_TIMEOUT = env_float("CHARTBOOST_CONNECT_TIMEOUT", 5.0, minimum=0.1)
CHARTBOOST_READ_TIMEOUT = env_float("CHARTBOOST_READ_TIMEOUT", 10.0, minimum=0.1)
CHARTBOOST_LONGEST_REQUEST_SECONDS = CHARTBOOST_CONNECT_TIMEOUT + CHARTBOOST_READ_TIMEOUT
# django-q's task timeout outlasts a whole send batch, whatever the lease: at least 30 s of
# starting requests, then one request's longest time and two leases of margin
# (delivery/outbox/sending.py::send_deadline_seconds). `retry` stays above `timeout`, or
# a long task would run twice at once.
Q_TASK_TIMEOUT = max(90, math.ceil(30 + CHARTBOOST_LONGEST_REQUEST_SECONDS + 2 * DELIVERY_LEASE_SECONDS))

REDIS_URL = os.environ.get("REDIS_URL", "")

# Rate limits live in the cache, so it is shared by every web process on every host: Redis
# when there is one, else a table in our database (created by trackerui/migrations), never
# one process's memory.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "cbtracker",
        }
    }
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "cache_table"}
    }

# django-q2: our tables are the truth; the queue only says "look at this now".
# `timeout` stays shorter than `retry`, and failed tasks are not redelivered:
# the sweeper finds anything a failed or lost task held once its lease runs out.
Q_CLUSTER = {
    "name": "tracker",
    "workers": env_int("Q_WORKERS", 4, minimum=1),
    "timeout": Q_TASK_TIMEOUT,
    "retry": Q_TASK_TIMEOUT + 30,
    "ack_failures": True,
    "max_attempts": 1,
    "poll": 0.05,
    "save_limit": 200,
    "catch_up": False,
    "label": "Background tasks",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "trackerui.accounts.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Every view: an organization to act for, then the owner's rule for the methods a view
    # lists in `owner_actions` (trackerui/accounts/roles.py).
    "DEFAULT_PERMISSION_CLASSES": [
        "trackerui.accounts.authentication.IsOrganizationMember",
        "trackerui.accounts.roles.OwnerPermission",
    ],
    "DEFAULT_PAGINATION_CLASS": "trackerui.foundation.api.Pagination",
    "DEFAULT_SCHEMA_CLASS": "trackerui.foundation.api_schema.ApiAutoSchema",
    # The API speaks JSON only; /api/docs/ is the interactive view of it.
    # (With our limits on size and nesting: trackerui/foundation/api_errors.py.)
    "DEFAULT_PARSER_CLASSES": ["trackerui.foundation.api_errors.JsonParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "trackerui.foundation.api.exception_handler",
    # One throttle class for every view; the view's `throttle_scope` picks the rate.
    "DEFAULT_THROTTLE_CLASSES": ["trackerui.accounts.api_access.ApiKeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "api": env_rate("API_THROTTLE_RATE", "1200/min"),
        "ingest": env_rate("INGEST_THROTTLE_RATE", "600/second"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "CB Tracker API",
    "DESCRIPTION": "Map tracked game events to Chartboost Event IDs and audit their delivery.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Nothing on the docs page may load from outside: Swagger UI's default validator
    # badge would call validator.swagger.io. An API key typed into "Authorize" is not kept
    # in the browser's storage, where any script on our origin could read it.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None, "persistAuthorization": False},
    "COMPONENT_SPLIT_REQUEST": True,
    # Tags default to the first path part after this prefix. Guessed, the prefix is only the
    # common "/api", and a view without a tag of its own would be filed under "v1".
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    "ENUM_NAME_OVERRIDES": {
        "PlatformEnum": "mappings.models.Platform",
        "DeliveryStatusEnum": "delivery.models.Delivery.Status",
        "ChangeActionEnum": "trackerui.accounts.audit.Action",
        "ChangeSourceEnum": "trackerui.accounts.audit.Source",
        "ChangeActorTypeEnum": "trackerui.accounts.audit.ActorType",
        "ChangeObjectEnum": "mappings.api.CHANGE_OBJECTS",
        "AlertStatusEnum": "delivery.alerts.models.Alert.Status",
        "AlertChannelKindEnum": "delivery.alerts.models.AlertChannel.Kind",
    },
}

LOG_LEVEL = env_choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
