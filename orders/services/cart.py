"""The shopper's cart: what is in it, and which of it can still be bought."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal, overload

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from products.models import ItemPage
from vendors.models import ShopPage, takes_orders

from ..errors import ItemNotBuyable
from ..errors import OrderErrorCode as Code
from ..models import Cart, CartItem
from .stock import reserved_quantities

if TYPE_CHECKING:
    from accounts.models import User

CART_SESSION_KEY = "cart_id"


@overload
def cart_for_request(request: HttpRequest, *, create: Literal[True]) -> Cart: ...
@overload
def cart_for_request(request: HttpRequest, *, create: bool = False) -> Cart | None: ...
def cart_for_request(request: HttpRequest, *, create: bool = False) -> Cart | None:
    """The shopper's cart: the account's when signed in, else the one named in the session."""
    user = request.user
    if user.is_authenticated:
        cart = Cart.objects.filter(user=user).first()
        if cart is None and create:
            cart = Cart.objects.create(user=user)
        return cart
    cart_id = request.session.get(CART_SESSION_KEY)
    cart = Cart.objects.filter(pk=cart_id, user__isnull=True).first() if cart_id else None
    if cart is None and create:
        cart = Cart.objects.create()
        request.session[CART_SESSION_KEY] = cart.pk
    return cart


def _shops_of(items: Iterable[ItemPage]) -> dict[str, ShopPage]:
    """The items' shops (with vendors), by tree path: one query."""
    paths = {item.path[: -ShopPage.steplen] for item in items}
    return {
        shop.path: shop
        for shop in ShopPage.objects.filter(path__in=paths)
        .select_related("vendor")
        .only("path", "live", "vendor__status")
    }


def _buyable(items: Iterable[ItemPage]) -> tuple[list[ItemPage], list[ItemNotBuyable]]:
    """Split items into those a shopper can buy now and why each of the rest cannot be."""
    items = list(items)
    reserved = reserved_quantities(item_ids=[item.pk for item in items])
    shops = _shops_of(items)
    buyable, refused = [], []
    for item in items:
        shop = shops.get(item.path[: -ShopPage.steplen])
        if not item.live:
            refused.append(ItemNotBuyable(Code.ITEM_WITHDRAWN, title=item.title))
        elif item.quantity - reserved.get(item.pk, 0) <= 0:
            code = Code.ITEM_SOLD if item.quantity <= 0 else Code.ITEM_HELD
            refused.append(ItemNotBuyable(code, title=item.title))
        elif shop is None or not takes_orders(live=shop.live, vendor_status=shop.vendor.status):
            refused.append(ItemNotBuyable(Code.SHOP_CLOSED, title=item.title))
        else:
            buyable.append(item)
    return buyable, refused


@transaction.atomic
def cart_add(*, request: HttpRequest, item_id: int) -> tuple[ItemPage, bool]:
    """Put an item in the cart. Returns it, and whether it was added (False: it was there
    already). Raises ItemNotBuyable."""
    item = ItemPage.objects.filter(pk=item_id).first()
    if item is None:
        raise ItemNotBuyable(Code.ITEM_NOT_FOUND)
    buyable, refused = _buyable([item])
    if not buyable:
        raise refused[0]
    cart = cart_for_request(request, create=True)
    _, created = CartItem.objects.get_or_create(cart=cart, item=item)
    Cart.objects.filter(pk=cart.pk).update(updated_at=timezone.now())
    return item, created


@transaction.atomic
def cart_remove(*, request: HttpRequest, item_id: int) -> bool:
    cart = cart_for_request(request)
    if cart is None:
        return False
    deleted, _ = CartItem.objects.filter(cart=cart, item_id=item_id).delete()
    return bool(deleted)


def cart_prune(*, cart: Cart) -> list[ItemNotBuyable]:
    """Drop sold, withdrawn or unbuyable items from the cart; return why, for each. Reads
    only, unless there is something to drop (one statement: no transaction, no lock)."""
    # What _buyable reads of each piece, not its page's thirty columns (and the cart, which
    # the related manager checks on every line: deferred, it would cost a query each).
    lines = list(
        cart.lines.select_related("item").only(
            "cart", "item", "item__title", "item__live", "item__quantity", "item__path"
        )
    )
    buyable, refused = _buyable(line.item for line in lines)
    keep = {item.pk for item in buyable}
    gone = [line.pk for line in lines if line.item_id not in keep]
    if gone:  # viewing an unchanged cart writes nothing (SQLite: no write lock for a GET)
        CartItem.objects.filter(pk__in=gone).delete()
    return refused


@transaction.atomic
def cart_merge_into_account(*, user: User, anonymous_cart_id: int | None) -> None:
    """At login, move what the shopper put in the cart while signed out into the account's."""
    if not anonymous_cart_id:
        return
    anonymous = Cart.objects.filter(pk=anonymous_cart_id, user__isnull=True).first()
    if anonymous is None:
        return
    account_cart, _ = Cart.objects.get_or_create(user=user)
    have = set(account_cart.lines.values_list("item_id", flat=True))
    for line in anonymous.lines.exclude(item_id__in=have):
        CartItem.objects.create(cart=account_cart, item_id=line.item_id)
    anonymous.delete()
