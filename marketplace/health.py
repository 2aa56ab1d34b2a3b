"""Liveness and readiness probes for load balancers and orchestrators.

``/healthz/``: the process answers (no database, no cache). ``/readyz/``: the database answers
``SELECT 1`` and the cache stores and returns a value. The database is required: 503 when it
fails. The cache only accelerates (marketplace/cache.py): when it fails the node still serves
every page, so the answer is 200 with status "degraded", and a load balancer keeps the node.
The body names the check that failed; neither probe shows versions or error details, and
neither may be cached.
"""

from __future__ import annotations

import logging
import uuid

from django.core.cache import cache
from django.db import connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)


def _no_store(response: JsonResponse) -> JsonResponse:
    response["Cache-Control"] = "no-store"
    return response


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    return _no_store(JsonResponse({"status": "ok"}))


def check_database() -> None:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")
        if cursor.fetchone()[0] != 1:
            raise RuntimeError("SELECT 1 returned something else")


def check_cache() -> None:
    key = f"readyz:{uuid.uuid4().hex}"
    value = uuid.uuid4().hex
    cache.set(key, value, 10)
    try:
        if cache.get(key) != value:
            raise RuntimeError("cache did not return the value just stored")
    finally:
        cache.delete(key)


CHECKS = {"database": check_database, "cache": check_cache}
# A failed optional check degrades the node; a failed required one takes it out of rotation.
OPTIONAL = {"cache"}


@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    results = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception:
            # An optional check's outage is logged by the cache backend itself (rate-limited).
            level = logging.INFO if name in OPTIONAL else logging.WARNING
            logger.log(level, "readiness check %s failed", name, exc_info=True)
            results[name] = "failed"
        else:
            results[name] = "ok"
    failed = {name for name, result in results.items() if result != "ok"}
    if failed - OPTIONAL:
        status, code = "unavailable", 503
    elif failed:
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    return _no_store(JsonResponse({"status": status, "checks": results}, status=code))
