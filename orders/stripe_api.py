"""The only module that talks to Stripe.

Every write carries a deterministic idempotency key, amounts go through `to_minor_units`, and
Stripe's exceptions become the project's own: `CardDeclined` carries a code for what the shopper
can fix (`orders.error_messages` words it), `PaymentServiceError` is anything else (logged by
the caller with the order reference).

In development and tests STRIPE_API_BASE points at localstripe; with real keys and no base, the
same calls reach Stripe. Card details never pass through here: the browser turns them into a
token with Stripe.js, and only the token reaches the server.
"""

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from django.conf import settings

import stripe

from marketplace.money import from_minor_units, to_minor_units

from .errors import OrderError
from .errors import OrderErrorCode as Code

API_VERSION = "2026-10-28.endive"


class PaymentServiceError(Exception):
    """Stripe could not be reached or refused the request for a reason the shopper can't fix."""


class CardDeclined(PaymentServiceError, OrderError):
    """The card was refused, for a reason the shopper can act on (another card, another try):
    `code` says which."""

    def __init__(self, code: Code = Code.CARD_DECLINED):
        OrderError.__init__(self, code)


# Stripe's decline and card error codes the shopper can act on; any other is "declined".
CARD_ERROR_CODES = {
    "expired_card": Code.CARD_EXPIRED,
    "incorrect_cvc": Code.CARD_CVC_INCORRECT,
    "invalid_cvc": Code.CARD_CVC_INCORRECT,
    "incorrect_number": Code.CARD_NUMBER_INCORRECT,
    "invalid_number": Code.CARD_NUMBER_INCORRECT,
    "insufficient_funds": Code.CARD_INSUFFICIENT_FUNDS,
    "processing_error": Code.CARD_PROCESSING_ERROR,
}


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


T = TypeVar("T")


def _client() -> stripe.StripeClient:
    base = settings.STRIPE_API_BASE
    return stripe.StripeClient(
        api_key=settings.STRIPE_SECRET_KEY,
        stripe_version=API_VERSION,
        base_addresses={"api": base} if base else None,
        max_network_retries=2,
    )


