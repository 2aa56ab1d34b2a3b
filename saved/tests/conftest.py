"""Fixtures for saved-list tests: shoppers, a shop with pieces, clean caches."""

from decimal import Decimal

import pytest

from accounts.factories import UserFactory
from accounts.tests.conftest import _fresh_state, shopper, signed_in  # noqa: F401 (fixtures)
from products.factories import ItemPageFactory
from vendors.factories import ShopPageFactory


@pytest.fixture
def unverified(db):
    return UserFactory(username="grace", email="grace@example.com", first_name="Grace")


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
