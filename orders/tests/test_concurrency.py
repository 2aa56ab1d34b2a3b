"""Races on PostgreSQL, with real threads and real row locks: the last piece, two carts locking
the same pieces in opposite order, and the same payment news arriving twice at once.

SQLite serialises writers on a file lock, so these tests only mean something on PostgreSQL:
run them with DATABASE_URL=postgres://... (they are skipped otherwise)."""

import threading

from django.core import mail
from django.db import connection, connections
from django.test import Client

import pytest

from orders import services, stripe_api
from orders.error_messages import error_message
from orders.models import Cart, CartItem, Order, Reservation, StripeEvent
from products.factories import ItemPageFactory
from products.models import ItemPage
from tests.localstripe import stripe_get

from .helpers import ADDRESS, event_body, post_webhook, sign, subjects

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="row-lock races need PostgreSQL: set DATABASE_URL=postgres://... to run them",
    ),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

SHIPPING = services.ShippingAddress(
    name="Ada Lovelace", line1="12 St James's Square", city="London", postcode="SW1Y 4JH",
    country="GB",
)  # fmt: skip


def run_at_once(*targets, timeout=60):
    """Start one thread per target, release them together, and return (kind, value) each:
    ("ok", result) or ("error", exception). Each thread closes its own connection."""
    barrier = threading.Barrier(len(targets))
    results = [None] * len(targets)

    def worker(index, target):
        try:
            barrier.wait(timeout=10)
            results[index] = ("ok", target())
        except BaseException as error:  # noqa: BLE001 - reported to the test
            results[index] = ("error", error)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=worker, args=(index, target))
        for index, target in enumerate(targets)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread hung (deadlock?)"
    return results


def cart_with(*items) -> Cart:
    cart = Cart.objects.create()
    for item in items:  # in this order: added_at orders a cart's lines
        CartItem.objects.create(cart=cart, item=item)
    return cart


def placer(cart, email):
    return lambda: services.order_place(cart=cart, customer=None, email=email, address=SHIPPING)


def test_ten_shoppers_race_for_the_last_piece_one_order_nine_just_sold(two_shops):
    lune, _, bag, _ = two_shops
    carts = [cart_with(bag) for _ in range(10)]
    results = run_at_once(*(placer(cart, f"s{i}@example.com") for i, cart in enumerate(carts)))

    won = [value for kind, value in results if kind == "ok"]
    lost = [value for kind, value in results if kind == "error"]
    assert len(won) == 1 and len(lost) == 9
    for error in lost:
        assert isinstance(error, services.ItemsUnavailable), repr(error)
        assert error.titles == ["Cognac tote"]
        assert error_message(error) == "Sorry, “Cognac tote” has just sold."
    assert Order.objects.count() == 1
    assert Reservation.objects.filter(item=bag, status="active").count() == 1
    # The losers keep their carts (they are told, nothing is silently dropped).
    assert CartItem.objects.filter(item=bag).count() == 10

    # The winner pays: the piece is sold, stock at zero, never below.
    order = won[0]
    services.order_mark_paid(
        payment_intent=stripe_api.PaymentIntentInfo(
            id="pi_race",
            status="succeeded",
            amount=order.total,
            currency=order.currency,
            order_reference=order.reference,
        )  # fmt: skip
    )
    bag.refresh_from_db()
    assert bag.quantity == 0
    assert not ItemPage.objects.filter(quantity__lt=0).exists()


def test_opposite_lock_order_never_deadlocks(two_shops):
    lune, salon, _, _ = two_shops
    for round_ in range(20):
        first = ItemPageFactory(parent=lune, title=f"Tote {round_}")
        second = ItemPageFactory(parent=salon, title=f"Watch {round_}")
        forwards = cart_with(first, second)
        backwards = cart_with(second, first)
        results = run_at_once(
            placer(forwards, f"a{round_}@example.com"), placer(backwards, f"b{round_}@example.com")
        )
        kinds = sorted(kind for kind, _ in results)
        errors = [value for kind, value in results if kind == "error"]
        assert kinds == ["error", "ok"], f"round {round_}: {results}"
        assert isinstance(errors[0], services.ItemsUnavailable), f"round {round_}: {errors!r}"
        assert Reservation.objects.filter(item__in=[first, second], status="active").count() == 2
    assert Order.objects.count() == 20


def test_same_webhook_event_from_two_threads_is_handled_once(two_shops, stripe_settings):
    _, _, bag, watch = two_shops
    order = services.order_place(
        cart=cart_with(bag, watch), customer=None, email=ADDRESS["email"], address=SHIPPING
    )
    data = {
        "id": "pi_twice", "object": "payment_intent", "amount": 205000, "currency": "gbp",
        "status": "succeeded", "metadata": {"order_reference": order.reference},
    }  # fmt: skip
    body = event_body("payment_intent.succeeded", data)
    signature = sign(body)
    mail.outbox.clear()

    def deliver():
        return post_webhook(Client(), body, signature)

    for _ in range(3):  # a few rounds: first round the race, then plain replays
        results = run_at_once(deliver, deliver)
        assert [kind for kind, _ in results] == ["ok", "ok"], results
        assert {response.status_code for _, response in results} == {200}
    assert StripeEvent.objects.count() == 1
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert subjects(mail.outbox).count(f"Order {order.reference} is confirmed") == 1
    bag.refresh_from_db()
    assert bag.quantity == 0


def test_two_events_and_the_done_page_at_once_give_one_paid_order(
    client, two_shops, stripe_settings, token, localstripe, stripe_says_processing
):
    _, _, bag, _ = two_shops
    client.post("/cart/add/", {"item": bag.pk})
    client.post("/checkout/", ADDRESS)
    order = Order.objects.get()
    client.post(f"/checkout/pay/{order.reference}/", {"card_token": token()})
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING and order.payment_intent_id
    intent = stripe_get(localstripe, f"/v1/payment_intents/{order.payment_intent_id}")
    mail.outbox.clear()

    def webhook():  # two different event ids about the same payment
        return post_webhook(Client(), event_body("payment_intent.succeeded", intent))

    def done_page():
        return client.get(f"/checkout/done/{order.reference}/")

    results = run_at_once(webhook, webhook, done_page)
    assert [kind for kind, _ in results] == ["ok"] * 3, results
    assert [response.status_code for _, response in results] == [200, 200, 200]
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert subjects(mail.outbox).count(f"Order {order.reference} is confirmed") == 1
    bag.refresh_from_db()
    assert bag.quantity == 0


def test_double_click_on_pay_from_two_requests_at_once_makes_one_payment_intent(
    client, two_shops, stripe_settings, token, localstripe
):
    _, _, bag, _ = two_shops
    client.post("/cart/add/", {"item": bag.pk})
    client.post("/checkout/", ADDRESS)
    order = Order.objects.get()
    second_tab = Client()
    second_tab.cookies = client.cookies  # the same browser session
    card = token()

    def click(browser):
        return lambda: browser.post(f"/checkout/pay/{order.reference}/", {"card_token": card})

    results = run_at_once(click(client), click(second_tab))
    assert [kind for kind, _ in results] == ["ok", "ok"], results
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    listed = stripe_get(localstripe, "/v1/payment_intents?limit=100")["data"]
    mine = [pi for pi in listed if pi["metadata"].get("order_reference") == order.reference]
    assert len(mine) == 1, f"{len(mine)} PaymentIntents (charges) for one order"
