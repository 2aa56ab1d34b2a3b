"""Fixtures for account tests: shoppers, a shop with pieces, orders, a private localstripe."""

import pytest

from accounts.factories import DEFAULT_PASSWORD, AddressFactory, UserFactory
from orders.factories import Piece, paid_order
from orders.models import Order
from vendors.factories import VendorFactory

PASSWORD = DEFAULT_PASSWORD


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
        username="ada",
        email="ada@example.com",
        first_name="Ada",
        last_name="Lovelace",
        verified=True,
    )


@pytest.fixture
def other(db):
    return UserFactory(
        username="grace",
        email="grace@example.com",
        first_name="Grace",
        last_name="Hopper",
        verified=True,
    )


@pytest.fixture
def signed_in(client, shopper):
    client.force_login(shopper)
    return client


def make_order(*, customer, vendors=None, **fields) -> Order:
    """A paid order straight in the database (no checkout): one £100 piece from each vendor,
    titled "Piece from <shop>"; a guest's (customer=None) goes to guest@example.com."""
    vendors = vendors or [VendorFactory()]
    return paid_order(
        items=[Piece(vendor, "100.00") for vendor in vendors], customer=customer, **fields
    )


@pytest.fixture
def stripe_settings(settings, localstripe):
    settings.STRIPE_API_BASE = localstripe
    settings.STRIPE_SECRET_KEY = "sk_test_vitrine"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_vitrine"
    return settings


__all__ = ["AddressFactory", "PASSWORD", "make_order"]
