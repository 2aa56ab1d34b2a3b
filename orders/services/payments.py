"""Payments: stored attempts, one charge per order, and refunds of any payment that did not pay it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Max, QuerySet, Sum
from django.utils import timezone

from marketplace.money import commission_on
from products.cache import items_changed
from products.models import ItemPage

from .. import emails, stripe_api
from ..errors import OrderErrorCode
from ..models import (
    CartItem,
    Order,
    OrderLine,
    PaymentAttempt,
    PayoutEntry,
    Reservation,
    VendorOrder,
)
from .fulfilment import _vendor_order_move
from .payouts import _reverse_earnings
from .retention import _status_email
from .stock import (
    _active_reservations,
    _lock_items,
    _release,
    _reserve_again,
    holds_recount,
    reserved_quantities,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PaymentOutcome:
    status: str  # "paid", "processing" or "requires_action"
    client_secret: str = ""


# Stripe's PaymentIntent status → the attempt's. One table: the webhook, the return page, the
# pay button and reconciliation all read Stripe's answer through it.
ATTEMPT_STATUS_FOR_INTENT = {
    "requires_confirmation": PaymentAttempt.Status.CONFIRMING,
    "requires_action": PaymentAttempt.Status.REQUIRES_ACTION,
    "processing": PaymentAttempt.Status.PROCESSING,
    "requires_capture": PaymentAttempt.Status.PROCESSING,
    "succeeded": PaymentAttempt.Status.SUCCEEDED,
    "requires_payment_method": PaymentAttempt.Status.FAILED,
    "canceled": PaymentAttempt.Status.CANCELED,
}


def order_pay(*, order: Order, card_token: str) -> PaymentOutcome:
    """Charge the shopper's card (a Stripe.js token) for the order, once.

    Two steps, each under the order's row lock. First the attempt is stored with its
    PaymentIntent, created unconfirmed (it cannot charge yet), and committed; an open earlier
    attempt is settled if Stripe says it succeeded, else cancelled. Then the PaymentIntent is
    confirmed. Whatever stops us after Stripe charged (a crash, a lost answer), the stored
    attempt lets the webhook, the return page or `reconcile_payments` finish the order. The
    same token posted again (a double click) is the same attempt. Raises CardDeclined (another
    card may work), ItemsUnavailable or PaymentServiceError; the order is kept in every case.
    """
    outcome, attempt = _attempt_start(order=order, card_token=card_token)
    if outcome is not None:
        return outcome
    assert attempt is not None  # _attempt_start gives an outcome or an attempt
    return _attempt_confirm(attempt=attempt)


def _attempt_start(
    *, order: Order, card_token: str
) -> tuple[PaymentOutcome | None, PaymentAttempt | None]:
    failure = None
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.status == Order.Status.PAID:
            return PaymentOutcome("paid"), None
        if not order.is_payable:
            raise stripe_api.PaymentServiceError(f"order {order.reference} is {order.status}")
        for attempt in _open_attempts(order):
            outcome = _attempt_resolve(
                order=order, attempt=attempt, superseding=attempt.card_token != card_token
            )
            if outcome is not None:
                return outcome, None
        _reserve_again(order)
        number = (order.attempts.aggregate(last=Max("number"))["last"] or 0) + 1
        attempt = PaymentAttempt.objects.create(
            order=order,
            number=number,
            idempotency_key=f"{order.reference}-{number}",
            card_token=card_token[:64],
            amount=order.total,
            currency=order.currency,
        )
        try:
            card_id = _card_for(order=order, card_token=card_token, key=attempt.idempotency_key)
            intent = stripe_api.payment_intent_create(
                amount=order.total,
                currency=order.currency,
                customer_id=order.stripe_customer_id,
                payment_method_id=card_id,
                order_reference=order.reference,
                idempotency_key=f"{attempt.idempotency_key}-create",
            )
        except stripe_api.PaymentServiceError as error:
            # Kept (committed), declined or not: the next try is a new attempt with new keys,
            # never the same keys with another card. A PaymentIntent made before an answer was
            # lost is unconfirmed: it can never charge.
            failure = error
            if isinstance(error, stripe_api.CardDeclined):
                order.payment_error = error.code
            order.save(update_fields=["stripe_customer_id", "payment_error"])
            _attempt_record(attempt, PaymentAttempt.Status.FAILED)
        else:
            attempt.payment_intent_id = intent.id
            attempt.save(update_fields=["payment_intent_id", "updated_at"])
            order.payment_intent_id, order.payment_error = intent.id, ""
            order.save(update_fields=["stripe_customer_id", "payment_intent_id", "payment_error"])
            return None, attempt
    raise failure


def _attempt_confirm(*, attempt: PaymentAttempt) -> PaymentOutcome:
    declined = None
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=attempt.order_id)
        attempt = PaymentAttempt.objects.select_for_update().get(pk=attempt.pk)
        if attempt.status != PaymentAttempt.Status.CONFIRMING:
            # Settled meanwhile by another path (a second click, the webhook).
            return PaymentOutcome("paid" if order.status == Order.Status.PAID else "processing")
        try:
            intent = stripe_api.payment_intent_confirm(
                payment_intent_id=attempt.payment_intent_id,
                idempotency_key=f"{attempt.idempotency_key}-confirm",
            )
        except stripe_api.CardDeclined as error:
            declined, order.payment_error = error, error.code
            order.save(update_fields=["payment_error"])
            _attempt_record(attempt, PaymentAttempt.Status.FAILED)
        else:
            outcome = _attempt_settle(order=order, attempt=attempt, intent=intent)
            return outcome or PaymentOutcome("processing")
    raise declined


def _open_attempts(order: Order) -> QuerySet[PaymentAttempt]:
    """The order's attempts whose outcome is still to be learnt from Stripe."""
    return order.attempts.filter(status__in=PaymentAttempt.OPEN_STATUSES).exclude(
        payment_intent_id=""
    )


