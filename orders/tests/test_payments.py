"""Payment outcome: return page and webhook in any order, status mapping, double-click, and
deterministic idempotency keys on every Stripe write."""

import dataclasses
from decimal import Decimal

from django.core import mail

import pytest
import stripe

from orders import services, stripe_api
from orders.error_messages import error_message, payment_error_message
from orders.models import Order, PaymentAttempt, StripeEvent
from tests.localstripe import intents_for, stripe_get

from .helpers import ADDRESS, event_body, open_attempt, post_webhook, subjects

pytestmark = pytest.mark.django_db


def confirmed(order) -> int:
    return subjects(mail.outbox).count(f"Order {order.reference} is confirmed")


def deliver_succeeded(client, localstripe, order):
    """What Stripe's webhook carries: the real PaymentIntent as localstripe holds it."""
    intent = stripe_get(localstripe, f"/v1/payment_intents/{order.payment_intent_id}")
    assert intent["status"] == "succeeded"
    return post_webhook(client, event_body("payment_intent.succeeded", intent))


# --- Return page and webhook, in either order or both ----------------------------------------


@pytest.mark.parametrize("first", ["done_page", "webhook"])
def test_return_page_and_webhook_in_either_order_give_one_paid_order_one_email(
    client, placed_order, stripe_settings, token, localstripe, stripe_says_processing, first,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    order = placed_order
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/checkout/pay/{order.reference}/", {"card_token": token()})
    assert response["Location"] == f"/checkout/done/{order.reference}/"
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING and order.payment_intent_id

    def done_page():
        with django_capture_on_commit_callbacks(execute=True):
            page = client.get(f"/checkout/done/{order.reference}/")
        assert page.status_code == 200
        assert "your order is confirmed" in page.content.decode()

    def webhook():
        with django_capture_on_commit_callbacks(execute=True):
            assert deliver_succeeded(client, localstripe, order).status_code == 200

    steps = [done_page, webhook] if first == "done_page" else [webhook, done_page]
    for step in steps:
        step()
    done_page()  # the shopper reloads
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert Order.objects.filter(status=Order.Status.PAID).count() == 1
    assert confirmed(order) == 1
    assert StripeEvent.objects.count() == 1


def test_pay_settles_then_webhook_then_done_page_one_email(
    client, placed_order, stripe_settings, token, localstripe, django_capture_on_commit_callbacks
):
    order = placed_order
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/checkout/pay/{order.reference}/", {"card_token": token()})
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver_succeeded(client, localstripe, order).status_code == 200
        client.get(f"/checkout/done/{order.reference}/")
    order.refresh_from_db()
    assert order.status == Order.Status.PAID and confirmed(order) == 1


@pytest.mark.parametrize(
    "query",
    [
        "?status=succeeded",
        "?payment_intent=pi_forged&payment_intent_client_secret=pi_forged_secret_x"
        "&redirect_status=succeeded",
        "?status=paid&paid=1&redirect_status=succeeded",
    ],
)
def test_done_page_never_trusts_the_query_string(client, placed_order, stripe_settings, query):
    order = placed_order
    page = client.get(f"/checkout/done/{order.reference}/{query}")
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING and not order.payment_intent_id
    text = page.content.decode()
    assert "your order is confirmed" not in text and "waiting for payment" in text
    assert mail.outbox == []


def test_done_page_ignores_another_orders_paid_payment_intent_in_the_query(
    client, placed_order, stripe_settings, token, new_client, two_shops
):
    """A paid PaymentIntent id from someone else's order, pasted into my done URL."""
    order = placed_order
    lune = two_shops[0]
    from products.factories import ItemPageFactory

    other_item = ItemPageFactory(parent=lune, title="Silk scarf", price="1250.00")
    other = new_client()
    other.post("/cart/add/", {"item": other_item.pk})
    other.post("/checkout/", {**ADDRESS, "email": "bob@example.com"})
    paid = Order.objects.get(email="bob@example.com")
    other.post(f"/checkout/pay/{paid.reference}/", {"card_token": token()})
    paid.refresh_from_db()
    assert paid.status == Order.Status.PAID

    client.get(
        f"/checkout/done/{order.reference}/?payment_intent={paid.payment_intent_id}"
        "&redirect_status=succeeded"
    )
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING and order.payment_intent_id == ""


# --- Status mapping ----------------------------------------------------------------------------


def info_for(order, status: str) -> stripe_api.PaymentIntentInfo:
    return stripe_api.PaymentIntentInfo(
        id="pi_mapped",
        status=status,
        amount=order.total,
        currency=order.currency,
        order_reference=order.reference,
    )


@pytest.mark.parametrize(
    ("intent_status", "order_status", "holds", "page_says"),
    [
        ("succeeded", "paid", {"consumed"}, "your order is confirmed"),
        ("processing", "pending", {"active"}, "We're confirming your payment"),
        ("requires_payment_method", "pending", {"released"}, "waiting for payment"),
        ("canceled", "cancelled", {"released"}, "This order was cancelled"),
    ],
)
def test_return_page_maps_payment_intent_status(
    client, placed_order, stripe_settings, monkeypatch, intent_status, order_status, holds,
    page_says, django_capture_on_commit_callbacks,
):  # fmt: skip
    """The done page asks Stripe; whatever status comes back lands in one consistent state."""
    order = placed_order
    open_attempt(order, "pi_mapped")
    monkeypatch.setattr(
        stripe_api, "payment_intent_retrieve", lambda **kw: info_for(order, intent_status)
    )
    with django_capture_on_commit_callbacks(execute=True):
        page = client.get(f"/checkout/done/{order.reference}/")
        client.get(f"/checkout/done/{order.reference}/")  # a reload changes nothing more
    order.refresh_from_db()
    assert order.status == order_status
    assert set(order.reservations.values_list("status", flat=True)) == holds
    assert page_says in page.content.decode()
    refreshes = 'http-equiv="refresh"' in page.content.decode()
    assert refreshes == (intent_status == "processing")
    # At most one email about the outcome, whatever the reloads.
    outcome_mails = [
        m.subject
        for m in mail.outbox
        if m.to == [ADDRESS["email"]] and "received your order" not in m.subject
    ]
    assert len(outcome_mails) == (0 if intent_status == "processing" else 1)


@pytest.mark.parametrize(
    ("intent_status", "outcome", "order_status"),
    [("succeeded", "paid", "paid"), ("processing", "processing", "pending")],
)
def test_pay_service_maps_confirm_status(
    placed_order, stripe_settings, token, monkeypatch, intent_status, outcome, order_status
):
    real = stripe_api.payment_intent_confirm
    monkeypatch.setattr(
        stripe_api,
        "payment_intent_confirm",
        lambda **kw: dataclasses.replace(real(**kw), status=intent_status),
    )
    result = services.order_pay(order=placed_order, card_token=token())
    assert result.status == outcome
    placed_order.refresh_from_db()
    assert placed_order.status == order_status
    assert placed_order.payment_intent_id.startswith("pi_")


@pytest.mark.parametrize(
    ("handler", "intent_status", "order_status", "holds"),
    [
        ("order_mark_paid", "succeeded", "paid", {"consumed"}),
        ("order_payment_failed", "requires_payment_method", "pending", {"released"}),
        ("order_payment_canceled", "canceled", "cancelled", {"released"}),
    ],
)
def test_webhook_services_map_intent_to_order_state(
    placed_order, handler, intent_status, order_status, holds
):
    getattr(services, handler)(payment_intent=info_for(placed_order, intent_status))
    placed_order.refresh_from_db()
    assert placed_order.status == order_status
    assert set(placed_order.reservations.values_list("status", flat=True)) == holds


# --- Double-click, idempotency keys, server-side amount ----------------------------------------


@pytest.fixture
def stripe_calls(monkeypatch):
    """Spy on every Stripe write services make: record kwargs, then call the real function."""
    calls = []
    for name in ("customer_create", "customer_add_card", "payment_intent_create",
                 "payment_intent_confirm", "payment_intent_cancel", "refund_create",
                 "transfer_create", "transfer_reversal_create"):  # fmt: skip
        real = getattr(stripe_api, name)

        def spy(*args, _name=name, _real=real, **kwargs):
            calls.append((_name, kwargs))
            return _real(*args, **kwargs)

        monkeypatch.setattr(stripe_api, name, spy)
    return calls


def test_double_click_on_pay_makes_one_payment_intent(
    client, placed_order, stripe_settings, token, localstripe, stripe_calls
):
    order = placed_order
    card = token()
    first = client.post(f"/checkout/pay/{order.reference}/", {"card_token": card})
    second = client.post(f"/checkout/pay/{order.reference}/", {"card_token": card})
    assert first.status_code == second.status_code == 302
    assert second["Location"] == f"/checkout/done/{order.reference}/"
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    intents = intents_for(localstripe, order.reference)
    assert [pi["id"] for pi in intents] == [order.payment_intent_id]
    assert intents[0]["status"] == "succeeded"
    # The amount Stripe charged is the server's total, in pence.
    assert intents[0]["amount"] == 205000 and intents[0]["currency"] == "gbp"
    assert [name for name, _ in stripe_calls] == [
        "customer_create", "customer_add_card", "payment_intent_create", "payment_intent_confirm"
    ]  # fmt: skip


def test_every_stripe_write_has_a_deterministic_idempotency_key(
    client, placed_order, stripe_settings, token, stripe_calls
):
    order = placed_order
    ref = order.reference
    declined = client.post(f"/checkout/pay/{ref}/", {"card_token": token("4000000000000002")})
    assert declined.status_code == 402
    client.post(f"/checkout/pay/{ref}/", {"card_token": token()})
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    keys = [(name, kwargs["idempotency_key"]) for name, kwargs in stripe_calls]
    # Derived from the order reference and the attempt number only: a retried request reuses
    # the key, a new attempt (another card) gets a new one.
    assert keys == [
        ("customer_create", f"{ref}-customer"),
        ("customer_add_card", f"{ref}-1-card"),
        ("customer_add_card", f"{ref}-2-card"),
        ("payment_intent_create", f"{ref}-2-create"),
        ("payment_intent_confirm", f"{ref}-2-confirm"),
    ]
    pi_call = stripe_calls[-2][1]
    assert pi_call["amount"] == Decimal("2050.00") and pi_call["currency"] == "GBP"
    assert pi_call["order_reference"] == ref


def test_pay_ignores_client_amount_and_currency(
    client, placed_order, stripe_settings, token, localstripe
):
    order = placed_order
    client.post(
        f"/checkout/pay/{order.reference}/",
        {"card_token": token(), "amount": "1", "currency": "jpy", "total": "0.01"},
    )
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    (intent,) = intents_for(localstripe, order.reference)
    assert (intent["amount"], intent["currency"]) == (205000, "gbp")


def test_payment_for_a_cancelled_order_is_refunded_once(
    client, placed_order, stripe_settings, token, localstripe, stripe_says_processing,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    order = placed_order
    client.post(f"/checkout/pay/{order.reference}/", {"card_token": token()})
    order.refresh_from_db()
    pi_id = order.payment_intent_id
    services.order_cancel(order=order)
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(2):  # Stripe sends it twice, under two event ids
            intent = stripe_get(localstripe, f"/v1/payment_intents/{pi_id}")
            body = event_body("payment_intent.succeeded", intent)
            assert post_webhook(client, body).status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED  # it stays what it was; the money went back
    assert order.attempts.get(payment_intent_id=pi_id).status == PaymentAttempt.Status.REFUNDED
    refunds = stripe_get(localstripe, f"/v1/refunds?payment_intent={pi_id}")["data"]
    assert [r["amount"] for r in refunds] == [205000]
    assert subjects(mail.outbox).count(f"Order {order.reference}: payment refunded") == 1


def test_late_failure_of_an_earlier_attempt_keeps_the_current_hold(placed_order):
    order = placed_order
    Order.objects.filter(pk=order.pk).update(payment_intent_id="pi_current_processing")
    old = dataclasses.replace(info_for(order, "requires_payment_method"), id="pi_first_try")
    services.order_payment_failed(payment_intent=old)
    order.refresh_from_db()
    assert set(order.reservations.values_list("status", flat=True)) == {"active"}
    assert order.payment_error == ""


def _card_error(code: str, decline_code: str | None = None):
    body = {"error": {"type": "card_error", "code": code, "decline_code": decline_code}}
    return stripe.CardError("Stripe's own words", None, code, json_body=body)


@pytest.mark.parametrize(
    ("code", "decline_code", "ours", "said"),
    [
        ("card_declined", "insufficient_funds", "card_insufficient_funds", "insufficient funds"),
        ("expired_card", None, "card_expired", "Your card has expired."),
        ("card_declined", "do_not_honor", "card_declined", "Your card was declined."),
    ],
)
def test_a_card_error_becomes_our_code_and_the_order_keeps_the_code_not_words(
    code, decline_code, ours, said
):
    def refuse():
        raise _card_error(code, decline_code)

    with pytest.raises(stripe_api.CardDeclined) as declined:
        stripe_api._call(refuse)
    assert declined.value.code == ours
    assert said in error_message(declined.value)
    order = Order(payment_error=declined.value.code)
    assert payment_error_message(order) == error_message(declined.value)
    # A message stored before codes were (free text) still reads as a decline.
    assert "declined" in payment_error_message(Order(payment_error="Your card was declined."))
