"""A customer's orders in the pages of the apps below orders: the account overview
(accounts/account_home.html) and the customer record in the admin
(accounts/admin/customer_detail.html). Accounts cannot import orders; its templates ask here."""

from django import template
from django.db.models import QuerySet

from accounts.models import User

from .. import selectors
from ..models import Order

register = template.Library()


@register.simple_tag
def customer_orders(user: User, limit: int) -> QuerySet[Order]:
    """The account's latest `limit` orders, newest first."""
    return selectors.orders_for_customer(user=user)[:limit]
