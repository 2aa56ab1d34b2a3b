"""A piece sells to someone else while the shopper pays: only that piece is refunded.

Ada's bank takes its time, her hold runs out and Bob buys one of her pieces first. When her
payment succeeds she keeps the rest: the order is paid, the gone lines are refunded (a partial
Stripe refund, at localstripe), the shops are paid out only for what they send, and she gets one
email saying what happened. If every piece is gone, the whole payment is refunded as before.
"""

from datetime import timedelta
from decimal import Decimal

from django.core import mail
from django.test import Client
from django.utils import timezone

import pytest

from accounts.factories import UserFactory
from orders import selectors, services, stripe_api
from orders.models import CartItem, Order, OrderLine, PayoutEntry, VendorOrder
from products.factories import ItemPageFactory
from products.models import ItemPage
from tests.localstripe import stripe_get
from vendors.services import vendor_onboard

from .helpers import ADDRESS, event_body, post_webhook, subjects

pytestmark = pytest.mark.django_db

PARTLY = "Order {ref} is confirmed; we refunded what sold while you paid"


def place(client, *items, email=ADDRESS["email"]) -> Order:
    for item in items:
        client.post("/cart/add/", {"item": item.pk})
    response = client.post("/checkout/", {**ADDRESS, "email": email})
    assert response.status_code == 302
    return Order.objects.get(email=email, status=Order.Status.PENDING)


def pay_slowly(client, order, token) -> Order:
    """Ada pays; her bank answers "processing" and her hold runs out meanwhile."""
    response = client.post(f"/checkout/pay/{order.reference}/", {"card_token": token()})
    assert response["Location"] == f"/checkout/done/{order.reference}/"
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING and order.payment_intent_id
    order.reservations.update(expires_at=timezone.now() - timedelta(seconds=1))
    return order


def bob_buys(*items, token, capture) -> Order:
    """Another shopper buys `items` through checkout, payment and the return page."""
    bob = Client()
    order = place(bob, *items, email="bob@example.com")
    with capture(execute=True):
        bob.post(f"/checkout/pay/{order.reference}/", {"card_token": token()})
        bob.get(f"/checkout/done/{order.reference}/")
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    return order


def succeeded_webhook(client, localstripe, order):
    intent = stripe_get(localstripe, f"/v1/payment_intents/{order.payment_intent_id}")
    assert intent["status"] == "succeeded"
    return post_webhook(client, event_body("payment_intent.succeeded", intent))


def refunds_of(localstripe, order) -> list[tuple[int, str]]:
    listed = stripe_get(localstripe, f"/v1/refunds?payment_intent={order.payment_intent_id}")
    return [(refund["amount"], refund["currency"]) for refund in listed["data"]]


def mails_to(address: str) -> list:
    return [message for message in mail.outbox if message.to == [address]]


def charge_refunded(order, *, amount_refunded: int) -> bytes:
    """Stripe's charge.refunded event for the order's payment (amounts in pence)."""
    from marketplace.money import to_minor_units

    return event_body(
        "charge.refunded",
        {
            "id": f"ch_{order.reference}",
            "object": "charge",
            "amount": to_minor_units(order.total, order.currency),
            "amount_refunded": amount_refunded,
            "currency": order.currency.lower(),
            "payment_intent": order.payment_intent_id,
            "refunded": False,
        },
    )


# --- Two shops, one piece gone ------------------------------------------------------------------


@pytest.fixture
def ada(client):
    """Ada, signed in, so her order is also on /account/orders/."""
    user = UserFactory(email=ADDRESS["email"])
    client.force_login(user)
    return user


