"""Payouts wait until a sale is final, and money only goes to whom it is owed.

Against localstripe with its Connect endpoints (scripts/localstripe_connect.py): a shop's part
is paid out by `run_payouts` once delivered and past the return window, never on shipment; a
refund after the payout reverses the transfer at Stripe, or, when that fails, the shop's next
payout nets it off; a chargeback freezes the payout, and a lost one is netted like a refund.
After each story the ledger is checked against what Stripe holds (tests/ledger.py).

Before this, the transfer went out on shipment and a refund afterwards only wrote a ledger row:
a shop and an accomplice could buy, ship, refund and keep about 85% of each price.
"""

import io
import secrets
from datetime import timedelta
from decimal import Decimal

from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

import pytest

from orders import services
from orders.models import DisputeStatus, Order, PayoutEntry, VendorOrder
from products.factories import ItemPageFactory
from tests.localstripe import stripe_get
from vendors.factories import ShopPageFactory

from .helpers import ADDRESS, event_body, post_webhook, subjects
from .ledger import assert_ledger_sound, money_held

pytestmark = pytest.mark.django_db
K = PayoutEntry.Kind


@pytest.fixture
def shop(site_tree):
    """A shop with its own connected account (unique: localstripe is shared by the session)."""
    page = ShopPageFactory(title="Maison Lune", vendor__name="Maison Lune")
    page.vendor.stripe_account_id = f"acct_lune{secrets.token_hex(4)}"
    page.vendor.save()
    return page


def buy(shop, token, price="1000.00") -> VendorOrder:
    """A shopper buys one piece through the site and pays; returns the shop's part."""
    item = ItemPageFactory(parent=shop, price=price)
    shopper = Client()
    shopper.post("/cart/add/", {"item": item.pk})
    shopper.post("/checkout/", ADDRESS)
    order = Order.objects.filter(status=Order.Status.PENDING).get()
    shopper.post(f"/checkout/pay/{order.reference}/", {"card_token": token()})
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    return order.vendor_orders.get()


def deliver(part: VendorOrder, *, days_ago: int) -> VendorOrder:
    services.vendor_order_ship(vendor_order=part, carrier="DPD", tracking_number="DPD1")
    services.vendor_order_deliver(vendor_order=part)
    VendorOrder.objects.filter(pk=part.pk).update(
        delivered_at=timezone.now() - timedelta(days=days_ago)
    )
    part.refresh_from_db()
    return part


