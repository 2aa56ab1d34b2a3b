"""Stock and holds. Availability is an item's quantity minus its active, unexpired holds.

Checkout locks the items' rows in primary-key order (so two carts holding the same items in any
order cannot deadlock), re-checks availability and holds. Payment turns holds into sales;
expiry, failure and cancellation release them. `held_until` on the item mirrors the holds for
pages and the API ("Reserved")."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet, Sum
from django.utils import timezone

from products.cache import holds_changed
from products.models import ItemPage

from ..errors import ItemsUnavailable
from ..models import Order, OrderLine, Reservation


def _active_reservations(now: datetime | None = None) -> QuerySet[Reservation]:
    return Reservation.objects.filter(
        status=Reservation.Status.ACTIVE, expires_at__gt=now or timezone.now()
    )


def reserved_quantities(
    *, item_ids: Iterable[int], exclude_order: Order | None = None
) -> dict[int, int]:
    reservations = _active_reservations().filter(item_id__in=item_ids)
    if exclude_order is not None:
        reservations = reservations.exclude(order=exclude_order)
    return dict(
        reservations.values_list("item_id")
        .annotate(total=Sum("quantity"))
        .values_list("item_id", "total")
    )


def _lock_items(item_ids: Iterable[int]) -> dict[int, ItemPage]:
    """Lock the items' rows in primary-key order: a fixed order means no deadlocks."""
    items = ItemPage.objects.select_for_update(of=("self",)).filter(pk__in=item_ids).order_by("pk")
    return {item.pk: item for item in items}


def _expiry(order: Order) -> datetime:
    """When a hold ends: minutes for a web checkout, longer for a phone order's emailed link."""
    if order.channel == Order.Channel.PHONE:
        return timezone.now() + timedelta(hours=settings.VITRINE_PHONE_ORDER_HOLD_HOURS)
    return timezone.now() + timedelta(minutes=settings.VITRINE_RESERVATION_MINUTES)


def holds_recount(*, item_ids: Iterable[int]) -> None:
    """Keep each item's `held_until` (what pages and the API show as "Reserved") in step with
    its holds: set while every unit in stock is held, to when the first hold ends; cleared
    otherwise. Cached pages are refreshed when any of them changed."""
    now = timezone.now()
    holds: dict[int, list] = {}
    for item_id, quantity, expires_at in (
        _active_reservations(now)
        .filter(item_id__in=item_ids)
        .values_list("item_id", "quantity", "expires_at")
    ):
        holds.setdefault(item_id, []).append((quantity, expires_at))
    changed = []
    for item_id, stock, was in ItemPage.objects.filter(pk__in=item_ids).values_list(
        "pk", "quantity", "held_until"
    ):
        mine = holds.get(item_id, [])
        fully_held = stock > 0 and sum(quantity for quantity, _ in mine) >= stock
        until = min(expires for _, expires in mine) if fully_held else None
        if until != was:
            ItemPage.objects.filter(pk=item_id).update(held_until=until)
            changed.append(item_id)
    holds_changed(changed)


@transaction.atomic
def reservation_release_expired() -> int:
    """Release reservations whose time is up (availability already ignores them)."""
    expired = Reservation.objects.filter(
        status=Reservation.Status.ACTIVE, expires_at__lte=timezone.now()
    )
    item_ids = set(expired.values_list("item_id", flat=True))
    released = expired.update(status=Reservation.Status.RELEASED)
    holds_recount(item_ids=item_ids)
    return released


def _release(order: Order) -> None:
    active = order.reservations.filter(status=Reservation.Status.ACTIVE)
    item_ids = set(active.values_list("item_id", flat=True))
    active.update(status=Reservation.Status.RELEASED)
    holds_recount(item_ids=item_ids)


def _reserve_again(order: Order) -> None:
    """Hold the order's items again before a new payment attempt, if nobody bought them."""
    lines = list(OrderLine.objects.filter(vendor_order__order=order))
    held = {reservation.item_id for reservation in _active_reservations().filter(order=order)}
    missing = [line for line in lines if line.item_id not in held]
    if not missing:
        order.reservations.filter(status=Reservation.Status.ACTIVE).update(
            expires_at=_expiry(order)
        )
        holds_recount(item_ids=[line.item_id for line in lines if line.item_id])
        return
    items = _lock_items([line.item_id for line in lines if line.item_id])
    reserved = reserved_quantities(item_ids=list(items), exclude_order=order)
    gone = [
        line.title
        for line in missing
        if line.item_id not in items
        or not items[line.item_id].live
        or items[line.item_id].quantity - reserved.get(line.item_id, 0) < line.quantity
    ]
    if gone:
        raise ItemsUnavailable(gone)
    order.reservations.filter(status=Reservation.Status.ACTIVE).update(expires_at=_expiry(order))
    Reservation.objects.bulk_create(
        Reservation(
            item_id=line.item_id, order=order, quantity=line.quantity, expires_at=_expiry(order)
        )
        for line in missing
        if line.item_id is not None  # always: a line without an item is in `gone` above
    )
    holds_recount(item_ids=items)
