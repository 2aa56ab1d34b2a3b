"""Fixtures shared by every test package (app tests and e2e/).

``localstripe`` starts a private localstripe server (a fake Stripe API) for the test session.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
LOCALSTRIPE_LAUNCHER = ROOT / "scripts" / "localstripe_server.py"
LOCALSTRIPE_START_TIMEOUT = 30.0


def pytest_addoption(parser: pytest.Parser) -> None:
    # Declared here (the root conftest) so the option exists however pytest is invoked.
    parser.addoption(
        "--screenshots",
        action="store_true",
        default=False,
        help="e2e: save a screenshot of every browser test, not only failing ones "
        "(same as E2E_SCREENSHOTS=1)",
    )


def _wait_for_localstripe(proc: subprocess.Popen, log_path: Path) -> str:
    """Return the base URL once the server prints its ready line and answers HTTP."""
    deadline = time.monotonic() + LOCALSTRIPE_START_TIMEOUT
    url = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"localstripe exited with {proc.returncode}:\n{log_path.read_text()}"
            )
        if url is None:
            for line in log_path.read_text().splitlines():
                if line.startswith("LOCALSTRIPE_READY "):
                    url = line.split()[1]
        if url is not None:
            try:
                # The Stripe.js shim needs no API key: a cheap liveness probe.
                with urllib.request.urlopen(f"{url}/js.stripe.com/v3/", timeout=2) as resp:
                    if resp.status == 200:
                        return url
            except (urllib.error.URLError, OSError):
                pass
        time.sleep(0.05)
    raise RuntimeError(
        f"localstripe did not answer within {LOCALSTRIPE_START_TIMEOUT:.0f}s:\n"
        f"{log_path.read_text()}"
    )


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL (``http://127.0.0.1:<port>``) of a localstripe server private to this session.

    The server runs in a subprocess on a free loopback port, with its state in memory only
    (``--memory``): it never reads or writes localstripe's shared ``/tmp/localstripe.pickle``,
    so every test session starts empty and parallel sessions don't interfere. Within a session
    the state is shared by all tests (object ids are random, so tests don't collide); a test
    that needs an empty store can ``DELETE {url}/_config/data``.

    Point the Stripe client at it with the URL as API base and any ``sk_test_...`` key. Signed
    webhooks: ``POST {url}/_config/webhooks/<name>`` with ``url=`` and ``secret=``; they are
    delivered about a second after the event.
    """
    workdir = tmp_path_factory.mktemp("localstripe")
    log_path = workdir / "localstripe.log"
    env = {**os.environ, "TMPDIR": str(workdir)}
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, str(LOCALSTRIPE_LAUNCHER), "--port", "0", "--memory"],
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield _wait_for_localstripe(proc, log_path)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- Site tree fixtures (app tests) -------------------------------------------------------------


class SiteTree:
    """The fixed part of the page tree, as `home.services.site_ensure_structure()` builds it."""

    def __init__(self, home, shop_index, designer_index, site):
        self.home = home
        self.shop_index = shop_index
        self.designer_index = designer_index
        self.site = site


@pytest.fixture
def site_tree(db) -> SiteTree:
    """HomePage at `/` (the default Site), `/shops/` and `/designers/`: factories build below it."""
    from wagtail.models import Site

    from home.services import site_ensure_structure
    from products.models import DesignerIndexPage
    from vendors.models import ShopIndexPage

    home = site_ensure_structure()
    return SiteTree(
        home=home,
        shop_index=ShopIndexPage.objects.get(),
        designer_index=DesignerIndexPage.objects.get(),
        site=Site.objects.get(is_default_site=True),
    )


@pytest.fixture
def clear_cache() -> Iterator[None]:
    """An empty default cache before and after the test (locmem outlives a test otherwise)."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(scope="session")
def _migrated_data(django_db_setup, django_db_blocker):
    """What the migrations put in the test database (root page, locale, groups, workflows),
    serialized before any browser starts."""
    from django.db import connection

    # pytest-django's copy, taken when the database was created: transactional tests outside
    # e2e/ (orders, marketplace) may already have run and flushed the database by now.
    serialized = getattr(connection, "_test_serialized_contents", None)
    if serialized:
        return serialized
    with django_db_blocker.unblock():
        return connection.creation.serialize_db_to_string()


@pytest.fixture(autouse=True)
def _restore_migrated_data(request, _migrated_data):
    """Transactional tests (browsers, threads, other processes) have their data flushed after
    each test, and with it what the migrations made. Django's own serialized rollback does not
    always restore it (the connection a test sees after Playwright has run can be a fresh one
    without the serialized copy, and a test without serialized_rollback flushes it for the
    next), so restore it explicitly when it is missing."""
    marker = request.node.get_closest_marker("django_db")
    transactional = marker is not None and (
        marker.kwargs.get("transaction") or (marker.args and marker.args[0])
    )
    if not transactional and "live_server" not in request.fixturenames:
        return
    from django.db import connection

    from wagtail.models import Page

    request.getfixturevalue("transactional_db")
    if not Page.objects.exists():
        from django.core.management import call_command

        # Content types were recreated by the flush's post_migrate, with other ids: start clean.
        # No sequence reset (PostgreSQL): restored rows keep their ids, new rows come after them.
        call_command(
            "flush",
            verbosity=0,
            interactive=False,
            inhibit_post_migrate=True,
            reset_sequences=False,
        )
        connection.creation.deserialize_db_from_string(_migrated_data)
    # Let Django's own teardown of this test restore it too.
    connection._test_serialized_contents = _migrated_data
