import pytest


@pytest.fixture(autouse=True)
def _fresh_cache(clear_cache):
    """Site root paths, renditions and the view-restriction flag must not leak between tests."""
