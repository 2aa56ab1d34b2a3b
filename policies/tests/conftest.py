from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

import pytest

from orders.factories import paid_order
from orders.models import VendorOrder
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


def make_vendor_order(
    *, customer=None, status=VendorOrder.Status.DELIVERED, shop=None, **order_fields
):
    """One shop's part of a paid web order, with one line, in the given status. Other keyword
    arguments are Order fields (`testimonial_opt_in=True`: the shopper ticked the box)."""
    shop = shop or ShopPageFactory()
    item = ItemPageFactory(parent=shop, title="Cognac tote", price="1250.00", quantity=0)
    order = paid_order(items=[item], customer=customer, vendor_status=status, **order_fields)
    return order.vendor_orders.get()
