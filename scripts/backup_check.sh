#!/usr/bin/env bash
# Backup → restore → check, as one command (`make backup-check`; docs/deploy.md).
#
# Dumps the PostgreSQL database named by DATABASE_URL (pg_dump, custom format), restores the
# dump into a new scratch database on the same server, runs `manage.py migrate --check` and a
# smoke request (/readyz/ must be 200, / must not be a server error) against the copy, then drops
# the scratch database whatever happened. Exits non-zero if any step fails.
#
#   DATABASE_URL=postgres://user:pass@host:5432/vitrine scripts/backup_check.sh
#
# BACKUP_DIR keeps the dump (default: a temporary directory, deleted afterwards).
# DJANGO_SETTINGS_MODULE is used as set (default: marketplace.settings.dev).
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
[ -x "$PYTHON" ] || PYTHON=python3
export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-marketplace.settings.dev}"

fail() {
    echo "backup-check: FAILED: $*" >&2
    exit 1
}

case "${DATABASE_URL:-}" in
    postgres://* | postgresql://*) ;;
    *) fail "DATABASE_URL must name the PostgreSQL database to back up (postgres://...)" ;;
esac
for tool in pg_dump pg_restore psql; do
    command -v "$tool" >/dev/null || fail "$tool not found (Debian: apt-get install postgresql-client)"
done

SOURCE_URL="$DATABASE_URL"
SCRATCH_NAME="$("$PYTHON" -c 'import os, sys, urllib.parse as u
name = u.urlsplit(os.environ["DATABASE_URL"]).path.lstrip("/")
print(f"{name}_restorecheck_{os.getpid()}"[:63])')"
SCRATCH_URL="$("$PYTHON" -c 'import os, sys, urllib.parse as u
p = u.urlsplit(os.environ["DATABASE_URL"])
print(u.urlunsplit(p._replace(path="/" + sys.argv[1])))' "$SCRATCH_NAME")"

WORK="$(mktemp -d)"
DUMP="${BACKUP_DIR:-$WORK}/vitrine-$(date -u +%Y%m%dT%H%M%SZ).dump"
cleanup() {
    psql "$SOURCE_URL" -q -v ON_ERROR_STOP=1 \
        -c "DROP DATABASE IF EXISTS \"$SCRATCH_NAME\" WITH (FORCE)" >/dev/null 2>&1 ||
        echo "backup-check: could not drop scratch database $SCRATCH_NAME" >&2
    rm -rf "$WORK"
}
trap cleanup EXIT

echo "backup-check: 1/5 dump $(
    "$PYTHON" -c 'import os, urllib.parse as u; p = u.urlsplit(os.environ["DATABASE_URL"]); print(f"{p.hostname}:{p.port or 5432}{p.path}")'
) -> $DUMP"
mkdir -p "$(dirname "$DUMP")"
pg_dump --format=custom --no-owner --no-privileges --file="$DUMP" "$SOURCE_URL" ||
    fail "pg_dump"
[ -s "$DUMP" ] || fail "the dump is empty"

echo "backup-check: 2/5 restore into scratch database $SCRATCH_NAME"
psql "$SOURCE_URL" -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$SCRATCH_NAME\"" >/dev/null ||
    fail "could not create the scratch database"
pg_restore --no-owner --no-privileges --exit-on-error --dbname="$SCRATCH_URL" "$DUMP" ||
    fail "pg_restore"

echo "backup-check: 3/5 migrate --check on the restored copy"
DATABASE_URL="$SCRATCH_URL" "$PYTHON" manage.py migrate --check --noinput >/dev/null ||
    fail "the restored database is missing migrations (migrate --check)"

echo "backup-check: 4/5 smoke requests on the restored copy"
DATABASE_URL="$SCRATCH_URL" "$PYTHON" - <<'PY' || fail "smoke request"
import django

django.setup()
from django.conf import settings
from django.db import connection
from django.test import Client

hosts = [h for h in settings.ALLOWED_HOSTS if h != "*" and not h.startswith(".")]
client = Client(HTTP_HOST=hosts[0] if hosts else "localhost")
ready = client.get("/readyz/", secure=True)
assert ready.status_code == 200, f"/readyz/ answered {ready.status_code}: {ready.content[:200]!r}"
home = client.get("/", secure=True)
assert home.status_code < 500, f"/ answered {home.status_code}"
with connection.cursor() as cursor:
    cursor.execute("SELECT count(*) FROM django_migrations")
    applied = cursor.fetchone()[0]
print(f"backup-check: /readyz/ 200, / {home.status_code}, {applied} migrations applied in the copy")
PY

echo "backup-check: 5/5 drop the scratch database"
cleanup
trap - EXIT
echo "backup-check: OK"
