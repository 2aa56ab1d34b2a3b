"""Money and stock invariants under random interleavings (a Hypothesis state machine).

The machine drives what shoppers, shops, banks and Stripe do, in any order: checkouts, payments
with good, declined and 3-D Secure cards (authenticated late or never), webhooks delivered late,
twice, or not at all, the server dying between Stripe's charge and our write, holds running
out, vendors publishing drafts saved before a sale, shipping, delivery, refunds of a shop's
part, payout runs days later, chargebacks won and lost, unpaid orders cancelled, and a shopper
erasing their account. After every step it checks, against what the fake Stripe holds:

- no piece is sold more than its stock, and stock is what was bought and not given back;
- each order keeps at most one charge, and what Stripe kept equals what the ledger says the
  shops earned plus the commission kept, never more than the order's total;
- nothing is paid out before delivery and the return window;
- what the ledger says was transferred is what Stripe transferred, and no idempotency key was
  ever reused with other parameters.

Each example runs inside a savepoint that is rolled back. The number of examples is bounded
(HYPOTHESIS_EXAMPLES, default 25); a failing example prints its steps: keep them as a regular
test in test_money_regressions.py.
"""

import os
from datetime import timedelta
from decimal import Decimal

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

import pytest
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

from accounts.factories import UserFactory
from orders import services, stripe_api
from orders.models import (
    Cart,
    CartItem,
    DisputeStatus,
    Order,
    OrderLine,
    PaymentAttempt,
    VendorOrder,
)
from orders.selectors import payouts_due
from privacy.services import account_erase
from products.factories import ItemPageFactory
from products.models import ItemPage, ListedItem
from products.selectors import cards_of
from vendors.factories import ShopPageFactory

from .fake_stripe import FakeStripe
from .ledger import assert_ledger_sound

EXAMPLES = int(os.environ.get("HYPOTHESIS_EXAMPLES", "40"))
ADDRESS = services.ShippingAddress(
    name="Ada Lovelace", line1="12 St James's Square", city="London", postcode="SW1Y 4JH",
    country="GB",
)  # fmt: skip
PAY_ERRORS = (stripe_api.PaymentServiceError, services.ItemsUnavailable)
FULFIL_ERRORS = (services.TransitionNotAllowed, stripe_api.PaymentServiceError)


class Clock:
    """timezone.now() for the services, moved on by the machine (holds, return windows)."""

    def __init__(self):
        self.now = timezone.now()

    def __call__(self):
        return self.now


