"""Benchmark settings of the site: production settings, plain HTTP on loopback, the site's
minimal view (bench/urls.py) and a query counter asked for by header (bench/queries.py)."""

import os

os.environ.setdefault("SECRET_KEY", "bench-only-" + "k" * 50)
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.dummy.EmailBackend")

from marketplace.settings.production import *  # noqa: E402,F403
from marketplace.settings.production import BASE_DIR, MIDDLEWARE, TEMPLATES  # noqa: E402

ROOT_URLCONF = "bench.urls"
TEMPLATES[0]["DIRS"] = [*TEMPLATES[0]["DIRS"], BASE_DIR / "bench" / "bare" / "templates"]
# Outermost: it counts every query of the request, the page cache's and the session's too.
MIDDLEWARE = ["bench.queries.QueryCountMiddleware", *MIDDLEWARE]
# Loopback without TLS: the HTTPS-only switches would redirect every request.
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
# Warnings and errors only (a request log would cost CPU), and Django's own errors too: a page
# answering 500 under load must say why in the benchmark's output.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {"django": {"handlers": ["console"], "level": "WARNING", "propagate": False}},
}
