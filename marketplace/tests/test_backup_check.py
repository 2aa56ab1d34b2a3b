"""`make backup-check` (scripts/backup_check.sh): dump, restore into scratch, check, drop."""

import shutil
import subprocess
from pathlib import Path

from django.db import connection

import pytest

from tests.servers import NEEDS_POSTGRES, database_url

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "backup_check.sh"


def run(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(SCRIPT)], cwd=ROOT, env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip


def test_refuses_without_a_postgresql_database_url():
    result = run({"DATABASE_URL": "sqlite:///db.sqlite3"})
    assert result.returncode != 0
    assert "DATABASE_URL must name the PostgreSQL database" in result.stderr


@pytest.mark.multiprocess
@NEEDS_POSTGRES
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_backup_restores_into_a_scratch_database_and_passes_the_checks(site_tree, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://... (CI's second run)")
    if not shutil.which("pg_dump"):
        pytest.skip("pg_dump is not installed (Debian: postgresql-client)")
    result = run({"DATABASE_URL": database_url(), "BACKUP_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "backup-check: OK" in result.stdout
    assert "/readyz/ 200, / 200" in result.stdout  # the copy serves the home page
    assert list(tmp_path.glob("vitrine-*.dump"))  # the dump was kept where asked
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_database WHERE datname LIKE '%restorecheck%'")
        assert cursor.fetchone()[0] == 0  # the scratch database is gone


@pytest.mark.multiprocess
@NEEDS_POSTGRES
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_backup_check_fails_when_the_copy_lacks_migrations(site_tree):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://... (CI's second run)")
    if not shutil.which("pg_dump"):
        pytest.skip("pg_dump is not installed (Debian: postgresql-client)")
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM django_migrations WHERE app = 'orders' AND name = "
            "(SELECT max(name) FROM django_migrations WHERE app = 'orders')"
        )
    result = run({"DATABASE_URL": database_url()})
    assert result.returncode != 0
    assert "migrate --check" in result.stderr
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_database WHERE datname LIKE '%restorecheck%'")
        assert cursor.fetchone()[0] == 0