class MoneyMachine(RuleBasedStateMachine):
    orders = Bundle("orders")

    def __init__(self):
        super().__init__()
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        # What an example kept (cards: cards_of) described its own rows, rolled back since.
        cache.clear()
        self.stripe = FakeStripe()
        self.stripe.install(MONKEYPATCH)
        self.clock = Clock()
        MONKEYPATCH.setattr(timezone, "now", self.clock)
        self.items, self.drafts = WORLD["items"], WORLD["drafts"]
        self.customer = WORLD["customer"]  # shopper 0 has an account, and may erase it
        self.erased = False
        self.initial = {item.pk: item.quantity for item in self.items}
        self.tokens = 0
        self.placed: list[int] = []  # for scripted sequences (test_money_regressions)

    def teardown(self):
        try:
            self.everything_settles()
        finally:
            transaction.set_rollback(True)
            self.atomic.__exit__(None, None, None)

    def everything_settles(self):
        """At the end, every event arrives (twice) and reconciliation runs: then every charge
        Stripe made is accounted for, none is in flight any more."""
        while self.stripe.events:
            event = self.stripe.events.pop(0)
            services.stripe_event_handle(event=event)
            services.stripe_event_handle(event={**event, "id": event["id"] + "-late"})
        self.reconcile()
        assert not PaymentAttempt.objects.filter(
            status__in=PaymentAttempt.OPEN_STATUSES,
            payment_intent_id__in=[
                i.id for i in self.stripe.intents.values() if i.status == "succeeded"
            ],
        ).exists()
        assert_ledger_sound(self.stripe.money())

    # --- shoppers ----------------------------------------------------------------------------

    @rule(target=orders, picks=st.sets(st.integers(0, 2), min_size=1), shopper=st.integers(0, 3))
    def check_out(self, picks, shopper):
        cart = Cart.objects.create()
        for index in sorted(picks):
            CartItem.objects.create(cart=cart, item=self.items[index])
        customer = self.customer if shopper == 0 and not self.erased else None
        try:
            order = services.order_place(
                cart=cart, customer=customer, email=f"shopper{shopper}@example.com",
                address=ADDRESS, client_ip=f"192.0.2.{shopper}",
            )  # fmt: skip
        except (services.ItemsUnavailable, services.HoldRefused):
            return multiple()
        return order.pk

    @rule(
        order=orders,
        card=st.sampled_from(["ok", "ok", "ok", "declined", "3ds"]),
        crash=st.sampled_from([False, False, True]),
    )
    def pay(self, order, card, crash):
        self.tokens += 1
        self.stripe.crash_after_next_confirm = crash
        try:
            services.order_pay(
                order=Order.objects.get(pk=order), card_token=f"tok_{card}_{self.tokens}"
            )
        except PAY_ERRORS:
            pass
        self.stripe.crash_after_next_confirm = False

    @rule(data=st.data())
    def bank_authenticates_late(self, data):
        waiting = [i for i in self.stripe.intents.values() if i.status == "requires_action"]
        if waiting:
            self.stripe.authenticate(data.draw(st.sampled_from(waiting)))

    @rule(order=orders)
    def return_page(self, order):
        try:
            services.order_confirm_from_stripe(order=Order.objects.get(pk=order))
        except stripe_api.PaymentServiceError:
            pass

    @rule(order=orders)
    def unpaid_order_cancelled(self, order):
        services.order_cancel(order=Order.objects.get(pk=order))

    @precondition(lambda self: not self.erased)
    @rule()
    def shopper_erases_their_account(self):
        """Erasure cancels the unpaid orders and deletes the Stripe customer; what was paid
        stays paid, and a payment that completes afterwards is refunded."""
        account_erase(user=self.customer)
        self.erased = True

    # --- Stripe's webhooks -------------------------------------------------------------------

    @precondition(lambda self: self.stripe.events)
    @rule(data=st.data(), again=st.sampled_from(["once", "same id twice", "new id"]))
    def deliver_event(self, data, again):
        index = data.draw(st.integers(0, len(self.stripe.events) - 1))  # any order: late, early
        event = self.stripe.events.pop(index)
        services.stripe_event_handle(event=event)
        if again == "same id twice":
            assert services.stripe_event_handle(event=event) is False
        elif again == "new id":
            services.stripe_event_handle(event={**event, "id": event["id"] + "-resent"})

    @precondition(lambda self: self.stripe.events)
    @rule()
    def drop_an_event(self):
        self.stripe.events.pop(0)  # lost for good: the return page and reconciliation remain

    @rule()
    def reconcile(self):
        for intent in self.stripe.intents.values():
            if intent.status == "succeeded":
                services.order_mark_paid(payment_intent=intent.info())

    # --- time, shops, vendors ----------------------------------------------------------------

    @rule(minutes=st.sampled_from([5, 16, 60 * 24 * 3, 60 * 24 * 15]))
    def time_passes(self, minutes):
        self.clock.now += timedelta(minutes=minutes)
        services.reservation_release_expired()

    @rule(index=st.integers(0, 2))
    def vendor_publishes_an_old_draft(self, index):
        self.drafts[self.items[index].pk].publish()

    @rule(index=st.integers(0, 2), price=st.sampled_from(["250.00", "975.50", "1000.00"]))
    def vendor_publishes_a_new_price(self, index, price):
        """What search lists moves (its kept matches catch up); orders keep their prices."""
        item = ItemPage.objects.get(pk=self.items[index].pk)
        item.price = Decimal(price)
        item.save_revision().publish()

    @rule(data=st.data())
    def shop_sends_or_delivers(self, data):
        """A shop moves one of its parts on: sends what is paid, marks delivered what is sent."""
        parts = list(
            VendorOrder.objects.filter(
                status__in=[VendorOrder.Status.PAID, VendorOrder.Status.SHIPPED]
            )
        )
        if not parts:
            return
        part = data.draw(st.sampled_from(parts))
        if part.status == VendorOrder.Status.PAID:
            services.vendor_order_ship(vendor_order=part, carrier="DPD", tracking_number="1")
        else:
            services.vendor_order_deliver(vendor_order=part)

    @rule(data=st.data())
    def shop_refunds(self, data):
        parts = [
            part
            for part in VendorOrder.objects.all()
            if part.can_become(VendorOrder.Status.REFUNDED)
        ]
        if not parts:
            return
        try:
            services.vendor_order_refund(vendor_order=data.draw(st.sampled_from(parts)))
        except FULFIL_ERRORS:
            pass

    @rule()
    def payouts_run(self):
        for part in payouts_due():
            try:
                services.payout_settle(vendor_order=part)
            except stripe_api.PaymentServiceError:
                pass

    @rule(data=st.data(), outcome=st.sampled_from(["won", "lost"]))
    def chargeback(self, data, outcome):
        """A shopper's bank disputes any charge with money left on it: the one that paid an
        order, or one that did not (before or after we refunded it)."""
        kept = [
            intent
            for intent in self.stripe.intents.values()
            if intent.status == "succeeded"
            and intent.amount > intent.refunded + intent.lost_to_dispute
            and not intent.disputed
        ]
        if not kept:
            return
        for event in self.stripe.dispute(data.draw(st.sampled_from(kept)), outcome=outcome):
            services.stripe_event_handle(event=event)

    # --- scripted steps (test_money_regressions), built from the rules ----------------------

    def pay_first(self, card, crash):
        self.pay(order=self.placed[0], card=card, crash=crash)

    def pay_latest(self, card, crash):
        self.pay(order=self.placed[-1], card=card, crash=crash)

    def unpaid_first_cancelled(self):
        self.unpaid_order_cancelled(order=self.placed[0])

    def deliver_all_events(self):
        while self.stripe.events:
            services.stripe_event_handle(event=self.stripe.events.pop(0))

    def authenticate_all(self):
        for intent in list(self.stripe.intents.values()):
            self.stripe.authenticate(intent)

    def dispute_first_charge(self, outcome):
        intent = next(i for i in self.stripe.intents.values() if i.status == "succeeded")
        for event in self.stripe.dispute(intent, outcome=outcome):
            services.stripe_event_handle(event=event)

    def fulfil_all(self):
        for status in (VendorOrder.Status.PAID, VendorOrder.Status.SHIPPED):
            for part in VendorOrder.objects.filter(status=status):
                if status == VendorOrder.Status.PAID:
                    services.vendor_order_ship(
                        vendor_order=part, carrier="DPD", tracking_number="1"
                    )
                else:
                    services.vendor_order_deliver(vendor_order=part)

    def refund_all(self):
        for part in VendorOrder.objects.all():
            if part.can_become(VendorOrder.Status.REFUNDED):
                services.vendor_order_refund(vendor_order=part)

    @property
    def refunds_made(self) -> int:
        return sum(1 for intent in self.stripe.intents.values() if intent.refunded)

    def check_all(self):
        self.stock_is_never_sold_twice()
        self.money_balances()
        self.a_lost_dispute_leaves_nothing_owed_to_the_shops()

    # --- what must always hold ---------------------------------------------------------------

    @invariant()
    def stock_is_never_sold_twice(self):
        sold = dict.fromkeys(self.initial, 0)
        lines = OrderLine.objects.filter(
            status=OrderLine.Status.ORDERED, vendor_order__order__paid_at__isnull=False
        ).exclude(vendor_order__status=VendorOrder.Status.REFUNDED)
        for item_id, quantity in lines.values_list("item_id", "quantity"):
            sold[item_id] += quantity
        stock = dict(ItemPage.objects.filter(pk__in=sold).values_list("pk", "quantity"))
        for item_id, initial in self.initial.items():
            assert sold[item_id] <= initial, f"item {item_id}: {sold[item_id]} sold of {initial}"
            assert stock[item_id] == initial - sold[item_id], f"item {item_id}: stock {stock}"

    @invariant()
    def search_lists_what_is_live_as_it_is_live(self):
        """A sale, a refund or an old draft published: each piece's search row (price
        included) is its live page's, and a sold piece stays listed."""
        rows = dict(ListedItem.objects.values_list("item_id", "price"))
        live = dict(ItemPage.objects.live().filter(pk__in=self.initial).values_list("pk", "price"))
        assert {pk: rows.get(pk) for pk in self.initial} == {
            pk: live.get(pk) for pk in self.initial
        }

    @invariant()
    def kept_matches_caught_up_are_the_matches_found_again(self):
        """Every piece kept as search matches (products.matches), caught up after each step
        with the rows written since, holds what finding them again gives: sold pieces stay,
        an old draft published moves to its new price."""
        from products.matches import caught_up, find
        from products.selectors import search_rows

        again = find(search_rows(), None)
        assert again is not None
        kept = getattr(self, "kept_matches", again)
        caught = caught_up(kept, search_rows(), None)  # nothing moves here: never given up
        assert caught is not None
        assert caught.rows() == again.rows()
        assert list(caught.by_newest) == list(again.by_newest)
        self.kept_matches = caught

    @invariant()
    def cards_show_each_piece_as_it_is(self):
        """A card's row is kept under its piece's tag (products.selectors.cards_of): after
        a sale, hold, release, refund or publish it is still the piece as it is now."""
        fields = ("pk", "live", "price", "quantity", "held_until", "title")
        shown = {
            card.pk: tuple(getattr(card, name) for name in fields)
            for card in cards_of(list(self.initial))
        }
        rows = ItemPage.objects.filter(pk__in=self.initial).values_list(*fields)
        assert shown == {row[0]: row for row in rows}

    @invariant()
    def money_balances(self):
        if not hasattr(self, "stripe"):
            return
        assert self.stripe.key_conflicts == []
        for reference in Order.objects.values_list("reference", flat=True):
            assert self.stripe.net_charges(reference) <= 1, f"{reference} charged twice"
        # A charge made while we were not looking (the server died after Stripe charged, the
        # answer was lost) is in flight until a webhook, the return page or reconciliation
        # settles it (checked at the end): here only what our side has learnt of must add up.
        learnt = set(
            PaymentAttempt.objects.exclude(status__in=PaymentAttempt.OPEN_STATUSES).values_list(
                "payment_intent_id", flat=True
            )
        )
        assert_ledger_sound(self.stripe.money(only=learnt))

    @invariant()
    def a_lost_dispute_leaves_nothing_owed_to_the_shops(self):
        for order in Order.objects.filter(dispute_status=DisputeStatus.LOST):
            balances = services.payout_balances(
                vendor_order_ids=list(order.vendor_orders.values_list("pk", flat=True))
            )
            assert all(balance <= 0 for balance in balances.values()), balances