def _attempt_record(attempt: PaymentAttempt, status: str) -> None:
    if attempt.status != status:
        attempt.status = status
        attempt.save(update_fields=["status", "updated_at"])


def _attempt_settle(
    *, order: Order, attempt: PaymentAttempt, intent: stripe_api.PaymentIntentInfo
) -> PaymentOutcome | None:
    """Act on what Stripe says of one attempt; None when it is over without paying."""
    status = ATTEMPT_STATUS_FOR_INTENT.get(intent.status, PaymentAttempt.Status.PROCESSING)
    if status == PaymentAttempt.Status.SUCCEEDED:
        order_mark_paid(payment_intent=intent)
        order.refresh_from_db()
        return PaymentOutcome("paid" if order.status == Order.Status.PAID else "processing")
    if status == PaymentAttempt.Status.CANCELED:
        order_payment_canceled(payment_intent=intent)  # cancelled at Stripe, not by us
        return None
    _attempt_record(attempt, status)
    if status == PaymentAttempt.Status.REQUIRES_ACTION:
        return PaymentOutcome("requires_action", client_secret=intent.client_secret)
    if status in (PaymentAttempt.Status.PROCESSING, PaymentAttempt.Status.CONFIRMING):
        return PaymentOutcome("processing")
    order_payment_failed(payment_intent=intent)
    return None


def _attempt_resolve(
    *, order: Order, attempt: PaymentAttempt, superseding: bool
) -> PaymentOutcome | None:
    """Ask Stripe about an open attempt. Returns the outcome to show when it paid or is still
    under way; None when it is over, or was cancelled because the shopper starts a new one
    (`superseding`). A cancel that comes too late finds it succeeded and settles instead."""
    intent = stripe_api.payment_intent_retrieve(payment_intent_id=attempt.payment_intent_id)
    if superseding and intent.status in {"requires_confirmation", "requires_action"}:
        try:
            stripe_api.payment_intent_cancel(
                payment_intent_id=attempt.payment_intent_id,
                idempotency_key=f"{attempt.idempotency_key}-cancel",
            )
        except stripe_api.PaymentServiceError:
            intent = stripe_api.payment_intent_retrieve(payment_intent_id=intent.id)
            if intent.status != "succeeded":
                raise
        else:
            _attempt_record(attempt, PaymentAttempt.Status.CANCELED)
            return None
    return _attempt_settle(order=order, attempt=attempt, intent=intent)


