"""The shopper's cart: what is in it, and which of it can still be bought."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal, overload

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from products.models import ItemPage
from vendors.models import ShopPage, shop_takes_orders, with_vendor_status

from ..errors import ItemNotBuyable
from ..errors import OrderErrorCode as Code
from ..models import Cart, CartItem
from ..selectors import cart_lines
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
    """The items' shops (with their vendor's id and status), by tree path: one query."""
    paths = {item.path[: -ShopPage.steplen] for item in items}
    shops = with_vendor_status(
        ShopPage.objects.filter(path__in=paths).only("path", "live", "vendor")
    )
    return {shop.path: shop for shop in shops}


def _refusal(item: ItemPage, *, available: bool, shop_open: bool) -> ItemNotBuyable | None:
    """Why a shopper cannot buy `item` now (None: they can). The one rule, whichever rows say
    whether a unit is free and its shop takes orders."""
    if not item.live:
        return ItemNotBuyable(Code.ITEM_WITHDRAWN, title=item.title)
    if not available:
        code = Code.ITEM_SOLD if item.quantity <= 0 else Code.ITEM_HELD
        return ItemNotBuyable(code, title=item.title)
    if not shop_open:
        return ItemNotBuyable(Code.SHOP_CLOSED, title=item.title)
    return None


def _buyable(items: Iterable[ItemPage]) -> tuple[list[ItemPage], list[ItemNotBuyable]]:
    """Split items into those a shopper can buy now and why each of the rest cannot be, from
    the holds and shops as the database has them (adding to a cart, placing an order)."""
    items = list(items)
    reserved = reserved_quantities(item_ids=[item.pk for item in items])
    shops = _shops_of(items)
    return _split(
        (
            item,
            _refusal(
                item,
                available=item.quantity - reserved.get(item.pk, 0) > 0,
                shop_open=shop_takes_orders(shops.get(item.path[: -ShopPage.steplen])),
            ),
        )
        for item in items
    )


def _split(
    checked: Iterable[tuple[ItemPage, ItemNotBuyable | None]],
) -> tuple[list[ItemPage], list[ItemNotBuyable]]:
    """(item, its refusal or None) pairs into the buyable items and the refusals."""
    buyable, refused = [], []
    for item, refusal in checked:
        if refusal is None:
            buyable.append(item)
        else:
            refused.append(refusal)
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


def cart_lines_for_request(request: HttpRequest) -> tuple[int | None, list[int]]:
    """The shopper's cart (as cart_for_request finds it) and the ids of its pieces, in one
    query: (None, []) while it has none."""
    return cart_lines(cart_id=request.session.get(CART_SESSION_KEY), user=request.user)


def cart_prune(
    *, cart_id: int | None, items: list[ItemPage]
) -> tuple[list[ItemPage], list[ItemNotBuyable]]:
    """Of the cart's pieces `items` (their cards, orders.selectors.cart_cards), those a
    shopper can buy now, and why each of the others cannot: those are dropped from the cart.

    A card says what every page shows of its piece: its stock, whether it is all held
    (`held_until`, kept in step with the holds) and its shop's state, each kept under its
    piece's or shop's tag, which a sale, hold, withdrawal or closed shop moves on at once.
    Reads nothing more; writes only if there is something to drop (one statement: no
    transaction, no lock). Placing the order checks again, under lock (_buyable)."""
    buyable, refused = _split(
        (
            item,
            _refusal(
                item,
                available=item.quantity > 0 and not item.is_reserved,
                shop_open=shop_takes_orders(item.shop),
            ),
        )
        for item in items
    )
    if refused and cart_id is not None:  # an unchanged cart writes nothing (SQLite: no lock)
        keep = {item.pk for item in buyable}
        gone = [item.pk for item in items if item.pk not in keep]
        CartItem.objects.filter(cart_id=cart_id, item_id__in=gone).delete()
    return buyable, refused


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
