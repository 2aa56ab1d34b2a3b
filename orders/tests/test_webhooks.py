"""The Stripe webhook: signature checks, each event once, every event type we act on, and a
real signed delivery from localstripe that alone completes an order whose shopper left."""

import json
import logging
import time
import urllib.parse
import urllib.request

from django.core import mail

import pytest

from orders import stripe_api
from orders.errors import OrderErrorCode
from orders.models import Order, PayoutEntry, Reservation, StripeEvent, VendorOrder
from tests.localstripe import WEBHOOK_SECRET

from .helpers import ADDRESS, event_body, intent_object, post_webhook, sign, subjects

pytestmark = pytest.mark.django_db


def snapshot(order):
    order.refresh_from_db()
    return (
        order.status,
        order.payment_intent_id,
        order.payment_error,
        sorted(order.reservations.values_list("status", flat=True)),
        sorted(order.vendor_orders.values_list("status", flat=True)),
    )


def confirmed(order) -> int:
    return subjects(mail.outbox).count(f"Order {order.reference} is confirmed")


# --- Signature ---------------------------------------------------------------------------------


def resign_with_other_secret(body):
    return sign(body, secret="whsec_someone_else")


def reserialised(body):
    return json.dumps(json.loads(body), separators=(",", ":")).encode()


@pytest.mark.parametrize(
    "case",
    ["missing", "garbage", "other_secret", "reserialised", "stale", "future_replay", "future"],
)
def test_unverifiable_webhook_is_refused_and_nothing_is_written(
    client, placed_order, stripe_settings, case, django_capture_on_commit_callbacks
):
    body = event_body("payment_intent.succeeded", intent_object(placed_order))
    before = snapshot(placed_order)
    signature = {
        "missing": None,
        "garbage": "t=123,v1=deadbeef",
        "other_secret": resign_with_other_secret(body),
        "reserialised": sign(body),
        "stale": sign(body, timestamp=int(time.time()) - 301),
        "future_replay": sign(body, timestamp=int(time.time()) - 3600),
        # Stripe's library checks only the past: a signature dated ahead is refused too.
        "future": sign(body, timestamp=int(time.time()) + 600),
    }[case]
    sent = reserialised(body) if case == "reserialised" else body
    assert sent != body or case != "reserialised"
    with django_capture_on_commit_callbacks(execute=True):
        response = post_webhook(client, sent, signature)
    assert response.status_code == 400
    assert StripeEvent.objects.count() == 0
    assert snapshot(placed_order) == before and before[0] == Order.Status.PENDING
    assert mail.outbox == []


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"id": "evt_1"}',
        b'{"id": "evt_2", "type": "payment_intent.succeeded", "data": {}}',
        b'{"id": "evt_3", "type": "payment_intent.succeeded", "data": {"object": []}}',
        b'{"id": "evt_4", "type": "payment_intent.succeeded", "data": {"object": {"id": "pi_x"}}}',
        b'{"id": "evt_5", "type": "charge.refunded", "data": {"object": {"payment_intent": "pi_x",'
        b' "amount_refunded": "lots", "currency": "gbp"}}}',
        b'{"id": "evt_6", "type": "charge.dispute.created", "data": {"object": {"id": "dp_1"}}}',
    ],
)
def test_a_signed_but_malformed_event_is_refused_and_nothing_is_written(
    client, placed_order, stripe_settings, body
):
    before = snapshot(placed_order)
    response = post_webhook(client, body)
    assert response.status_code == 400
    assert StripeEvent.objects.count() == 0
    assert snapshot(placed_order) == before


def test_webhook_without_a_configured_secret_refuses_everything(
    client, placed_order, stripe_settings
):
    stripe_settings.STRIPE_WEBHOOK_SECRET = ""
    body = event_body("payment_intent.succeeded", intent_object(placed_order))
    assert post_webhook(client, body).status_code == 400
    assert StripeEvent.objects.count() == 0


def test_webhook_is_csrf_exempt_but_only_takes_post(client, stripe_settings):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    body = event_body("customer.created", {"id": "cus_x", "object": "customer"})
    assert post_webhook(strict, body).status_code == 200
    assert client.get("/stripe/webhook/").status_code == 405


# --- payment_intent.succeeded ------------------------------------------------------------------


