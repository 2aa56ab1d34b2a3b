"""Writes for privacy: a shopper's erasure, and guest orders joining their account.

Keyword-only and atomic, like every service. An erasure is the ordered list of what each app
below erases of its own: this module is the one place that knows them all, and nothing
imports it.
"""

from django.db import transaction

from accounts import tokens
from accounts.models import User
from accounts.services import account_anonymise
from orders import stripe_api
from orders.models import Order
from orders.selectors import (
    guest_orders_to_confirm,
    may_claim_guest_orders,
    stripe_customers_of_orders,
)
from orders.services import order_cancel, orders_erase_for_customer
from policies.services import policy_acknowledgements_erase_for_user, testimonials_erase_for_user
from saved.services import saved_erase

# --- Erasure ------------------------------------------------------------------------------------


def account_erase(*, user: User) -> User:
    """Erase a shopper's personal data; safe to run again (a second run changes nothing).

    1. Stripe Customers (the account's and its orders') are deleted first, outside the database
       transaction: Stripe cannot roll back, and a customer already gone counts as deleted, so
       a failure here leaves the account untouched and the erasure can simply be retried.
    2. Testimonials the shopper wrote (name, place and words) and policy-notice
       acknowledgements are deleted.
    3. Unpaid orders are cancelled (their pieces go back on sale; a payment that completes
       later is refunded, as for any cancelled order).
    4. Orders are blanked and unlinked, except the delivery details of an order still on its way,
       kept until it arrives (orders.services.orders_erase_for_customer). Guest orders placed
       with the account's address but never confirmed as its own are not the account's
       (anyone can type an address) and are left alone.
    5. The saved list is deleted.
    6. The account: addresses, sessions and sign-in records deleted, mailings off, the row
       kept anonymous and inactive (accounts.services.account_anonymise).
    """
    customer_ids = stripe_customers_of_orders(user=user)
    if user.stripe_customer_id:
        customer_ids.add(user.stripe_customer_id)
    for customer_id in sorted(customer_ids):
        stripe_api.customer_delete(customer_id=customer_id)
    return _erase_records(user=user)


@transaction.atomic
def _erase_records(*, user: User) -> User:
    user = User.objects.select_for_update().get(pk=user.pk)
    # Testimonials are found through the account's orders: before those are unlinked.
    testimonials_erase_for_user(user=user)
    policy_acknowledgements_erase_for_user(user=user)
    for order in Order.objects.filter(customer=user, status=Order.Status.PENDING):
        order_cancel(order=order)
    orders_erase_for_customer(user=user)
    saved_erase(user=user)
    return account_anonymise(user=user)


# --- Guest orders -------------------------------------------------------------------------------
# Anyone can type an address at checkout (and a shop can take a phone order for any address), so
# a guest order joins an account only when its holder proves and confirms it is theirs: from the
# order's own emailed link, or by ticking it on /account/guest-orders/. Never on the address
# alone, at checkout or when an address is verified.


class GuestOrderClaimError(Exception):
    """Why an order cannot be added to this account. `code` is for the view's words."""

    INVALID = "invalid"  # forged, or the order changed or is gone
    UNVERIFIED = "unverified"  # the account's address is not confirmed
    OTHER_MAILBOX = "other_mailbox"  # the link was sent to another address than the account's
    TAKEN = "taken"  # the order is in another account

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@transaction.atomic
def guest_orders_confirm(*, user: User, references: list[str]) -> int:
    """Add the guest orders the account holder ticked as theirs: only those offered to them
    (orders.selectors.guest_orders_to_confirm), whatever references are posted.
    Returns how many."""
    wanted = {ref for ref in references if isinstance(ref, str) and 0 < len(ref) <= 32}
    if not wanted:
        return 0
    # The condition on customer (in the selector) makes a concurrent claim a no-op, not a move.
    return (
        guest_orders_to_confirm(user=user)
        .filter(reference__in=wanted)
        .order_by()
        .update(customer=user)
    )


def guest_order_for_link(*, user: User, token: str) -> Order:
    """The guest order an emailed "add this order to your account" link names, if this
    account may add it; raises GuestOrderClaimError (also for a forged link)."""
    try:
        reference, email = tokens.read_order_claim_token(token)
    except tokens.InvalidToken as error:
        raise GuestOrderClaimError(GuestOrderClaimError.INVALID) from error
    order = Order.objects.filter(reference=reference).first()
    if order is None or not order.email or order.email.lower() != email:
        raise GuestOrderClaimError(GuestOrderClaimError.INVALID)
    if order.customer_id == user.pk:
        return order
    if order.customer_id is not None or order.erase_when_fulfilled_at is not None:
        raise GuestOrderClaimError(GuestOrderClaimError.TAKEN)
    if not may_claim_guest_orders(user):
        raise GuestOrderClaimError(GuestOrderClaimError.UNVERIFIED)
    # The link proves the mailbox received the order's email; the account must be that
    # mailbox's too, so a forwarded or leaked link adds nothing to someone else's account.
    if user.email.lower() != email:
        raise GuestOrderClaimError(GuestOrderClaimError.OTHER_MAILBOX)
    return order


@transaction.atomic
def guest_order_claim(*, user: User, token: str) -> Order:
    """Add the order an emailed link names to the signed-in account, once its holder
    confirms. Raises GuestOrderClaimError; adding it again changes nothing."""
    order = guest_order_for_link(user=user, token=token)
    if order.customer_id is None:
        guest_orders_confirm(user=user, references=[order.reference])
        order.refresh_from_db(fields=["customer"])
        if order.customer_id != user.pk:
            raise GuestOrderClaimError(GuestOrderClaimError.TAKEN)
    return order
