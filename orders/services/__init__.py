"""Writes for carts, orders, stock, payments and payouts. Every function is keyword-only and
atomic; services raise `orders.errors` (`ItemsUnavailable`, `HoldRefused`, `TransitionNotAllowed`,
`PayLinkInvalid`, ...), which carry codes, and `orders.error_messages` turns them into words.

One module a concern, in the order an order lives:

- `cart`: the shopper's cart;
- `stock`: availability, holds and their expiry;
- `checkout`: an order from a cart or a phone call, within the hold limits;
- `payments`: stored attempts, one charge per order, refunds of payments that did not pay it;
- `webhooks`: Stripe's events, each once;
- `disputes`: chargebacks;
- `fulfilment`: a shop sends, delivers or refunds its part;
- `payouts`: the ledger and paying shops after the return window;
- `retention`: what an erased shopper's order keeps until it is delivered;
- `paylinks`: signed payment links.
"""

from ..errors import (  # noqa: F401
    HoldRefused,
    ItemNotBuyable,
    ItemsUnavailable,
    OrderError,
    PayLinkInvalid,
    PhoneOrdersClosed,
    TransitionNotAllowed,
)
from .cart import (  # noqa: F401
    CART_SESSION_KEY,
    cart_add,
    cart_for_request,
    cart_lines_for_request,
    cart_merge_into_account,
    cart_prune,
    cart_remove,
)
from .checkout import (  # noqa: F401
    ShippingAddress,
    client_key,
    order_place,
    phone_order_record,
)
from .disputes import order_dispute_closed, order_dispute_opened  # noqa: F401
from .fulfilment import (  # noqa: F401
    vendor_order_deliver,
    vendor_order_refund,
    vendor_order_ship,
)
from .paylinks import PAY_LINK_SALT, pay_link_order, pay_link_token  # noqa: F401
from .payments import (  # noqa: F401
    ATTEMPT_STATUS_FOR_INTENT,
    PaymentOutcome,
    order_cancel,
    order_confirm_from_stripe,
    order_mark_paid,
    order_pay,
    order_payment_canceled,
    order_payment_failed,
    order_refunded_at_stripe,
)
from .payouts import payout_balances, payout_settle  # noqa: F401
from .retention import (  # noqa: F401
    order_erase_if_fulfilled,
    orders_erase_for_customer,
    orders_erase_overdue,
)
from .stock import holds_recount, reservation_release_expired, reserved_quantities  # noqa: F401
from .webhooks import WEBHOOK_HANDLERS, MalformedEvent, stripe_event_handle  # noqa: F401
