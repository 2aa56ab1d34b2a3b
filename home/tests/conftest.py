import pytest


@pytest.fixture(autouse=True)
def _fresh_cache(clear_cache):
    """Cached fragments (footer links, site root paths) must not leak between tests."""
