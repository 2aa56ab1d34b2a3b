"""Orders kept for delivery after their shopper's account was erased, and their erasure."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from .. import emails
from ..models import Order, VendorOrder

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)


@transaction.atomic
def orders_erase_for_customer(*, user: User) -> None:
    """Erase what an erased shopper's orders hold about them (their unpaid orders are
    cancelled first: privacy.services.account_erase).

    Orders stay for accounting with their totals, lines, shops and country, but the shipping
    name, address, email, phone and call note are blanked and the link to the account removed.
    Except an order still on its way (paid, a shop's part not yet delivered, refunded or
    cancelled): the shopper paid for it, and performing that contract needs the delivery name,
    address and phone, and the email its shipped/delivered emails go to. It is unlinked from the
    account and its call note blanked now; the rest goes once its last part is closed
    (order_erase_if_fulfilled), or by the overdue job (orders_erase_overdue) when a shipped part
    is never marked delivered.
    """
    orders = Order.objects.filter(customer=user)
    in_flight = list(orders.in_flight().select_for_update().values_list("pk", flat=True))
    Order.objects.filter(pk__in=in_flight).update(
        customer=None,
        cart=None,
        call_note="",
        stripe_customer_id="",  # that Stripe Customer is deleted; refunds need only the payment
        erase_when_fulfilled_at=timezone.now(),
    )
    orders.exclude(pk__in=in_flight).update(**Order.PERSONAL_DATA_ERASED)


def _status_email(*, order: Order, kind: str, vendor_order_id: int | None = None) -> None:
    """Queue a fulfilment step's email after commit. If the step closed the last open part of
    an order kept for delivery after its shopper's erasure, that order's personal data goes
    right after this email is sent: the task re-reads the order, so it cannot go before."""
    closes = (
        order.erase_when_fulfilled_at is not None and not VendorOrder.open_parts(order.pk).exists()
    )
    send = emails.send_then_erase if closes else emails.send
    send(kind=kind, order_id=order.pk, vendor_order_id=vendor_order_id)


@transaction.atomic
def order_erase_if_fulfilled(*, order_id: int) -> bool:
    """Blank an order kept for delivery after its shopper's erasure, once every shop's part is
    delivered, refunded or cancelled. Returns whether it did; running it again does nothing."""
    order = (
        Order.objects.select_for_update()
        .filter(pk=order_id, erase_when_fulfilled_at__isnull=False)
        .first()
    )
    if order is None or VendorOrder.open_parts(order.pk).exists():
        return False
    Order.objects.filter(pk=order.pk).update(**Order.PERSONAL_DATA_ERASED)
    logger.info(
        "order %s: delivery details erased (account erased earlier, order fulfilled)",
        order.reference,
        extra={"order_reference": order.reference},
    )
    return True


@transaction.atomic
def orders_erase_overdue(*, shipped_before: datetime, dry_run: bool = False) -> list[str]:
    """The safety net for orders kept for delivery after their shopper's erasure: blank those
    whose parts still open all shipped before `shipped_before` (a shop that never marks its
    delivery must not keep the shopper's address forever), and those with no part open left
    whose erasure after the last email never ran (a lost task). Returns their references.
    """
    still_needed = VendorOrder.open_parts(OuterRef("pk")).exclude(
        Q(status=VendorOrder.Status.SHIPPED) & Q(shipped_at__lt=shipped_before)
    )
    due = (
        Order.objects.select_for_update()
        .filter(erase_when_fulfilled_at__isnull=False)
        .exclude(Exists(still_needed))
        .order_by("pk")
    )
    references = list(due.values_list("reference", flat=True))
    if references and not dry_run:
        Order.objects.filter(reference__in=references).update(**Order.PERSONAL_DATA_ERASED)
        for reference in references:
            logger.info(
                "order %s: delivery details erased (account erased earlier, overdue)",
                reference,
                extra={"order_reference": reference},
            )
    return references
