"""Settings modules, imported in a clean subprocess as a deployment would."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import django; from django.conf import settings; django.setup(); "
    "print(settings.DATABASES['default']['ENGINE']); print(settings.DEBUG)"
)
PRODUCTION_ENV = {
    "SECRET_KEY": "x" * 50,
    "ALLOWED_HOSTS": "vitrine.example",
    "EMAIL_URL": "smtp://mail.example:587/?tls=1",
}


def run(module: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": module, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"ALLOWED_HOSTS": "vitrine.example"},
        {"SECRET_KEY": "x" * 50},
        {"SECRET_KEY": "   ", "ALLOWED_HOSTS": "vitrine.example"},
        {"SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": " , "},
    ],
)
def test_production_refuses_to_start_without_its_secrets(env):
    result = run("marketplace.settings.production", **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr


def test_production_starts_with_its_secrets():
    result = run("marketplace.settings.production", **PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.sqlite3", "False"]


def test_database_url_switches_to_postgresql():
    result = run(
        "marketplace.settings.production",
        **PRODUCTION_ENV,
        DATABASE_URL="postgres://vitrine:secret@db.internal:5432/vitrine",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "django.db.backends.postgresql"


def test_dev_settings_start_without_any_environment():
    result = run("marketplace.settings.dev")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.sqlite3", "True"]


@pytest.mark.django_db
def test_postgresql_sessions_plan_each_query_on_one_process():
    """Many short requests share two cores: no query is spread over parallel workers (each
    would rebuild the same hash tables, for more CPU than the time it saves)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://... (CI's second run)")
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_parallel_workers_per_gather")
        assert cursor.fetchone()[0] == "0"
