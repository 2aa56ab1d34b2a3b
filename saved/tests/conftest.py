"""Fixtures for saved-list tests: an unverified shopper, a shop with pieces (`shopper` and
`signed_in` are shared: tests/fixtures/users.py)."""

from decimal import Decimal

import pytest

from accounts.factories import UserFactory
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
