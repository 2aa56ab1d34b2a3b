"""The money invariants, checked against what Stripe says happened (localstripe or a fake).

For every order: charged − refunded (and − lost to a chargeback) = what the shops earned on it
net of reversals + the commission kept, to the minor unit; and what the ledger says was paid out
is what Stripe transferred less what it reversed. Shared by the payout tests and the stateful
property test.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Sum

from marketplace.money import from_minor_units
from orders.models import Order, PayoutEntry, VendorOrder
from orders.services import payout_balances
from tests.localstripe import stripe_get

ZERO = Decimal("0")
K = PayoutEntry.Kind


@dataclass
class StripeMoney:
    """What Stripe holds, in the currency's units: per order reference, what was charged and
    what went back (refunds and lost disputes); per connected account, what was transferred
    net of reversals."""

    charged: dict[str, Decimal]
    returned: dict[str, Decimal]
    transferred: dict[str, Decimal]


def commission_kept(part: VendorOrder) -> Decimal:
    kinds = set(part.payout_entries.values_list("kind", flat=True))
    return part.commission if K.EARNED in kinds and K.REVERSED not in kinds else ZERO


def assert_order_balances(order: Order, stripe: StripeMoney) -> None:
    parts = list(order.vendor_orders.all())
    earned = (
        PayoutEntry.objects.filter(
            vendor_order__order=order, kind__in=PayoutEntry.EARNED_KINDS
        ).aggregate(total=Sum("amount"))["total"]
        or ZERO
    )
    kept = sum((commission_kept(part) for part in parts), ZERO)
    net = stripe.charged.get(order.reference, ZERO) - stripe.returned.get(order.reference, ZERO)
    assert net == earned + kept, (
        f"{order.reference}: Stripe kept {net}, ledger says earned {earned} + commission {kept}"
    )
    # Charged at most once, net: never more than the order's total.
    assert net <= order.total, f"{order.reference}: {net} kept for a {order.total} order"


def assert_payouts_match_stripe(stripe: StripeMoney) -> None:
    for account, amount in stripe.transferred.items():
        ledger = (
            PayoutEntry.objects.filter(
                vendor_order__vendor__stripe_account_id=account,
                kind__in=[K.TRANSFERRED, K.TRANSFER_REVERSED],
            ).aggregate(total=Sum("amount"))["total"]
            or ZERO
        )
        assert ledger == amount, f"{account}: Stripe transferred {amount}, ledger says {ledger}"
    # Netting moves a shop's money between its own parts, never in or out.
    for vendor_id in VendorOrder.objects.values_list("vendor_id", flat=True).distinct():
        netted = (
            PayoutEntry.objects.filter(vendor_order__vendor_id=vendor_id, kind=K.NETTED).aggregate(
                total=Sum("amount")
            )["total"]
            or ZERO
        )
        assert netted == ZERO, f"vendor {vendor_id}: netting adds up to {netted}"


def assert_nothing_paid_out_early() -> None:
    window = timedelta(days=settings.VITRINE_RETURN_WINDOW_DAYS)
    for entry in PayoutEntry.objects.filter(kind__in=[K.TRANSFERRED, K.NETTED], amount__gt=0):
        part = entry.vendor_order
        assert part.delivered_at is not None, f"{part} paid out before delivery"
        assert entry.created_at >= part.delivered_at + window, f"{part} paid in return window"


def assert_ledger_sound(stripe: StripeMoney) -> None:
    for order in Order.objects.all():
        assert_order_balances(order, stripe)
    assert_payouts_match_stripe(stripe)
    assert_nothing_paid_out_early()
    # A shop is never owed money it was already paid for: balances are within what it earned.
    for part_id, balance in payout_balances().items():
        earned = PayoutEntry.objects.filter(vendor_order_id=part_id, kind=K.EARNED).first()
        assert earned is None or balance <= earned.amount, f"part {part_id}: owed {balance}"


def money_held(base_url: str, *, references, accounts):
    """What localstripe holds for these orders and connected accounts (StripeMoney):
    succeeded charges and their refunds per order reference, transfers net of reversals per
    account. localstripe is shared by the test session, so only the given ones are read."""
    references = set(references)
    charged: dict[str, Decimal] = {}
    returned: dict[str, Decimal] = {}
    intents = stripe_get(base_url, "/v1/payment_intents?limit=1000")["data"]
    for intent in intents:
        reference = intent["metadata"].get("order_reference")
        if reference not in references or intent["status"] != "succeeded":
            continue
        currency = intent["currency"].upper()
        charged[reference] = charged.get(reference, Decimal("0")) + from_minor_units(
            intent["amount"], currency
        )
        refunds = stripe_get(base_url, f"/v1/refunds?payment_intent={intent['id']}&limit=100")
        for refund in refunds["data"]:
            returned[reference] = returned.get(reference, Decimal("0")) + from_minor_units(
                refund["amount"], currency
            )
    transferred = {}
    for account in accounts:
        listed = stripe_get(base_url, f"/v1/transfers?destination={account}&limit=1000")["data"]
        transferred[account] = sum(
            (
                from_minor_units(t["amount"] - t["amount_reversed"], t["currency"].upper())
                for t in listed
            ),
            Decimal("0"),
        )
    return StripeMoney(charged=charged, returned=returned, transferred=transferred)
