"""Test settings: fast hashing, in-memory cache and mail, plain static files."""

import os

from .base import *  # noqa: F403
from .base import BASE_DIR, STORAGES

DEBUG = False
SECRET_KEY = "test-only-insecure-key"
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {
    # Reads ahead as production's cache does (marketplace.cache.ReadAheadMixin).
    "default": {
        "BACKEND": "marketplace.cache.ReadAheadLocMemCache",
        "OPTIONS": {"MAX_ENTRIES": 10000},
    },
    "renditions": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"},  # as in base
}
SESSION_ENGINE = "django.contrib.sessions.backends.db"
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = BASE_DIR / ".test-media"
WAGTAILADMIN_BASE_URL = "http://testserver"
SERVE_MEDIA = True
WHITENOISE_AUTOREFRESH = True  # no collectstatic in tests
VITRINE_PAGE_CACHE_SECONDS = 0  # tests that need it turn it on
# Pages' shared parts are rendered with their holes but not kept: tests that write rows
# directly (no signal) would see the parts of before. Tests that need them turn them on;
# VITRINE_TEST_FRAGMENT_SECONDS=3600 runs the suite with them kept.
VITRINE_FRAGMENT_SECONDS = int(os.environ.get("VITRINE_TEST_FRAGMENT_SECONDS", "0"))
# A test's Site rows are rolled back without a signal, so a memo would outlive them: tests
# that need it turn it on.
VITRINE_SITE_MEMO = False
