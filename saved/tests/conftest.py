"""Fixtures for saved-list tests: shoppers, a shop with pieces, clean caches."""

from decimal import Decimal

import pytest

from accounts.factories import UserFactory
from products.factories import ItemPageFactory
from vendors.factories import ShopPageFactory


@pytest.fixture(autouse=True)
def _fresh_state(clear_cache):
    """No test sees another's cached fragments or django-axes failure counters."""
    from axes.utils import reset

    reset()
    yield
    reset()


@pytest.fixture
def shopper(db):
    return UserFactory(
        username="ada", email="ada@example.com", first_name="Ada", last_name="Lovelace",
        verified=True,
    )  # fmt: skip


@pytest.fixture
def unverified(db):
    return UserFactory(username="grace", email="grace@example.com", first_name="Grace")


@pytest.fixture
def signed_in(client, shopper):
    client.force_login(shopper)
    return client


@pytest.fixture
def shop(site_tree):
    return ShopPageFactory(title="Maison Lune")


@pytest.fixture
def tote(shop):
    return ItemPageFactory(
        parent=shop, title="Cognac leather tote", price=Decimal("1250.00"), with_image=True
    )


@pytest.fixture
def clutch(shop):
    return ItemPageFactory(parent=shop, title="Ivory silk clutch", price=Decimal("640.00"))


def with_cookie(client):
    """A returning visitor: some cookie of ours, but no session yet."""
    client.cookies["csrftoken"] = "x" * 32
    return client
