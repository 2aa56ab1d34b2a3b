"""Test data for orders: `paid_order(items=[...])` is an order as checkout and payment leave it.

`paid_order` builds through the services, so the rules (totals, one part per shop with its
commission, holds, stock, the EARNED payout entry, refunds and payouts) live in one place:
a cart goes through `order_place`, Stripe's "payment succeeded" goes through `order_mark_paid`,
and each shop's part is moved on by `vendor_order_ship`, `vendor_order_deliver`,
`vendor_order_refund` and `payout_settle`. Stripe's answers to refunds and transfers are stood
in for in-process (`_stripe_stand_in`). The clock is the one thing set by hand afterwards: the
services stamp `now`, and tests need sales and deliveries in the past.
"""

import itertools
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from unittest import mock

from django.conf import settings
from django.utils import timezone
from django.utils.text import slugify

import factory
from factory.django import DjangoModelFactory

from orders import services, stripe_api
from orders.models import Cart, CartItem, Order, VendorOrder
from products.factories import ItemPageFactory
from products.models import ItemPage
from vendors.factories import ShopPageFactory
from vendors.models import ShopPage, Vendor

SHIPPING_ADDRESS = services.ShippingAddress(
    name="Ada Lovelace",
    line1="12 St James's Square",
    city="London",
    postcode="SW1Y 4JH",
    country="GB",
    phone="+442079460123",
)
_ids = itertools.count(1)  # Stripe ids the stand-in hands out, unique in a test session


class OrderFactory(DjangoModelFactory):
    """A bare pending web order (no shops' parts, no lines, no holds), by a guest unless
    `customer=` is given, with the totals the caller says.

    A fast path, kept for tests that only need an order on record (its address, its email);
    use `paid_order` (the services) for an order with pieces.
    """

    customer = None
    email = factory.LazyAttribute(
        lambda obj: obj.customer.email if obj.customer else "guest@example.com"
    )
    currency = factory.LazyFunction(lambda: settings.VITRINE_CURRENCY)
    subtotal = Decimal("0.00")
    total = factory.SelfAttribute("subtotal")
    shipping_name = SHIPPING_ADDRESS.name
    shipping_line1 = SHIPPING_ADDRESS.line1
    shipping_city = SHIPPING_ADDRESS.city
    shipping_postcode = SHIPPING_ADDRESS.postcode
    shipping_country = SHIPPING_ADDRESS.country
    shipping_phone = SHIPPING_ADDRESS.phone

    class Meta:
        model = Order


@dataclass(frozen=True)
class Piece:
    """A piece `vendor` sells, made up for the order: `paid_order` puts it on sale in the
    vendor's shop (opening one if it has none) before the shopper buys it."""

    vendor: Vendor
    price: Decimal | str
    title: str = ""


def _on_sale(entry: ItemPage | Piece) -> ItemPage:
    if isinstance(entry, ItemPage):
        return entry
    shop = ShopPage.objects.filter(vendor=entry.vendor).first()
    if shop is None:
        shop = ShopPageFactory(vendor=entry.vendor)
    title = entry.title or f"Piece from {entry.vendor.name}"
    return ItemPageFactory(
        parent=shop, title=title, slug=f"{slugify(title)}-{next(_ids)}", price=entry.price
    )


@contextmanager
def _stripe_stand_in() -> Iterator[None]:
    """Stripe accepts every refund and transfer the services ask for (the services keep the
    amounts within what was charged and earned; the money tests check Stripe's side)."""
    with (
        mock.patch.object(stripe_api, "refund_create", lambda **_: f"re_factory_{next(_ids)}"),
        mock.patch.object(stripe_api, "transfer_create", lambda **_: f"tr_factory_{next(_ids)}"),
    ):
        yield


def _succeeded(order: Order) -> stripe_api.PaymentIntentInfo:
    """Stripe's word that the shopper paid the whole order, as the webhook brings it."""
    return stripe_api.PaymentIntentInfo(
        id=f"pi_factory_{next(_ids)}",
        status="succeeded",
        amount=order.total,
        currency=order.currency,
        order_reference=order.reference,
    )


