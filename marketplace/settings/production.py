"""Production: refuses to start without its secrets; HTTPS only."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import (
    CONSOLE_EMAIL_BACKEND,
    EMAIL_BACKEND,
    EMAIL_URL,
    env,
    env_bool,
    env_list,
    require_env,
)

DEBUG = False
SECRET_KEY = require_env("SECRET_KEY")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
if not ALLOWED_HOSTS:
    # Also refuses "," or " ": a list of empty names would otherwise pass as configured.
    raise ImproperlyConfigured("The environment variable ALLOWED_HOSTS must list the site's hosts.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# Mail carries password-reset links, names and addresses: printed to the console it would land
# in the log with everything else. A real mail configuration is required.
if not (EMAIL_URL or env("EMAIL_BACKEND", "").strip()):
    raise ImproperlyConfigured(
        "Set EMAIL_URL (e.g. smtp://user:password@smtp.example.com:587/?tls=1, or "
        "smtp+ssl://user:password@smtp.example.com:465/) or EMAIL_BACKEND: production does not "
        "send mail without one (see docs/deploy.md)."
    )
if EMAIL_BACKEND == CONSOLE_EMAIL_BACKEND:
    raise ImproperlyConfigured(
        "EMAIL_BACKEND is the console backend: production would print every email into the log."
    )

DATABASES["default"]["CONN_MAX_AGE"] = int(env("DB_CONN_MAX_AGE", "60"))  # noqa: F405

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = 31_536_000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
# Load balancers probe over plain HTTP inside the private network: no redirect for them.
SECURE_REDIRECT_EXEMPT = [r"^healthz/$", r"^readyz/$"]
# Browsers upgrade any stray http:// subresource to https:// on the live site.
CONTENT_SECURITY_POLICY["DIRECTIVES"]["upgrade-insecure-requests"] = True  # noqa: F405

# Background work (order emails, Wagtail's index updates) is stored in the database and run by
# `python manage.py db_worker` (django-tasks-db); TASKS_BACKEND can still choose another.
TASKS = {
    "default": {"BACKEND": env("TASKS_BACKEND", "django_tasks_db.DatabaseBackend")},
}

# One JSON object per log line (marketplace.logging.JsonFormatter); LOG_FORMAT=plain for humans.
LOGGING["handlers"]["console"]["formatter"] = env("LOG_FORMAT", "json")  # noqa: F405
