"""Checkout: an order from a cart (or a shop's phone call), with its pieces held, within the hold limits."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.crypto import salted_hmac

from marketplace.money import commission_on
from products.models import ItemPage
from vendors.models import ShopPage, Vendor

from .. import emails
from ..errors import HoldRefused, ItemsUnavailable, PhoneOrdersClosed
from ..errors import OrderErrorCode as Code
from ..models import Cart, Order, OrderLine, PaymentAttempt, Reservation, VendorOrder
from .cart import _buyable, _shops_of

if TYPE_CHECKING:
    from accounts.models import User

from .stock import (
    _active_reservations,
    _expiry,
    _lock_items,
    _release,
    holds_recount,
)


@dataclass(frozen=True)
class ShippingAddress:
    name: str
    line1: str
    city: str
    postcode: str
    country: str
    line2: str = ""
    phone: str = ""


def client_key(ip: str | None) -> str:
    """A keyed hash naming the shopper's network (an IPv4 address, an IPv6 /64) for the hold
    limit: no address is stored."""
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        return ""
    if address.version == 6:
        address = ipaddress.ip_network(f"{address}/64", strict=False).network_address
    return salted_hmac("vitrine.orders.client-key", str(address)).hexdigest()[:32]


def _unpaid_with_holds() -> QuerySet[Order]:
    held = _active_reservations().filter(order=OuterRef("pk"))
    return Order.objects.filter(status=Order.Status.PENDING).filter(Exists(held))


def _check_hold_limits(
    *, cart: Cart, email: str, customer: User | None, key: str, pieces: int
) -> None:
    """Nobody holds the catalogue: a checkout holds a few pieces, a shopper (session, email or
    account) has few unpaid checkouts at once, and one network holds few pieces an hour."""
    if pieces > settings.VITRINE_CHECKOUT_MAX_PIECES:
        raise HoldRefused(Code.TOO_MANY_PIECES, limit=settings.VITRINE_CHECKOUT_MAX_PIECES)
    same_shopper = Q(cart=cart) | Q(email__iexact=email)
    if customer is not None:
        same_shopper |= Q(customer=customer)
    if _unpaid_with_holds().filter(same_shopper).count() >= settings.VITRINE_UNPAID_CHECKOUTS_MAX:
        raise HoldRefused(Code.TOO_MANY_CHECKOUTS, limit=settings.VITRINE_UNPAID_CHECKOUTS_MAX)
    if key:
        held_lately = Reservation.objects.filter(
            order__client_key=key, created_at__gte=timezone.now() - timedelta(hours=1)
        ).aggregate(total=Sum("quantity"))["total"]
        if (held_lately or 0) + pieces > settings.VITRINE_HOLDS_PER_NETWORK_PER_HOUR:
            raise HoldRefused(Code.NETWORK_BUSY, limit=settings.VITRINE_HOLDS_PER_NETWORK_PER_HOUR)


def _supersede_unpaid_checkouts(cart: Cart) -> None:
    """Checking the same cart out again replaces its earlier unpaid checkout (its holds would
    otherwise keep this shopper from their own pieces), unless a payment for it is under way."""
    paying = PaymentAttempt.objects.filter(
        order=OuterRef("pk"), status__in=PaymentAttempt.OPEN_STATUSES
    )
    for order in (
        Order.objects.select_for_update()
        .filter(cart=cart, status=Order.Status.PENDING)
        .exclude(Exists(paying))
    ):
        _release(order)
        order.status = Order.Status.CANCELLED
        order.save(update_fields=["status"])
        order.vendor_orders.update(status=VendorOrder.Status.CANCELLED)


@transaction.atomic
def order_place(
    *,
    cart: Cart,
    customer: User | AnonymousUser | None,
    email: str,
    address: ShippingAddress,
    client_ip: str | None = None,
    testimonial_opt_in: bool = False,
) -> Order:
    """Create the order from the cart, holding every item for the reservation window.

    Prices, quantities and currency come from the database only. Raises ItemsUnavailable
    (nothing written, the cart untouched) when any item sold in the meantime, and HoldRefused
    when the checkout would hold more than a shopper may (`_check_hold_limits`).
    """
    cart = Cart.objects.select_for_update().get(pk=cart.pk)  # one checkout per cart at a time
    customer = customer if customer and customer.is_authenticated else None
    item_ids = list(cart.lines.values_list("item_id", flat=True))
    _supersede_unpaid_checkouts(cart)
    key = client_key(client_ip)
    _check_hold_limits(cart=cart, email=email, customer=customer, key=key, pieces=len(item_ids))
    order = _order_create(
        item_ids=item_ids,
        email=email,
        address=address,
        cart=cart,
        customer=customer,
        client_key=key,
        testimonial_opt_in=testimonial_opt_in,
    )
    emails.send(kind="placed", order_id=order.pk)
    return order


@transaction.atomic
def phone_order_record(
    *, vendor: Vendor, recorded_by: User, item_ids: list[int], email: str,
    address: ShippingAddress, note: str = "",
) -> Order:  # fmt: skip
    """A shop records an order taken by phone: the pieces are held and the shopper is emailed
    a payment link. The shop never handles card numbers."""
    shop = vendor.shop
    if not shop.published_phone_number:
        raise PhoneOrdersClosed()
    if len(item_ids) > settings.VITRINE_CHECKOUT_MAX_PIECES:
        raise HoldRefused(Code.TOO_MANY_PIECES, limit=settings.VITRINE_CHECKOUT_MAX_PIECES)
    own = set(ItemPage.objects.child_of(shop).filter(pk__in=item_ids).values_list("pk", flat=True))
    if not item_ids or own != set(item_ids):
        raise ItemsUnavailable([], code=Code.ITEM_NOT_IN_SHOP)
    order = _order_create(
        item_ids=item_ids,
        email=email,
        address=address,
        channel=Order.Channel.PHONE,
        call_note=note,
        recorded_by=recorded_by,
    )
    emails.send(kind="phone_order", order_id=order.pk)
    return order


def _order_create(
    *, item_ids: list[int], email: str, address: ShippingAddress, **order_fields: Any
) -> Order:
    """Lock, re-check and hold the items; write the order, its shop parts and lines."""
    if not item_ids:
        raise ItemsUnavailable([])
    items = _lock_items(item_ids)
    buyable, _refused = _buyable(items.values())
    unavailable = [items[pk].title for pk in item_ids if pk in items and items[pk] not in buyable]
    missing = len([pk for pk in item_ids if pk not in items])
    if unavailable or missing:
        raise ItemsUnavailable(unavailable, missing=missing)

    shops = _shops_of(buyable)
    by_vendor: dict[int, list[ItemPage]] = {}
    for item in buyable:
        by_vendor.setdefault(shops[item.path[: -ShopPage.steplen]].vendor_id, []).append(item)
    subtotal = sum((item.price for item in buyable), Decimal("0"))

    order = Order(
        email=email,
        currency=settings.VITRINE_CURRENCY,
        subtotal=subtotal,
        total=subtotal,
        shipping_name=address.name,
        shipping_line1=address.line1,
        shipping_line2=address.line2,
        shipping_city=address.city,
        shipping_postcode=address.postcode,
        shipping_country=address.country,
        shipping_phone=address.phone,
        **order_fields,
    )
    order.full_clean()
    order.save()
    vendors = Vendor.objects.in_bulk(list(by_vendor))
    for vendor_id, vendor_items in by_vendor.items():
        vendor = vendors[vendor_id]
        vendor_subtotal = sum((item.price for item in vendor_items), Decimal("0"))
        vendor_order = VendorOrder.objects.create(
            order=order,
            vendor=vendor,
            subtotal=vendor_subtotal,
            commission_rate=vendor.commission_rate,
            commission=commission_on(vendor_subtotal, vendor.commission_rate),
        )
        OrderLine.objects.bulk_create(
            OrderLine(vendor_order=vendor_order, item=item, title=item.title, unit_price=item.price)
            for item in vendor_items
        )
    Reservation.objects.bulk_create(
        Reservation(item=item, order=order, quantity=1, expires_at=_expiry(order))
        for item in buyable
    )
    holds_recount(item_ids=[item.pk for item in buyable])
    return order
