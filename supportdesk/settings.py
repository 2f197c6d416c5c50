"""Settings for supportdesk, read only from the environment.

With nothing set the desk runs embedded: SQLite, the in-memory channel layer, a
Celery worker inside the web process and the local triage backend.
``DATABASE_URL`` and ``REDIS_URL`` switch to PostgreSQL and Redis.
"""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from supportdesk.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("SUPPORTDESK_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

INSECURE_SECRET_KEY = "insecure-embedded-default-change-me"
SECRET_KEY = env_str("SECRET_KEY", INSECURE_SECRET_KEY)
DEBUG = env_bool("DEBUG", True)
if not DEBUG and SECRET_KEY == INSECURE_SECRET_KEY:
    raise ImproperlyConfigured(
        "Set SECRET_KEY: DEBUG is off and the key is the default."
    )

ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "tickets",
    "agents",
    "triage",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "supportdesk.urls"
# Django's database sessions, each read by one compiled query.
SESSION_ENGINE = "supportdesk.sessions"
# Threads per web process that run requests (supportdesk/http.py). Keep it at
# or under DATABASE_POOL_MAX so a request never waits for a connection.
WEB_THREADS = env_int("WEB_THREADS", 8)
ASGI_APPLICATION = "supportdesk.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

# --- Database -------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL)}
    postgres = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    options = DATABASES["default"].setdefault("OPTIONS", {})
    if postgres and env_bool("DATABASE_POOL", True):
        # Requests run on a pool of threads (supportdesk/http.py) and
        # consumers on others; a psycopg pool shares connections among them.
        options["pool"] = {
            "min_size": env_int("DATABASE_POOL_MIN", 2),
            "max_size": env_int("DATABASE_POOL_MAX", 10),
            "timeout": env_float("DATABASE_POOL_TIMEOUT", 10.0),
        }
    if postgres and env_bool("DATABASE_SERVER_BINDING", True):
        # Parameters travel apart from the SQL instead of being quoted into
        # it in Python (14 % less web CPU per API create), and psycopg
        # prepares a statement after five runs on a connection, so
        # PostgreSQL parses and plans it once (Django leaves that off unless
        # asked): a third less PostgreSQL CPU per pool claim. Turn off behind
        # a pooler that cannot keep prepared statements (pgbouncer in
        # transaction mode).
        options["server_side_binding"] = True
        options["prepare_threshold"] = 5
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH", str(VAR_DIR / "supportdesk.sqlite3")),
            # WAL lets readers run beside the one writer; IMMEDIATE makes a
            # transaction take the write lock up front so two writers queue on
            # the busy timeout instead of failing with "database is locked".
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                    "PRAGMA busy_timeout=20000;"
                ),
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer and Celery broker ------------------------------
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # The pub/sub layer has no per-channel capacity to overflow; the
            # database event log stays the record either way.
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [REDIS_URL],
                "prefix": env_str("CHANNEL_LAYER_PREFIX", "supportdesk"),
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# State shared by every process (chat rate counters, the OpenAI circuit
# breaker) lives in the cache: Redis when configured; embedded, one process,
# local memory is enough.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str(
                "CACHE_KEY_PREFIX", env_str("CHANNEL_LAYER_PREFIX", "supportdesk")
            ),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
# Without an external broker the worker (and the beat timers) run as threads
# inside the web process, so one command starts the whole desk.
CELERY_INPROCESS_WORKER = env_bool("CELERY_INPROCESS_WORKER", not REDIS_URL)

# --- Auth, sessions, passwords -------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "/admin/login/"

# --- API -----------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "tickets.api.auth.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "tickets.api.errors.exception_handler",
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append(
        "rest_framework.renderers.BrowsableAPIRenderer"
    )
SPECTACULAR_SETTINGS = {
    "TITLE": "supportdesk API",
    "DESCRIPTION": "Tickets, messages and their audit trail.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Served from the package, not a CDN: the desk must work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
# Bodies over this size are refused with 413 before they are parsed.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("API_MAX_BODY_BYTES", 256 * 1024)
MESSAGE_MAX_CHARS = env_int("MESSAGE_MAX_CHARS", 20_000)

# --- Chat widget (docs/chat.md) -------------------------------------------
# Origins of the web pages that may embed the widget ("*" for any page).
CHAT_ALLOWED_ORIGINS = env_list("CHAT_ALLOWED_ORIGINS", [])
CHAT_MAX_MESSAGE_CHARS = env_int("CHAT_MAX_MESSAGE_CHARS", 4000)
CHAT_SESSION_MAX_AGE = env_int("CHAT_SESSION_MAX_AGE", 30 * 24 * 3600)
# Limits per window; 0 turns one off.
CHAT_RATE_PER_SESSION = env_int("CHAT_RATE_PER_SESSION", 20)  # messages/minute
CHAT_RATE_PER_IP = env_int("CHAT_RATE_PER_IP", 120)  # messages/minute
CHAT_SESSIONS_PER_IP = env_int("CHAT_SESSIONS_PER_IP", 30)  # new sessions/hour
# A chat socket not heard from for this long is gone: replies go by email too.
CHAT_PRESENCE_SECONDS = env_int("CHAT_PRESENCE_SECONDS", 60)

# --- Email ---------------------------------------------------------------
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend"
)
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(VAR_DIR / "sent-mail"))
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "support@supportdesk.localhost")

