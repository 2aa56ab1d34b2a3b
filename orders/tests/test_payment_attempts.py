"""Payment attempts are records: every PaymentIntent is stored before it is confirmed, a new card
cancels the open attempt, and any succeeded payment that did not pay its order is refunded.

Each test here failed before attempts were stored: a 3-D Secure payment followed by another card
charged twice, a crash between Stripe's charge and our write offered "pay again", and a retry
with a new card reused the first attempt's idempotency keys. Real HTTP to localstripe.
"""

import io
import urllib.parse
import urllib.request

from django.core import mail
from django.core.management import call_command

import pytest

from orders import services, stripe_api
from orders.models import Order, PaymentAttempt
from tests.localstripe import SECRET_KEY, intents_for, stripe_get

from .helpers import event_body, post_webhook, subjects

pytestmark = pytest.mark.django_db

THREE_D_SECURE = "4000002760003184"
A = PaymentAttempt.Status


def stripe_post(base_url: str, path: str, data: dict) -> dict:
    import json

    request = urllib.request.Request(
        f"{base_url}{path}",
        data=urllib.parse.urlencode(data).encode(),
        headers={"Authorization": f"Bearer {SECRET_KEY}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        return {"error": error.code}


def authenticate(localstripe: str, intent_id: str) -> dict:
    """The shopper passes their bank's 3-D Secure check (what Stripe.js does in the browser)."""
    secret = stripe_get(localstripe, f"/v1/payment_intents/{intent_id}")["client_secret"]
    return stripe_post(
        localstripe,
        f"/v1/payment_intents/{intent_id}/_authenticate",
        {"client_secret": secret, "success": "true"},
    )


def charges(localstripe: str, order: Order) -> list[dict]:
    """Every succeeded PaymentIntent Stripe holds for the order, with what was refunded."""
    mine = [pi for pi in intents_for(localstripe, order.reference) if pi["status"] == "succeeded"]
    for pi in mine:
        refunds = stripe_get(localstripe, f"/v1/refunds?payment_intent={pi['id']}")["data"]
        pi["refunded"] = sum(refund["amount"] for refund in refunds)
    return mine


def net_charged(localstripe: str, order: Order) -> int:
    return sum(pi["amount"] - pi["refunded"] for pi in charges(localstripe, order))


def test_three_d_secure_then_another_card_charges_once(
    client, placed_order, stripe_settings, token, localstripe
):
    order = placed_order
    waiting = client.post(
        f"/checkout/pay/{order.reference}/", {"card_token": token(THREE_D_SECURE)}
    )
    assert waiting.status_code == 200 and "_secret_" in waiting.content.decode()
    first = order.attempts.get()
    assert first.status == A.REQUIRES_ACTION and first.payment_intent_id

    # The shopper gives up on their bank's check and pays with another card.
    paid = client.post(f"/checkout/pay/{order.reference}/", {"card_token": token()})
    assert paid["Location"] == f"/checkout/done/{order.reference}/"
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    first.refresh_from_db()
    assert first.status == A.CANCELED
    intent = stripe_get(localstripe, f"/v1/payment_intents/{first.payment_intent_id}")
    assert intent["status"] == "canceled"
    # The bank's late "authenticated" cannot charge a cancelled PaymentIntent.
    assert "error" in authenticate(localstripe, first.payment_intent_id)
    assert net_charged(localstripe, order) == 205000
    assert [a.status for a in order.attempts.all()] == [A.CANCELED, A.SUCCEEDED]


def test_a_second_succeeded_payment_is_refunded_once_and_recorded(
    client, placed_order, stripe_settings, token, localstripe, django_capture_on_commit_callbacks
):
    """However it came about (a 3-D Secure success that beat our cancel, a payment made at
    Stripe by hand), a succeeded payment that did not pay its order goes back in full."""
    order = placed_order
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/checkout/pay/{order.reference}/", {"card_token": token()})
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    paying = order.payment_intent_id

    customer = stripe_api.customer_create(email="ada@example.com", idempotency_key="k-extra")
    card = stripe_api.customer_add_card(
        customer_id=customer, card_token=token(), idempotency_key="k-extra-card"
    )
    extra = stripe_api.payment_intent_create(
        amount=order.total, currency="GBP", customer_id=customer, payment_method_id=card,
        order_reference=order.reference, idempotency_key="k-extra-pi",
    )  # fmt: skip
    stripe_api.payment_intent_confirm(payment_intent_id=extra.id, idempotency_key="k-extra-c")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(2):  # delivered twice, under two event ids
            intent = stripe_get(localstripe, f"/v1/payment_intents/{extra.id}")
            response = post_webhook(client, event_body("payment_intent.succeeded", intent))
            assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.PAID and order.payment_intent_id == paying
    stray = order.attempts.get(payment_intent_id=extra.id)
    assert stray.status == A.REFUNDED and stray.refund_id.startswith("re_")
    assert net_charged(localstripe, order) == 205000
    assert subjects(mail.outbox) == [f"Order {order.reference}: a second payment was refunded"]
    # Reconciliation sees nothing of this order left to settle (localstripe is shared by the
    # session: other tests' payments may be listed).
    out = io.StringIO()
    try:
        call_command("reconcile_payments", stdout=out)
    except SystemExit:
        pass
    assert order.reference not in out.getvalue()


def test_crash_after_the_charge_never_offers_pay_again(
    client, placed_order, stripe_settings, token, localstripe, monkeypatch, answer_lost_after_charge
):
    """The server dies between Stripe's charge and our write: the stored attempt lets the pay
    page find the charge and complete the order instead of asking for the card again."""
    order = placed_order
    response = client.post(f"/checkout/pay/{order.reference}/", {"card_token": token()})
    assert response.status_code == 502
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert order.attempts.get().status == A.CONFIRMING
    monkeypatch.undo()

    page = client.get(f"/checkout/pay/{order.reference}/")
    assert page.status_code == 302 and page["Location"] == f"/checkout/done/{order.reference}/"
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert net_charged(localstripe, order) == 205000


def test_crash_after_the_charge_is_settled_by_reconciliation(
    placed_order, stripe_settings, token, localstripe, answer_lost_after_charge
):
    order = placed_order
    with pytest.raises(stripe_api.PaymentServiceError):
        services.order_pay(order=order, card_token=token())
    out = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("reconcile_payments", stdout=out)
    assert f"order={order.reference}" in out.getvalue()
    call_command("reconcile_payments", "--settle", stdout=io.StringIO())
    order.refresh_from_db()
    assert order.status == Order.Status.PAID


def test_a_retry_with_a_new_card_after_a_lost_answer_uses_new_keys(
    placed_order, stripe_settings, token, monkeypatch
):
    """Stripe refuses a reused idempotency key with other parameters for 24 hours: a retry
    with another card must be a new attempt, never the old keys with a new card."""
    order = placed_order
    keys = []
    real_create = stripe_api.payment_intent_create

    def lost_once(**kwargs):
        keys.append(kwargs["idempotency_key"])
        if len(keys) == 1:
            real_create(**kwargs)
            raise stripe_api.PaymentServiceError("APIConnectionError: read timed out")
        return real_create(**kwargs)

    monkeypatch.setattr(stripe_api, "payment_intent_create", lost_once)
    with pytest.raises(stripe_api.PaymentServiceError):
        services.order_pay(order=order, card_token=token())
    outcome = services.order_pay(order=order, card_token=token())
    assert outcome.status == "paid"
    assert keys == [f"{order.reference}-1-create", f"{order.reference}-2-create"]
    assert [a.status for a in order.attempts.all()] == [A.FAILED, A.SUCCEEDED]


def test_a_stripe_customer_deleted_at_stripe_is_made_again(
    placed_order, stripe_settings, token, localstripe
):
    order = placed_order
    gone = stripe_api.customer_create(email="ada@example.com", idempotency_key="k-gone")
    stripe_api.customer_delete(customer_id=gone)
    Order.objects.filter(pk=order.pk).update(stripe_customer_id=gone)
    order.refresh_from_db()
    assert services.order_pay(order=order, card_token=token()).status == "paid"
    order.refresh_from_db()
    assert order.status == Order.Status.PAID and order.stripe_customer_id != gone


def test_cancelling_an_order_cancels_its_open_payment_at_stripe(
    client, placed_order, stripe_settings, token, localstripe
):
    order = placed_order
    client.post(f"/checkout/pay/{order.reference}/", {"card_token": token(THREE_D_SECURE)})
    attempt = order.attempts.get()
    services.order_cancel(order=order)
    attempt.refresh_from_db()
    assert attempt.status == A.CANCELED
    intent = stripe_get(localstripe, f"/v1/payment_intents/{attempt.payment_intent_id}")
    assert intent["status"] == "canceled"


@pytest.mark.parametrize(
    ("stripe_status", "attempt_status"),
    [
        ("requires_confirmation", A.CONFIRMING),
        ("requires_action", A.REQUIRES_ACTION),
        ("processing", A.PROCESSING),
        ("requires_capture", A.PROCESSING),
        ("succeeded", A.SUCCEEDED),
        ("requires_payment_method", A.FAILED),
        ("canceled", A.CANCELED),
    ],
)
def test_one_table_maps_stripe_statuses_to_attempts(stripe_status, attempt_status):
    assert services.ATTEMPT_STATUS_FOR_INTENT[stripe_status] == attempt_status
