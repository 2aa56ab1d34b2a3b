"""Writes of the catalogue. Stock is written here and by the order system only (see
ItemPage.STOCK_FIELDS): never by saving, publishing or reverting a page."""

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from django.db import transaction

from wagtail.log_actions import log

from .errors import ProductErrorCode as Code
from .errors import StockNotAllowed
from .models import ItemPage
from .signals import stock_changed

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)

# A shop's stock of one piece: far above any real shop's, low enough to stay a typo guard.
MAX_STOCK = 9999
STOCK_SET_ACTION = "products.stock_set"


@transaction.atomic
def stock_set(
    *, item: ItemPage, quantity: int, by: "User | None", held: int | Callable[[], int] = 0
) -> ItemPage:
    """Set how many of `item` the shop has, at once and outside the page's revisions.

    Locks the item's row first (checkouts lock the same row before they hold stock), then
    refuses a level below what active checkouts hold: `held` is that number, or a function
    counting it, called once the row is locked so that no new hold can slip in between.
    Logged in the page's history with who changed it. Returns the item with its new stock;
    raises StockNotAllowed.
    """
    if not 0 <= quantity <= MAX_STOCK:
        raise StockNotAllowed(Code.STOCK_OUT_OF_RANGE, maximum=MAX_STOCK)
    locked = (
        ItemPage.objects.select_for_update(of=("self",))
        .only("pk", "title", "quantity", "held_until")
        .get(pk=item.pk)
    )
    held_units = held() if callable(held) else held
    if quantity < held_units:
        raise StockNotAllowed(Code.STOCK_BELOW_HELD, maximum=MAX_STOCK, held=held_units)
    previous = locked.quantity
    ItemPage.objects.filter(pk=item.pk).update(quantity=quantity)
    item.quantity = quantity
    if quantity != previous:
        log(
            instance=item,
            action=STOCK_SET_ACTION,
            user=by,
            data={"previous": previous, "quantity": quantity},
        )
        logger.info(
            "stock of item %s set from %s to %s by user %s",
            item.pk, previous, quantity, getattr(by, "pk", None),
        )  # fmt: skip
        # The order system recounts the holds on it (whether it shows as reserved).
        stock_changed.send(sender=ItemPage, item_id=item.pk, quantity=quantity, previous=previous)
        item.refresh_from_db(fields=["held_until"])
    return item
