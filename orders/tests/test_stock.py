"""Stock: holds expire (by command and lazily), sold and withdrawn pieces leave carts, a late
payment for a piece that sold meanwhile is refunded, and stock can never go below zero."""

from datetime import timedelta
from io import StringIO

from django.contrib.messages import get_messages
from django.core import mail
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.utils import timezone

import pytest

from orders.models import CartItem, Order, Reservation
from products.cache import holds_changed
from products.factories import ItemPageFactory
from products.models import ItemPage
from tests.localstripe import stripe_get
from vendors.models import Vendor

from .helpers import ADDRESS, event_body, post_webhook, subjects

pytestmark = pytest.mark.django_db


def add(client, item, follow=False):
    return client.post("/cart/add/", {"item": item.pk}, follow=follow)


def flash(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def place(client, *items, email=ADDRESS["email"]) -> Order:
    for item in items:
        add(client, item)
    response = client.post("/checkout/", {**ADDRESS, "email": email})
    assert response.status_code == 302, flash(response)
    return Order.objects.get(email=email, status=Order.Status.PENDING)


def expire_holds(order) -> None:
    """As if the holds' time had run out: their end, and the pieces' `held_until` (which
    mirrors it for pages and carts, kept with their cards) a second ago."""
    past = timezone.now() - timedelta(seconds=1)
    order.reservations.update(expires_at=past)
    item_ids = list(order.reservations.values_list("item_id", flat=True))
    ItemPage.objects.filter(pk__in=item_ids, held_until__isnull=False).update(held_until=past)
    holds_changed(item_ids)  # the kept cards still say the old end, which time would pass


@pytest.fixture
def bag(two_shops):
    return two_shops[2]


# --- Expiry ------------------------------------------------------------------------------------


def test_expired_hold_frees_the_piece_at_once_and_the_command_releases_it(client, new_client, bag):
    first = place(client, bag)
    other = new_client()
    refused = add(other, bag, follow=True)
    assert "being bought by someone else" in " ".join(flash(refused))
    assert refused.context["cart"].count == 0

    expire_holds(first)
    # Lazily: before any clean-up runs, availability ignores the expired hold.
    assert Reservation.objects.get(order=first).status == "active"
    added = add(other, bag, follow=True)
    assert "was added to your cart" in " ".join(flash(added))
    second = place(other, email="bob@example.com")
    assert Reservation.objects.get(order=second).status == "active"

    out = StringIO()
    call_command("release_expired_reservations", stdout=out)
    assert "Released 1 expired reservation(s)." in out.getvalue()
    assert Reservation.objects.get(order=first).status == "released"
    assert Reservation.objects.get(order=second).status == "active"  # unexpired: untouched
    call_command("release_expired_reservations", stdout=out)
    assert "Released 0 expired reservation(s)." in out.getvalue()


def test_reservation_lasts_the_configured_window(client, bag, settings):
    settings.VITRINE_RESERVATION_MINUTES = 15
    order = place(client, bag)
    hold = Reservation.objects.get(order=order)
    assert timedelta(minutes=14) < hold.expires_at - timezone.now() <= timedelta(minutes=15)


# --- Sold, withdrawn, suspended --------------------------------------------------------------


def test_sold_piece_shows_sold_and_cannot_be_added(client, new_client, bag, stripe_settings,
                                                   token):  # fmt: skip
    buyer = new_client()
    order = place(buyer, bag)
    buyer.post(f"/checkout/pay/{order.reference}/", {"card_token": token()})
    bag.refresh_from_db()
    assert bag.quantity == 0

    page = client.get(bag.url)
    html = page.content.decode()
    assert page.status_code == 200
    assert 'class="sold-note__title">Sold<' in html
    assert 'action="/cart/add/"' not in html

    response = add(client, bag, follow=True)
    assert flash(response) == ["“Cognac tote” has sold."]
    assert response.context["cart"].count == 0
    assert not CartItem.objects.filter(item=bag).exists()


def test_unpublished_piece_drops_out_of_the_cart_with_a_notice(client, two_shops):
    _, _, bag, watch = two_shops
    add(client, bag)
    add(client, watch)
    bag.refresh_from_db()
    bag.unpublish()
    response = client.get("/cart/")
    assert response.context["cart"].count == 1
    assert "“Cognac tote” is no longer for sale and was removed from your cart." in flash(response)
    assert "no longer for sale" in response.content.decode()
    # And checkout, which re-checks, goes ahead with the watch alone.
    client.post("/checkout/", ADDRESS)
    order = Order.objects.get()
    assert [line.title for vo in order.vendor_orders.all() for line in vo.lines.all()] == [
        "Steel watch"
    ]


def test_suspended_shops_piece_cannot_be_added_or_bought(client, two_shops):
    lune, _, bag, watch = two_shops
    add(client, bag)
    Vendor.objects.filter(pk=lune.vendor_id).update(status=Vendor.Status.SUSPENDED)

    other_item = ItemPageFactory(parent=lune, title="Silk scarf")
    response = add(client, other_item, follow=True)
    notices = flash(response)
    assert "“Silk scarf”: this shop is not taking orders at the moment." in notices
    assert "“Cognac tote”: this shop is not taking orders at the moment." in notices
    # What was already in the cart drops out too.
    assert response.context["cart"].count == 0
    assert not CartItem.objects.filter(item__in=[bag, other_item]).exists()


def test_a_closed_shops_piece_cannot_be_added_or_bought(client, two_shops):
    """Unpublishing a shop (its items stay live) takes them out of carts and checkout."""
    lune, _, bag, watch = two_shops
    add(client, bag)
    add(client, watch)
    lune.refresh_from_db()
    lune.unpublish()
    response = add(client, bag, follow=True)
    assert "“Cognac tote”: this shop is not taking orders at the moment." in flash(response)
    assert response.context["cart"].count == 1
    client.post("/checkout/", ADDRESS)
    order = Order.objects.get()
    assert [line.title for vo in order.vendor_orders.all() for line in vo.lines.all()] == [
        "Steel watch"
    ]


def test_checkout_refuses_a_piece_sold_since_it_was_added(client, bag):
    add(client, bag)
    ItemPage.objects.filter(pk=bag.pk).update(quantity=0)
    response = client.post("/checkout/", ADDRESS, follow=True)
    assert Order.objects.count() == 0
    assert "Cognac tote" in response.content.decode()


# --- Payment after the hold expired ------------------------------------------------------------


def succeeded_webhook(client, localstripe, order, event_id=None):
    order.refresh_from_db()
    intent = stripe_get(localstripe, f"/v1/payment_intents/{order.payment_intent_id}")
    assert intent["status"] == "succeeded"
    return post_webhook(client, event_body("payment_intent.succeeded", intent, event_id=event_id))


def test_payment_after_hold_expired_with_piece_still_free_is_paid_normally(
    client, bag, stripe_settings, token, localstripe, stripe_says_processing,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    order = place(client, bag)
    client.post(f"/checkout/pay/{order.reference}/", {"card_token": token()})
    expire_holds(order)
    call_command("release_expired_reservations", stdout=StringIO())
    with django_capture_on_commit_callbacks(execute=True):
        assert succeeded_webhook(client, localstripe, order).status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    bag.refresh_from_db()
    assert bag.quantity == 0
    assert f"Order {order.reference} is confirmed" in subjects(mail.outbox)
    refunds = stripe_get(localstripe, f"/v1/refunds?payment_intent={order.payment_intent_id}")
    assert refunds["data"] == []


def test_paying_again_after_expiry_reholds_a_free_piece(client, bag, stripe_settings, token):
    order = place(client, bag)
    expire_holds(order)
    call_command("release_expired_reservations", stdout=StringIO())
    response = client.post(f"/checkout/pay/{order.reference}/", {"card_token": token()})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == Order.Status.PAID


def test_paying_after_expiry_when_piece_sold_is_refused_before_charging(
    client, new_client, bag, stripe_settings, token, localstripe
):
    order = place(client, bag)
    expire_holds(order)
    other = new_client()
    rival = place(other, bag, email="bob@example.com")
    other.post(f"/checkout/pay/{rival.reference}/", {"card_token": token()})
    response = client.post(f"/checkout/pay/{order.reference}/", {"card_token": token()})
    assert response.status_code == 409
    assert "just sold" in response.content.decode()
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING and not order.payment_intent_id
    listed = stripe_get(localstripe, "/v1/payment_intents?limit=100")["data"]
    assert not [pi for pi in listed if pi["metadata"].get("order_reference") == order.reference]


def test_payment_after_hold_expired_and_piece_sold_is_refunded_and_shopper_told(
    client, new_client, bag, stripe_settings, token, localstripe, stripe_says_processing,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    # Ada pays; her bank takes its time ("processing"), and her hold runs out meanwhile.
    order = place(client, bag)
    client.post(f"/checkout/pay/{order.reference}/", {"card_token": token()})
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING and order.payment_intent_id
    expire_holds(order)

    # Bob buys the bag in the meantime (his payment says succeeded straight away).
    other = new_client()
    rival = place(other, bag, email="bob@example.com")
    from orders import services, stripe_api

    services.order_mark_paid(
        payment_intent=stripe_api.PaymentIntentInfo(
            id="pi_bob",
            status="succeeded",
            amount=rival.total,
            currency="GBP",
            order_reference=rival.reference,
        )  # fmt: skip
    )
    bag.refresh_from_db()
    assert bag.quantity == 0

    # Ada's payment succeeds: there is nothing left to sell her.
    with django_capture_on_commit_callbacks(execute=True):
        assert succeeded_webhook(client, localstripe, order).status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    assert set(order.vendor_orders.values_list("status", flat=True)) == {"cancelled"}
    assert set(order.reservations.values_list("status", flat=True)) == {"released"}
    refunds = stripe_get(localstripe, f"/v1/refunds?payment_intent={order.payment_intent_id}")
    assert [(r["amount"], r["currency"]) for r in refunds["data"]] == [(125000, "gbp")]
    told = [
        m for m in mail.outbox if m.to == [ADDRESS["email"]] and "sold while you paid" in m.subject
    ]
    assert len(told) == 1
    assert f"Order {order.reference} is confirmed" not in subjects(mail.outbox)
    bag.refresh_from_db()
    assert bag.quantity == 0  # never negative
    rival.refresh_from_db()
    assert rival.status == Order.Status.PAID
    page = client.get(f"/checkout/done/{order.reference}/")
    assert "Your payment was refunded" in page.content.decode()

    # Stripe tells us again (same event, or another event for the same payment):
    # still one refund, one email.
    with django_capture_on_commit_callbacks(execute=True):
        assert succeeded_webhook(client, localstripe, order).status_code == 200
    refunds = stripe_get(localstripe, f"/v1/refunds?payment_intent={order.payment_intent_id}")
    assert len(refunds["data"]) == 1
    assert len([m for m in mail.outbox if "refund" in m.subject.lower()]) == 1
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED


# --- The database itself ----------------------------------------------------------------------


def test_database_refuses_negative_stock(bag):
    with pytest.raises(IntegrityError), transaction.atomic():
        ItemPage.objects.filter(pk=bag.pk).update(quantity=-1)
    bag.refresh_from_db()
    assert bag.quantity == 1


def test_database_refuses_selling_below_zero(bag):
    from django.db.models import F

    ItemPage.objects.filter(pk=bag.pk).update(quantity=0)
    with pytest.raises(IntegrityError), transaction.atomic():
        ItemPage.objects.filter(pk=bag.pk).update(quantity=F("quantity") - 1)


# --- The cart at login --------------------------------------------------------------------------


def test_login_merges_the_anonymous_cart_without_doubling(client, two_shops, rf):
    from django.contrib.auth import login
    from django.contrib.sessions.middleware import SessionMiddleware

    from accounts.factories import UserFactory
    from orders.models import Cart
    from orders.services import CART_SESSION_KEY

    _, _, bag, watch = two_shops
    user = UserFactory()
    account_cart = Cart.objects.create(user=user)
    CartItem.objects.create(cart=account_cart, item=bag)  # added on another device

    # Signed out, this browser puts both pieces in its cart.
    add(client, bag)
    add(client, watch)
    anonymous_id = client.session[CART_SESSION_KEY]
    assert Cart.objects.get(pk=anonymous_id).user is None

    request = rf.post("/accounts/login/")
    SessionMiddleware(lambda r: None).process_request(request)
    request.session[CART_SESSION_KEY] = anonymous_id
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")

    assert sorted(account_cart.lines.values_list("item__title", flat=True)) == [
        "Cognac tote", "Steel watch"
    ]  # fmt: skip
    assert not Cart.objects.filter(pk=anonymous_id).exists()
    assert CART_SESSION_KEY not in request.session

    # Signed in, the shopper sees the merged cart.
    client.force_login(user)
    assert client.get("/cart/").context["cart"].count == 2
