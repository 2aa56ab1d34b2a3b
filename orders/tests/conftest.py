"""Fixtures for cart, checkout and payment tests: real HTTP to a private localstripe."""

import json

import pytest

from products.factories import ItemPageFactory
from vendors.factories import ShopPageFactory

from .localstripe import card_token, stripe_get  # noqa: F401 - the tests import them from here

WEBHOOK_SECRET = "whsec_test_vitrine"


@pytest.fixture(autouse=True)
def _fresh_cache(clear_cache):
    """Footer links and the like are cached: no test sees another's."""


@pytest.fixture
def stripe_settings(settings, localstripe):
    settings.STRIPE_API_BASE = localstripe
    settings.STRIPE_SECRET_KEY = "sk_test_vitrine"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_vitrine"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_JS_URL = f"{localstripe}/js.stripe.com/v3/"
    return settings


@pytest.fixture
def token(localstripe):
    return lambda number="4242424242424242": card_token(localstripe, number)


@pytest.fixture
def two_shops(site_tree):
    """Two shops with one piece each, as a cart spanning shops needs."""
    lune = ShopPageFactory(title="Maison Lune", vendor__name="Maison Lune")
    salon = ShopPageFactory(title="Second Salon", vendor__name="Second Salon")
    bag = ItemPageFactory(parent=lune, title="Cognac tote", price="1250.00", with_image=True)
    watch = ItemPageFactory(parent=salon, title="Steel watch", price="800.00")
    return lune, salon, bag, watch


ADDRESS = {
    "email": "ada@example.com",
    "name": "Ada Lovelace",
    "line1": "12 St James's Square",
    "line2": "",
    "city": "London",
    "postcode": "SW1Y 4JH",
    "country": "GB",
    "phone": "020 7946 0123",
}


# --- Helpers for webhook, stock, payment and privacy tests --------------------------------------


def sign(payload: bytes, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """A `Stripe-Signature` header as Stripe computes it: HMAC-SHA256 over "<t>.<payload>"."""
    import hashlib
    import hmac
    import time

    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256
    ).hexdigest()
    return f"t={timestamp},v1={digest}"


def event_body(event_type: str, data_object: dict, *, event_id: str | None = None) -> bytes:
    """A Stripe event as bytes, in localstripe's (old API version) shape."""
    import secrets
    import time

    return json.dumps(
        {
            "id": event_id or f"evt_{secrets.token_hex(8)}",
            "object": "event",
            "api_version": "2017-08-15",
            "created": int(time.time()),
            "livemode": False,
            "type": event_type,
            "data": {"object": data_object},
        },
        indent=2,
        sort_keys=True,
    ).encode()


def intent_object(order, *, status="succeeded", pi_id="pi_test_vitrine", amount=None,
                  currency=None) -> dict:  # fmt: skip
    """A PaymentIntent as an event carries it, for `order` (amount in minor units)."""
    from marketplace.money import to_minor_units

    currency = currency or order.currency
    return {
        "id": pi_id,
        "object": "payment_intent",
        "amount": to_minor_units(order.total, currency) if amount is None else amount,
        "currency": currency.lower(),
        "status": status,
        "metadata": {"order_reference": order.reference},
    }


def open_attempt(order, payment_intent_id: str, number: int = 1):
    """A payment attempt as `order_pay` stores it before confirming, for PaymentIntent ids
    that tests make up (Stripe's answers about them are monkeypatched)."""
    from orders.models import Order, PaymentAttempt

    Order.objects.filter(pk=order.pk).update(payment_intent_id=payment_intent_id)
    return PaymentAttempt.objects.create(
        order=order,
        number=number,
        idempotency_key=f"{order.reference}-{number}",
        payment_intent_id=payment_intent_id,
        amount=order.total,
        currency=order.currency,
    )


def post_webhook(client, body: bytes, signature: str | None = "sign"):
    """POST a webhook body; by default with a valid signature made now."""
    headers = {}
    if signature == "sign":
        signature = sign(body)
    if signature is not None:
        headers["HTTP_STRIPE_SIGNATURE"] = signature
    return client.generic(
        "POST", "/stripe/webhook/", body, content_type="application/json", **headers
    )


def subjects(outbox) -> list[str]:
    return [message.subject for message in outbox]


@pytest.fixture
def placed_order(client, two_shops):
    """A guest's pending order for both shops' pieces (£2,050), placed through the views."""
    from orders.models import Order

    _, _, bag, watch = two_shops
    client.post("/cart/add/", {"item": bag.pk})
    client.post("/cart/add/", {"item": watch.pk})
    client.post("/checkout/", ADDRESS)
    return Order.objects.get()


@pytest.fixture
def new_client():
    """Another browser: `new_client()` is a fresh django.test.Client."""
    from django.test import Client

    return Client


@pytest.fixture
def stripe_says_processing(monkeypatch):
    """Stripe answers "processing" at confirm time; the charge completes just after, and only
    the webhook (or the done page asking Stripe) learns of it. Calls through to localstripe."""
    import dataclasses

    from orders import stripe_api

    real = stripe_api.payment_intent_confirm

    def processing(**kwargs):
        return dataclasses.replace(real(**kwargs), status="processing")

    monkeypatch.setattr(stripe_api, "payment_intent_confirm", processing)


@pytest.fixture
def answer_lost_after_charge(monkeypatch):
    """Stripe charges the card at confirm time, but its answer never reaches us (a timeout,
    the worker killed): our side sees a PaymentServiceError. Calls through to localstripe.
    `monkeypatch.undo()` in the test brings the answers back."""
    from orders import stripe_api

    real = stripe_api.payment_intent_confirm

    def charged_then_lost(**kwargs):
        real(**kwargs)
        raise stripe_api.PaymentServiceError("APIConnectionError: read timed out")

    monkeypatch.setattr(stripe_api, "payment_intent_confirm", charged_then_lost)
