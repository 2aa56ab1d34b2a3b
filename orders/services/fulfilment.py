"""A shop fulfils its part: send, deliver, refund, along VendorOrder.TRANSITIONS."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from products.cache import items_changed
from products.models import ItemPage

from .. import emails, signals, stripe_api
from ..errors import OrderErrorCode as Code
from ..errors import TransitionNotAllowed
from ..models import DisputeStatus, Order, VendorOrder
from .payouts import _reverse_earnings
from .retention import _status_email
from .stock import _lock_items, holds_recount


def _require_move(
    vendor_order: VendorOrder, status: str, refused: Code = Code.TRANSITION_NOT_ALLOWED
) -> None:
    """Raise TransitionNotAllowed (with the step's own code, if given) unless
    VendorOrder.TRANSITIONS lets the part become `status`."""
    if not vendor_order.can_become(status):
        raise TransitionNotAllowed(refused, current=vendor_order.status, wanted=status)


def _vendor_order_move(vendor_order: VendorOrder, status: str, **fields: Any) -> None:
    """Change a part's status along VendorOrder.TRANSITIONS (and any fields that go with it)."""
    _require_move(vendor_order, status)
    vendor_order.status = status
    for name, value in fields.items():
        setattr(vendor_order, name, value)
    vendor_order.save(update_fields=["status", *fields])


def _lock_vendor_order(vendor_order: VendorOrder) -> VendorOrder:
    return (
        VendorOrder.objects.select_for_update()
        .select_related("order", "vendor")
        .get(pk=vendor_order.pk)
    )


@transaction.atomic
def vendor_order_ship(
    *, vendor_order: VendorOrder, carrier: str, tracking_number: str
) -> VendorOrder:
    """Mark a shop's part shipped with tracking. The shop is paid out later, once the part is
    delivered and the return window has passed (`run_payouts`)."""
    vendor_order = _lock_vendor_order(vendor_order)
    _require_move(vendor_order, VendorOrder.Status.SHIPPED, Code.NOT_SHIPPABLE)
    vendor_order.carrier = carrier.strip()
    vendor_order.tracking_number = tracking_number.strip()
    vendor_order.full_clean()
    _vendor_order_move(
        vendor_order,
        VendorOrder.Status.SHIPPED,
        carrier=vendor_order.carrier,
        tracking_number=vendor_order.tracking_number,
        shipped_at=timezone.now(),
    )
    emails.send(kind="shipped", order_id=vendor_order.order_id, vendor_order_id=vendor_order.pk)
    return vendor_order


@transaction.atomic
def vendor_order_deliver(*, vendor_order: VendorOrder) -> VendorOrder:
    vendor_order = _lock_vendor_order(vendor_order)
    _require_move(vendor_order, VendorOrder.Status.DELIVERED, Code.NOT_DELIVERABLE)
    _vendor_order_move(vendor_order, VendorOrder.Status.DELIVERED, delivered_at=timezone.now())
    _status_email(order=vendor_order.order, kind="delivered", vendor_order_id=vendor_order.pk)
    # Told once the delivery is saved (policies invites a testimonial).
    transaction.on_commit(
        lambda: signals.vendor_order_delivered.send(sender=VendorOrder, vendor_order=vendor_order)
    )
    return vendor_order


@transaction.atomic
def vendor_order_refund(*, vendor_order: VendorOrder) -> VendorOrder:
    """Refund one shop's part to the shopper's card, put its pieces back on sale, reverse what
    the shop earned on it and claw back what was already transferred."""
    vendor_order = _lock_vendor_order(vendor_order)
    order = vendor_order.order
    _require_move(vendor_order, VendorOrder.Status.REFUNDED, Code.NOT_REFUNDABLE)
    if order.dispute_status in (DisputeStatus.OPEN, DisputeStatus.LOST):
        # The bank decides (or has taken) this money: a refund on top would pay it twice.
        raise TransitionNotAllowed(Code.UNDER_CHARGEBACK)
    stripe_api.refund_create(
        payment_intent_id=order.payment_intent_id,
        amount=vendor_order.subtotal,
        currency=order.currency,
        idempotency_key=f"{order.reference}-refund-{vendor_order.pk}",
    )
    lines = vendor_order.kept_lines  # pieces that sold to someone else were never this shopper's
    _lock_items([line.item_id for line in lines if line.item_id])
    for line in lines:
        if line.item_id:
            ItemPage.objects.filter(pk=line.item_id).update(quantity=F("quantity") + line.quantity)
    holds_recount(item_ids=[line.item_id for line in lines if line.item_id])
    _vendor_order_move(vendor_order, VendorOrder.Status.REFUNDED)
    _reverse_earnings(vendor_order=vendor_order, order=order)
    items_changed((line.item_id for line in lines if line.item_id), back_on_sale=True)
    if not order.vendor_orders.exclude(
        status__in=[VendorOrder.Status.REFUNDED, VendorOrder.Status.CANCELLED]
    ).exists():
        Order.objects.filter(pk=order.pk).update(status=Order.Status.REFUNDED)
    _status_email(order=order, kind="vendor_refunded", vendor_order_id=vendor_order.pk)
    return vendor_order
