"""Chargebacks: payouts wait while the bank decides; a lost one is netted like a refund."""

from __future__ import annotations

import logging

from django.db import transaction

from .. import emails, stripe_api
from ..models import DisputeStatus, Order, PaymentAttempt
from .payments import _attempt_record, _refund_attempt, order_mark_paid
from .payouts import _reverse_earnings

logger = logging.getLogger(__name__)


def _disputed_payment(
    dispute: stripe_api.DisputeInfo,
) -> tuple[Order | None, PaymentAttempt | None]:
    """The order a chargeback is about, and the disputed payment's attempt when that payment
    is not the one that paid the order (a stray one: a duplicate, a late success)."""
    attempt = (
        PaymentAttempt.objects.select_for_update()
        .filter(payment_intent_id=dispute.payment_intent_id)
        .exclude(payment_intent_id="")
        .first()
    )
    if attempt is None:
        logger.error("dispute %s names no payment of ours (%s)", dispute.id,
                     dispute.payment_intent_id)  # fmt: skip
        return None, None
    order = Order.objects.select_for_update().get(pk=attempt.order_id)
    if attempt.is_open and order.status == Order.Status.PENDING:
        # A dispute can come before we learnt that the payment succeeded (its webhook late or
        # lost): settle it first, so that a payment that pays its order is disputed as such.
        intent = stripe_api.payment_intent_retrieve(payment_intent_id=attempt.payment_intent_id)
        if intent.status == "succeeded":
            order_mark_paid(payment_intent=intent)
            order.refresh_from_db()
            attempt.refresh_from_db()
    paid_it = order.payment_intent_id == attempt.payment_intent_id and order.status in {
        Order.Status.PAID,
        Order.Status.REFUNDED,
    }
    return order, None if paid_it else attempt


@transaction.atomic
def order_dispute_opened(*, dispute: stripe_api.DisputeInfo) -> None:
    """A chargeback: the shops' payouts for this order wait until it is decided; staff and
    the shops are told. On a payment that did not pay its order, only that payment waits: we
    do not refund what the bank is deciding."""
    order, stray = _disputed_payment(dispute)
    if stray is not None:
        if stray.status != PaymentAttempt.Status.REFUNDED:
            _attempt_record(stray, PaymentAttempt.Status.DISPUTED)
        return
    if order is None or order.dispute_status == DisputeStatus.OPEN:
        return
    order.dispute_status = DisputeStatus.OPEN
    order.save(update_fields=["dispute_status"])
    emails.send_dispute_notice(order_id=order.pk, state="opened")


@transaction.atomic
def order_dispute_closed(*, dispute: stripe_api.DisputeInfo) -> None:
    """Won: the payouts are released. Lost: the bank took the money back from us, which is
    netted like a refund after payout: each shop's earnings are reversed and what was
    transferred is clawed back (or owed, and netted off its next payout). A disputed payment
    that did not pay its order is given back when won, and was given back by the bank when
    lost."""
    order, stray = _disputed_payment(dispute)
    lost = dispute.status == "lost"
    if stray is not None:
        if stray.status == PaymentAttempt.Status.DISPUTED and lost:
            _attempt_record(stray, PaymentAttempt.Status.REFUNDED)
        elif stray.status == PaymentAttempt.Status.DISPUTED:
            assert order is not None  # a stray attempt is always of a known order
            intent = stripe_api.payment_intent_retrieve(payment_intent_id=stray.payment_intent_id)
            _refund_attempt(order=order, attempt=stray, intent=intent, reason="not_payable")
        return
    if order is None or order.dispute_status == DisputeStatus.LOST:
        return
    order.dispute_status = DisputeStatus.LOST if lost else DisputeStatus.WON
    order.save(update_fields=["dispute_status"])
    if lost:
        for vendor_order in order.vendor_orders.all():
            _reverse_earnings(vendor_order=vendor_order, order=order)
    state = "lost" if lost else "won"
    emails.send_dispute_notice(order_id=order.pk, state=state)