@pytest.fixture
def watch_sold_meanwhile(
    client, ada, two_shops, stripe_settings, token, localstripe, stripe_says_processing,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    """Ada's £2,050 order (tote £1,250 from Maison Lune, watch £800 from Second Salon) is
    paying when Bob buys the watch. Returns her order, still pending, and the pieces."""
    lune, salon, bag, watch = two_shops
    order = pay_slowly(client, place(client, bag, watch), token)
    bob_buys(watch, token=token, capture=django_capture_on_commit_callbacks)
    mail.outbox.clear()
    return order, bag, watch


def test_the_rest_is_paid_and_only_the_gone_piece_refunded(
    client, watch_sold_meanwhile, localstripe, django_capture_on_commit_callbacks
):
    order, bag, watch = watch_sold_meanwhile
    with django_capture_on_commit_callbacks(execute=True):
        assert succeeded_webhook(client, localstripe, order).status_code == 200

    order.refresh_from_db()
    assert order.status == Order.Status.PAID and order.paid_at
    assert order.total == Decimal("2050.00")  # what her card was charged
    assert order.sold_meanwhile_refund == Decimal("800.00")
    assert order.kept_total == Decimal("1250.00")
    # Exactly the watch's price went back to her card, once.
    assert refunds_of(localstripe, order) == [(80000, "gbp")]

    lines = {line.title: line for line in OrderLine.objects.filter(vendor_order__order=order)}
    assert lines["Steel watch"].status == OrderLine.Status.SOLD_MEANWHILE
    assert lines["Cognac tote"].status == OrderLine.Status.ORDERED

    lune_part = order.vendor_orders.get(vendor__name="Maison Lune")
    salon_part = order.vendor_orders.get(vendor__name="Second Salon")
    assert lune_part.status == VendorOrder.Status.PAID
    assert (lune_part.subtotal, lune_part.commission) == (Decimal("1250.00"), Decimal("187.50"))
    assert salon_part.status == VendorOrder.Status.CANCELLED
    assert (salon_part.subtotal, salon_part.commission) == (Decimal("0"), Decimal("0"))
    # A payout only for the shop that sends something, on what it sends.
    ada_entries = PayoutEntry.objects.filter(vendor_order__order=order)
    assert list(ada_entries.values_list("vendor_order", "kind", "amount")) == [
        (lune_part.pk, "earned", Decimal("1062.50"))
    ]
    assert not salon_part.payout_entries.exists()

    # The tote is sold to Ada; the watch stays sold to Bob (never below zero, never twice).
    bag.refresh_from_db()
    watch.refresh_from_db()
    assert (bag.quantity, watch.quantity) == (0, 0)
    holds = dict(order.reservations.values_list("item_id", "status"))
    assert holds == {bag.pk: "consumed", watch.pk: "released"}
    assert not CartItem.objects.filter(item=bag).exists()

    # Sales figures count the tote for Lune and nothing of Ada's for Second Salon.
    lune, salon = lune_part.vendor, salon_part.vendor
    figures = selectors.sales_figures(vendor_ids=[lune.pk, salon.pk])
    assert figures[lune.pk].total == Decimal("1250.00")
    assert figures[lune.pk].owed == Decimal("1062.50")
    assert figures[salon.pk].total == Decimal("800.00")  # Bob's purchase only
    assert figures[salon.pk].owed == Decimal("680.00")


def test_one_clear_email_for_the_shopper_and_one_for_the_shop_that_sends(
    client, watch_sold_meanwhile, localstripe, django_capture_on_commit_callbacks
):
    order, bag, watch = watch_sold_meanwhile
    with django_capture_on_commit_callbacks(execute=True):
        succeeded_webhook(client, localstripe, order)

    (told,) = mails_to(ADDRESS["email"])
    assert told.subject == PARTLY.format(ref=order.reference)
    assert "Payment received: your order is confirmed" in told.body
    assert (
        "One piece, “Steel watch”, sold moments before your payment went through, so we have "
        "refunded £800.00 to the card you paid with" in told.body
    )
    assert "Steel watch: £800.00 (sold before your payment: refunded)" in told.body
    assert "Cognac tote: £1,250.00\n" in told.body
    assert "Paid: £2,050.00\nRefunded: £800.00 (sold before your payment)\nTotal: £1,250.00" in (
        told.body
    )
    html = told.alternatives[0][0]
    assert "sold moments before your payment went through" in html and "£800.00" in html

    # Maison Lune is asked to send the tote; Second Salon has nothing to send for this order.
    (lune_mail,) = mails_to("hello@maison-lune.example")
    assert lune_mail.subject == f"New order {order.reference}: please send"
    assert "Cognac tote" in lune_mail.body and "Steel watch" not in lune_mail.body
    assert "Your payout for this order: £1,062.50" in lune_mail.body
    assert mails_to("hello@second-salon.example") == []


def test_the_shoppers_pages_show_what_was_paid_refunded_and_why(
    client, watch_sold_meanwhile, localstripe, django_capture_on_commit_callbacks
):
    order, bag, watch = watch_sold_meanwhile
    with django_capture_on_commit_callbacks(execute=True):
        succeeded_webhook(client, localstripe, order)

    notice = (
        "One piece, “Steel watch”, sold moments before your payment went through, so we "
        "refunded £800.00 to the card you paid with"
    )
    for path in (f"/checkout/done/{order.reference}/", f"/account/orders/{order.reference}/"):
        page = client.get(path)
        assert page.status_code == 200
        html = page.content.decode()
        assert notice in html, path
        assert '<span class="status-pill">Sold before your payment: refunded</span>' in html
        # The watch's line, struck through and marked; the tote's line as bought.
        assert 'Steel watch <span class="order-summary__note">Sold before your payment' in html
        assert "<s>£800.00</s>" in html
        assert "<span>Cognac tote</span> <span>£1,250.00</span>" in html
        assert "<dt>Paid</dt><dd>£2,050.00</dd>" in html
        assert "<dd>−£800.00</dd>" in html
        assert "Total <strong>£1,250.00</strong>" in html
    done = client.get(f"/checkout/done/{order.reference}/").content.decode()
    assert "Thank you — your order is confirmed" in done

    listing = client.get("/account/orders/").content.decode()
    assert "£1,250.00 (paid £2,050.00, £800.00 refunded)" in listing
    assert "Sold before your payment: refunded" in listing  # Second Salon's part


def test_the_partial_refund_event_from_stripe_closes_nothing(
    client, watch_sold_meanwhile, localstripe, django_capture_on_commit_callbacks
):
    """Stripe then reports the charge as refunded by £800 of £2,050: that is our own refund."""
    order, bag, watch = watch_sold_meanwhile
    with django_capture_on_commit_callbacks(execute=True):
        succeeded_webhook(client, localstripe, order)
        order.refresh_from_db()
        body = charge_refunded(order, amount_refunded=80000)
        assert post_webhook(client, body).status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    statuses = dict(order.vendor_orders.values_list("vendor__name", "status"))
    assert statuses == {"Maison Lune": "paid", "Second Salon": "cancelled"}
    assert not PayoutEntry.objects.filter(kind=PayoutEntry.Kind.REVERSED).exists()
    assert len(mails_to(ADDRESS["email"])) == 1  # only the confirmation

    # A later full refund at Stripe closes the order; only the paid part is reversed.
    with django_capture_on_commit_callbacks(execute=True):
        full = charge_refunded(order, amount_refunded=205000)
        assert post_webhook(client, full).status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    statuses = dict(order.vendor_orders.values_list("vendor__name", "status"))
    assert statuses == {"Maison Lune": "refunded", "Second Salon": "cancelled"}
    assert list(
        PayoutEntry.objects.filter(kind=PayoutEntry.Kind.REVERSED).values_list(
            "vendor_order__vendor__name", "amount"
        )
    ) == [("Maison Lune", Decimal("-1062.50"))]


def test_refunding_the_kept_part_refunds_what_is_left_and_restocks_only_that(
    client, watch_sold_meanwhile, localstripe, django_capture_on_commit_callbacks
):
    order, bag, watch = watch_sold_meanwhile
    with django_capture_on_commit_callbacks(execute=True):
        succeeded_webhook(client, localstripe, order)
    lune_part = order.vendor_orders.get(vendor__name="Maison Lune")

    services.vendor_order_refund(vendor_order=lune_part)
    assert sorted(refunds_of(localstripe, order)) == [(80000, "gbp"), (125000, "gbp")]
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED  # nothing of the order is left
    bag.refresh_from_db()
    watch.refresh_from_db()
    assert (bag.quantity, watch.quantity) == (1, 0)  # Bob's watch is not put back on sale


# --- One shop, two pieces, one gone -------------------------------------------------------------


def test_one_shop_keeps_its_part_with_a_payout_on_the_remaining_piece(
    client, site_tree, stripe_settings, token, localstripe, stripe_says_processing,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    vendor = vendor_onboard(name="Maison Lune", contact_email="shop@lune.example",
                            staff_email="staff@lune.example")  # fmt: skip
    scarf = ItemPageFactory(parent=vendor.shop, title="Silk scarf", price="300.00")
    belt = ItemPageFactory(parent=vendor.shop, title="Croc belt", price="200.00")
    order = pay_slowly(client, place(client, scarf, belt), token)
    bob_buys(belt, token=token, capture=django_capture_on_commit_callbacks)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        page = client.get(f"/checkout/done/{order.reference}/")  # the return page settles it
    assert "your order is confirmed" in page.content.decode()
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert refunds_of(localstripe, order) == [(20000, "gbp")]

    part = order.vendor_orders.get()
    assert part.status == VendorOrder.Status.PAID
    assert (part.subtotal, part.commission, part.payout_amount) == (
        Decimal("300.00"), Decimal("45.00"), Decimal("255.00")
    )  # fmt: skip
    assert list(part.payout_entries.values_list("kind", "amount")) == [
        ("earned", Decimal("255.00"))
    ]
    scarf.refresh_from_db()
    assert scarf.quantity == 0

    (told,) = mails_to(ADDRESS["email"])
    assert "One piece, “Croc belt”, sold moments before" in told.body and "£200.00" in told.body
    (shop_mail,) = mails_to("shop@lune.example")
    assert "Silk scarf" in shop_mail.body and "Croc belt" not in shop_mail.body
    assert "Your payout for this order: £255.00" in shop_mail.body

    # The shop's desk: send the scarf, not the belt; payout on the scarf only.
    staff = Client()
    staff.force_login(vendor.group.user_set.get())
    desk = staff.get(f"/admin/orders/vendororder/inspect/{part.pk}/").content.decode()
    assert "Silk scarf" in desk and "Croc belt" in desk
    assert "Do not send" in desk and "Sold to another buyer before this payment" in desk
    assert "£255.00" in desk and "Refund £300.00 to the shopper" in desk


# --- Everything gone: the whole payment is refunded, as before ---------------------------------


def test_when_every_piece_is_gone_the_whole_payment_is_refunded(
    client, two_shops, stripe_settings, token, localstripe, stripe_says_processing,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    lune, salon, bag, watch = two_shops
    order = pay_slowly(client, place(client, bag, watch), token)
    bob_buys(bag, watch, token=token, capture=django_capture_on_commit_callbacks)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        assert succeeded_webhook(client, localstripe, order).status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    assert refunds_of(localstripe, order) == [(205000, "gbp")]
    assert set(order.vendor_orders.values_list("status", flat=True)) == {"cancelled"}
    assert set(order.reservations.values_list("status", flat=True)) == {"released"}
    assert not PayoutEntry.objects.filter(vendor_order__order=order).exists()
    (told,) = mails_to(ADDRESS["email"])
    assert told.subject == f"Order {order.reference}: refunded, a piece sold while you paid"
    assert "We have refunded the whole payment" in told.body
    assert mails_to("hello@maison-lune.example") == []
    page = client.get(f"/checkout/done/{order.reference}/").content.decode()
    assert "Your payment was refunded" in page


# --- Webhook and return page both arrive: one refund, one email --------------------------------


@pytest.mark.parametrize("first", ["webhook", "done_page"])
def test_webhook_and_return_page_together_make_one_refund_and_one_email(
    client, watch_sold_meanwhile, localstripe, monkeypatch, first,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    order, bag, watch = watch_sold_meanwhile
    refund_calls = []
    real_refund = stripe_api.refund_create

    def spy(**kwargs):
        refund_calls.append(kwargs)
        return real_refund(**kwargs)

    monkeypatch.setattr(stripe_api, "refund_create", spy)

    def webhook():
        assert succeeded_webhook(client, localstripe, order).status_code == 200

    def done_page():
        assert client.get(f"/checkout/done/{order.reference}/").status_code == 200

    steps = [webhook, done_page] if first == "webhook" else [done_page, webhook]
    with django_capture_on_commit_callbacks(execute=True):
        for step in [*steps, webhook, done_page]:  # and Stripe retries, and Ada reloads
            step()

    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert refunds_of(localstripe, order) == [(80000, "gbp")]
    # One Stripe write, with a key that names the order: a retry replays it.
    assert refund_calls == [
        {
            "payment_intent_id": order.payment_intent_id,
            "amount": Decimal("800.00"),
            "currency": "GBP",
            "idempotency_key": f"{order.reference}-refund-sold_meanwhile-lines",
        }
    ]
    assert subjects(mails_to(ADDRESS["email"])) == [PARTLY.format(ref=order.reference)]
    assert len(mails_to("hello@maison-lune.example")) == 1
    assert PayoutEntry.objects.filter(vendor_order__order=order).count() == 1
    assert ItemPage.objects.get(pk=bag.pk).quantity == 0


def test_the_export_and_testimonials_know_which_piece_she_never_got(
    client, watch_sold_meanwhile, localstripe, django_capture_on_commit_callbacks
):
    from policies.services import testimonial_items

    order, bag, watch = watch_sold_meanwhile
    with django_capture_on_commit_callbacks(execute=True):
        succeeded_webhook(client, localstripe, order)

    (exported,) = client.get("/account/export/").json()["orders"]
    assert exported["total"] == "2050.00"
    assert exported["refunded_for_pieces_sold_meanwhile"] == "800.00"
    statuses = {
        line["title"]: line["status"] for shop in exported["shops"] for line in shop["lines"]
    }
    assert statuses == {
        "Cognac tote": "Ordered",
        "Steel watch": "Sold to someone else before payment: refunded",
    }
    # A review may name the tote she received, never the watch Bob bought.
    parts = {part.vendor.name: part for part in order.vendor_orders.all()}
    assert list(testimonial_items(vendor_order=parts["Maison Lune"])) == [bag]
    assert not testimonial_items(vendor_order=parts["Second Salon"]).exists()