def _card_for(*, order: Order, card_token: str, key: str) -> str:
    """The token's card on the order's Stripe Customer; a customer deleted at Stripe (by hand,
    or a stale id) is made again instead of failing every payment."""
    if not order.stripe_customer_id:
        order.stripe_customer_id = _stripe_customer_for(order)
    try:
        return stripe_api.customer_add_card(
            customer_id=order.stripe_customer_id,
            card_token=card_token,
            idempotency_key=f"{key}-card",
        )
    except stripe_api.CustomerMissing:
        logger.warning(
            "order %s: Stripe customer gone, making a new one",
            order.reference,
            extra={"order_reference": order.reference},
        )
        order.stripe_customer_id = _stripe_customer_for(order, stale=order.stripe_customer_id)
        return stripe_api.customer_add_card(
            customer_id=order.stripe_customer_id,
            card_token=card_token,
            idempotency_key=f"{key}-card2",
        )


def _stripe_customer_for(order: Order, stale: str = "") -> str:
    customer = order.customer
    saved = getattr(customer, "stripe_customer_id", "") if customer is not None else ""
    if saved and saved != stale:
        return saved
    customer_id = stripe_api.customer_create(
        email=order.email,
        idempotency_key=f"{order.reference}-customer" + (f"-after-{stale}" if stale else ""),
    )
    if customer is not None and hasattr(customer, "stripe_customer_id"):
        type(customer).objects.filter(pk=customer.pk).update(stripe_customer_id=customer_id)
    return customer_id


