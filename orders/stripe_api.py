"""The only module that talks to Stripe.

Every write carries a deterministic idempotency key, amounts go through `to_minor_units`, and
Stripe's exceptions become the project's own: `CardDeclined` carries a message for the shopper,
`PaymentServiceError` is anything else (logged by the caller with the order reference).

In development and tests STRIPE_API_BASE points at localstripe; with real keys and no base, the
same calls reach Stripe. Card details never pass through here: the browser turns them into a
token with Stripe.js, and only the token reaches the server.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

import stripe

from .money import from_minor_units, to_minor_units

API_VERSION = "2026-10-28.endive"


class PaymentServiceError(Exception):
    """Stripe could not be reached or refused the request for a reason the shopper can't fix."""


class CardDeclined(PaymentServiceError):
    """The card was refused; `shopper_message` says so in words a shopper can act on."""

    def __init__(self, shopper_message: str, code: str = ""):
        super().__init__(shopper_message)
        self.shopper_message = shopper_message
        self.code = code


class InvalidWebhook(Exception):
    """Missing or wrong signature, stale timestamp, or a body that is not an event."""


@dataclass(frozen=True)
class PaymentIntentInfo:
    """The fields of a PaymentIntent we rely on (present in every API version's shape)."""

    id: str
    status: str
    amount: Decimal
    currency: str
    order_reference: str
    client_secret: str = ""


def _client() -> stripe.StripeClient:
    base = settings.STRIPE_API_BASE
    return stripe.StripeClient(
        api_key=settings.STRIPE_SECRET_KEY,
        stripe_version=API_VERSION,
        base_addresses={"api": base} if base else None,
        max_network_retries=2,
    )


def _call(function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    except stripe.CardError as error:
        message = error.user_message or "Your card was declined. Please try another card."
        raise CardDeclined(message, code=error.code or "card_declined") from error
    except stripe.StripeError as error:
        raise PaymentServiceError(
            f"{type(error).__name__}: {error.user_message or error}"
        ) from error


def _info(intent) -> PaymentIntentInfo:
    metadata = intent.metadata.to_dict() if intent.metadata else {}
    return PaymentIntentInfo(
        id=intent.id,
        status=intent.status,
        amount=from_minor_units(intent.amount, intent.currency),
        currency=intent.currency.upper(),
        order_reference=metadata.get("order_reference", ""),
        client_secret=getattr(intent, "client_secret", "") or "",
    )


def customer_create(*, email: str, idempotency_key: str) -> str:
    customer = _call(
        _client().v1.customers.create,
        {"email": email},
        {"idempotency_key": idempotency_key},
    )
    return customer.id


def customer_delete(*, customer_id: str) -> None:
    """Delete a Stripe Customer; one that is already gone counts as deleted."""
    try:
        _client().v1.customers.delete(customer_id)
    except stripe.InvalidRequestError as error:
        if error.http_status != 404:
            raise PaymentServiceError(str(error)) from error
    except stripe.StripeError as error:
        raise PaymentServiceError(str(error)) from error


def customer_add_card(*, customer_id: str, card_token: str, idempotency_key: str) -> str:
    """Attach a Stripe.js card token to the customer; returns the card's id."""
    card = _call(
        _client().v1.customers.payment_sources.create,
        customer_id,
        {"source": card_token},
        {"idempotency_key": idempotency_key},
    )
    return card.id


def payment_intent_create_and_confirm(
    *,
    amount: Decimal,
    currency: str,
    customer_id: str,
    payment_method_id: str,
    order_reference: str,
    idempotency_key: str,
) -> PaymentIntentInfo:
    intent = _call(
        _client().v1.payment_intents.create,
        {
            "amount": to_minor_units(amount, currency),
            "currency": currency.lower(),
            "customer": customer_id,
            "payment_method": payment_method_id,
            "confirm": True,
            "metadata": {"order_reference": order_reference},
        },
        {"idempotency_key": idempotency_key},
    )
    return _info(intent)


def payment_intent_retrieve(*, payment_intent_id: str) -> PaymentIntentInfo:
    return _info(_call(_client().v1.payment_intents.retrieve, payment_intent_id))


def payment_intent_cancel(*, payment_intent_id: str, idempotency_key: str) -> PaymentIntentInfo:
    intent = _call(
        _client().v1.payment_intents.cancel,
        payment_intent_id,
        {},
        {"idempotency_key": idempotency_key},
    )
    return _info(intent)


def refund_create(
    *, payment_intent_id: str, amount: Decimal, currency: str, idempotency_key: str
) -> str:
    refund = _call(
        _client().v1.refunds.create,
        {"payment_intent": payment_intent_id, "amount": to_minor_units(amount, currency)},
        {"idempotency_key": idempotency_key},
    )
    return refund.id


def transfer_create(
    *,
    amount: Decimal,
    currency: str,
    destination_account: str,
    transfer_group: str,
    idempotency_key: str,
) -> str:
    """Pay a shop's connected account its share (separate charges and transfers)."""
    transfer = _call(
        _client().v1.transfers.create,
        {
            "amount": to_minor_units(amount, currency),
            "currency": currency.lower(),
            "destination": destination_account,
            "transfer_group": transfer_group,
        },
        {"idempotency_key": idempotency_key},
    )
    return transfer.id


def webhook_event(*, payload: bytes, signature: str | None) -> dict:
    """Verify the signature (and its timestamp, 300 s tolerance) and return the event as a dict."""
    if not signature or not settings.STRIPE_WEBHOOK_SECRET:
        raise InvalidWebhook("missing signature")
    try:
        event = stripe.Webhook.construct_event(
            payload, signature, settings.STRIPE_WEBHOOK_SECRET, tolerance=300
        )
    except (ValueError, stripe.SignatureVerificationError) as error:
        raise InvalidWebhook(str(error)) from error
    return event.to_dict()


def payment_intent_from_event(data_object: dict) -> PaymentIntentInfo:
    """The PaymentIntent inside an event payload (old and new API shapes share these fields)."""
    currency = data_object["currency"].upper()
    return PaymentIntentInfo(
        id=data_object["id"],
        status=data_object["status"],
        amount=from_minor_units(int(data_object["amount"]), currency),
        currency=currency,
        order_reference=(data_object.get("metadata") or {}).get("order_reference", ""),
    )


def payment_intents_succeeded(*, since_timestamp: int | None = None) -> list[PaymentIntentInfo]:
    """Every succeeded PaymentIntent (newer than `since_timestamp`), for reconciliation."""
    try:
        pages = _client().v1.payment_intents.list({"limit": 100}).auto_paging_iter()
        return [
            _info(intent)
            for intent in pages
            if intent.status == "succeeded"
            and (since_timestamp is None or intent.created >= since_timestamp)
        ]
    except stripe.StripeError as error:
        raise PaymentServiceError(str(error)) from error
