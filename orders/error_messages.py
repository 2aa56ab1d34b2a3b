"""What each of the order system's refusals (`orders.errors`) says to the person who met it:
shoppers on the shop's pages, shop staff in the admin. The only place these words live."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import OrderError, OrderErrorCode
from .models import Order, VendorOrder

Code = OrderErrorCode


def _sold(*, titles: list[str], missing: int = 0) -> str:
    names = [f"“{title}”" for title in titles] + ["a piece"] * missing
    if len(names) == 1:
        return f"Sorry, {names[0]} has just sold."
    return f"Sorry, these have just sold: {', '.join(names)}."


def _label(status: str) -> str:
    return VendorOrder.Status(status).label.lower()


def _transition(*, current: str, wanted: str) -> str:
    return f"A {_label(current)} order cannot become {_label(wanted)}."


def _not_shippable(*, current: str, wanted: str) -> str:
    return f"Only paid orders can be shipped (this one is {_label(current)})."


# code → words, with the error's params as {fields} (or a function of them).
ERROR_MESSAGES: dict[OrderErrorCode, str | Callable[..., str]] = {
    Code.ITEM_NOT_FOUND: "That item could not be found.",
    Code.ITEM_WITHDRAWN: "“{title}” is no longer for sale.",
    Code.ITEM_SOLD: "“{title}” has sold.",
    Code.ITEM_HELD: (
        "“{title}” is being bought by someone else right now. If their payment does not go "
        "through it will be back soon."
    ),
    Code.SHOP_CLOSED: "“{title}”: this shop is not taking orders at the moment.",
    Code.ITEMS_SOLD: _sold,
    Code.ITEM_NOT_IN_SHOP: "Choose pieces from your own shop only.",
    Code.TOO_MANY_PIECES: (
        "You can check out at most {limit} pieces at once, so that pieces stay available to "
        "everyone. Please remove some from your cart, pay for these, then come back for the rest."
    ),
    Code.TOO_MANY_CHECKOUTS: (
        "You already have {limit} checkouts waiting for payment. Please pay for one of them "
        "first (see the emails we sent), or wait a few minutes for their holds to end."
    ),
    Code.NETWORK_BUSY: (
        "Many pieces have been reserved from your network in the last hour. Please try again "
        "a little later, or order by phone from the shop."
    ),
    Code.PHONE_ORDERS_CLOSED: "Turn on phone orders (and publish a number) on your shop first.",
    Code.TRANSITION_NOT_ALLOWED: _transition,
    Code.NOT_SHIPPABLE: _not_shippable,
    Code.NOT_DELIVERABLE: "Only shipped orders can be marked delivered.",
    Code.NOT_REFUNDABLE: "Only paid orders can be refunded.",
    Code.UNDER_CHARGEBACK: "This order is under a chargeback: it cannot be refunded.",
    Code.CARD_DECLINED: "Your card was declined. Please try another card.",
    Code.CARD_EXPIRED: "Your card has expired. Please try another card.",
    Code.CARD_CVC_INCORRECT: "Your card's security code is incorrect. Please check it and try again.",
    Code.CARD_NUMBER_INCORRECT: "Your card number is incorrect. Please check it and try again.",
    Code.CARD_INSUFFICIENT_FUNDS: "Your card has insufficient funds. Please try another card.",
    Code.CARD_PROCESSING_ERROR: (
        "An error occurred while processing your card. Please try again in a moment."
    ),
    Code.PAYMENT_FAILED: "Your payment did not go through. You can try again with another card.",
    Code.PAY_LINK_EXPIRED: "This payment link has expired.",
    Code.PAY_LINK_INVALID: "This payment link is not valid.",
    Code.PAY_LINK_USED: "This payment link has already been used.",
}

# A piece `cart_prune` took out of a cart: said so, in place of the refusal's words.
REMOVED_FROM_CART: dict[OrderErrorCode, str] = {
    Code.ITEM_WITHDRAWN: "“{title}” is no longer for sale and was removed from your cart.",
    Code.ITEM_SOLD: "“{title}” has sold and was removed from your cart.",
    Code.ITEM_HELD: (
        "“{title}” is being bought by someone else right now and was removed from your cart. "
        "If their payment does not go through it will be back soon."
    ),
}


def _words(template: str | Callable[..., str], params: dict[str, Any]) -> str:
    return template(**params) if callable(template) else template.format(**params)


def error_message(error: OrderError) -> str:
    return _words(ERROR_MESSAGES[error.code], error.params)


def payment_error_message(order: Order) -> str:
    """Why the order's last payment failed (Order.payment_error holds its code), or "".
    A value from before codes were stored, or a code since retired, reads as a decline."""
    if not order.payment_error:
        return ""
    try:
        code = OrderErrorCode(order.payment_error)
    except ValueError:
        code = OrderErrorCode.CARD_DECLINED
    return _words(ERROR_MESSAGES[code], {})


def removed_from_cart_message(notice: OrderError) -> str:
    """A cart_prune notice; a reason without its own wording (a closed shop) says the same as
    when the piece is refused."""
    return _words(REMOVED_FROM_CART.get(notice.code, ERROR_MESSAGES[notice.code]), notice.params)