@transaction.atomic
def order_confirm_from_stripe(*, order: Order) -> Order:
    """The return page (and the pay page, before offering to pay again) asks Stripe about the
    order's open attempts, never the query string, and settles what it learns."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.status == Order.Status.PENDING:
        for attempt in _open_attempts(order).order_by("-number"):
            _attempt_resolve(order=order, attempt=attempt, superseding=False)
            order.refresh_from_db()
            if order.status != Order.Status.PENDING:
                break
    order.refresh_from_db()
    return order


def _attempt_for(order: Order, intent: stripe_api.PaymentIntentInfo) -> PaymentAttempt:
    """The stored attempt of a PaymentIntent; one we never stored (made before attempts were
    recorded, or by hand at Stripe) is recorded now, so that what it did is on file."""
    attempt = PaymentAttempt.objects.select_for_update().filter(payment_intent_id=intent.id).first()
    if attempt is None:
        number = (order.attempts.aggregate(last=Max("number"))["last"] or 0) + 1
        attempt = PaymentAttempt.objects.create(
            order=order,
            number=number,
            idempotency_key=f"{order.reference}-{number}-found",
            payment_intent_id=intent.id,
            status=ATTEMPT_STATUS_FOR_INTENT.get(intent.status, PaymentAttempt.Status.PROCESSING),
            amount=intent.amount,
            currency=intent.currency,
        )
    return attempt


@transaction.atomic
def order_mark_paid(*, payment_intent: stripe_api.PaymentIntentInfo) -> Order | None:
    """Settle a succeeded PaymentIntent, exactly once, whichever path (webhook, return page,
    pay button, reconciliation) comes first.

    Locks the order row; a second caller finds it settled and does nothing. The first
    succeeded payment of a pending order pays it. Any other succeeded payment (a duplicate,
    a late 3-D Secure success after another card paid, one for a cancelled or erased order, one
    for the wrong amount) is refunded in full and recorded on its attempt. If an item sold while
    the shopper paid (their hold had expired), that item's line is refunded and the rest of the
    order is paid; if every item sold, the whole payment is refunded. The shopper is told once.
    """
    order = (
        Order.objects.select_for_update().filter(reference=payment_intent.order_reference).first()
    )
    if order is None:
        logger.error(
            "payment %s names no known order",
            payment_intent.id,
            extra={"order_reference": payment_intent.order_reference},
        )
        return None
    attempt = _attempt_for(order, payment_intent)
    if attempt.status in (PaymentAttempt.Status.REFUNDED, PaymentAttempt.Status.DISPUTED):
        return order  # settled before (refunded), or the shopper's bank is deciding it
    if order.payment_intent_id == payment_intent.id and order.status in {
        Order.Status.PAID,
        Order.Status.REFUNDED,
    }:
        _attempt_record(attempt, PaymentAttempt.Status.SUCCEEDED)
        return order  # this payment paid the order already (a repeated or second event)
    if order.status != Order.Status.PENDING:
        reason = "duplicate" if order.status == Order.Status.PAID else "not_payable"
        _refund_attempt(order=order, attempt=attempt, intent=payment_intent, reason=reason)
        return order
    if payment_intent.amount != order.total or payment_intent.currency != order.currency:
        logger.error(
            "order %s: payment %s is for %s %s, order total %s %s: refunded, not marked paid",
            order.reference, payment_intent.id, payment_intent.amount,
            payment_intent.currency, order.total, order.currency,
            extra={"order_reference": order.reference},
        )  # fmt: skip
        _refund_attempt(order=order, attempt=attempt, intent=payment_intent, reason="mismatch")
        return order

    _attempt_record(attempt, PaymentAttempt.Status.SUCCEEDED)
    lines = list(OrderLine.objects.filter(vendor_order__order=order))
    items = _lock_items([line.item_id for line in lines if line.item_id])
    held = dict(
        _active_reservations()
        .filter(order=order)
        .values_list("item_id")
        .annotate(total=Sum("quantity"))
        .values_list("item_id", "total")
    )
    reserved_by_others = reserved_quantities(item_ids=list(items), exclude_order=order)
    gone = [
        line
        for line in lines
        if line.item_id not in items
        or items[line.item_id].quantity < line.quantity
        or (
            held.get(line.item_id, 0) < line.quantity
            and items[line.item_id].quantity - reserved_by_others.get(line.item_id, 0)
            < line.quantity
        )
    ]
    order.payment_intent_id = payment_intent.id
    if len(gone) == len(lines):
        order.save(update_fields=["payment_intent_id"])
        _refund_attempt(
            order=order, attempt=attempt, intent=payment_intent, reason="sold_meanwhile"
        )
        return order
    if gone:
        # The rest is still theirs: refund only the pieces that sold, then sell the others.
        _refund_sold_meanwhile(order=order, payment_intent_id=payment_intent.id, gone=gone)
    kept = [line for line in lines if line not in gone]

    for line in kept:
        ItemPage.objects.filter(pk=line.item_id).update(quantity=F("quantity") - line.quantity)
    order.reservations.filter(status=Reservation.Status.ACTIVE).update(
        status=Reservation.Status.CONSUMED
    )
    holds_recount(item_ids=[line.item_id for line in lines if line.item_id])
    order.status = Order.Status.PAID
    order.paid_at = timezone.now()
    order.payment_error = ""
    order.save(update_fields=["status", "paid_at", "payment_intent_id", "payment_error"])
    for vendor_order in order.vendor_orders.all():
        if vendor_order.status == VendorOrder.Status.CANCELLED:
            continue  # every piece of this shop's part sold meanwhile: nothing to send or pay
        _vendor_order_move(vendor_order, VendorOrder.Status.PAID)
        PayoutEntry.objects.create(
            vendor_order=vendor_order,
            kind=PayoutEntry.Kind.EARNED,
            amount=vendor_order.payout_amount,
        )
    # Another attempt still open (a 3-D Secure check on another card) must not charge too.
    _cancel_open_attempts(order=order, keep=attempt)
    # The items are sold: out of this shopper's cart (and anyone else's).
    CartItem.objects.filter(item_id__in=[line.item_id for line in kept]).delete()
    kind = "paid_sold_meanwhile" if gone else "paid"
    emails.send(kind=kind, order_id=order.pk)
    items_changed(line.item_id for line in kept if line.item_id)  # sold, wherever shown
    return order


def _cancel_open_attempts(*, order: Order, keep: PaymentAttempt | None = None) -> None:
    """Cancel the order's other open attempts at Stripe, as far as Stripe lets us. One that
    succeeded anyway is refunded when its success reaches us (webhook or reconciliation)."""
    others = _open_attempts(order)
    if keep is not None:
        others = others.exclude(pk=keep.pk)
    for other in others:
        try:
            stripe_api.payment_intent_cancel(
                payment_intent_id=other.payment_intent_id,
                idempotency_key=f"{other.idempotency_key}-cancel",
            )
        except stripe_api.PaymentServiceError:
            logger.warning(
                "order %s: could not cancel payment %s; settled when Stripe reports it",
                order.reference,
                other.payment_intent_id,
                extra={"order_reference": order.reference},
            )
            continue
        _attempt_record(other, PaymentAttempt.Status.CANCELED)


def _refund_sold_meanwhile(*, order: Order, payment_intent_id: str, gone: list[OrderLine]) -> None:
    """Refund exactly the lines whose pieces sold to someone else, and take them out of their
    shops' parts: a part left with nothing is cancelled, the others are re-totalled so that
    subtotal, commission and payout count only what the shop sends."""
    stripe_api.refund_create(
        payment_intent_id=payment_intent_id,
        amount=sum((line.line_total for line in gone), Decimal("0")),
        currency=order.currency,
        # One key per order: a retry replays this refund, and a retry that would refund a
        # different amount is refused by Stripe rather than refunding twice.
        idempotency_key=f"{order.reference}-refund-sold_meanwhile-lines",
    )
    OrderLine.objects.filter(pk__in=[line.pk for line in gone]).update(
        status=OrderLine.Status.SOLD_MEANWHILE
    )
    order.reservations.filter(
        status=Reservation.Status.ACTIVE,
        item_id__in=[line.item_id for line in gone if line.item_id],
    ).update(status=Reservation.Status.RELEASED)
    holds_recount(item_ids=[line.item_id for line in gone if line.item_id])
    for vendor_order in order.vendor_orders.prefetch_related("lines"):
        kept = vendor_order.kept_lines
        vendor_order.subtotal = sum((line.line_total for line in kept), Decimal("0"))
        vendor_order.commission = commission_on(vendor_order.subtotal, vendor_order.commission_rate)
        if not kept:
            vendor_order.status = VendorOrder.Status.CANCELLED
        vendor_order.save(update_fields=["subtotal", "commission", "status"])


def _refund_attempt(
    *, order: Order, attempt: PaymentAttempt, intent: stripe_api.PaymentIntentInfo, reason: str
) -> None:
    """Give a whole payment back: it cannot pay this order (`reason`), and say so once.

    `sold_meanwhile`: every piece sold before it arrived, the order closes as refunded. The
    other reasons leave the order as it is: paid by another payment (`duplicate`), closed
    before this one arrived (`not_payable`), or charged a different amount (`mismatch`)."""
    attempt.refund_id = stripe_api.refund_create(
        payment_intent_id=intent.id,
        amount=intent.amount,
        currency=intent.currency,
        idempotency_key=f"{attempt.idempotency_key}-refund",
    )
    attempt.status = PaymentAttempt.Status.REFUNDED
    attempt.save(update_fields=["status", "refund_id", "updated_at"])
    logger.warning(
        "order %s: payment %s refunded in full (%s)",
        order.reference,
        intent.id,
        reason,
        extra={"order_reference": order.reference},
    )
    if reason == "sold_meanwhile":
        _release(order)
        order.status = Order.Status.REFUNDED
        order.save(update_fields=["status"])
        order.vendor_orders.update(status=VendorOrder.Status.CANCELLED)
    emails.send(kind=f"refunded_{reason}", order_id=order.pk)


@transaction.atomic
def order_payment_failed(*, payment_intent: stripe_api.PaymentIntentInfo) -> None:
    """A failed payment frees the items; the order stays open so the shopper can try again."""
    order = (
        Order.objects.select_for_update()
        .filter(reference=payment_intent.order_reference, status=Order.Status.PENDING)
        .first()
    )
    if order is None:
        return
    attempt = PaymentAttempt.objects.filter(payment_intent_id=payment_intent.id).first()
    if attempt is not None and attempt.is_open:
        _attempt_record(attempt, PaymentAttempt.Status.FAILED)
    # A late failure of an earlier attempt must not free the pieces a newer payment holds.
    if order.payment_intent_id not in {"", payment_intent.id}:
        return
    failed = OrderErrorCode.PAYMENT_FAILED
    already_told = order.payment_error == failed  # webhook and return page: one email
    _release(order)
    order.payment_error = failed
    order.save(update_fields=["payment_error"])
    if not already_told:
        emails.send(kind="payment_failed", order_id=order.pk)


@transaction.atomic
def order_cancel(*, order: Order, reason: str = "cancelled") -> Order:
    """Close an unpaid order: its pieces go back on sale and its open payments are cancelled
    at Stripe (one that succeeds all the same is refunded when it is reported)."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.status != Order.Status.PENDING:
        return order
    _release(order)
    order.status = Order.Status.CANCELLED
    order.save(update_fields=["status"])
    order.vendor_orders.update(status=VendorOrder.Status.CANCELLED)
    _cancel_open_attempts(order=order)
    emails.send(kind="cancelled", order_id=order.pk)
    return order


