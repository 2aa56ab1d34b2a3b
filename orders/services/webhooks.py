"""Stripe's events, each handled once, through the same services as every other path."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from marketplace.money import from_minor_units

from .. import stripe_api
from ..models import StripeEvent
from .disputes import order_dispute_closed, order_dispute_opened
from .payments import (
    order_mark_paid,
    order_payment_canceled,
    order_payment_failed,
    order_refunded_at_stripe,
)


def _on_payment_succeeded(data: dict) -> None:
    order_mark_paid(payment_intent=stripe_api.payment_intent_from_event(data))


def _on_payment_failed(data: dict) -> None:
    order_payment_failed(payment_intent=stripe_api.payment_intent_from_event(data))


def _on_payment_canceled(data: dict) -> None:
    order_payment_canceled(payment_intent=stripe_api.payment_intent_from_event(data))


def _on_charge_refunded(data: dict) -> None:
    if data.get("payment_intent"):
        order_refunded_at_stripe(
            payment_intent_id=data["payment_intent"],
            amount_refunded=from_minor_units(int(data["amount_refunded"]), data["currency"]),
        )


def _on_dispute_created(data: dict) -> None:
    order_dispute_opened(dispute=stripe_api.dispute_from_event(data))


def _on_dispute_closed(data: dict) -> None:
    order_dispute_closed(dispute=stripe_api.dispute_from_event(data))


WEBHOOK_HANDLERS = {
    "payment_intent.succeeded": _on_payment_succeeded,
    "payment_intent.payment_failed": _on_payment_failed,
    "payment_intent.canceled": _on_payment_canceled,
    "charge.refunded": _on_charge_refunded,
    "charge.dispute.created": _on_dispute_created,
    "charge.dispute.closed": _on_dispute_closed,
}


class MalformedEvent(Exception):
    """A correctly signed event whose object lacks what its handler needs."""


def stripe_event_handle(*, event: dict) -> bool:
    """Handle a verified event once. Returns False when this event id was already handled.
    Raises MalformedEvent (nothing written) when its object is not what its type promises."""
    handler = WEBHOOK_HANDLERS.get(event["type"])
    try:
        with transaction.atomic():
            StripeEvent.objects.create(event_id=event["id"][:255], type=event["type"][:100])
            if handler is not None:
                handler(event["data"]["object"])
    except IntegrityError:
        return False
    except (KeyError, TypeError, ValueError, ArithmeticError) as error:
        raise MalformedEvent(f"{event['type']}: {type(error).__name__}: {error}") from error
    return True
