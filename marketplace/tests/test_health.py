"""/healthz/ (process up, no database) and /readyz/ (database required, cache degrades), never
cached."""

import json
from unittest import mock

from django.db import connections
from django.test.utils import CaptureQueriesContext

import pytest


def assert_not_cacheable(response):
    assert "no-store" in response["Cache-Control"]


def test_healthz_answers_without_the_database(client):
    # No `db` fixture: pytest-django would refuse any query. A broken cache does not matter.
    with mock.patch("django.core.cache.cache.get", side_effect=RuntimeError("down")):
        response = client.get("/healthz/")
    assert response.status_code == 200
    assert json.loads(response.content) == {"status": "ok"}
    assert_not_cacheable(response)


@pytest.mark.django_db
def test_readyz_checks_database_and_cache(client):
    with CaptureQueriesContext(connections["default"]) as queries:
        response = client.get("/readyz/")
    assert response.status_code == 200
    assert json.loads(response.content) == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok"},
    }
    assert any("SELECT 1" in query["sql"] for query in queries.captured_queries)
    assert_not_cacheable(response)


@pytest.mark.django_db
def test_readyz_is_503_when_the_database_fails(client):
    with mock.patch.object(
        connections["default"], "cursor", side_effect=Exception("connection refused")
    ):
        response = client.get("/readyz/")
    assert response.status_code == 503
    body = json.loads(response.content)
    assert body == {"status": "unavailable", "checks": {"database": "failed", "cache": "ok"}}
    assert "refused" not in response.content.decode()  # no error details
    assert_not_cacheable(response)


class BrokenCache:
    def set(self, *args, **kwargs):
        raise ConnectionError("redis is down")

    get = delete = set


@pytest.mark.django_db
def test_readyz_is_degraded_not_failed_when_the_cache_fails(client):
    # The cache only accelerates: the node still serves, so the load balancer keeps it.
    with mock.patch("marketplace.health.cache", BrokenCache()):
        response = client.get("/readyz/")
    assert response.status_code == 200
    assert json.loads(response.content) == {
        "status": "degraded",
        "checks": {"database": "ok", "cache": "failed"},
    }
    assert_not_cacheable(response)


@pytest.mark.django_db
def test_readyz_is_503_when_the_database_fails_whatever_the_cache(client):
    with (
        mock.patch("marketplace.health.cache", BrokenCache()),
        mock.patch.object(connections["default"], "cursor", side_effect=Exception("down")),
    ):
        response = client.get("/readyz/")
    assert response.status_code == 503
    assert json.loads(response.content)["status"] == "unavailable"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "backend",
    ["django.core.cache.backends.redis.RedisCache", "marketplace.cache.ResilientRedisCache"],
)
def test_readyz_is_degraded_with_a_real_unreachable_cache_backend(client, settings, backend):
    from django.core.cache import caches

    settings.CACHES = {
        "default": {
            "BACKEND": backend,
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    try:
        with mock.patch("marketplace.health.cache", caches["default"]):
            response = client.get("/readyz/")
    finally:
        caches["default"].close()
    assert response.status_code == 200
    body = json.loads(response.content)
    assert body == {"status": "degraded", "checks": {"database": "ok", "cache": "failed"}}


@pytest.mark.django_db
def test_probes_show_no_versions(client):
    for path in ("/healthz/", "/readyz/"):
        response = client.get(path)
        text = response.content.decode().lower()
        assert "version" not in text and "django" not in text and "wagtail" not in text
        assert "Server" not in response


def test_probes_refuse_writes(client):
    assert client.post("/healthz/").status_code == 405
