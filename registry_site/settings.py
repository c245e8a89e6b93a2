"""Wharf settings: one module, driven by environment variables.

Every default runs on one machine with nothing else installed (SQLite, blobs on the local disk, a
filesystem Celery broker, all under ``WHARF_DATA_DIR``). Production chooses PostgreSQL, S3-compatible
storage and a Redis broker with the variables documented in the README's configuration reference.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import django_stubs_ext

from identity.config import oidc_providers, parse_group_map

from .env import blob_storage, database_from_url, envbool, envint, envlist, envstr
from .secret_key import installation_secret_key

# Django's generic classes (ModelAdmin[M], ModelForm[M], QuerySet[M], ...) take their type arguments
# at run time too, as django-stubs types them.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent

DATA_DIR = Path(envstr("WHARF_DATA_DIR", str(BASE_DIR / "data"))).resolve()
# The embedded default keeps everything here (database, blobs, static files, Celery's queue).
(DATA_DIR / "static").mkdir(parents=True, exist_ok=True)

# Set it in production (shared by every host of one installation); unset, each data directory gets
# its own random key on first start. There is no default key: one in the source would be public.
SECRET_KEY = envstr("WHARF_SECRET_KEY") or installation_secret_key(DATA_DIR)
DEBUG = envbool("WHARF_DEBUG", False)
ALLOWED_HOSTS = envlist("WHARF_ALLOWED_HOSTS", "*")
CSRF_TRUSTED_ORIGINS = envlist("WHARF_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "registry_site.apps.RegistrySiteConfig",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "accounts",
    "packages_app",
    "repositories",
    "tokens_app",
    "federation",
    "identity",
    "v2api",
    "api",
    "webhooks",
    "observability",
]

MIDDLEWARE = [
    "v2api.middleware.RegistryHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # Domain errors a page view lets out: 404, 403 or 400 pages (ui.page_errors)
    "ui.page_errors.PageErrorsMiddleware",
]
# Registry requests (/v2/..., /token) carry no session or CSRF cookie, log in no browser and render
# no HTML, so registry_site.wsgi serves them through this chain: MIDDLEWARE, in the same order, less
# the page-only entries (they cost more than half the CPU of a small registry request). What stays:
# the API version header, SecurityMiddleware (nosniff on blobs, HTTPS redirect and HSTS when set) and
# CommonMiddleware (ALLOWED_HOSTS, Content-Length).
_PAGE_ONLY_MIDDLEWARE = {
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "ui.page_errors.PageErrorsMiddleware",
}
REGISTRY_MIDDLEWARE = [m for m in MIDDLEWARE if m not in _PAGE_ONLY_MIDDLEWARE]
# The registry API answers paths like /v2/acme/app/blobs/uploads/<uuid> exactly as given.
APPEND_SLASH = False

ROOT_URLCONF = "registry_site.urls"
WSGI_APPLICATION = "registry_site.wsgi.application"

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
                "packages_app.context_processors.wharf",
            ]
        },
    }
]

_default_db = f"sqlite:///{DATA_DIR / 'wharf.sqlite3'}"
DATABASES = {"default": database_from_url(envstr("DATABASE_URL", _default_db))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the one writer; IMMEDIATE avoids lock-upgrade deadlocks between
    # gunicorn workers; the busy timeout makes a writer wait instead of failing at once.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    # A file (not :memory:) so an end-to-end server process can share the test database; one per
    # test process so parallel runs do not collide.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / f"test-{os.getpid()}.sqlite3")}
# Uploads are long: services open short transactions where they need them (no ATOMIC_REQUESTS).
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# --- Accounts (django-allauth) -------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = envstr("WHARF_EMAIL_VERIFICATION", "none")
ACCOUNT_USERNAME_MIN_LENGTH = 1
ACCOUNT_PRESERVE_USERNAME_CASING = False
LOGIN_REDIRECT_URL = "/"
ACCOUNT_LOGOUT_REDIRECT_URL = "/"

# --- Sign-in providers (identity/): OpenID Connect through allauth, beside local accounts --------
# WHARF_OIDC_PROVIDERS=corp,partner and, per provider, WHARF_OIDC_<ID>_ISSUER, _CLIENT_ID, _CLIENT_SECRET,
# optional _NAME, _SCOPES, _GROUPS_CLAIM, _GROUP_MAP (identity/config.py; README "Sign-in providers").
WHARF_OIDC_PROVIDERS = oidc_providers()
WHARF_OIDC_BY_ID = {provider.id: provider for provider in WHARF_OIDC_PROVIDERS}
SOCIALACCOUNT_PROVIDERS = {"openid_connect": {"APPS": [p.allauth_app() for p in WHARF_OIDC_PROVIDERS]}}
SOCIALACCOUNT_ADAPTER = "identity.adapter.SocialAccountAdapter"
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True  # linking: verified on both sides only (identity.adapter)
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_STORE_TOKENS = False
# LDAP (django-auth-ldap), after the local backends: WHARF_LDAP_URI, WHARF_LDAP_USER_DN_TEMPLATE or
# WHARF_LDAP_USER_SEARCH_BASE (+ _USER_FILTER), _BIND_DN/_BIND_PASSWORD, _GROUP_SEARCH_BASE (+ _GROUP_TYPE),
# _START_TLS, _GROUP_MAP (identity/ldap_settings.py, identity/ldap.py).
WHARF_LDAP_GROUP_MAP = parse_group_map(envstr("WHARF_LDAP_GROUP_MAP"))
if envstr("WHARF_LDAP_URI"):
    from identity.ldap_settings import ldap_settings

    globals().update(ldap_settings())
    AUTHENTICATION_BACKENDS.append("identity.ldap.WharfLDAPBackend")
EMAIL_BACKEND = envstr("WHARF_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = envstr("WHARF_EMAIL_HOST", "localhost")
EMAIL_PORT = envint("WHARF_EMAIL_PORT", 25)
EMAIL_HOST_USER = envstr("WHARF_EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = envstr("WHARF_EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = envbool("WHARF_EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = envstr("WHARF_DEFAULT_FROM_EMAIL", "wharf@localhost")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]

# --- Blob storage -------------------------------------------------------------------------------
# "filesystem" keeps blobs under WHARF_DATA_DIR/blobs; "s3" uses django-storages against any
# S3-compatible endpoint (WHARF_S3_*, read by registry_site.env.blob_storage). Both go through
# packages_app.storage, which owns every byte of content.
WHARF_STORAGE = envstr("WHARF_STORAGE", "filesystem")

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "blobs": blob_storage(WHARF_STORAGE, DATA_DIR),
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = DATA_DIR / "media"

# --- Registry limits and behaviour --------------------------------------------------------------
WHARF_MAX_BLOB_SIZE = envint("WHARF_MAX_BLOB_SIZE", 10 * 1024**3)
WHARF_MAX_MANIFEST_SIZE = envint("WHARF_MAX_MANIFEST_SIZE", 4 * 1024**2)
# A session idle this long is refused when used (BLOB_UPLOAD_UNKNOWN) and removed by expire_uploads.
WHARF_UPLOAD_TIMEOUT = envint("WHARF_UPLOAD_TIMEOUT", 600)
# Live upload sessions one user (any of their tokens) may hold at once; sessions without a user
# (anonymous pushes, automation tokens) count per package. 0: no limit.
WHARF_MAX_OPEN_UPLOADS = envint("WHARF_MAX_OPEN_UPLOADS", 100)
# Storage quota of every user and organization, in bytes of the distinct blobs their packages hold
# (packages_app.quotas); a site admin's StorageQuota row overrides it for one namespace. 0: no limit.
WHARF_QUOTA_DEFAULT_BYTES = envint("WHARF_QUOTA_DEFAULT_BYTES", 0)
WHARF_S3_PART_SIZE = envint("WHARF_S3_PART_SIZE", 16 * 1024**2)
WHARF_TAGS_PAGE_SIZE = envint("WHARF_TAGS_PAGE_SIZE", 1000)
# GET /v2/_catalog returns at most this many names per page, whatever ``n`` asks (then a Link follows).
WHARF_CATALOG_MAX_ENTRIES = envint("WHARF_CATALOG_MAX_ENTRIES", 1000)
# Pushes and deletes without credentials happen only when this is set on purpose (a throwaway
# development registry); normally every write needs a personal access token.
WHARF_ANONYMOUS_PUSH = envbool("WHARF_ANONYMOUS_PUSH", False)
# Host names (host[:port]) that are "this site" in a package's org.opencontainers.image.source label:
# a label https://HOST/OWNER/REPO naming a known repository links the package to it. Empty: any host.
WHARF_SITE_HOSTS = envlist("WHARF_SITE_HOSTS", lower=True)
# Lifetime of a repository's automation tokens (the GITHUB_TOKEN analogue), seconds.
WHARF_AUTOMATION_TOKEN_SECONDS = envint("WHARF_AUTOMATION_TOKEN_SECONDS", 3600)
# The registry's public address, as clients reach it (scheme://host[:port], no path): the Bearer
# realm, the token service and the pages' pull commands come from it, never from a request's Host
# header (which anyone can set). Defaults to the address gunicorn listens on (WHARF_LISTEN).
WHARF_PUBLIC_URL = (envstr("WHARF_PUBLIC_URL") or f"http://{envstr('WHARF_LISTEN', '127.0.0.1:8000')}").rstrip("/")
# Lifetime of the registry credential a CI job gets for its OIDC token at POST /ci/token (federation).
WHARF_CI_TOKEN_SECONDS = envint("WHARF_CI_TOKEN_SECONDS", 900)
# Registry bearer tokens: their lifetime outlasts an upload session, and the service name they are
# issued for (defaults to the host[:port] of WHARF_PUBLIC_URL).
WHARF_REGISTRY_TOKEN_SECONDS = envint("WHARF_REGISTRY_TOKEN_SECONDS", 900)
WHARF_REGISTRY_SERVICE = envstr("WHARF_REGISTRY_SERVICE")
# At most this many repository scopes in one /token request (each costs role lookups and token bytes).
WHARF_TOKEN_MAX_SCOPES = envint("WHARF_TOKEN_MAX_SCOPES", 50)
# A registry token's actor and role decisions are remembered per process for this long (never past the
# token's expiry; 0: not at all). Revocations reach requests with an issued token within this time.
WHARF_REGISTRY_AUTH_CACHE_SECONDS = envint("WHARF_REGISTRY_AUTH_CACHE_SECONDS", 60)
# Pulls are counted in memory and written every this many seconds (packages_app.pull_counts); 0 writes
# each pull at once. A process killed without exiting loses at most this much of its counts.
WHARF_PULL_COUNT_FLUSH_SECONDS = envint("WHARF_PULL_COUNT_FLUSH_SECONDS", 5)

# --- Django REST framework ----------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_PARSER_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
# The REST API's OpenAPI schema (/api/schema) and docs page (/api/docs), with Swagger UI served by the
# site itself (drf-spectacular-sidecar): no external CDN.
SPECTACULAR_SETTINGS = {
    "TITLE": "Wharf packages API",
    "DESCRIPTION": "Packages of users and organizations, modelled on GitHub's REST API for packages.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # No deep links (an <a> inside each operation's toggle button is nested-interactive for screen
    # readers); the token typed into "Authorize" is not kept in localStorage.
    "SWAGGER_UI_SETTINGS": {"deepLinking": False, "persistAuthorization": False},
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api",
    "COMPONENT_SPLIT_REQUEST": True,
    "PREPROCESSING_HOOKS": ["api.schema.only_the_rest_api"],
    # Applies the views' annotations (api.openapi) first; loaded with the first schema request.
    "DEFAULT_GENERATOR_CLASS": "api.schema.Generator",
}

# --- Celery -------------------------------------------------------------------------------------
# The host part means nothing to the filesystem transport; without it kombu warns on every start.
CELERY_BROKER_URL = envstr("CELERY_BROKER_URL", "filesystem://localhost//")
CELERY_RESULT_BACKEND = envstr("CELERY_RESULT_BACKEND", f"file://{DATA_DIR / 'celery' / 'results'}")
_celery_queue_dir = str(DATA_DIR / "celery" / "queue")
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {"data_folder_in": _celery_queue_dir, "data_folder_out": _celery_queue_dir, "control_folder": _celery_queue_dir}
    if CELERY_BROKER_URL.startswith("filesystem://")
    else {}
)
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", False)
# One queue name per registry sharing a broker (and per end-to-end test sharing this machine's Redis).
CELERY_TASK_DEFAULT_QUEUE = envstr("CELERY_TASK_DEFAULT_QUEUE", "celery")
# Garbage collection never removes anything younger than its grace period, which is at least the
# upload timeout (REGISTRY.md "Background work": a push in progress keeps what it uploaded).
WHARF_GC_GRACE_SECONDS = max(envint("WHARF_GC_GRACE_SECONDS", WHARF_UPLOAD_TIMEOUT), WHARF_UPLOAD_TIMEOUT)
WHARF_GC_INTERVAL_SECONDS = envint("WHARF_GC_INTERVAL_SECONDS", 3600)
# The orphan sweep (packages_app.sweep) lists the whole store, so it is rare and paced.
WHARF_GC_SWEEP_INTERVAL_SECONDS = envint("WHARF_GC_SWEEP_INTERVAL_SECONDS", 7 * 24 * 3600)
WHARF_GC_SWEEP_KEYS_PER_SECOND = envint("WHARF_GC_SWEEP_KEYS_PER_SECOND", 1000)
# A deleted package or version can be restored for this many days; after that ``purge_deleted`` (daily)
# removes its rows for good and the next collection takes the blobs only it used.
WHARF_DELETED_RETENTION_DAYS = envint("WHARF_DELETED_RETENTION_DAYS", 30)
CELERY_BEAT_SCHEDULE = {
    "expire-uploads": {"task": "packages_app.tasks.expire_uploads", "schedule": 60.0},
    "collect-garbage": {"task": "packages_app.tasks.collect_garbage", "schedule": float(WHARF_GC_INTERVAL_SECONDS)},
    "sweep-orphans": {"task": "packages_app.tasks.sweep_orphans", "schedule": float(WHARF_GC_SWEEP_INTERVAL_SECONDS)},
    # Extraction is enqueued by each push; this catches up on tasks lost while the broker was down.
    "extract-pending-metadata": {"task": "packages_app.tasks.extract_pending_metadata", "schedule": 300.0},
    "purge-deleted": {"task": "packages_app.tasks.purge_deleted", "schedule": 86400.0},
}

# --- Integrations: webhooks ---------------------------------------------------------------------
# Links in webhook bodies use WHARF_PUBLIC_URL (above).
# Webhook targets resolving to loopback, link-local, private or reserved addresses are refused unless
# their host (or host:port) is listed here (webhooks.transport).
WHARF_WEBHOOK_ALLOWED_HOSTS = envlist("WHARF_WEBHOOK_ALLOWED_HOSTS", lower=True)
WHARF_WEBHOOK_TIMEOUT_SECONDS = envint("WHARF_WEBHOOK_TIMEOUT_SECONDS", 5)
WHARF_WEBHOOK_MAX_RESPONSE_BYTES = envint("WHARF_WEBHOOK_MAX_RESPONSE_BYTES", 65536)
WHARF_WEBHOOK_RETRIES = envint("WHARF_WEBHOOK_RETRIES", 5)
WHARF_WEBHOOK_BACKOFF_SECONDS = envint("WHARF_WEBHOOK_BACKOFF_SECONDS", 30)
# An untagged image pushed by digest is announced this many seconds later, unless it became a platform
# of an index (or got a tag) meanwhile: a multi-platform push gives one event, naming the index.
WHARF_WEBHOOK_UNTAGGED_DELAY_SECONDS = envint("WHARF_WEBHOOK_UNTAGGED_DELAY_SECONDS", 60)

# gunicorn writes the access log (registry_site/gunicorn.conf.py); Django's log leaves out what it has.
WHARF_ACCESS_LOG = envbool("WHARF_ACCESS_LOG", False)
# --- Metrics (observability) ---------------------------------------------------------------------
# off: no /metrics and no middleware; token: /metrics for "Bearer $WHARF_METRICS_TOKEN"; bind: a
# listener of its own on WHARF_METRICS_LISTEN, started by gunicorn's master.
WHARF_METRICS = envstr("WHARF_METRICS", "off").strip().lower()
if WHARF_METRICS not in {"off", "token", "bind"}:
    raise ValueError("WHARF_METRICS must be off, token or bind")
WHARF_METRICS_TOKEN = envstr("WHARF_METRICS_TOKEN")
if WHARF_METRICS == "token" and len(WHARF_METRICS_TOKEN) < 16:
    raise ValueError("WHARF_METRICS=token needs WHARF_METRICS_TOKEN of at least 16 characters")
WHARF_METRICS_LISTEN = envstr("WHARF_METRICS_LISTEN", "127.0.0.1:9102")
if WHARF_METRICS != "off":
    MIDDLEWARE.insert(0, "observability.middleware.MetricsMiddleware")
    REGISTRY_MIDDLEWARE.insert(0, "observability.middleware.MetricsMiddleware")
    # gunicorn's workers and the Celery worker each write their samples here; a scrape sums them.
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(DATA_DIR / "metrics"))
    Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)

# --- Rate limits (throttling) ------------------------------------------------------------------
# Requests per window to /v2/… and /token: per credential (the Authorization header sent), per client
# address without one, per authenticated user across their tokens. 0: no limit (the default).
WHARF_RATE_LIMIT_WINDOW_SECONDS = envint("WHARF_RATE_LIMIT_WINDOW_SECONDS", 60)
WHARF_RATE_LIMIT_TOKEN = envint("WHARF_RATE_LIMIT_TOKEN", 0)
WHARF_RATE_LIMIT_ANONYMOUS = envint("WHARF_RATE_LIMIT_ANONYMOUS", 0)
WHARF_RATE_LIMIT_USER = envint("WHARF_RATE_LIMIT_USER", 0)
# Personal access tokens one user may create per window, and one client address (the token page's own
# limit, on even when the registry's are off). 0: no limit.
WHARF_RATE_LIMIT_TOKEN_CREATION = envint("WHARF_RATE_LIMIT_TOKEN_CREATION", 10)
# The proxies in front of Wharf (comma-separated CIDRs): only a request from one of them has its client
# address taken from X-Forwarded-For (its right-most address no trusted proxy holds; throttling.addresses).
WHARF_TRUSTED_PROXIES = envlist("WHARF_TRUSTED_PROXIES")
for _cidr in WHARF_TRUSTED_PROXIES:
    ipaddress.ip_network(_cidr, strict=False)  # a typo fails at start, not at the first request
# Counters in Redis, shared by every process and node (e.g. redis://redis:6379/1); empty: in-process.
WHARF_RATE_LIMIT_REDIS_URL = envstr("WHARF_RATE_LIMIT_REDIS_URL")
if WHARF_RATE_LIMIT_REDIS_URL:
    # allauth's own limits on the login, sign-up and password-reset pages (ACCOUNT_RATE_LIMITS: failed
    # logins 10 a minute per address, 5 in 5 minutes per account) count in Django's cache: shared too.
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": WHARF_RATE_LIMIT_REDIS_URL}
    }
if WHARF_RATE_LIMIT_TOKEN or WHARF_RATE_LIMIT_ANONYMOUS:
    MIDDLEWARE.insert(0, "throttling.middleware.RateLimitMiddleware")
    REGISTRY_MIDDLEWARE.insert(0, "throttling.middleware.RateLimitMiddleware")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # registry_site.logging: an expected 403/404 is one line, not a traceback
    "filters": {"one_line_refusals": {"()": "registry_site.logging.OneLineRefusals", "access_log": WHARF_ACCESS_LOG}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["one_line_refusals"]}},
    "root": {"handlers": ["console"], "level": envstr("WHARF_LOG_LEVEL", "INFO")},
}
