"""Fixtures for account tests: shoppers, a shop with pieces, orders, a private localstripe."""

from decimal import Decimal

import pytest

from accounts.factories import DEFAULT_PASSWORD, AddressFactory, UserFactory
from orders.models import Order, OrderLine, VendorOrder
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


def make_order(*, customer, vendors=None, status=Order.Status.PAID, **fields) -> Order:
    """An order straight in the database (no checkout), one part per vendor."""
    vendors = vendors or [VendorFactory()]
    order = Order.objects.create(
        customer=customer,
        email=getattr(customer, "email", "") or "guest@example.com",
        status=status,
        currency="GBP",
        subtotal=Decimal("100.00") * len(vendors),
        total=Decimal("100.00") * len(vendors),
        shipping_name="Ada Lovelace",
        shipping_line1="12 St James's Square",
        shipping_city="London",
        shipping_postcode="SW1Y 4JH",
        shipping_country="GB",
        shipping_phone="+442079460123",
        **fields,
    )
    for vendor in vendors:
        part = VendorOrder.objects.create(
            order=order,
            vendor=vendor,
            status=VendorOrder.Status.PAID
            if status == Order.Status.PAID
            else VendorOrder.Status.PENDING,
            subtotal=Decimal("100.00"),
            commission_rate=Decimal("0.15"),
            commission=Decimal("15.00"),
        )
        OrderLine.objects.create(
            vendor_order=part, title=f"Piece from {vendor.name}", unit_price=Decimal("100.00")
        )
    return order


@pytest.fixture
def stripe_settings(settings, localstripe):
    settings.STRIPE_API_BASE = localstripe
    settings.STRIPE_SECRET_KEY = "sk_test_vitrine"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_vitrine"
    return settings


__all__ = ["AddressFactory", "PASSWORD", "make_order"]
