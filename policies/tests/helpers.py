"""Helpers for the policy and testimonial tests."""

from django.contrib.auth import get_user_model

from orders.factories import paid_order
from orders.models import VendorOrder
from products.factories import ItemPageFactory
from vendors.factories import ShopPageFactory


def make_user(username, **fields):
    fields.setdefault("email", f"{username}@example.com")
    return get_user_model().objects.create_user(username, password="not-used-here", **fields)


def make_vendor_order(
    *, customer=None, status=VendorOrder.Status.DELIVERED, shop=None, **order_fields
):
    """One shop's part of a paid web order, with one line, in the given status. Other keyword
    arguments are Order fields (`testimonial_opt_in=True`: the shopper ticked the box)."""
    shop = shop or ShopPageFactory()
    item = ItemPageFactory(parent=shop, title="Cognac tote", price="1250.00")
    order = paid_order(items=[item], customer=customer, vendor_status=status, **order_fields)
    return order.vendor_orders.get()
