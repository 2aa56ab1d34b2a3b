"""An in-process Stripe for the stateful money tests: every call `orders.stripe_api` makes, with
Stripe's rules that matter for money, and a record of every cent.

Kept honest where it counts: a PaymentIntent charges only when confirmed and only once; a refund
can never exceed what is left of its charge, nor a reversal what is left of its transfer; a
repeated idempotency key returns the first answer, and a key reused with other parameters is
refused and recorded (real Stripe refuses it for 24 hours). Webhook events are queued, not
sent: the test delivers them when, how often and in what order it likes.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from decimal import Decimal

from marketplace.money import from_minor_units, to_minor_units
from orders import stripe_api

CANCELABLE = {"requires_payment_method", "requires_confirmation", "requires_action"}


@dataclass
class Intent:
    id: str
    amount: int
    currency: str
    order_reference: str
    card: str  # "ok", "declined" or "3ds"
    status: str = "requires_confirmation"
    refunded: int = 0
    lost_to_dispute: int = 0
    disputed: bool = False  # a charge is disputed once

    def info(self) -> stripe_api.PaymentIntentInfo:
        return stripe_api.PaymentIntentInfo(
            id=self.id,
            status=self.status,
            amount=from_minor_units(self.amount, self.currency),
            currency=self.currency,
            order_reference=self.order_reference,
            client_secret=f"{self.id}_secret",
        )

    def event_object(self) -> dict:
        return {
            "id": self.id,
            "object": "payment_intent",
            "amount": self.amount,
            "currency": self.currency.lower(),
            "status": self.status,
            "metadata": {"order_reference": self.order_reference},
        }


@dataclass
class Transfer:
    id: str
    amount: int
    currency: str
    destination: str
    reversed: int = 0


@dataclass
class FakeStripe:
    intents: dict[str, Intent] = field(default_factory=dict)
    transfers: dict[str, Transfer] = field(default_factory=dict)
    cards: dict[str, str] = field(default_factory=dict)
    events: list[dict] = field(default_factory=list)  # queued, not yet delivered
    key_conflicts: list[str] = field(default_factory=list)
    crash_after_next_confirm: bool = False
    _answers: dict[str, tuple[tuple, object]] = field(default_factory=dict)
    _ids: itertools.count = field(default_factory=itertools.count)

    # --- plumbing ----------------------------------------------------------------------------

    def _id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids)}"

    def _idempotent(self, key: str, params: tuple, make):
        if key in self._answers:
            seen, answer = self._answers[key]
            if seen != params:
                self.key_conflicts.append(key)
                raise stripe_api.PaymentServiceError(f"idempotency key {key} reused")
            return answer
        answer = make()
        self._answers[key] = (params, answer)
        return answer

    def _event(self, kind: str, obj: dict) -> None:
        self.events.append({"id": self._id("evt"), "type": kind, "data": {"object": obj}})

    def install(self, monkeypatch) -> None:
        for name in (
            "customer_create", "customer_delete", "customer_add_card", "payment_intent_create",
            "payment_intent_confirm", "payment_intent_retrieve", "payment_intent_cancel",
            "refund_create", "transfer_create", "transfer_reversal_create",
        ):  # fmt: skip
            monkeypatch.setattr(stripe_api, name, getattr(self, name))

    # --- the API -----------------------------------------------------------------------------

    def customer_create(self, *, email: str, idempotency_key: str) -> str:
        return self._idempotent(idempotency_key, (email,), lambda: self._id("cus"))

    def customer_delete(self, *, customer_id: str) -> None:
        return None

    def customer_add_card(self, *, customer_id: str, card_token: str, idempotency_key: str) -> str:
        def make():
            card = self._id("card")
            self.cards[card] = card_token.split("_")[1]  # tok_<kind>_<n>
            return card

        return self._idempotent(idempotency_key, (customer_id, card_token), make)

    def payment_intent_create(self, *, amount: Decimal, currency: str, customer_id: str,
                              payment_method_id: str, order_reference: str,
                              idempotency_key: str) -> stripe_api.PaymentIntentInfo:  # fmt: skip
        params = (amount, currency, customer_id, payment_method_id, order_reference)

        def make():
            intent = Intent(
                id=self._id("pi"),
                amount=to_minor_units(amount, currency),
                currency=currency.upper(),
                order_reference=order_reference,
                card=self.cards[payment_method_id],
            )
            self.intents[intent.id] = intent
            return intent.id

        return self.intents[self._idempotent(idempotency_key, params, make)].info()

    def payment_intent_confirm(
        self, *, payment_intent_id: str, idempotency_key: str
    ) -> stripe_api.PaymentIntentInfo:
        intent = self.intents[payment_intent_id]

        def make():
            if intent.status != "requires_confirmation":
                raise stripe_api.PaymentServiceError("payment_intent_unexpected_state")
            if intent.card == "declined":
                intent.status = "requires_payment_method"
                self._event("payment_intent.payment_failed", intent.event_object())
                return "declined"
            if intent.card == "3ds":
                intent.status = "requires_action"
                return "action"
            self.succeed(intent)
            return "charged"

        answer = self._idempotent(idempotency_key, (payment_intent_id,), make)
        if answer == "declined":
            raise stripe_api.CardDeclined()
        if self.crash_after_next_confirm:
            self.crash_after_next_confirm = False
            raise stripe_api.PaymentServiceError("APIConnectionError: the server went away")
        return intent.info()

    def succeed(self, intent: Intent) -> None:
        intent.status = "succeeded"
        self._event("payment_intent.succeeded", intent.event_object())

    def authenticate(self, intent: Intent) -> None:
        """The shopper passes 3-D Secure (late, maybe): the intent charges if it still can."""
        if intent.status == "requires_action":
            self.succeed(intent)

    def payment_intent_retrieve(self, *, payment_intent_id: str) -> stripe_api.PaymentIntentInfo:
        if payment_intent_id not in self.intents:
            raise stripe_api.PaymentServiceError("No such payment_intent")
        return self.intents[payment_intent_id].info()

    def payment_intent_cancel(
        self, *, payment_intent_id: str, idempotency_key: str
    ) -> stripe_api.PaymentIntentInfo:
        intent = self.intents[payment_intent_id]
        if intent.status not in CANCELABLE | {"canceled"}:
            raise stripe_api.PaymentServiceError(f"cannot cancel a {intent.status} payment")
        if intent.status != "canceled":
            intent.status = "canceled"
            self._event("payment_intent.canceled", intent.event_object())
        return intent.info()

    def refund_create(self, *, payment_intent_id: str, amount: Decimal, currency: str,
                      idempotency_key: str) -> str:  # fmt: skip
        intent = self.intents[payment_intent_id]
        minor = to_minor_units(amount, currency)

        def make():
            left = intent.amount - intent.refunded - intent.lost_to_dispute
            if intent.status != "succeeded" or intent.disputed or not 0 < minor <= left:
                raise stripe_api.PaymentServiceError(f"cannot refund {minor} of {left}")
            intent.refunded += minor
            self._event(
                "charge.refunded",
                {"payment_intent": intent.id, "amount_refunded": intent.refunded,
                 "currency": intent.currency.lower()},
            )  # fmt: skip
            return self._id("re")

        return self._idempotent(idempotency_key, (payment_intent_id, minor), make)

    def transfer_create(self, *, amount: Decimal, currency: str, destination_account: str,
                        transfer_group: str, idempotency_key: str) -> str:  # fmt: skip
        minor = to_minor_units(amount, currency)
        params = (minor, currency, destination_account, transfer_group)

        def make():
            if minor <= 0:
                raise stripe_api.PaymentServiceError("amount must be positive")
            transfer = Transfer(self._id("tr"), minor, currency.upper(), destination_account)
            self.transfers[transfer.id] = transfer
            return transfer.id

        return self._idempotent(idempotency_key, params, make)

    def transfer_reversal_create(self, *, transfer_id: str, amount: Decimal, currency: str,
                                 idempotency_key: str) -> str:  # fmt: skip
        transfer = self.transfers[transfer_id]
        minor = to_minor_units(amount, currency)

        def make():
            if "noreverse" in transfer.destination:
                raise stripe_api.PaymentServiceError("insufficient funds to reverse")
            if not 0 < minor <= transfer.amount - transfer.reversed:
                raise stripe_api.PaymentServiceError("reversal exceeds the transfer")
            transfer.reversed += minor
            return self._id("trr")

        return self._idempotent(idempotency_key, (transfer_id, minor), make)

    def dispute(self, intent: Intent, *, outcome: str) -> list[dict]:
        """A chargeback on a charge: the created and closed events (a lost one takes what is
        left of the charge back)."""
        left = intent.amount - intent.refunded - intent.lost_to_dispute
        intent.disputed = True
        obj = {"id": f"dp_{intent.id}", "amount": left, "currency": intent.currency.lower(),
               "payment_intent": intent.id}  # fmt: skip
        if outcome == "lost":
            intent.lost_to_dispute += left
        return [
            {"id": self._id("evt"), "type": "charge.dispute.created",
             "data": {"object": {**obj, "status": "needs_response"}}},
            {"id": self._id("evt"), "type": "charge.dispute.closed",
             "data": {"object": {**obj, "status": outcome}}},
        ]  # fmt: skip

    # --- what it holds -----------------------------------------------------------------------

    def money(self, *, only=None):
        """What Stripe holds (tests.ledger.StripeMoney); `only`: these PaymentIntents' charges
        (those our side has learnt of), else all."""
        from .ledger import StripeMoney

        charged: dict[str, Decimal] = {}
        returned: dict[str, Decimal] = {}
        for intent in self.intents.values():
            if intent.status != "succeeded" or (only is not None and intent.id not in only):
                continue
            ref = intent.order_reference
            charged[ref] = charged.get(ref, Decimal("0")) + from_minor_units(
                intent.amount, intent.currency
            )
            back = from_minor_units(intent.refunded + intent.lost_to_dispute, intent.currency)
            returned[ref] = returned.get(ref, Decimal("0")) + back
        transferred: dict[str, Decimal] = {}
        for transfer in self.transfers.values():
            net = from_minor_units(transfer.amount - transfer.reversed, transfer.currency)
            transferred[transfer.destination] = transferred.get(transfer.destination, 0) + net
        return StripeMoney(charged=charged, returned=returned, transferred=transferred)

    def net_charges(self, reference: str) -> int:
        """How many of the order's charges are still (partly) kept."""
        return sum(
            1
            for intent in self.intents.values()
            if intent.order_reference == reference
            and intent.status == "succeeded"
            and intent.amount - intent.refunded - intent.lost_to_dispute > 0
        )
