"""Production wiring: Redis cache and sessions, S3 media, database-backed tasks, gunicorn."""

import os
import runpy
import subprocess
import sys
import uuid
from pathlib import Path
from unittest import mock

import pytest

from tests.servers import REDIS_HOST, REDIS_PORT, redis_up

ROOT = Path(__file__).resolve().parents[2]
BASE_ENV = {
    "PATH": "/usr/bin:/bin",
    "DJANGO_SETTINGS_MODULE": "marketplace.settings.production",
    "SECRET_KEY": "x" * 50,
    "ALLOWED_HOSTS": "vitrine.example",
    "EMAIL_URL": "smtp://mail.example:587/?tls=1",
}


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**BASE_ENV, **env},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_without_redis_url_cache_is_local_and_sessions_in_the_database():
    result = run_python(
        "import django; from django.conf import settings as s; django.setup(); "
        "print(s.CACHES['default']['BACKEND']); print(s.SESSION_ENGINE)"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "marketplace.cache.ReadAheadLocMemCache",
        "django.contrib.sessions.backends.db",
    ]


def test_redis_url_switches_cache_and_sessions_to_the_real_redis():
    if not redis_up():
        pytest.skip(f"Redis is not running on {REDIS_HOST}:{REDIS_PORT} (CI starts it)")
    prefix = f"vitrine-test-{uuid.uuid4().hex[:8]}"
    code = (
        "import django; from django.conf import settings as s; django.setup()\n"
        "from django.core.cache import cache\n"
        "print(s.CACHES['default']['BACKEND']); print(s.SESSION_ENGINE)\n"
        "cache.set('probe', 'from-redis', 30); print(cache.get('probe'))\n"
        "import redis; r = redis.Redis.from_url(s.REDIS_URL)\n"
        f"keys = r.keys('{prefix}:*'); print(len(keys) >= 1)\n"
        "cache.delete('probe')\n"
    )
    result = run_python(code, REDIS_URL=f"redis://{REDIS_HOST}:{REDIS_PORT}/0",
                        CACHE_KEY_PREFIX=prefix)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "marketplace.cache.ResilientRedisCache",
        "django.contrib.sessions.backends.cached_db",
        "from-redis",
        "True",  # the key really is in Redis, under this site's prefix
    ]


def test_bucket_name_switches_media_to_s3_compatible_storage():
    code = (
        "import django; from django.conf import settings as s; django.setup()\n"
        "from django.core.files.storage import default_storage\n"
        "print(s.STORAGES['default']['BACKEND']); print(type(default_storage._wrapped if default_storage._setup() is None else default_storage).__name__)\n"
        "print(default_storage.bucket_name); print(default_storage.endpoint_url)\n"
        "print(s.STORAGES['staticfiles']['BACKEND'])\n"
        "print('http://minio.internal:9000' in s.CONTENT_SECURITY_POLICY['DIRECTIVES']['img-src'])\n"
    )
    result = run_python(
        code,
        AWS_STORAGE_BUCKET_NAME="vitrine-media",
        AWS_S3_ENDPOINT_URL="http://minio.internal:9000",
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "storages.backends.s3.S3Storage",
        "S3Storage",
        "vitrine-media",
        "http://minio.internal:9000",
        "whitenoise.storage.CompressedManifestStaticFilesStorage",  # static files stay local
        "True",
    ]
    assert (
        run_python(
            "import django; from django.conf import settings as s; django.setup(); "
            "print(s.STORAGES['default']['BACKEND'])"
        ).stdout.strip()
        == "django.core.files.storage.FileSystemStorage"
    )


@pytest.mark.django_db
def test_order_emails_queue_in_the_database_and_the_worker_sends_them(settings, mailoutbox):
    """Production's TASKS backend (django-tasks-db): enqueue stores a row, db_worker runs it."""
    from django.core.management import call_command

    from django_tasks_db.models import DBTaskResult

    from marketplace.tests.tasks_probe import send_probe_email

    # django-tasks re-reads TASKS when the setting changes (and again when the test ends).
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    result = send_probe_email.enqueue(to="ops@vitrine.example")
    assert DBTaskResult.objects.count() == 1
    assert mailoutbox == []  # queued, not sent
    # The worker closes stale connections between tasks; inside this test's transaction the
    # connection must stay open (a real worker runs outside any transaction).
    with mock.patch("django_tasks_db.management.commands.db_worker.close_old_connections"):
        call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    assert [m.subject for m in mailoutbox] == ["task probe"]
    result.refresh()
    assert result.status.name in ("SUCCESSFUL", "SUCCEEDED")


def test_gunicorn_config(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("GUNICORN_BIND", "127.0.0.1:9001")
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert config["workers"] == 3 and config["bind"] == "127.0.0.1:9001"
    assert config["graceful_timeout"] >= 10 and config["timeout"] >= config["graceful_timeout"]
    assert "%({x-request-id}o)s" in config["access_log_format"]
    assert "%(h)s" not in config["access_log_format"]  # no client IPs in the access log
    assert config["wsgi_app"] == "marketplace.wsgi:application"


def test_workers_fork_with_the_loaded_application_frozen_out_of_garbage_collection():
    import gc

    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert config["preload_app"] is True
    gc.unfreeze()
    try:
        config["pre_fork"](server=None, worker=None)
        assert gc.get_freeze_count() > 10_000  # Django, Wagtail and the site's modules
    finally:
        gc.unfreeze()


def test_gunicorn_accepts_the_config_file():
    result = subprocess.run(
        [str(Path(sys.executable).with_name("gunicorn")), "--check-config", "-c",
         "gunicorn.conf.py"],
        cwd=ROOT, env={**BASE_ENV, **{k: v for k, v in os.environ.items() if k == "PATH"}},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
