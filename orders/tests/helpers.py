"""Helpers for the order tests: a shipping address, and Stripe webhooks as Stripe signs them."""

import hashlib
import hmac
import json
import secrets
import time

from marketplace.money import to_minor_units
from orders.models import Order, PaymentAttempt
from tests.localstripe import WEBHOOK_SECRET

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


def sign(payload: bytes, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """A `Stripe-Signature` header as Stripe computes it: HMAC-SHA256 over "<t>.<payload>"."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256
    ).hexdigest()
    return f"t={timestamp},v1={digest}"


def event_body(event_type: str, data_object: dict, *, event_id: str | None = None) -> bytes:
    """A Stripe event as bytes, in localstripe's (old API version) shape."""
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