def test_succeeded_event_marks_order_paid_once_with_one_email(
    client, placed_order, stripe_settings, django_capture_on_commit_callbacks
):
    order = placed_order
    body = event_body("payment_intent.succeeded", intent_object(order, pi_id="pi_once"))
    with django_capture_on_commit_callbacks(execute=True):
        response = post_webhook(client, body)
    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.PAID and order.payment_intent_id == "pi_once"
    assert order.paid_at is not None
    assert set(order.vendor_orders.values_list("status", flat=True)) == {VendorOrder.Status.PAID}
    assert set(order.reservations.values_list("status", flat=True)) == {"consumed"}
    assert PayoutEntry.objects.filter(vendor_order__order=order, kind="earned").count() == 2
    assert confirmed(order) == 1
    paid_state = snapshot(order)

    # Stripe retries the same event (it never saw our 200): acknowledged, nothing happens.
    with django_capture_on_commit_callbacks(execute=True):
        again = post_webhook(client, body)
    assert again.status_code == 200
    assert StripeEvent.objects.filter(type="payment_intent.succeeded").count() == 1
    assert snapshot(order) == paid_state and confirmed(order) == 1

    # A different event about the same PaymentIntent: still one paid order, one email.
    other = event_body("payment_intent.succeeded", intent_object(order, pi_id="pi_once"))
    with django_capture_on_commit_callbacks(execute=True):
        assert post_webhook(client, other).status_code == 200
    assert StripeEvent.objects.filter(type="payment_intent.succeeded").count() == 2
    assert snapshot(order) == paid_state and confirmed(order) == 1
    assert Order.objects.filter(status=Order.Status.PAID).count() == 1
    for item in (line.item for vo in order.vendor_orders.all() for line in vo.lines.all()):
        item.refresh_from_db()
        assert item.quantity == 0


def test_event_for_an_unknown_order_is_acknowledged_and_changes_nothing(
    client, placed_order, stripe_settings, caplog, django_capture_on_commit_callbacks
):
    before = snapshot(placed_order)
    stranger = {**intent_object(placed_order), "metadata": {"order_reference": "VT-NOSUCH99"}}
    with django_capture_on_commit_callbacks(execute=True):
        response = post_webhook(client, event_body("payment_intent.succeeded", stranger))
    assert response.status_code == 200
    assert snapshot(placed_order) == before
    assert mail.outbox == []
    assert "names no known order" in caplog.text