# --- Email intake and outbox ---------------------------------------------
# Shared secret of the inbound webhook (HMAC-SHA256 of the body); empty
# disables the webhook.
INBOUND_EMAIL_SECRET = env_str("INBOUND_EMAIL_SECRET", "")
INBOUND_EMAIL_MAX_BYTES = env_int("INBOUND_EMAIL_MAX_BYTES", 30 * 1024 * 1024)
EMAIL_MAX_ATTACHMENT_BYTES = env_int("EMAIL_MAX_ATTACHMENT_BYTES", 10 * 1024 * 1024)
# Empty: every type is kept. Otherwise types or families ("image", "application/pdf").
EMAIL_ALLOWED_ATTACHMENT_TYPES = env_list("EMAIL_ALLOWED_ATTACHMENT_TYPES", []) or None
EMAIL_ACKNOWLEDGE = env_bool("EMAIL_ACKNOWLEDGE", True)
EMAIL_AUTO_MAIL_WINDOW_SECONDS = env_int("EMAIL_AUTO_MAIL_WINDOW_SECONDS", 3600)
EMAIL_OUTBOX_MAX_ATTEMPTS = env_int("EMAIL_OUTBOX_MAX_ATTEMPTS", 6)
EMAIL_OUTBOX_BACKOFF_SECONDS = env_int("EMAIL_OUTBOX_BACKOFF_SECONDS", 30)
EMAIL_OUTBOX_LEASE_SECONDS = env_int("EMAIL_OUTBOX_LEASE_SECONDS", 300)
IMAP_HOST = env_str("IMAP_HOST", "")  # empty: the poller does nothing
IMAP_PORT = env_int("IMAP_PORT", 993)
IMAP_USER = env_str("IMAP_USER", "")
IMAP_PASSWORD = env_str("IMAP_PASSWORD", "")
IMAP_SSL = env_bool("IMAP_SSL", True)
IMAP_FOLDER = env_str("IMAP_FOLDER", "INBOX")
IMAP_DONE_FOLDER = env_str("IMAP_DONE_FOLDER", "")  # empty: flag it seen instead
IMAP_POLL_SECONDS = env_int("IMAP_POLL_SECONDS", 60)
IMAP_BATCH = env_int("IMAP_BATCH", 200)

# --- Triage --------------------------------------------------------------
TRIAGE_BACKEND = env_str("TRIAGE_BACKEND", "local")
if TRIAGE_BACKEND not in {"local", "openai"}:
    raise ImproperlyConfigured("TRIAGE_BACKEND must be 'local' or 'openai'.")
TRIAGE_LANGUAGES = env_list(
    "TRIAGE_LANGUAGES",
    [
        "en",
        "sv",
        "de",
        "fr",
        "es",
        "it",
        "nl",
        "pt",
        "pl",
        "fi",
        "da",
        "nb",
        "ar",
        "tr",
    ],
)
TRIAGE_TIMEOUT_SECONDS = env_float("TRIAGE_TIMEOUT_SECONDS", 30.0)
OPENAI_API_KEY = env_str("OPENAI_API_KEY", "")
OPENAI_BASE_URL = env_str("OPENAI_BASE_URL", "") or None
OPENAI_MODEL = env_str("OPENAI_MODEL", "gpt-4o-mini")
# A ticket still in "triaging" after this long is moved to the human queue.
TRIAGE_STUCK_SECONDS = env_float("TRIAGE_STUCK_SECONDS", 300.0)
# Domains a draft may link to (subdomains included); any other link -> a human.
TRIAGE_LINK_DOMAINS = env_list("TRIAGE_LINK_DOMAINS", [])
# llama.cpp's server takes {"type": "json_object", "schema": ...} only.
OPENAI_RESPONSE_FORMAT = env_str("OPENAI_RESPONSE_FORMAT", "json_schema")
if OPENAI_RESPONSE_FORMAT not in {"json_schema", "json_object"}:
    raise ImproperlyConfigured(
        "OPENAI_RESPONSE_FORMAT must be 'json_schema' or 'json_object'."
    )
OPENAI_TIMEOUT_SECONDS = env_float("OPENAI_TIMEOUT_SECONDS", TRIAGE_TIMEOUT_SECONDS)
OPENAI_MAX_RETRIES = env_int("OPENAI_MAX_RETRIES", 2)
OPENAI_BREAKER_FAILURES = env_int("OPENAI_BREAKER_FAILURES", 5)
OPENAI_BREAKER_SECONDS = env_float("OPENAI_BREAKER_SECONDS", 60.0)
# Prices in USD per million tokens; 0 means unknown (no cost recorded).
OPENAI_PRICE_IN_PER_MTOK = env_float("OPENAI_PRICE_IN_PER_MTOK", 0.0)
OPENAI_PRICE_OUT_PER_MTOK = env_float("OPENAI_PRICE_OUT_PER_MTOK", 0.0)

# --- Agent pool ------------------------------------------------------------
AGENT_OFFER_SECONDS = env_int("AGENT_OFFER_SECONDS", 20)
# Heartbeats come every <= 5 s; silence this long means the agent is gone.
AGENT_PRESENCE_TIMEOUT = env_float("AGENT_PRESENCE_TIMEOUT", 10.0)
# A closed socket not replaced within this many seconds means offline.
AGENT_DISCONNECT_GRACE = env_float("AGENT_DISCONNECT_GRACE", 3.0)
AGENT_SWEEP_INTERVAL = env_float("AGENT_SWEEP_INTERVAL", 0.25)
AGENT_WS_RATE = env_float("AGENT_WS_RATE", 20.0)  # frames per second
AGENT_WS_BURST = env_int("AGENT_WS_BURST", 60)

# --- Files, static, i18n -------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
WHITENOISE_USE_FINDERS = DEBUG
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
