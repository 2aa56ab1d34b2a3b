"""Two gunicorn processes on one PostgreSQL database and one Redis behave as one site.

A shopper's cart added through process A is there through process B (sessions in Redis and the
database, not in a process), and the reservations job runs once beside them. Needs PostgreSQL
(run the suite with DATABASE_URL=postgres://..., as CI's second run does) and Redis on
127.0.0.1:6379; skipped with a message otherwise. Bounded: every wait has a deadline and the
processes are stopped (and the Redis keys deleted) whatever happens.
"""

from __future__ import annotations

import re
import subprocess
import sys
import uuid

from django.db import connection

import pytest

from tests.servers import NEEDS_POSTGRES, REDIS_HOST, REDIS_PORT, ROOT, Web, database_url, redis_up

pytestmark = [
    pytest.mark.multiprocess,
    NEEDS_POSTGRES,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_two_web_processes_share_one_cart_and_the_reservations_job_runs(site_tree, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://... (CI's second run)")
    if not redis_up():
        pytest.skip(f"needs Redis on {REDIS_HOST}:{REDIS_PORT} (CI starts it)")
    import redis

    from products.factories import ItemPageFactory

    item = ItemPageFactory(title="Cognac leather tote", price="1250.00")
    prefix = f"vitrine-mp-{uuid.uuid4().hex[:8]}"
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "marketplace.settings.production",
        "SECRET_KEY": "multiprocess-test-" + "k" * 40,
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": database_url(),
        "REDIS_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/0",
        "CACHE_KEY_PREFIX": prefix,
        "TASKS_BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_ACCESS_LOG": str(tmp_path / "access.log"),
        "STATIC_ROOT": str(tmp_path / "static"),
    }
    webs = []
    try:
        # As a deploy does: hashed, compressed static files (production's manifest storage).
        collect = subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert collect.returncode == 0, collect.stderr
        webs = [Web(env, tmp_path / f"web-{name}.log") for name in ("a", "b")]
        for web in webs:
            web.wait_ready()
        a, b = webs
        assert a.port != b.port

        cookies: dict[str, str] = {}
        response, html = a.request("GET", item.url, cookies=cookies)
        assert response.status == 200, a.log.read_text()[-4000:]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
        response, body = a.request(
            "POST", "/cart/add/", cookies=cookies, referer=item.url,
            body={"item": item.pk, "csrfmiddlewaretoken": token},
        )  # fmt: skip
        assert response.status == 302, body[:500]
        assert "sessionid" in cookies

        response, cart = b.request("GET", "/cart/", cookies=cookies)
        assert response.status == 200
        assert "Cognac leather tote" in cart  # process B sees what process A stored
        assert response.getheader("Strict-Transport-Security")

        store = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=0)
        assert store.keys(f"{prefix}:*"), "the session is cached in the shared Redis"
        access = (tmp_path / "access.log").read_text()
        assert '"path": "/cart/add/"' in access and '"request_id": "' in access

        job = subprocess.run(
            [sys.executable, "manage.py", "release_expired_reservations"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert job.returncode == 0, job.stderr
        assert "Released" in job.stdout
    finally:
        for web in webs:
            web.stop()
        try:
            import redis

            store = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=0)
            keys = store.keys(f"{prefix}:*")
            if keys:
                store.delete(*keys)
        except Exception:  # cleanup must not hide the test's own result
            pass