MONKEYPATCH = None
WORLD: dict = {}


def build_world(site_tree) -> dict:
    """Two shops (one whose transfers can be reversed, one whose cannot: netting) and three
    pieces, one of them with two in stock, each with a draft saved before anything sold:
    publishing it later must not bring stock back. Made once; each example runs inside a
    savepoint over it that is rolled back."""
    lune = ShopPageFactory(parent=site_tree.shop_index, vendor__name="Lune")
    salon = ShopPageFactory(parent=site_tree.shop_index, vendor__name="Salon")
    for shop, account in ((lune, "acct_lune"), (salon, "acct_noreverse_salon")):
        shop.vendor.stripe_account_id = account
        shop.vendor.save()
    items = [
        ItemPageFactory(parent=lune, price="1000.00"),
        ItemPageFactory(parent=lune, price="250.00", quantity=2),
        ItemPageFactory(parent=salon, price="800.00"),
    ]
    return {
        "items": items,
        "drafts": {item.pk: item.save_revision() for item in items},
        "customer": UserFactory(email="shopper0@example.com"),
    }


def use(monkeypatch, world: dict) -> None:
    """Give the machine its monkeypatch and world (module state: Hypothesis makes the machine
    without arguments)."""
    global MONKEYPATCH
    MONKEYPATCH = monkeypatch
    WORLD.update(world)


@pytest.mark.slow
@pytest.mark.django_db
def test_money_and_stock_invariants_hold_under_any_interleaving(monkeypatch, site_tree):
    use(monkeypatch, build_world(site_tree))
    run_state_machine_as_test(
        MoneyMachine,
        settings=settings_for_ci(),
    )


def settings_for_ci():
    return hypothesis_settings(
        max_examples=EXAMPLES,
        stateful_step_count=40,
        deadline=None,
        derandomize=os.environ.get("HYPOTHESIS_RANDOM") != "1",
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        print_blob=True,
        # No "explain" phase: its tracer makes every step many times slower on Python 3.11.
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    )