def _call(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    try:
        return function(*args, **kwargs)
    except stripe.CardError as error:
        details = error.error
        decline_code = details.decline_code if details is not None else None
        code = CARD_ERROR_CODES.get(decline_code or error.code or "", Code.CARD_DECLINED)
        raise CardDeclined(code) from error
    except stripe.StripeError as error:
        raise PaymentServiceError(
            f"{type(error).__name__}: {error.user_message or error}"
        ) from error


def _info(intent: stripe.PaymentIntent) -> PaymentIntentInfo:
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


class CustomerMissing(PaymentServiceError):
    """The stored Stripe Customer no longer exists at Stripe (deleted there): make a new one."""


def _customer_gone(customer_id: str) -> bool:
    try:
        customer = _client().v1.customers.retrieve(customer_id)
    except stripe.InvalidRequestError as error:
        return error.http_status == 404
    return bool(getattr(customer, "deleted", False))


def customer_add_card(*, customer_id: str, card_token: str, idempotency_key: str) -> str:
    """Attach a Stripe.js card token to the customer; returns the card's id. Raises
    CustomerMissing when Stripe no longer has that customer."""
    try:
        card = _call(
            _client().v1.customers.payment_sources.create,
            customer_id,
            {"source": card_token},
            {"idempotency_key": idempotency_key},
        )
    except PaymentServiceError as error:
        cause = error.__cause__
        # A 404 names the customer or the token: ask Stripe which one is gone.
        if isinstance(cause, stripe.InvalidRequestError) and cause.http_status == 404:
            if _customer_gone(customer_id):
                raise CustomerMissing(customer_id) from cause
        raise
    return card.id


def payment_intent_create(
    *,
    amount: Decimal,
    currency: str,
    customer_id: str,
    payment_method_id: str,
    order_reference: str,
    idempotency_key: str,
) -> PaymentIntentInfo:
    """Create the attempt's PaymentIntent, unconfirmed: it cannot charge until confirmed, so
    its id is stored first (a lost answer here leaves nothing charged)."""
    intent = _call(
        _client().v1.payment_intents.create,
        {
            "amount": to_minor_units(amount, currency),
            "currency": currency.lower(),
            "customer": customer_id,
            "payment_method": payment_method_id,
            "metadata": {"order_reference": order_reference},
        },
        {"idempotency_key": idempotency_key},
    )
    return _info(intent)


def payment_intent_confirm(*, payment_intent_id: str, idempotency_key: str) -> PaymentIntentInfo:
    """Confirm (charge) a stored attempt's PaymentIntent. Raises CardDeclined."""
    intent = _call(
        _client().v1.payment_intents.confirm,
        payment_intent_id,
        {},
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


def transfer_reversal_create(
    *, transfer_id: str, amount: Decimal, currency: str, idempotency_key: str
) -> str:
    """Claw back (part of) a transfer from a shop's connected account after a refund."""
    reversal = _call(
        _client().v1.transfers.reversals.create,
        transfer_id,
        {"amount": to_minor_units(amount, currency)},
        {"idempotency_key": idempotency_key},
    )
    return reversal.id


# Stripe's library checks only that a signature is not too old; one dated ahead of our clock
# by more than this is refused too (a forged or replayed-from-the-future header).
WEBHOOK_TOLERANCE_SECONDS = 300
WEBHOOK_FUTURE_SKEW_SECONDS = 60


def webhook_event(*, payload: bytes, signature: str | None) -> dict:
    """Verify the signature (timestamp within 300 s in the past, 60 s in the future) and the
    event's shape, and return the event as a dict."""
    if not signature or not settings.STRIPE_WEBHOOK_SECRET:
        raise InvalidWebhook("missing signature")
    try:
        stripe.WebhookSignature.verify_header(
            payload.decode("utf-8"),
            signature,
            settings.STRIPE_WEBHOOK_SECRET,
            tolerance=WEBHOOK_TOLERANCE_SECONDS,
        )
        timestamps = [
            int(part[2:]) for part in signature.split(",") if part.strip().startswith("t=")
        ]
        if not timestamps or timestamps[0] > time.time() + WEBHOOK_FUTURE_SKEW_SECONDS:
            raise InvalidWebhook("timestamp in the future")
        event = json.loads(payload)
    except (ValueError, UnicodeDecodeError, stripe.SignatureVerificationError) as error:
        raise InvalidWebhook(str(error)) from error
    if not (
        isinstance(event, dict)
        and isinstance(event.get("id"), str)
        and isinstance(event.get("type"), str)
        and isinstance(event.get("data"), dict)
        and isinstance(event["data"].get("object"), dict)
    ):
        raise InvalidWebhook("not a Stripe event")
    return event


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


@dataclass(frozen=True)
class DisputeInfo:
    id: str
    payment_intent_id: str
    amount: Decimal
    currency: str
    status: str  # Stripe's: warning_needs_response, needs_response, under_review, won, lost...


def dispute_from_event(data_object: dict) -> DisputeInfo:
    """The dispute in a `charge.dispute.*` event; an old-shape one names only its charge."""
    currency = str(data_object["currency"]).upper()
    payment_intent_id = data_object.get("payment_intent") or ""
    if not payment_intent_id and data_object.get("charge"):
        charge = _call(_client().v1.charges.retrieve, data_object["charge"])
        payment_intent_id = getattr(charge, "payment_intent", "") or ""
    return DisputeInfo(
        id=str(data_object["id"]),
        payment_intent_id=str(payment_intent_id),
        amount=from_minor_units(int(data_object["amount"]), currency),
        currency=currency,
        status=str(data_object.get("status", "")),
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
