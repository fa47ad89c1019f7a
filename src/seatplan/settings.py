"""Django settings, all taken from the environment (SEATPLAN_*)."""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(os.environ.get("SEATPLAN_VAR_DIR", Path.cwd() / "var"))


def _flag(name: str, default: str = "0") -> bool:
    return os.environ.get(name, default).strip().lower() in {"1", "true", "yes", "on"}


DEBUG = _flag("SEATPLAN_DEBUG")
SANDBOX = _flag("SEATPLAN_SANDBOX")
SECRET_KEY = os.environ.get("SEATPLAN_SECRET_KEY") or "insecure-development-key-set-SEATPLAN_SECRET_KEY"
ALLOWED_HOSTS = [h for h in os.environ.get("SEATPLAN_ALLOWED_HOSTS", "*").split(",") if h]
# Benchmarks only: exposes the trivial baseline write endpoint.
BENCHMARK_ENDPOINTS = _flag("SEATPLAN_BENCHMARK")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "ninja",
    "csp",
    "seatplan.accounts",
    "seatplan.clocks",
    "seatplan.catalog",
    "seatplan.subscriptions",
    "seatplan.invoices",
    "seatplan.payments",
    "seatplan.events",
    "seatplan.idempotency",
    "seatplan.leases",
    "seatplan.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "seatplan.nul.RefuseNulMiddleware",  # PostgreSQL text cannot hold U+0000: refused before anything reads it
    "seatplan.api.middleware.ApiShortcutMiddleware",  # /api/v1/ operations skip the pages' middleware below
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "seatplan.urls"
WSGI_APPLICATION = "seatplan.wsgi.application"

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
                "seatplan.web.context_processors.nav",
            ],
        },
    },
]


def _database(url: str) -> dj_database_url.DBConfig:
    config = dj_database_url.parse(url, conn_max_age=int(os.environ.get("SEATPLAN_CONN_MAX_AGE", "60")))
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # Writers queue behind one another instead of failing (SPEC §10): every
        # transaction takes the write lock at BEGIN and waits up to 30 s for it.
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
        config["CONN_MAX_AGE"] = 0
        # A file, not shared-cache memory: shared cache locks tables instead of waiting.
        config["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
    elif config["ENGINE"] == "django.db.backends.postgresql":
        config["ENGINE"] = "seatplan.db.postgresql"  # no `…_like` indexes: seatplan/db/postgresql/base.py
        # Parameters bound on the server, so psycopg prepares a statement the fifth time a connection runs
        # it: PostgreSQL then skips parsing and planning, which cost it more than running the hot paths'
        # statements. Set SEATPLAN_DB_PREPARE=0 behind a pooler that cannot keep prepared statements.
        if os.environ.get("SEATPLAN_DB_PREPARE", "1") != "0":
            config["OPTIONS"] = {"server_side_binding": True, "prepare_threshold": 5}
    return config


DATABASE_URL = os.environ.get("SEATPLAN_DATABASE_URL") or f"sqlite:///{VAR_DIR / 'seatplan.sqlite3'}"
DATABASES = {"default": _database(DATABASE_URL)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise expects it; files come from the apps
# Serve straight from the installed apps (no collectstatic step for the embedded default).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LOGIN_URL = "web:signin"
LOGIN_REDIRECT_URL = "web:subscriptions"
# Failed sign-ins allowed per e-mail (and per address ×4) in the window before refusing.
SIGNIN_MAX_FAILURES = int(os.environ.get("SEATPLAN_SIGNIN_MAX_FAILURES", "5"))
SIGNIN_WINDOW_SECONDS = 15 * 60

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
    }
}

EMAIL_BACKEND = os.environ.get("SEATPLAN_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("SEATPLAN_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("SEATPLAN_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("SEATPLAN_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("SEATPLAN_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = _flag("SEATPLAN_EMAIL_TLS")
# Where people reach this server: links in e-mails start with it.
SITE_URL = os.environ.get("SEATPLAN_SITE_URL", "http://127.0.0.1:8000").rstrip("/")
DEFAULT_FROM_EMAIL = os.environ.get("SEATPLAN_FROM_EMAIL", "billing@seatplan.localhost")

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = not DEBUG and not SANDBOX
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# The vendor, as printed on invoices.
VENDOR_NAME = os.environ.get("SEATPLAN_VENDOR_NAME", "TestCloud Inc.")
VENDOR_ADDRESS = os.environ.get("SEATPLAN_VENDOR_ADDRESS", "100 Market Street\nSan Francisco, CA 94105\nUnited States")
VENDOR_VAT_ID = os.environ.get("SEATPLAN_VENDOR_VAT_ID", "US-EIN 00-0000000")
INVOICE_NUMBER_PREFIX = os.environ.get("SEATPLAN_INVOICE_PREFIX", "SP")
QUOTE_TTL_SECONDS = 30 * 60
# Session leases (SPEC §6): a lease's life without a heartbeat, and how long a request may queue.
LEASE_DEFAULT_TTL_SECONDS = int(os.environ.get("SEATPLAN_LEASE_DEFAULT_TTL_SECONDS", str(180 * 60)))
LEASE_QUEUE_TIMEOUT_SECONDS = int(os.environ.get("SEATPLAN_LEASE_QUEUE_TIMEOUT_SECONDS", str(30 * 60)))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("SEATPLAN_LOG_LEVEL", "WARNING")},
}

# Webhooks (SPEC §7): every outbox event but e-mails goes to each of these endpoints, signed with the
# secret; `seatplan worker` and `seatplan bill` deliver them. No URLs: events wait in the outbox.
WEBHOOK_URLS = [u.strip() for u in os.environ.get("SEATPLAN_WEBHOOK_URLS", "").split(",") if u.strip()]
WEBHOOK_SECRET = os.environ.get("SEATPLAN_WEBHOOK_SECRET", "")
if WEBHOOK_URLS and not WEBHOOK_SECRET:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        "SEATPLAN_WEBHOOK_URLS is set but SEATPLAN_WEBHOOK_SECRET is not: webhooks are "
        "signed with it, and an empty key would let anyone forge them."
    )
WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("SEATPLAN_WEBHOOK_TIMEOUT_SECONDS", "10"))

# The payment gateway (SPEC §5): the sandbox with its test cards, or Stripe through its official SDK.
_GATEWAYS = {
    "sandbox": "seatplan.payments.sandbox.SandboxGateway",
    "stripe": "seatplan.payments.stripe_gateway.StripeGateway",
}
_gateway = os.environ.get("SEATPLAN_PAYMENT_GATEWAY", "sandbox").strip().lower()
if _gateway not in _GATEWAYS:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"SEATPLAN_PAYMENT_GATEWAY is {_gateway!r}; it is one of: {', '.join(_GATEWAYS)}.")
PAYMENT_GATEWAY = _GATEWAYS[_gateway]
STRIPE_SECRET_KEY = os.environ.get("SEATPLAN_STRIPE_SECRET_KEY", "")
STRIPE_API_BASE = os.environ.get("SEATPLAN_STRIPE_API_BASE", "")  # e.g. stripe-mock; empty: api.stripe.com
STRIPE_TIMEOUT_SECONDS = float(os.environ.get("SEATPLAN_STRIPE_TIMEOUT_SECONDS", "30"))
if _gateway == "stripe" and not STRIPE_SECRET_KEY:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("SEATPLAN_PAYMENT_GATEWAY is stripe but SEATPLAN_STRIPE_SECRET_KEY is not set.")
