"""What the order system's services refuse, by code (words: `orders.error_messages`)."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from marketplace.errors import CodedError

if TYPE_CHECKING:
    from .models import Order


class OrderErrorCode(StrEnum):
    # Why a piece cannot go in a cart, or was taken out of one (`title` names it).
    ITEM_NOT_FOUND = "item_not_found"
    ITEM_WITHDRAWN = "item_withdrawn"  # unpublished: no longer for sale
    ITEM_SOLD = "item_sold"  # none left in stock
    ITEM_HELD = "item_held"  # every unit held by another shopper's checkout
    SHOP_CLOSED = "shop_closed"  # the shop is not taking orders
    # Checkout and payment: pieces (`titles`, and `missing` unnamed ones) sold meanwhile.
    ITEMS_SOLD = "items_sold"
    ITEM_NOT_IN_SHOP = "item_not_in_shop"  # a phone order names another shop's piece
    # Hold limits (`limit` is the setting's value).
    TOO_MANY_PIECES = "too_many_pieces"  # in one checkout
    TOO_MANY_CHECKOUTS = "too_many_checkouts"  # unpaid at once, per session, email or account
    NETWORK_BUSY = "network_busy"  # pieces held from one network in the last hour
    PHONE_ORDERS_CLOSED = "phone_orders_closed"  # the shop publishes no phone number
    # A shop's part cannot take this step (`current` and `wanted` are VendorOrder statuses).
    TRANSITION_NOT_ALLOWED = "transition_not_allowed"
    NOT_SHIPPABLE = "not_shippable"  # only a paid part is sent
    NOT_DELIVERABLE = "not_deliverable"  # only a sent part is delivered
    NOT_REFUNDABLE = "not_refundable"  # only a paid part is refunded
    UNDER_CHARGEBACK = "under_chargeback"  # the bank decides (or took) this money
    # Why a payment failed, stored in Order.payment_error (until the next attempt).
    CARD_DECLINED = "card_declined"
    CARD_EXPIRED = "card_expired"
    CARD_CVC_INCORRECT = "card_cvc_incorrect"
    CARD_NUMBER_INCORRECT = "card_number_incorrect"
    CARD_INSUFFICIENT_FUNDS = "card_insufficient_funds"
    CARD_PROCESSING_ERROR = "card_processing_error"  # try the same card again
    PAYMENT_FAILED = "payment_failed"  # Stripe's webhook said so, after the page
    # Emailed payment links.
    PAY_LINK_EXPIRED = "pay_link_expired"
    PAY_LINK_INVALID = "pay_link_invalid"
    PAY_LINK_USED = "pay_link_used"


class OrderError(CodedError):
    code: OrderErrorCode

    def __init__(self, code: OrderErrorCode, **params: object):
        super().__init__(code, **params)


class ItemNotBuyable(OrderError):
    """One piece cannot be bought now (`title`), for the reason the code gives; also what
    `cart_prune` reports for each piece it took out of a cart."""

    def __init__(self, code: OrderErrorCode, *, title: str = ""):
        super().__init__(code, title=title)
        self.title = title


class ItemsUnavailable(OrderError):
    """Some pieces sold (or were withdrawn) before this shopper could have them: `titles`, and
    `missing` pieces that no longer exist at all."""

    def __init__(
        self,
        titles: list[str],
        *,
        missing: int = 0,
        code: OrderErrorCode = OrderErrorCode.ITEMS_SOLD,
    ):
        super().__init__(code, titles=titles, missing=missing)
        self.titles, self.missing = titles, missing


class HoldRefused(OrderError):
    """A checkout would hold more than one shopper may; `limit` is the limit's value."""

    def __init__(self, code: OrderErrorCode, *, limit: int):
        super().__init__(code, limit=limit)
        self.limit = limit


class PhoneOrdersClosed(OrderError):
    """The shop does not publish a phone number, so it does not take phone orders."""

    def __init__(self) -> None:
        super().__init__(OrderErrorCode.PHONE_ORDERS_CLOSED)


class TransitionNotAllowed(OrderError):
    """The shop's part is not in a state where this step makes sense."""

    def __init__(
        self,
        code: OrderErrorCode = OrderErrorCode.TRANSITION_NOT_ALLOWED,
        *,
        current: str = "",
        wanted: str = "",
    ):
        super().__init__(code, current=current, wanted=wanted)


class PayLinkInvalid(OrderError):
    """A payment link that is forged, expired, or whose order is no longer payable (`order`,
    when the link named one)."""

    def __init__(self, code: OrderErrorCode, *, order: Order | None = None):
        super().__init__(code)
        self.order = order
