"""Fixtures local to the privacy tests (shoppers and `signed_in` are shared: tests/fixtures)."""

import pytest


@pytest.fixture(autouse=True)
def _fresh_login_attempts(fresh_login_attempts):
    """Sign-in throttling counts start at zero: erasure asks for the password."""