@pytest.mark.parametrize(
    "tamper",
    [
        {"amount": 100},  # £1 paid for a £2,050 order
        {"amount": 205000 + 1},
        {"currency": "EUR"},
    ],
)
def test_amount_or_currency_mismatch_is_not_marked_paid_but_refunded_and_logged(
    client, placed_order, stripe_settings, caplog, tamper, django_capture_on_commit_callbacks,
    monkeypatch,
):  # fmt: skip
    order = placed_order
    refunds = []
    monkeypatch.setattr(
        stripe_api, "refund_create", lambda **kw: refunds.append(kw) or f"re_{len(refunds)}"
    )
    data = intent_object(order, **tamper)
    with (
        caplog.at_level(logging.ERROR, logger="orders.services"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = post_webhook(client, event_body("payment_intent.succeeded", data))
    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING and order.paid_at is None
    assert set(order.reservations.values_list("status", flat=True)) == {"active"}
    assert confirmed(order) == 0
    assert f"order {order.reference}" in caplog.text and "not marked paid" in caplog.text
    # The wrong amount is not kept: it goes back in full, once, whatever the retries.
    assert [refund["payment_intent_id"] for refund in refunds] == [data["id"]]
    assert refunds[0]["amount"] * 100 == data["amount"] or tamper == {"currency": "EUR"}


# --- Failure, cancellation, refund, other events -----------------------------------------------


def test_payment_failed_releases_hold_keeps_order_open_and_tells_shopper(
    client, placed_order, stripe_settings, django_capture_on_commit_callbacks
):
    order = placed_order
    data = intent_object(order, status="requires_payment_method")
    with django_capture_on_commit_callbacks(execute=True):
        response = post_webhook(client, event_body("payment_intent.payment_failed", data))
    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING and order.is_payable
    assert set(order.reservations.values_list("status", flat=True)) == {"released"}
    assert order.payment_error == OrderErrorCode.PAYMENT_FAILED
    message = mail.outbox[-1]
    assert message.subject == f"Payment for order {order.reference} did not go through"
    assert message.to == [ADDRESS["email"]]
    # The pay page says so and still takes a card.
    page = client.get(f"/checkout/pay/{order.reference}/")
    assert page.status_code == 200 and "did not go through" in page.content.decode()


def test_payment_canceled_cancels_order_and_releases_hold(
    client, placed_order, stripe_settings, django_capture_on_commit_callbacks
):
    order = placed_order
    data = intent_object(order, status="canceled")
    with django_capture_on_commit_callbacks(execute=True):
        response = post_webhook(client, event_body("payment_intent.canceled", data))
    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert set(order.reservations.values_list("status", flat=True)) == {"released"}
    assert set(order.vendor_orders.values_list("status", flat=True)) == {"cancelled"}
    assert f"Order {order.reference} was cancelled" in subjects(mail.outbox)
    assert client.get(f"/checkout/pay/{order.reference}/").status_code == 410


def test_canceled_event_for_a_superseded_payment_intent_leaves_order_alone(
    client, placed_order, stripe_settings
):
    order = placed_order
    Order.objects.filter(pk=order.pk).update(payment_intent_id="pi_current")
    data = intent_object(order, status="canceled", pi_id="pi_old_attempt")
    assert post_webhook(client, event_body("payment_intent.canceled", data)).status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert set(order.reservations.values_list("status", flat=True)) == {"active"}


def test_full_refund_at_stripe_refunds_order_vendor_orders_and_reverses_payouts(
    client, placed_order, stripe_settings, django_capture_on_commit_callbacks
):
    order = placed_order
    paid = event_body("payment_intent.succeeded", intent_object(order, pi_id="pi_refund_me"))
    post_webhook(client, paid)
    charge = {
        "id": "ch_refund_me",
        "object": "charge",
        "amount": 205000,
        "amount_refunded": 100000,  # partial first: nothing closes
        "currency": "gbp",
        "payment_intent": "pi_refund_me",
        "refunded": False,
    }
    assert post_webhook(client, event_body("charge.refunded", charge)).status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.PAID

    with django_capture_on_commit_callbacks(execute=True):
        full = event_body("charge.refunded", {**charge, "amount_refunded": 205000})
        assert post_webhook(client, full).status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    assert set(order.vendor_orders.values_list("status", flat=True)) == {"refunded"}
    for vendor_order in order.vendor_orders.all():
        reversed_entry = vendor_order.payout_entries.get(kind=PayoutEntry.Kind.REVERSED)
        earned = vendor_order.payout_entries.get(kind=PayoutEntry.Kind.EARNED)
        assert reversed_entry.amount == -earned.amount == -vendor_order.payout_amount
    assert subjects(mail.outbox).count(f"Order {order.reference} was refunded") == 1

    # Stripe sends it again under a new id: no second reversal, no second email.
    with django_capture_on_commit_callbacks(execute=True):
        again = event_body("charge.refunded", {**charge, "amount_refunded": 205000})
        assert post_webhook(client, again).status_code == 200
    assert PayoutEntry.objects.filter(kind=PayoutEntry.Kind.REVERSED).count() == 2
    assert subjects(mail.outbox).count(f"Order {order.reference} was refunded") == 1


def test_unknown_event_types_are_acknowledged_and_recorded_once(client, stripe_settings):
    body = event_body("customer.source.created", {"id": "card_x", "object": "card"})
    assert post_webhook(client, body).status_code == 200
    assert post_webhook(client, body).status_code == 200
    event_id = json.loads(body)["id"]
    assert list(StripeEvent.objects.values_list("event_id", "type")) == [
        (event_id, "customer.source.created")
    ]


# --- A real delivery from localstripe, shopper gone -------------------------------------------


def configure_localstripe_webhook(base_url: str, name: str, url: str, events=None) -> None:
    fields = [("url", url), ("secret", WEBHOOK_SECRET)]
    fields += [("events[]", event) for event in events or []]
    request = urllib.request.Request(
        f"{base_url}/_config/webhooks/{name}",
        data=urllib.parse.urlencode(fields).encode(),
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_localstripe_signed_webhook_alone_completes_order_when_shopper_leaves(
    client, two_shops, stripe_settings, token, localstripe, live_server, answer_lost_after_charge
):
    """Stripe charges the card, but our answer never reaches the shopper (the worker died, the
    tab closed): nobody opens the done page. The signed webhook alone must complete the order."""
    _, _, bag, _ = two_shops
    name = f"live-{time.monotonic_ns()}"
    configure_localstripe_webhook(
        localstripe, name, f"{live_server.url}/stripe/webhook/", ["payment_intent.succeeded"]
    )
    try:
        # Deliveries are sent ~1 s after their event: let earlier tests' events go by first (on
        # SQLite the live server shares this thread's connection, so no overlap is wanted).
        time.sleep(1.2)
        seen_before = StripeEvent.objects.count()
        client.post("/cart/add/", {"item": bag.pk})
        client.post("/checkout/", ADDRESS)
        order = Order.objects.get()

        response = client.post(f"/checkout/pay/{order.reference}/", {"card_token": token()})
        assert response.status_code == 502  # the apology; the shopper closes the tab
        order.refresh_from_db()
        # The attempt was stored before it was confirmed: we know what to look for.
        assert order.status == Order.Status.PENDING
        assert order.attempts.get().status == "confirming"

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            order.refresh_from_db()
            if order.status == Order.Status.PAID:
                break
            time.sleep(0.25)
        assert order.status == Order.Status.PAID, "localstripe's webhook never completed the order"
        assert order.payment_intent_id.startswith("pi_")
        assert StripeEvent.objects.count() == seen_before + 1
        bag.refresh_from_db()
        assert bag.quantity == 0
        assert not Reservation.objects.filter(order=order, status="active").exists()
        time.sleep(0.3)  # let any email task of the webhook request finish
        assert confirmed(order) == 1
    finally:
        # localstripe keeps webhooks for the whole session: point this one nowhere, for nothing.
        configure_localstripe_webhook(localstripe, name, "http://127.0.0.1:9/", ["none.none"])
        time.sleep(0.2)
