"""Fixtures local to the account tests (shoppers and `signed_in` are shared: tests/fixtures)."""

import pytest


@pytest.fixture(autouse=True)
def _fresh_login_attempts():
    """No test sees another's django-axes failure counters (sign-in throttling)."""
    from axes.utils import reset

    reset()
    yield
    reset()
