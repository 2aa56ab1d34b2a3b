"""The root conftest: the command-line options and the shared fixture plugins.

Fixtures shared by several test packages live in `tests/fixtures/`, one module per concern, in
the manner of Saleor's root conftest; pytest takes `pytest_plugins` only from here. Fixtures
used by one app's tests stay in that app's `tests/conftest.py`; plain helpers are imported from
modules (`tests.localstripe`, `<app>/tests/helpers.py`), never from a conftest.
"""

from __future__ import annotations

import pytest

pytest_plugins = [
    "tests.fixtures.cache",  # autouse: an empty cache around every test
    "tests.fixtures.clock",  # autouse: pieces dated in creation order, from now
    "tests.fixtures.database",  # autouse: migrated data restored; at the end, sessions awaited
    "tests.fixtures.live_server",  # live_server: one request at a time on a shared connection
    "tests.fixtures.localstripe",  # localstripe, stripe_settings
    "tests.fixtures.site",  # site_tree
    "tests.fixtures.users",  # shopper, other, signed_in
]


def pytest_addoption(parser: pytest.Parser) -> None:
    # Declared here (the root conftest) so the option exists however pytest is invoked.
    parser.addoption(
        "--screenshots",
        action="store_true",
        default=False,
        help="e2e: save a screenshot of every browser test, not only failing ones "
        "(same as E2E_SCREENSHOTS=1)",
    )
