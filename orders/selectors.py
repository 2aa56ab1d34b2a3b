"""Reads for the cart and orders."""

from collections import OrderedDict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import QuerySet

from products.models import ItemPage
from products.selectors import attach_cards, with_card_data

from .models import Cart, Order


@dataclass
class ShopGroup:
    shop: object
    items: list[ItemPage] = field(default_factory=list)

    @property
    def subtotal(self) -> Decimal:
        return sum((item.price for item in self.items), Decimal("0"))


@dataclass
class CartSummary:
    groups: list[ShopGroup]

    @property
    def total(self) -> Decimal:
        return sum((group.subtotal for group in self.groups), Decimal("0"))

    @property
    def count(self) -> int:
        return sum(len(group.items) for group in self.groups)


def cart_summary(*, cart: Cart | None) -> CartSummary:
    """The cart's items grouped by shop, with pictures, in a constant number of queries."""
    if cart is None:
        return CartSummary(groups=[])
    in_cart = ItemPage.objects.filter(pk__in=cart.lines.values("item_id"))
    items = attach_cards(with_card_data(in_cart).order_by("path"))
    groups: OrderedDict[int, ShopGroup] = OrderedDict()
    for item in items:
        groups.setdefault(item.shop.pk, ShopGroup(shop=item.shop)).items.append(item)
    return CartSummary(groups=list(groups.values()))


def cart_count(*, cart_id: int | None = None, user=None) -> int:
    from .models import CartItem

    if user is not None and user.is_authenticated:
        return CartItem.objects.filter(cart__user=user).count()
    if cart_id:
        return CartItem.objects.filter(cart_id=cart_id, cart__user__isnull=True).count()
    return 0


def order_for_shopper(*, request, reference: str) -> Order | None:
    """An order the current shopper may see: theirs by account, or placed in this session."""
    order = (
        Order.objects.filter(reference=reference)
        .prefetch_related("vendor_orders__lines", "vendor_orders__vendor")
        .first()
    )
    if order is None:
        return None
    if request.user.is_authenticated and order.customer_id == request.user.pk:
        return order
    if reference in request.session.get("checkout_orders", []):
        return order
    return None


def orders_for_vendor(*, vendor) -> QuerySet:
    from .models import VendorOrder

    return VendorOrder.objects.filter(vendor=vendor).select_related("order")
