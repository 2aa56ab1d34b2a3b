"""The payout ledger: what each shop earned, was paid, and owes back, and paying it."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Q, Sum

from vendors.models import Vendor

from .. import stripe_api
from ..models import Order, PayoutEntry, VendorOrder
from ..selectors import payouts_due

logger = logging.getLogger(__name__)


def payout_balances(
    *, vendor_order_ids: Iterable[int] | None = None, vendor_id: int | None = None
) -> dict[int, Decimal]:
    """What the platform owes the shop on each part (negative: what the shop owes back), from
    the ledger: earned (EARNED + REVERSED) less paid out (TRANSFERRED + TRANSFER_REVERSED +
    NETTED). One query."""
    entries = PayoutEntry.objects.order_by()
    if vendor_order_ids is not None:
        entries = entries.filter(vendor_order_id__in=vendor_order_ids)
    if vendor_id is not None:
        entries = entries.filter(vendor_order__vendor_id=vendor_id)
    zero = Decimal("0")
    rows = entries.values("vendor_order_id").annotate(
        earned=Sum("amount", filter=Q(kind__in=PayoutEntry.EARNED_KINDS), default=zero),
        paid_out=Sum("amount", filter=Q(kind__in=PayoutEntry.PAID_OUT_KINDS), default=zero),
    )
    cent = Decimal("0.01")
    return {
        row["vendor_order_id"]: (row["earned"] - row["paid_out"]).quantize(cent) for row in rows
    }


def _reverse_earnings(*, vendor_order: VendorOrder, order: Order) -> None:
    """The shopper got a part's money back (refund, lost dispute): the shop's earning on it is
    reversed, and what was transferred for it is clawed back at Stripe. If the reversal fails
    the part's balance stays negative and the shop's next payout nets it off."""
    earned = PayoutEntry.objects.filter(
        vendor_order=vendor_order, kind=PayoutEntry.Kind.EARNED
    ).first()
    if earned is None:
        return  # never earned (unpaid, or its pieces sold to someone else first)
    _, reversed_now = PayoutEntry.objects.get_or_create(
        vendor_order=vendor_order,
        kind=PayoutEntry.Kind.REVERSED,
        defaults={"amount": -earned.amount},
    )
    if not reversed_now:
        return
    transfer = PayoutEntry.objects.filter(
        vendor_order=vendor_order, kind=PayoutEntry.Kind.TRANSFERRED
    ).first()
    if transfer is None:
        return
    debt = -payout_balances(vendor_order_ids=[vendor_order.pk]).get(vendor_order.pk, Decimal("0"))
    amount = min(transfer.amount, debt)
    if amount <= 0:
        return
    try:
        reversal_id = stripe_api.transfer_reversal_create(
            transfer_id=transfer.stripe_transfer_id,
            amount=amount,
            currency=order.currency,
            idempotency_key=f"{order.reference}-transfer-{vendor_order.pk}-reversal",
        )
    except stripe_api.PaymentServiceError as error:
        logger.warning(
            "order %s: transfer reversal failed (%s); the shop's next payout nets it off",
            order.reference,
            error,
            extra={"order_reference": order.reference},
        )
        return
    PayoutEntry.objects.create(
        vendor_order=vendor_order,
        kind=PayoutEntry.Kind.TRANSFER_REVERSED,
        amount=-amount,
        stripe_transfer_id=reversal_id,
    )


@transaction.atomic
def payout_settle(*, vendor_order: VendorOrder, now: datetime | None = None) -> PayoutEntry | None:
    """Pay a shop its share of a part that is due (`selectors.payouts_due`): first net off what
    the shop owes on other parts (refunds after payout that could not be clawed back), then
    transfer the rest to its Stripe Connect account (separate charges and transfers, grouped by
    the order reference, with a deterministic idempotency key).

    Runs under a lock on the vendor, so two runs, or a run and a refund, never pay one shop at
    once; the part is re-checked inside the lock. Returns the transfer (or the netting entry
    when nothing was left to transfer), or None when the part was not due any more."""
    Vendor.objects.select_for_update().filter(pk=vendor_order.vendor_id).first()
    due = payouts_due(now=now).filter(pk=vendor_order.pk).first()
    if due is None:
        return None
    vendor_order = due
    balances = payout_balances(vendor_id=vendor_order.vendor_id)
    to_pay = balances.get(vendor_order.pk, Decimal("0"))
    if to_pay <= 0:
        return None
    entry = None
    for debtor_id in sorted(pk for pk, balance in balances.items() if balance < 0):
        netted = min(-balances[debtor_id], to_pay)
        entry = PayoutEntry.objects.create(
            vendor_order=vendor_order,
            kind=PayoutEntry.Kind.NETTED,
            amount=netted,
            netted_with_id=debtor_id,
        )
        PayoutEntry.objects.create(
            vendor_order_id=debtor_id,
            kind=PayoutEntry.Kind.NETTED,
            amount=-netted,
            netted_with=vendor_order,
        )
        to_pay -= netted
        if to_pay == 0:
            return entry
    order = vendor_order.order
    transfer_id = stripe_api.transfer_create(
        amount=to_pay,
        currency=order.currency,
        destination_account=vendor_order.vendor.stripe_account_id,
        transfer_group=order.reference,
        idempotency_key=f"{order.reference}-transfer-{vendor_order.pk}",
    )
    return PayoutEntry.objects.create(
        vendor_order=vendor_order,
        kind=PayoutEntry.Kind.TRANSFERRED,
        amount=to_pay,
        stripe_transfer_id=transfer_id,
    )
