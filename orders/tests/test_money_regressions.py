"""Fixed interleavings of the money state machine (test_money_invariants.MoneyMachine), with
every invariant checked after every step: the stories that broke before, kept as regular tests,
and the place to keep any sequence the random search finds.
"""

from decimal import Decimal

import pytest

from orders.models import Order, PayoutEntry

from .test_money_invariants import MoneyMachine, build_world, use

pytestmark = pytest.mark.django_db


def play(monkeypatch, site_tree, steps, *, then=lambda machine: None):
    """Run the steps, checking every invariant after each; `then` looks at the end state
    before the machine settles everything and rolls back."""
    use(monkeypatch, build_world(site_tree))
    machine = MoneyMachine()
    try:
        for name, kwargs in steps:
            result = getattr(machine, name)(**kwargs)
            if name == "check_out":
                machine.placed.append(result)
            machine.check_all()
        then(machine)
    finally:
        machine.teardown()


def assert_equal(actual, expected):
    assert actual == expected


def test_charged_while_we_crashed_then_cancelled_is_refunded(monkeypatch, site_tree):
    """The server dies after Stripe charged; the unpaid order is then cancelled (erasure does
    that); the charge reported afterwards must go back."""
    steps = [
        ("check_out", {"picks": {0}, "shopper": 0}),
        ("pay_first", {"card": "ok", "crash": True}),
        ("unpaid_first_cancelled", {}),
        ("deliver_all_events", {}),
    ]
    play(monkeypatch, site_tree, steps, then=lambda m: assert_equal(m.refunds_made, 1))


def test_three_d_secure_left_waiting_then_another_card(monkeypatch, site_tree):
    steps = [
        ("check_out", {"picks": {0, 1}, "shopper": 1}),
        ("pay_first", {"card": "3ds", "crash": False}),
        ("pay_first", {"card": "ok", "crash": False}),
        ("authenticate_all", {}),
        ("deliver_all_events", {}),
    ]
    play(monkeypatch, site_tree, steps)


def test_a_sold_piece_stays_sold_when_an_old_draft_is_published(monkeypatch, site_tree):
    steps = [
        ("check_out", {"picks": {0}, "shopper": 0}),
        ("pay_first", {"card": "ok", "crash": False}),
        ("vendor_publishes_an_old_draft", {"index": 0}),
        ("check_out", {"picks": {0}, "shopper": 1}),
    ]
    play(monkeypatch, site_tree, steps)


def test_refund_after_payout_on_a_shop_that_cannot_be_clawed_back(monkeypatch, site_tree):
    """Salon's transfers cannot be reversed: its refund after payout is netted off its next
    payout, and every order still balances."""
    steps = [
        ("check_out", {"picks": {2}, "shopper": 0}),
        ("pay_first", {"card": "ok", "crash": False}),
        ("fulfil_all", {}),
        ("time_passes", {"minutes": 60 * 24 * 15}),
        ("payouts_run", {}),
        ("refund_all", {}),  # the transfer cannot be reversed: Salon owes it back
        ("check_out", {"picks": {2}, "shopper": 1}),  # the piece, back on sale, sells again
        ("pay_latest", {"card": "ok", "crash": False}),
        ("fulfil_all", {}),
        ("time_passes", {"minutes": 60 * 24 * 15}),
        ("payouts_run", {}),  # nets the debt off
    ]

    def netted(machine):
        amounts = sorted(PayoutEntry.objects.filter(kind="netted").values_list("amount", flat=True))
        assert amounts == [Decimal("-680.00"), Decimal("680.00")]

    play(monkeypatch, site_tree, steps, then=netted)


def test_a_chargeback_before_we_learnt_the_payment_succeeded(monkeypatch, site_tree):
    """Found by the random search: a 3-D Secure payment succeeds, and the shopper's bank
    disputes it before its webhook reaches us. The dispute settles the payment first (it paid
    its order), so the order is disputed as paid, not a refund attempted on a disputed charge."""
    steps = [
        ("check_out", {"picks": {0}, "shopper": 0}),
        ("pay_first", {"card": "3ds", "crash": False}),
        ("authenticate_all", {}),
        ("dispute_first_charge", {"outcome": "won"}),
    ]

    def paid_and_won(machine):
        order = Order.objects.get(pk=machine.placed[0])
        assert order.status == Order.Status.PAID and order.dispute_status == "won"

    play(monkeypatch, site_tree, steps, then=paid_and_won)