@transaction.atomic
def order_payment_canceled(*, payment_intent: stripe_api.PaymentIntentInfo) -> None:
    """A PaymentIntent cancelled at Stripe. One we cancelled (a new attempt replaced it) or an
    earlier attempt changes nothing; the order's current one cancelled closes the order."""
    attempt = PaymentAttempt.objects.filter(payment_intent_id=payment_intent.id).first()
    if attempt is not None:
        if attempt.status == PaymentAttempt.Status.CANCELED:
            return
        _attempt_record(attempt, PaymentAttempt.Status.CANCELED)
    order = Order.objects.filter(reference=payment_intent.order_reference).first()
    if order is not None and order.payment_intent_id in {"", payment_intent.id}:
        order_cancel(order=order)


@transaction.atomic
def order_refunded_at_stripe(*, payment_intent_id: str, amount_refunded: Decimal) -> None:
    """A refund made at Stripe (dashboard or ours): a full refund of the payment that paid an
    order closes it, reversing each shop's earnings and clawing back what was transferred.

    `amount_refunded` is the charge's running total. Anything less than the charge (`total`) is
    a partial refund (a shop's part, the pieces that sold while the shopper paid, or one made by
    hand) and closes nothing. Refunds of payments that did not pay their order are ours
    (`_refund_attempt`) and change nothing here.
    """
    order = (
        Order.objects.select_for_update()
        .filter(payment_intent_id=payment_intent_id, status=Order.Status.PAID)
        .first()
    )
    if order is None or amount_refunded < order.total:
        return
    order.status = Order.Status.REFUNDED
    order.save(update_fields=["status"])
    # A part cancelled because its pieces sold meanwhile was never paid out: nothing to reverse.
    for vendor_order in order.vendor_orders.exclude(
        status__in=[VendorOrder.Status.REFUNDED, VendorOrder.Status.CANCELLED]
    ):
        _vendor_order_move(vendor_order, VendorOrder.Status.REFUNDED)
        _reverse_earnings(vendor_order=vendor_order, order=order)
    _status_email(order=order, kind="refunded")
