"""Settings shared by every environment. Secrets and hosts come from the environment only."""

import os
from decimal import Decimal
from pathlib import Path
from typing import overload
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

import dj_database_url
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE

BASE_DIR = Path(__file__).resolve().parent.parent.parent


@overload
def env(name: str, default: str) -> str: ...
@overload
def env(name: str, default: None = None) -> str | None: ...
def env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def require_env(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise ImproperlyConfigured(f"The environment variable {name} must be set.")
    return value


SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
CONSOLE_EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"


def email_config(url: str) -> dict[str, object]:
    """The EMAIL_* settings an EMAIL_URL names.

    smtp://user:password@host:587/?tls=1 (STARTTLS), smtp+tls://… (the same),
    smtp+ssl://… or smtps://… (TLS from the start, port 465 by default); user and password
    percent-encoded; ?timeout=seconds (default 10). Errors never repeat the URL: it holds a
    password.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in {"smtp", "smtp+tls", "smtp+ssl", "smtps"}:
        raise ImproperlyConfigured(
            "EMAIL_URL must start with smtp://, smtp+tls://, smtp+ssl:// or smtps://."
        )
    try:
        port = parts.port
    except ValueError:
        raise ImproperlyConfigured("EMAIL_URL has an invalid port.") from None
    if not parts.hostname:
        raise ImproperlyConfigured("EMAIL_URL must name the mail server's host.")
    query = parse_qs(parts.query)

    def flag(name: str) -> bool:
        return query.get(name, [""])[-1].strip().lower() in {"1", "true", "yes", "on"}

    use_ssl = scheme in {"smtp+ssl", "smtps"} or flag("ssl")
    use_tls = scheme == "smtp+tls" or flag("tls")
    if use_ssl and use_tls:
        raise ImproperlyConfigured("EMAIL_URL: choose TLS from the start (ssl) or STARTTLS (tls).")
    try:
        timeout = int(query.get("timeout", ["10"])[-1])
    except ValueError:
        raise ImproperlyConfigured("EMAIL_URL: timeout must be a number of seconds.") from None
    return {
        "EMAIL_BACKEND": SMTP_BACKEND,
        "EMAIL_HOST": parts.hostname,
        "EMAIL_PORT": port or (465 if use_ssl else 587 if use_tls else 25),
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_TLS": use_tls,
        "EMAIL_USE_SSL": use_ssl,
        "EMAIL_TIMEOUT": timeout,
    }


DEBUG = False
SECRET_KEY = env("SECRET_KEY")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")

INSTALLED_APPS = [
    # First: its templates give Wagtail admin's inline scripts a CSP nonce (see its apps.py).
    "marketplace",
    "home",
    "vendors",
    "products",
    "orders",
    "accounts",
    "policies",
    "saved",
    "api",
    "privacy",
    "demo",
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.routable_page",
    "wagtail.contrib.settings",
    "wagtail.contrib.sitemaps",
    "wagtail.api.v2",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "wagtail_modeladmin",
    "modelcluster",
    "taggit",
    "django_filters",
    "phonenumber_field",
    "django_tasks",
    "axes",
    "django_tasks_db",
    "csp",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.sitemaps",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    # First: every log line of the request carries its id (X-Request-ID in and out).
    "marketplace.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Outside the page cache: a cached page gets a fresh policy (and no reused nonce) per hit.
    "marketplace.middleware.ContentSecurityPolicyMiddleware",
    "marketplace.middleware.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before the page cache: a campaign's link is served the page without its utm_* and clids.
    "marketplace.middleware.TrackingParametersMiddleware",
    # Before sessions and auth: a cache hit for a cookie-less visitor skips them entirely.
    "marketplace.page_cache.AnonymousPageCacheMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # After CommonMiddleware (the host is checked): a page's cache reads in one round trip,
    # then the request's Site without a query.
    "marketplace.page_cache.ReadAheadMiddleware",
    "marketplace.sites.SiteMiddleware",
    # Lets the RFC 8058 one-click unsubscribe POST through on its signed token (see the class).
    "accounts.middleware.SignedUnsubscribeCsrfMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "vendors.middleware.VendorAdminBoundaryMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
    # Last: turns a login refused for too many failures into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "marketplace.urls"
WSGI_APPLICATION = "marketplace.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "wagtail.contrib.settings.context_processors.settings",
            ],
        },
    },
    {  # the templates rendered most often: the item card (marketplace.jinja_env)
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [],
        "APP_DIRS": True,  # each app's jinja2/ directory
        "OPTIONS": {"environment": "marketplace.jinja_env.environment"},
    },
]

# SQLite is the embedded default; DATABASE_URL (postgres://...) switches to PostgreSQL.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(env("DB_CONN_MAX_AGE", "0")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes write to one file (gunicorn workers, the task worker): a transaction
    # takes the write lock when it begins and waits for it, instead of failing with "database
    # is locked" when its first read turns into a write; WAL lets readers run beside a writer.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Many short requests run at once: a parallel plan spreads one query over several
    # processes (each rebuilding the same hash tables), costing more CPU than it saves in time.
    options = DATABASES["default"].setdefault("OPTIONS", {})
    parallel = int(env("DB_MAX_PARALLEL_WORKERS_PER_GATHER", "0"))
    options["options"] = (
        options.get("options", "") + f" -c max_parallel_workers_per_gather={parallel}"
    ).strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
WAGTAILIMAGES_IMAGE_MODEL = "marketplace.CustomImage"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "accounts_login"  # URL names: Django resolves them (resolve_url)
LOGIN_REDIRECT_URL = "accounts_home"
LOGOUT_REDIRECT_URL = "/"
PASSWORD_RESET_TIMEOUT = 2 * 60 * 60  # a reset link works for two hours
VITRINE_EMAIL_VERIFICATION_DAYS = 3

# Axes first: it refuses locked-out logins (site and Wagtail admin alike) before any password
# check. Then sign-in by email or username.
AUTHENTICATION_BACKENDS = [
    "accounts.backends.ThrottlingBackend",
    "accounts.backends.EmailOrUsernameBackend",
]
# Failed logins are counted per IP address and, separately, per account name (known or not,
# so the lockout reveals nothing about which accounts exist).
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 0.25  # hours
# Behind N reverse proxies the client address is the Nth entry from the right of X-Forwarded-For.
VITRINE_TRUSTED_PROXIES = int(env("VITRINE_TRUSTED_PROXIES", "0"))
AXES_CLIENT_IP_CALLABLE = "accounts.backends.client_ip"
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_USERNAME_CALLABLE = "accounts.backends.axes_username"
AXES_LOCKOUT_CALLABLE = "accounts.views.lockout"
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True  # successful logins are not kept (no IP/user-agent history)
AXES_ENABLE_ADMIN = False
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "password"]

# Sessions live server-side: the cookie holds only the session key. With Redis, cached_db reads
# Redis first and always writes the database; while Redis is down it uses the database alone.
REDIS_URL = env("REDIS_URL")
SESSION_ENGINE = (
    "django.contrib.sessions.backends.cached_db"
    if REDIS_URL
    else "django.contrib.sessions.backends.db"
)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Flash messages live in the server-side session too: the default (a cookie) would carry their
# text ("Ada, …", item titles) in the browser. The only cookies are the session key and CSRF.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
if REDIS_URL:
    CACHES = {
        "default": {
            # Redis errors are logged and skipped, never raised: the cache accelerates the
            # site, it never takes it down (see marketplace/cache.py and docs/deploy.md).
            "BACKEND": "marketplace.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            # Several sites (or test runs) can share one Redis without seeing each other's keys.
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", ""),
            "OPTIONS": {
                # A dead or unreachable Redis costs a request at most one short timeout, then
                # is left alone for RETRY_AFTER seconds.
                "socket_connect_timeout": float(env("CACHE_SOCKET_TIMEOUT", "0.5")),
                "socket_timeout": float(env("CACHE_SOCKET_TIMEOUT", "0.5")),
                "RETRY_AFTER": float(env("CACHE_RETRY_AFTER", "5")),
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "marketplace.cache.ReadAheadLocMemCache",
            "LOCATION": "vitrine",
        }
    }

# Wagtail writes every rendition it hands out to this cache (a network round trip each, on
# every page), to find it again without a query. The site's pages read renditions with the
# images they show (prefetched, in the same query for a whole grid), so nothing is kept.
CACHES["renditions"] = {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(BASE_DIR / "media")))
SERVE_MEDIA = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# S3-compatible object storage for uploads (images, documents) when a bucket is named; boto3
# reads AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY from the environment itself.
AWS_STORAGE_BUCKET_NAME = env("AWS_STORAGE_BUCKET_NAME", "")
AWS_S3_ENDPOINT_URL = env("AWS_S3_ENDPOINT_URL", "")  # MinIO, Ceph, R2...; empty for AWS
AWS_S3_REGION_NAME = env("AWS_S3_REGION_NAME", "")
AWS_S3_CUSTOM_DOMAIN = env("AWS_S3_CUSTOM_DOMAIN", "")  # a CDN in front of the bucket
MEDIA_ORIGINS: list[str] = []  # where uploaded images are loaded from (CSP img-src)
if AWS_STORAGE_BUCKET_NAME:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": AWS_S3_ENDPOINT_URL or None,
            "region_name": AWS_S3_REGION_NAME or None,
            "custom_domain": AWS_S3_CUSTOM_DOMAIN or None,
            "default_acl": None,  # the bucket's own policy decides
            "file_overwrite": False,
            "querystring_auth": env_bool("AWS_QUERYSTRING_AUTH", False),
        },
    }
    if AWS_S3_CUSTOM_DOMAIN:
        MEDIA_ORIGINS = [f"https://{AWS_S3_CUSTOM_DOMAIN}"]
    elif AWS_S3_ENDPOINT_URL:
        MEDIA_ORIGINS = [AWS_S3_ENDPOINT_URL.rstrip("/")]
    else:
        MEDIA_ORIGINS = [f"https://{AWS_STORAGE_BUCKET_NAME}.s3.amazonaws.com"]
        if AWS_S3_REGION_NAME:
            MEDIA_ORIGINS.append(
                f"https://{AWS_STORAGE_BUCKET_NAME}.s3.{AWS_S3_REGION_NAME}.amazonaws.com"
            )

DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000

# Mail: EMAIL_URL (an SMTP server, see email_config) and/or EMAIL_BACKEND (a backend class; with
# EMAIL_URL too, it replaces the SMTP class and still gets the URL's host and credentials).
# Without either, mail is printed to the console: fine for development, refused in production.
EMAIL_BACKEND = CONSOLE_EMAIL_BACKEND
EMAIL_TIMEOUT = 10  # seconds: a mail server that hangs must not hang a worker
EMAIL_URL = env("EMAIL_URL", "").strip()
if EMAIL_URL:
    globals().update(email_config(EMAIL_URL))
if env("EMAIL_BACKEND", "").strip():
    EMAIL_BACKEND = env("EMAIL_BACKEND").strip()
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Vitrine <orders@vitrine.example>")

# Money: Decimal amounts in one site currency.
VITRINE_CURRENCY = env("VITRINE_CURRENCY", "GBP")
# The release this process runs (the deploy's commit, say): the shared cache keeps each
# release's entries apart. Empty: a digest of the code is taken (marketplace.release).
VITRINE_RELEASE = env("VITRINE_RELEASE", "")
VITRINE_DEFAULT_COMMISSION_RATE = Decimal(env("VITRINE_DEFAULT_COMMISSION_RATE", "0.15"))
VITRINE_ITEMS_PER_PAGE = 24
VITRINE_SHOPS_PER_PAGE = 24
# Whole-page cache for first-time anonymous visitors (0 turns it off).
VITRINE_PAGE_CACHE_SECONDS = int(env("VITRINE_PAGE_CACHE_SECONDS", "300"))
# Each request's Wagtail Site from a memo per host (marketplace.sites), not a query.
VITRINE_SITE_MEMO = True
VITRINE_SHIPPING_COUNTRIES = [
    ("GB", "United Kingdom"),
    ("IE", "Ireland"),
    ("FR", "France"),
    ("DE", "Germany"),
    ("IT", "Italy"),
    ("ES", "Spain"),
    ("NL", "Netherlands"),
    ("BE", "Belgium"),
    ("US", "United States"),
]
VITRINE_RESERVATION_MINUTES = int(env("VITRINE_RESERVATION_MINUTES", "15"))
# A phone order's pieces are held while the shopper finds the emailed payment link.
VITRINE_PHONE_ORDER_HOLD_HOURS = int(env("VITRINE_PHONE_ORDER_HOLD_HOURS", "48"))
# An erased account's order that shipped but was never marked delivered keeps its delivery
# details this long after shipping (orders' erase_overdue_orders job).
VITRINE_ERASE_SHIPPED_ORDERS_AFTER_DAYS = int(env("VITRINE_ERASE_SHIPPED_ORDERS_AFTER_DAYS", "60"))
# Holds: pieces per checkout, unpaid checkouts per session or email at once, and pieces held
# from one network (a keyed hash of the client IP) per hour. Anyone may check out; nobody may
# hold the catalogue.
VITRINE_CHECKOUT_MAX_PIECES = int(env("VITRINE_CHECKOUT_MAX_PIECES", "5"))
VITRINE_UNPAID_CHECKOUTS_MAX = int(env("VITRINE_UNPAID_CHECKOUTS_MAX", "2"))
VITRINE_HOLDS_PER_NETWORK_PER_HOUR = int(env("VITRINE_HOLDS_PER_NETWORK_PER_HOUR", "10"))
# A shop is paid out once its part was delivered and the shopper's right to cancel has run.
VITRINE_RETURN_WINDOW_DAYS = int(env("VITRINE_RETURN_WINDOW_DAYS", "14"))
# Staff told about chargebacks (besides the shop); empty: the ADMINS setting, if any.
VITRINE_DISPUTES_EMAIL = env("VITRINE_DISPUTES_EMAIL", "")

# Stripe: test keys and localstripe (STRIPE_API_BASE) in development; real keys in production.
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", "")
STRIPE_PUBLISHABLE_KEY = env("STRIPE_PUBLISHABLE_KEY", "")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", "")
STRIPE_API_BASE = env("STRIPE_API_BASE", "")
STRIPE_JS_URL = (
    f"{STRIPE_API_BASE}/js.stripe.com/v3/" if STRIPE_API_BASE else "https://js.stripe.com/v3/"
)

# Background work (emails): run at once by default; a database-backed worker in production.
TASKS = {
    "default": {"BACKEND": env("TASKS_BACKEND", "django_tasks.backends.immediate.ImmediateBackend")}
}

PHONENUMBER_DEFAULT_REGION = env("PHONENUMBER_DEFAULT_REGION", "GB")
PHONENUMBER_DB_FORMAT = "E164"

# Wagtail
WAGTAIL_SITE_NAME = "Vitrine"
WAGTAILADMIN_BASE_URL = env("WAGTAILADMIN_BASE_URL", "http://127.0.0.1:8000")
WAGTAILSEARCH_BACKENDS = {
    # Picks PostgreSQL full-text search on PostgreSQL and FTS5 on SQLite.
    "default": {
        "BACKEND": "wagtail.search.backends.database",
        # PostgreSQL: the text configuration named, not the database's default. A query that
        # names it is parsed once; without one, to_tsquery(text) is only stable, and is parsed
        # again for every row matched and ranked (79 ms instead of 30 for 12,500 matches).
        # SQLite's backend ignores it.
        "SEARCH_CONFIG": "english",
    },
}
WAGTAILIMAGES_EXTENSIONS = ["gif", "jpg", "jpeg", "png", "webp"]
WAGTAILIMAGES_MAX_UPLOAD_SIZE = 10 * 1024 * 1024
WAGTAILIMAGES_MAX_IMAGE_PIXELS = 40_000_000
WAGTAILDOCS_EXTENSIONS = ["pdf", "txt"]
# Documents always go through Wagtail's serve view (permission checks, headers we control);
# only PDF and plain text open in the browser, everything else downloads as an attachment.
WAGTAILDOCS_SERVE_METHOD = "serve_view"
WAGTAILDOCS_INLINE_CONTENT_TYPES = ["application/pdf", "text/plain"]
# No third-party avatar requests from the admin (privacy, and the admin CSP stays 'self').
WAGTAIL_GRAVATAR_PROVIDER_URL = None
# The admin dashboard does not call releases.wagtail.org (upgrades come through requirements).
WAGTAIL_ENABLE_UPDATE_CHECK = False
WAGTAIL_ALLOW_UNICODE_SLUGS = False
WAGTAILEMBEDS_RESPONSIVE_HTML = True
# Draftail, but a posted value that is not Draftail's JSON is a field error instead of a 500.
WAGTAILADMIN_RICH_TEXT_EDITORS = {
    "default": {"WIDGET": "marketplace.rich_text.DraftailRichTextArea"}
}
WAGTAIL_I18N_ENABLED = False
WAGTAILAPI_BASE_URL = WAGTAILADMIN_BASE_URL
# The public read API (/api/v2/, the `api` app): at most 50 objects per request.
WAGTAILAPI_LIMIT_MAX = 50

# Security headers (all environments; production adds HTTPS-only settings).
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
# Content-Security-Policy (django-csp 4) for the public site. Scripts: our own files, per-request
# nonces and Stripe.js only; never 'unsafe-inline'. marketplace.middleware adds the origin of a
# local Stripe (STRIPE_API_BASE, localstripe) and swaps in ADMIN_CSP_REPLACE under /admin/.
STRIPE_JS_ORIGIN = "https://js.stripe.com"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE, STRIPE_JS_ORIGIN],
        "style-src": [SELF],
        "img-src": [SELF, "data:", "https://*.stripe.com", *MEDIA_ORIGINS],
        "font-src": [SELF],
        "connect-src": [SELF, "https://api.stripe.com"],
        "frame-src": [STRIPE_JS_ORIGIN, "https://hooks.stripe.com"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
# The Wagtail admin sets inline style attributes from its templates and scripts (Draftail,
# StreamField, choosers, the sidebar), so it needs 'unsafe-inline' for styles; scripts stay
# 'self' + nonce. It frames its own previews ('self') and shows image previews from blob: URLs.
ADMIN_URL_PREFIX = "/admin/"
ADMIN_CSP_REPLACE = {
    "script-src": [SELF, NONCE],
    "style-src": [SELF, UNSAFE_INLINE],
    "img-src": [SELF, "data:", "blob:", *MEDIA_ORIGINS],
    "font-src": [SELF, "data:"],
    "connect-src": [SELF],
    "frame-src": [SELF],
    "frame-ancestors": [SELF],
}
# Powerful browser features nobody on the site needs; payment only for Stripe (wallet buttons).
PERMISSIONS_POLICY = {
    "accelerometer": [],
    "autoplay": [],
    "camera": [],
    "display-capture": [],
    "encrypted-media": [],
    "fullscreen": ["self"],
    "geolocation": [],
    "gyroscope": [],
    "magnetometer": [],
    "microphone": [],
    "midi": [],
    "payment": ["self", '"https://js.stripe.com"'],
    "picture-in-picture": [],
    "publickey-credentials-get": [],
    "screen-wake-lock": [],
    "usb": [],
    "xr-spatial-tracking": [],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "marketplace.logging.RequestIdFilter"},
        # Emailed links' tokens in logged paths ("Not Found: /pay/…/") as "…", no query string.
        "tokenised_paths": {"()": "marketplace.tokenised_urls.TokenisedPathFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        # One JSON object per line: time, level, logger, message, request_id, order_reference.
        "json": {"()": "marketplace.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": env("LOG_FORMAT", "plain"),
            "filters": ["request_id", "tokenised_paths"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        # One line per background task and page action is noise, not information.
        "django_tasks": {"level": "WARNING"},
        "wagtail": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}
# How long a page's shared parts (marketplace.fragments) are kept at most; tags renew them at
# once when what they show changes. 0 turns them off.
VITRINE_FRAGMENT_SECONDS = int(env("VITRINE_FRAGMENT_SECONDS", "3600"))
