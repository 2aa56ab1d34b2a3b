from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

import pytest

from orders.models import Order, OrderLine, VendorOrder
from products.factories import ItemPageFactory
from vendors.factories import ShopPageFactory


@pytest.fixture(autouse=True)
def _fresh_cache(clear_cache):
    """Cached fragments (footer links, site root paths) must not leak between tests."""


def make_user(username, **fields):
    fields.setdefault("email", f"{username}@example.com")
    return get_user_model().objects.create_user(username, password="not-used-here", **fields)


@pytest.fixture
def editor(db):
    user = make_user("eddie")
    user.groups.add(Group.objects.get(name="Editors"))
    return user


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser("boss", "boss@example.com", "not-used")


@pytest.fixture
def shopper(db):
    return make_user("ada", first_name="Ada")


def make_vendor_order(*, customer=None, status=VendorOrder.Status.DELIVERED, shop=None):
    """One shop's part of a paid web order, with one line, in the given status."""
    shop = shop or ShopPageFactory()
    item = ItemPageFactory(parent=shop, title="Cognac tote", quantity=0)
    order = Order.objects.create(
        customer=customer,
        email=customer.email if customer else "guest@example.com",
        status=Order.Status.PAID,
        currency="GBP",
        subtotal=Decimal("1250.00"),
        total=Decimal("1250.00"),
        shipping_name="Ada Lovelace",
        shipping_line1="12 St James's Square",
        shipping_city="London",
        shipping_postcode="SW1Y 4JH",
        shipping_country="GB",
    )
    vendor_order = VendorOrder.objects.create(
        order=order,
        vendor=shop.vendor,
        status=status,
        subtotal=Decimal("1250.00"),
        commission_rate=Decimal("0.15"),
        commission=Decimal("187.50"),
    )
    OrderLine.objects.create(
        vendor_order=vendor_order, item=item, title=item.title, unit_price=Decimal("1250.00")
    )
    return vendor_order
