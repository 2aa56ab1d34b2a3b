"""Helpers for the account tests."""

from accounts.factories import DEFAULT_PASSWORD
from orders.factories import Piece, paid_order
from orders.models import Order
from vendors.factories import VendorFactory

PASSWORD = DEFAULT_PASSWORD


def make_order(*, customer, vendors=None, **fields) -> Order:
    """A paid order: one £100 piece from each vendor, titled "Piece from <shop>"; a guest's
    (customer=None) goes to guest@example.com."""
    vendors = vendors or [VendorFactory()]
    return paid_order(
        items=[Piece(vendor, "100.00") for vendor in vendors], customer=customer, **fields
    )