def run_payouts() -> str:
    out = io.StringIO()
    call_command("run_payouts", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def transfers(localstripe, account) -> list[dict]:
    return stripe_get(localstripe, f"/v1/transfers?destination={account}&limit=100")["data"]


def check(localstripe, *accounts, lost_to_disputes=None):
    held = money_held(
        localstripe,
        references=Order.objects.values_list("reference", flat=True),
        accounts=accounts,
    )
    for reference, amount in (lost_to_disputes or {}).items():
        held.returned[reference] = held.returned.get(reference, Decimal("0")) + amount
    assert_ledger_sound(held)


def test_shipping_pays_nothing_and_delivery_waits_for_the_return_window(
    shop, stripe_settings, token, localstripe
):
    account = shop.vendor.stripe_account_id
    part = buy(shop, token)
    services.vendor_order_ship(vendor_order=part, carrier="DPD", tracking_number="DPD1")
    assert run_payouts().startswith("0 payout(s)") and transfers(localstripe, account) == []

    services.vendor_order_deliver(vendor_order=part)
    VendorOrder.objects.filter(pk=part.pk).update(delivered_at=timezone.now() - timedelta(days=13))
    # 13 days after delivery the shopper may still send it back: not paid yet.
    assert "0 payout(s) transferred" in run_payouts()
    assert transfers(localstripe, account) == []

    VendorOrder.objects.filter(pk=part.pk).update(delivered_at=timezone.now() - timedelta(days=15))
    assert "1 payout(s) transferred, 850.00 in all" in run_payouts()
    (transfer,) = transfers(localstripe, account)
    assert transfer["amount"] == 85000 and transfer["transfer_group"] == part.order.reference
    assert "0 payout(s) transferred" in run_payouts()  # once only
    assert len(transfers(localstripe, account)) == 1
    check(localstripe, account)


def test_a_refund_after_the_payout_reverses_the_transfer(shop, stripe_settings, token, localstripe):
    account = shop.vendor.stripe_account_id
    part = deliver(buy(shop, token), days_ago=15)
    run_payouts()
    services.vendor_order_refund(vendor_order=part)

    (transfer,) = transfers(localstripe, account)
    assert transfer["amount_reversed"] == 85000
    kinds = dict(part.payout_entries.values_list("kind", "amount"))
    assert kinds == {
        K.EARNED: Decimal("850.00"),
        K.TRANSFERRED: Decimal("850.00"),
        K.REVERSED: Decimal("-850.00"),
        K.TRANSFER_REVERSED: Decimal("-850.00"),
    }
    assert services.payout_balances(vendor_order_ids=[part.pk])[part.pk] == 0
    check(localstripe, account)


def test_a_refund_that_cannot_be_clawed_back_is_netted_off_the_next_payout(
    shop, stripe_settings, token, localstripe
):
    vendor = shop.vendor
    vendor.stripe_account_id = f"acct_noreverse{secrets.token_hex(4)}"  # its balance is gone
    vendor.save()
    first = deliver(buy(shop, token), days_ago=15)
    run_payouts()
    services.vendor_order_refund(vendor_order=first)
    assert services.payout_balances(vendor_order_ids=[first.pk])[first.pk] == Decimal("-850.00")
    check(localstripe, vendor.stripe_account_id)

    second = deliver(buy(shop, token, price="2000.00"), days_ago=15)  # 1,700.00 earned
    assert "1 payout(s) transferred, 850.00 in all" in run_payouts()
    amounts = [t["amount"] for t in transfers(localstripe, vendor.stripe_account_id)]
    assert sorted(amounts) == [85000, 85000]  # the first payout, then 1,700 less the 850 owed
    netted = PayoutEntry.objects.filter(kind=K.NETTED).order_by("amount")
    assert [(e.vendor_order_id, e.amount) for e in netted] == [
        (first.pk, Decimal("-850.00")),
        (second.pk, Decimal("850.00")),
    ]
    balances = services.payout_balances(vendor_id=vendor.pk)
    assert balances == {first.pk: 0, second.pk: 0}
    check(localstripe, vendor.stripe_account_id)


def dispute_event(part: VendorOrder, kind: str, status: str) -> bytes:
    order = part.order
    return event_body(
        f"charge.dispute.{kind}",
        {
            "id": f"dp_{order.reference}",
            "object": "dispute",
            "amount": int(order.total * 100),
            "currency": "gbp",
            "payment_intent": order.payment_intent_id,
            "charge": "ch_unused",
            "status": status,
        },
    )


def test_a_chargeback_freezes_the_payout_and_a_won_one_releases_it(
    client, shop, stripe_settings, token, localstripe, settings, django_capture_on_commit_callbacks
):
    settings.VITRINE_DISPUTES_EMAIL = "disputes@vitrine.example"
    part = deliver(buy(shop, token), days_ago=15)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            post_webhook(client, dispute_event(part, "created", "needs_response")).status_code
            == 200
        )
    part.order.refresh_from_db()
    assert part.order.dispute_status == DisputeStatus.OPEN
    told = {(m.to[0], m.subject) for m in mail.outbox}
    subject = f"Chargeback on order {part.order.reference}: payouts on hold"
    assert told == {("disputes@vitrine.example", subject), (part.vendor.contact_email, subject)}
    assert "0 payout(s) transferred" in run_payouts()
    with pytest.raises(services.TransitionNotAllowed):
        services.vendor_order_refund(vendor_order=part)  # the bank decides this money

    with django_capture_on_commit_callbacks(execute=True):
        assert post_webhook(client, dispute_event(part, "closed", "won")).status_code == 200
    part.order.refresh_from_db()
    assert part.order.dispute_status == DisputeStatus.WON
    assert "1 payout(s) transferred, 850.00 in all" in run_payouts()
    check(localstripe, shop.vendor.stripe_account_id)


def test_a_lost_chargeback_after_the_payout_is_clawed_back(
    client, shop, stripe_settings, token, localstripe, django_capture_on_commit_callbacks
):
    account = shop.vendor.stripe_account_id
    part = deliver(buy(shop, token), days_ago=15)
    run_payouts()
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(client, dispute_event(part, "created", "needs_response"))
        post_webhook(client, dispute_event(part, "closed", "lost"))
    part.order.refresh_from_db()
    assert part.order.dispute_status == DisputeStatus.LOST
    (transfer,) = transfers(localstripe, account)
    assert transfer["amount_reversed"] == 85000
    assert f"Chargeback on order {part.order.reference} lost" in subjects(mail.outbox)
    # The bank took the whole payment back: Stripe's side of the ledger shows it as returned.
    check(localstripe, account, lost_to_disputes={part.order.reference: part.order.total})