def _move(part: VendorOrder, status: str) -> None:
    """Send a paid part on to `status` as the shop's desk (and the payout run) would."""
    if status == VendorOrder.Status.PAID:
        return
    if status == VendorOrder.Status.REFUNDED:
        services.vendor_order_refund(vendor_order=part)
        return
    services.vendor_order_ship(
        vendor_order=part, carrier="Royal Mail", tracking_number=f"RM{part.pk:09d}GB"
    )
    if status == VendorOrder.Status.DELIVERED:
        services.vendor_order_deliver(vendor_order=part)
    elif status != VendorOrder.Status.SHIPPED:
        raise ValueError(f"paid_order cannot make a part {status}")


def _backdate(order: Order, *, paid_at: datetime | None, delivered_at: datetime | None) -> None:
    """The clock, set by hand: paid at `paid_at`; a delivered part at `delivered_at` (by default
    just past the return window, its payout due), shipped two days before."""
    if paid_at is not None:
        Order.objects.filter(pk=order.pk).update(paid_at=paid_at)
    delivered = order.vendor_orders.filter(status=VendorOrder.Status.DELIVERED)
    if delivered.exists():
        window = timedelta(days=settings.VITRINE_RETURN_WINDOW_DAYS, hours=1)
        delivered_at = delivered_at or timezone.now() - window
        delivered.update(delivered_at=delivered_at, shipped_at=delivered_at - timedelta(days=2))


def paid_order(
    *,
    items: Iterable[ItemPage | Piece],
    customer=None,
    email: str | None = None,
    testimonial_opt_in: bool = False,
    vendor_status: str = VendorOrder.Status.PAID,
    paid_at: datetime | None = None,
    delivered_at: datetime | None = None,
    paid_out: bool = False,
    **order_fields,
) -> Order:
    """An order for `items` (ItemPages on sale, or `Piece`s), placed from a cart and paid.

    Each shop's part is then moved to `vendor_status`: PAID, SHIPPED (shipped now), DELIVERED
    (at `delivered_at`, by default just past the return window) or REFUNDED (the part refunded,
    its earning reversed). PENDING leaves the order placed and unpaid, its pieces held;
    CANCELLED cancels it unpaid. `paid_out=True` pays a delivered part out to the shop's
    Connect account (`payout_settle`). A guest's order (customer=None) goes to
    guest@example.com. Other keyword arguments are Order fields recorded afterwards (what the
    checkout form does not ask for, such as `call_note`). Parts come in their shops' order.
    """
    pages = [_on_sale(entry) for entry in items]
    if not pages:
        raise ValueError("an order needs at least one item")
    if email is None:
        email = customer.email if customer is not None else "guest@example.com"
    cart = Cart.objects.create()
    CartItem.objects.bulk_create(CartItem(cart=cart, item=page) for page in pages)
    order = services.order_place(
        cart=cart,
        customer=customer,
        email=email,
        address=SHIPPING_ADDRESS,
        testimonial_opt_in=testimonial_opt_in,
    )
    if vendor_status == VendorOrder.Status.CANCELLED:
        services.order_cancel(order=order)
    elif vendor_status != VendorOrder.Status.PENDING:
        services.order_mark_paid(payment_intent=_succeeded(order))
        with _stripe_stand_in():
            for part in order.vendor_orders.order_by("pk"):
                _move(part, vendor_status)
        _backdate(order, paid_at=paid_at, delivered_at=delivered_at)
        if paid_out:
            with _stripe_stand_in():
                for part in order.vendor_orders.order_by("pk"):
                    if services.payout_settle(vendor_order=part) is None:
                        raise ValueError(f"part {part.pk} is not due for a payout")
    if order_fields:
        Order.objects.filter(pk=order.pk).update(**order_fields)
    order.refresh_from_db()
    return order
