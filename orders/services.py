"""Writes for carts, orders, stock and payments. Every function is keyword-only and atomic.

Stock rule: an item's availability is its quantity minus its active, unexpired reservations.
Checkout locks the items' rows in primary-key order (so two carts holding the same items in
any order cannot deadlock), re-checks availability and reserves. Payment turns reservations
into sales; expiry, failure and cancellation release them.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q, Sum
from django.utils import timezone

from home import page_cache
from policies import emails as policy_emails
from products.models import ItemPage
from vendors.models import ShopPage, Vendor, takes_orders

from . import emails, stripe_api
from .models import (
    Cart,
    CartItem,
    Order,
    OrderLine,
    PayoutEntry,
    Reservation,
    StripeEvent,
    VendorOrder,
)
from .money import commission_on

logger = logging.getLogger(__name__)

CART_SESSION_KEY = "cart_id"


class ItemsUnavailable(Exception):
    """Some items sold (or were withdrawn) before this shopper could have them."""

    def __init__(self, titles: list[str]):
        self.titles = titles
        listed = ", ".join(f"“{title}”" for title in titles)
        super().__init__(f"Sorry, {listed} has just sold." if len(titles) == 1 else
                         f"Sorry, these have just sold: {listed}.")  # fmt: skip
        self.shopper_message = str(self)


@dataclass(frozen=True)
class ShippingAddress:
    name: str
    line1: str
    city: str
    postcode: str
    country: str
    line2: str = ""
    phone: str = ""


# --- Cart -------------------------------------------------------------------------------------


def cart_for_request(request, *, create: bool = False) -> Cart | None:
    """The shopper's cart: the account's when signed in, else the one named in the session."""
    user = request.user
    if user.is_authenticated:
        cart = Cart.objects.filter(user=user).first()
        if cart is None and create:
            cart = Cart.objects.create(user=user)
        return cart
    cart_id = request.session.get(CART_SESSION_KEY)
    cart = Cart.objects.filter(pk=cart_id, user__isnull=True).first() if cart_id else None
    if cart is None and create:
        cart = Cart.objects.create()
        request.session[CART_SESSION_KEY] = cart.pk
    return cart


def _shops_of(items) -> dict[str, ShopPage]:
    """The items' shops (with vendors), by tree path: one query."""
    paths = {item.path[: -ShopPage.steplen] for item in items}
    return {
        shop.path: shop for shop in ShopPage.objects.filter(path__in=paths).select_related("vendor")
    }


def _buyable(items) -> tuple[list[ItemPage], list[str]]:
    """Split items into those a shopper can buy now and notices about the rest."""
    items = list(items)
    reserved = reserved_quantities(item_ids=[item.pk for item in items])
    shops = _shops_of(items)
    buyable, notices = [], []
    for item in items:
        shop = shops.get(item.path[: -ShopPage.steplen])
        if not item.live:
            notices.append(f"“{item.title}” is no longer for sale and was removed from your cart.")
        elif item.quantity - reserved.get(item.pk, 0) <= 0:
            if item.quantity <= 0:
                notices.append(f"“{item.title}” has sold and was removed from your cart.")
            else:
                notices.append(
                    f"“{item.title}” is being bought by someone else right now and was removed "
                    "from your cart. If their payment does not go through it will be back soon."
                )
        elif shop is None or not takes_orders(live=shop.live, vendor_status=shop.vendor.status):
            notices.append(f"“{item.title}”: this shop is not taking orders at the moment.")
        else:
            buyable.append(item)
    return buyable, notices


@transaction.atomic
def cart_add(*, request, item_id: int) -> tuple[bool, str]:
    """Put an item in the cart. Returns (added, message for the shopper)."""
    item = ItemPage.objects.filter(pk=item_id).first()
    if item is None:
        return False, "That item could not be found."
    buyable, notices = _buyable([item])
    if not buyable:
        return False, notices[0].replace(" and was removed from your cart", "")
    cart = cart_for_request(request, create=True)
    _, created = CartItem.objects.get_or_create(cart=cart, item=item)
    Cart.objects.filter(pk=cart.pk).update(updated_at=timezone.now())
    if not created:
        return True, f"“{item.title}” is already in your cart."
    return True, f"“{item.title}” was added to your cart."


@transaction.atomic
def cart_remove(*, request, item_id: int) -> bool:
    cart = cart_for_request(request)
    if cart is None:
        return False
    deleted, _ = CartItem.objects.filter(cart=cart, item_id=item_id).delete()
    return bool(deleted)


@transaction.atomic
def cart_prune(*, cart: Cart) -> list[str]:
    """Drop sold, withdrawn or unbuyable items from the cart; return a notice for each."""
    lines = list(cart.lines.select_related("item"))
    buyable, notices = _buyable(line.item for line in lines)
    keep = {item.pk for item in buyable}
    gone = [line.pk for line in lines if line.item_id not in keep]
    if gone:  # viewing an unchanged cart writes nothing (SQLite: no write lock for a GET)
        CartItem.objects.filter(pk__in=gone).delete()
    return notices


@transaction.atomic
def cart_merge_into_account(*, user, anonymous_cart_id: int | None) -> None:
    """At login, move what the shopper put in the cart while signed out into the account's."""
    if not anonymous_cart_id:
        return
    anonymous = Cart.objects.filter(pk=anonymous_cart_id, user__isnull=True).first()
    if anonymous is None:
        return
    account_cart, _ = Cart.objects.get_or_create(user=user)
    have = set(account_cart.lines.values_list("item_id", flat=True))
    for line in anonymous.lines.exclude(item_id__in=have):
        CartItem.objects.create(cart=account_cart, item_id=line.item_id)
    anonymous.delete()


# --- Stock ------------------------------------------------------------------------------------


def _active_reservations(now=None):
    return Reservation.objects.filter(
        status=Reservation.Status.ACTIVE, expires_at__gt=now or timezone.now()
    )


def reserved_quantities(*, item_ids, exclude_order: Order | None = None) -> dict[int, int]:
    reservations = _active_reservations().filter(item_id__in=item_ids)
    if exclude_order is not None:
        reservations = reservations.exclude(order=exclude_order)
    return dict(
        reservations.values_list("item_id")
        .annotate(total=Sum("quantity"))
        .values_list("item_id", "total")
    )


def _lock_items(item_ids) -> dict[int, ItemPage]:
    """Lock the items' rows in primary-key order: a fixed order means no deadlocks."""
    items = ItemPage.objects.select_for_update(of=("self",)).filter(pk__in=item_ids).order_by("pk")
    return {item.pk: item for item in items}


def _expiry(order: Order):
    """When a hold ends: minutes for a web checkout, longer for a phone order's emailed link."""
    if order.channel == Order.Channel.PHONE:
        return timezone.now() + timedelta(hours=settings.VITRINE_PHONE_ORDER_HOLD_HOURS)
    return timezone.now() + timedelta(minutes=settings.VITRINE_RESERVATION_MINUTES)


@transaction.atomic
def reservation_release_expired() -> int:
    """Release reservations whose time is up (availability already ignores them)."""
    return Reservation.objects.filter(
        status=Reservation.Status.ACTIVE, expires_at__lte=timezone.now()
    ).update(status=Reservation.Status.RELEASED)


def _release(order: Order) -> None:
    order.reservations.filter(status=Reservation.Status.ACTIVE).update(
        status=Reservation.Status.RELEASED
    )


def _reserve_again(order: Order) -> None:
    """Hold the order's items again before a new payment attempt, if nobody bought them."""
    lines = list(OrderLine.objects.filter(vendor_order__order=order))
    held = {reservation.item_id for reservation in _active_reservations().filter(order=order)}
    missing = [line for line in lines if line.item_id not in held]
    if not missing:
        order.reservations.filter(status=Reservation.Status.ACTIVE).update(
            expires_at=_expiry(order)
        )
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
    )


# --- Checkout ---------------------------------------------------------------------------------


@transaction.atomic
def order_place(
    *, cart: Cart, customer, email: str, address: ShippingAddress, testimonial_opt_in: bool = False
) -> Order:
    """Create the order from the cart, holding every item for the reservation window.

    Prices, quantities and currency come from the database only. Raises ItemsUnavailable
    (nothing written, the cart untouched) when any item sold in the meantime.
    """
    order = _order_create(
        item_ids=list(cart.lines.values_list("item_id", flat=True)),
        email=email,
        address=address,
        cart=cart,
        customer=customer if customer and customer.is_authenticated else None,
        testimonial_opt_in=testimonial_opt_in,
    )
    transaction.on_commit(lambda: emails.send(kind="placed", order_id=order.pk))
    return order


@transaction.atomic
def phone_order_record(
    *, vendor: Vendor, recorded_by, item_ids: list[int], email: str,
    address: ShippingAddress, note: str = "",
) -> Order:  # fmt: skip
    """A shop records an order taken by phone: the pieces are held and the shopper is emailed
    a payment link. The shop never handles card numbers."""
    shop = vendor.shop
    if not shop.published_phone_number:
        raise PhoneOrdersClosed("Turn on phone orders (and publish a number) on your shop first.")
    own = set(ItemPage.objects.child_of(shop).filter(pk__in=item_ids).values_list("pk", flat=True))
    if not item_ids or own != set(item_ids):
        raise ItemsUnavailable(["an item that is not in your shop"])
    order = _order_create(
        item_ids=item_ids,
        email=email,
        address=address,
        channel=Order.Channel.PHONE,
        call_note=note,
        recorded_by=recorded_by,
    )
    transaction.on_commit(lambda: emails.send(kind="phone_order", order_id=order.pk))
    return order


class PhoneOrdersClosed(Exception):
    """The shop does not publish a phone number, so it does not take phone orders."""


def _order_create(
    *, item_ids: list[int], email: str, address: ShippingAddress, **order_fields
) -> Order:
    """Lock, re-check and hold the items; write the order, its shop parts and lines."""
    if not item_ids:
        raise ItemsUnavailable([])
    items = _lock_items(item_ids)
    buyable, _notices = _buyable(items.values())
    unavailable = [items[pk].title for pk in item_ids if pk in items and items[pk] not in buyable]
    unavailable += ["an item"] * len([pk for pk in item_ids if pk not in items])
    if unavailable:
        raise ItemsUnavailable(unavailable)

    shops = _shops_of(buyable)
    by_vendor: dict[int, list[ItemPage]] = {}
    for item in buyable:
        by_vendor.setdefault(shops[item.path[: -ShopPage.steplen]].vendor_id, []).append(item)
    subtotal = sum((item.price for item in buyable), Decimal("0"))

    order = Order(
        email=email,
        currency=settings.VITRINE_CURRENCY,
        subtotal=subtotal,
        total=subtotal,
        shipping_name=address.name,
        shipping_line1=address.line1,
        shipping_line2=address.line2,
        shipping_city=address.city,
        shipping_postcode=address.postcode,
        shipping_country=address.country,
        shipping_phone=address.phone,
        **order_fields,
    )
    order.full_clean()
    order.save()
    vendors = Vendor.objects.in_bulk(list(by_vendor))
    for vendor_id, vendor_items in by_vendor.items():
        vendor = vendors[vendor_id]
        vendor_subtotal = sum((item.price for item in vendor_items), Decimal("0"))
        vendor_order = VendorOrder.objects.create(
            order=order,
            vendor=vendor,
            subtotal=vendor_subtotal,
            commission_rate=vendor.commission_rate,
            commission=commission_on(vendor_subtotal, vendor.commission_rate),
        )
        OrderLine.objects.bulk_create(
            OrderLine(vendor_order=vendor_order, item=item, title=item.title, unit_price=item.price)
            for item in vendor_items
        )
    Reservation.objects.bulk_create(
        Reservation(item=item, order=order, quantity=1, expires_at=_expiry(order))
        for item in buyable
    )
    return order


@dataclass(frozen=True)
class PaymentOutcome:
    status: str  # "paid", "processing" or "requires_action"
    client_secret: str = ""


def order_pay(*, order: Order, card_token: str) -> PaymentOutcome:
    """Charge the shopper's card (a Stripe.js token) for the order, once.

    The order row stays locked through the Stripe calls, so a second click waits and then finds
    the order paid. Each attempt has its own idempotency keys; an attempt that failed for a
    reason other than the card is rolled back, so retrying replays the same keys and Stripe
    answers with what it already did. Raises CardDeclined (another card may work),
    ItemsUnavailable or PaymentServiceError; the order and its cart are kept in every case.
    """
    declined = None
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.status == Order.Status.PAID:
            return PaymentOutcome("paid")
        if not order.is_payable:
            raise stripe_api.PaymentServiceError(f"order {order.reference} is {order.status}")
        if order.payment_intent_id:
            intent = stripe_api.payment_intent_retrieve(payment_intent_id=order.payment_intent_id)
            if intent.status in {"succeeded", "processing"}:
                return _settle(order=order, intent=intent)
        _reserve_again(order)
        order.payment_attempts += 1
        attempt = f"{order.reference}-{order.payment_attempts}"
        if not order.stripe_customer_id:
            order.stripe_customer_id = _stripe_customer_for(order)
        try:
            card_id = stripe_api.customer_add_card(
                customer_id=order.stripe_customer_id,
                card_token=card_token,
                idempotency_key=f"{attempt}-card",
            )
            intent = stripe_api.payment_intent_create_and_confirm(
                amount=order.total,
                currency=order.currency,
                customer_id=order.stripe_customer_id,
                payment_method_id=card_id,
                order_reference=order.reference,
                idempotency_key=f"{attempt}-payment-intent",
            )
        except stripe_api.CardDeclined as error:
            # Kept (committed): the next card is a new attempt with new keys.
            declined, order.payment_error = error, error.shopper_message
            order.save(update_fields=["payment_attempts", "stripe_customer_id", "payment_error"])
        else:
            order.payment_intent_id, order.payment_error = intent.id, ""
            order.save(
                update_fields=[
                    "payment_attempts", "stripe_customer_id", "payment_intent_id", "payment_error",
                ]
            )  # fmt: skip
            if intent.status == "requires_action":
                return PaymentOutcome("requires_action", client_secret=intent.client_secret)
            return _settle(order=order, intent=intent)
    raise declined


def _stripe_customer_for(order: Order) -> str:
    customer = order.customer
    if customer is not None and getattr(customer, "stripe_customer_id", ""):
        return customer.stripe_customer_id
    customer_id = stripe_api.customer_create(
        email=order.email, idempotency_key=f"{order.reference}-customer"
    )
    if customer is not None and hasattr(customer, "stripe_customer_id"):
        type(customer).objects.filter(pk=customer.pk).update(stripe_customer_id=customer_id)
    return customer_id


def _settle(*, order: Order, intent: stripe_api.PaymentIntentInfo) -> PaymentOutcome:
    if intent.status == "succeeded":
        order_mark_paid(payment_intent=intent)
        return PaymentOutcome("paid")
    return PaymentOutcome("processing")


@transaction.atomic
def order_confirm_from_stripe(*, order: Order) -> Order:
    """The return page asks Stripe (never the query string) and settles what it learns."""
    if order.status == Order.Status.PENDING and order.payment_intent_id:
        intent = stripe_api.payment_intent_retrieve(payment_intent_id=order.payment_intent_id)
        if intent.status == "succeeded":
            order_mark_paid(payment_intent=intent)
        elif intent.status == "canceled":
            order_payment_canceled(payment_intent=intent)
        elif intent.status == "requires_payment_method":  # failed: free the pieces, say so
            order_payment_failed(payment_intent=intent)
    order.refresh_from_db()
    return order


@transaction.atomic
def order_mark_paid(*, payment_intent: stripe_api.PaymentIntentInfo) -> Order | None:
    """Move an order to paid, exactly once, whichever path (webhook or return page) comes first.

    Locks the order row; a second caller finds it paid and does nothing. If an item sold while
    the shopper paid (their hold had expired), that item's line is refunded and the rest of the
    order is paid; if every item sold, the whole payment is refunded. The shopper is told once.
    """
    order = (
        Order.objects.select_for_update().filter(reference=payment_intent.order_reference).first()
    )
    if order is None:
        logger.error(
            "payment %s names no known order",
            payment_intent.id,
            extra={"order_reference": payment_intent.order_reference},
        )
        return None
    if order.status == Order.Status.PAID:
        return order
    if payment_intent.amount != order.total or payment_intent.currency != order.currency:
        logger.error(
            "order %s: payment %s is for %s %s, order total %s %s: not marked paid",
            order.reference, payment_intent.id, payment_intent.amount,
            payment_intent.currency, order.total, order.currency,
            extra={"order_reference": order.reference},
        )  # fmt: skip
        return order
    if order.status == Order.Status.REFUNDED and order.payment_intent_id == payment_intent.id:
        return order  # this payment was refunded already (a repeated or second event)
    if order.status != Order.Status.PENDING:
        _refund_whole(order=order, payment_intent_id=payment_intent.id, reason="not_payable")
        return order

    lines = list(OrderLine.objects.filter(vendor_order__order=order))
    items = _lock_items([line.item_id for line in lines if line.item_id])
    held = dict(
        _active_reservations()
        .filter(order=order)
        .values_list("item_id")
        .annotate(total=Sum("quantity"))
        .values_list("item_id", "total")
    )
    reserved_by_others = reserved_quantities(item_ids=list(items), exclude_order=order)
    gone = [
        line
        for line in lines
        if line.item_id not in items
        or (
            held.get(line.item_id, 0) < line.quantity
            and items[line.item_id].quantity - reserved_by_others.get(line.item_id, 0)
            < line.quantity
        )
    ]
    if len(gone) == len(lines):
        order.payment_intent_id = payment_intent.id
        order.save(update_fields=["payment_intent_id"])
        _refund_whole(order=order, payment_intent_id=payment_intent.id, reason="sold_meanwhile")
        return order
    if gone:
        # The rest is still theirs: refund only the pieces that sold, then sell the others.
        _refund_sold_meanwhile(order=order, payment_intent_id=payment_intent.id, gone=gone)
    kept = [line for line in lines if line not in gone]

    for line in kept:
        ItemPage.objects.filter(pk=line.item_id).update(quantity=F("quantity") - line.quantity)
    order.reservations.filter(status=Reservation.Status.ACTIVE).update(
        status=Reservation.Status.CONSUMED
    )
    order.status = Order.Status.PAID
    order.paid_at = timezone.now()
    order.payment_intent_id = payment_intent.id
    order.payment_error = ""
    order.save(update_fields=["status", "paid_at", "payment_intent_id", "payment_error"])
    for vendor_order in order.vendor_orders.all():
        if vendor_order.status == VendorOrder.Status.CANCELLED:
            continue  # every piece of this shop's part sold meanwhile: nothing to send or pay
        vendor_order.status = VendorOrder.Status.PAID
        vendor_order.save(update_fields=["status"])
        PayoutEntry.objects.create(
            vendor_order=vendor_order,
            kind=PayoutEntry.Kind.EARNED,
            amount=vendor_order.payout_amount,
        )
    # The items are sold: out of this shopper's cart (and anyone else's).
    CartItem.objects.filter(item_id__in=[line.item_id for line in kept]).delete()
    kind = "paid_sold_meanwhile" if gone else "paid"
    transaction.on_commit(lambda: emails.send(kind=kind, order_id=order.pk))
    transaction.on_commit(page_cache.bump)  # shop pages now show these pieces as sold
    return order


def _refund_sold_meanwhile(*, order: Order, payment_intent_id: str, gone: list[OrderLine]) -> None:
    """Refund exactly the lines whose pieces sold to someone else, and take them out of their
    shops' parts: a part left with nothing is cancelled, the others are re-totalled so that
    subtotal, commission and payout count only what the shop sends."""
    stripe_api.refund_create(
        payment_intent_id=payment_intent_id,
        amount=sum((line.line_total for line in gone), Decimal("0")),
        currency=order.currency,
        # One key per order: a retry replays this refund, and a retry that would refund a
        # different amount is refused by Stripe rather than refunding twice.
        idempotency_key=f"{order.reference}-refund-sold_meanwhile-lines",
    )
    OrderLine.objects.filter(pk__in=[line.pk for line in gone]).update(
        status=OrderLine.Status.SOLD_MEANWHILE
    )
    order.reservations.filter(
        status=Reservation.Status.ACTIVE,
        item_id__in=[line.item_id for line in gone if line.item_id],
    ).update(status=Reservation.Status.RELEASED)
    for vendor_order in order.vendor_orders.prefetch_related("lines"):
        kept = vendor_order.kept_lines
        vendor_order.subtotal = sum((line.line_total for line in kept), Decimal("0"))
        vendor_order.commission = commission_on(vendor_order.subtotal, vendor_order.commission_rate)
        if not kept:
            vendor_order.status = VendorOrder.Status.CANCELLED
        vendor_order.save(update_fields=["subtotal", "commission", "status"])


def _refund_whole(*, order: Order, payment_intent_id: str, reason: str) -> None:
    stripe_api.refund_create(
        payment_intent_id=payment_intent_id,
        amount=order.total,
        currency=order.currency,
        idempotency_key=f"{order.reference}-refund-{reason}",
    )
    _release(order)
    order.status = Order.Status.REFUNDED
    order.payment_intent_id = payment_intent_id
    order.save(update_fields=["status", "payment_intent_id"])
    order.vendor_orders.update(status=VendorOrder.Status.CANCELLED)
    transaction.on_commit(lambda: emails.send(kind=f"refunded_{reason}", order_id=order.pk))


@transaction.atomic
def order_payment_failed(*, payment_intent: stripe_api.PaymentIntentInfo) -> None:
    """A failed payment frees the items; the order stays open so the shopper can try again."""
    order = (
        Order.objects.select_for_update()
        .filter(reference=payment_intent.order_reference, status=Order.Status.PENDING)
        .first()
    )
    # A late failure of an earlier attempt must not free the pieces a newer payment holds.
    if order is None or order.payment_intent_id not in {"", payment_intent.id}:
        return
    failed = "Your payment did not go through. You can try again with another card."
    already_told = order.payment_error == failed  # webhook and return page: one email
    _release(order)
    order.payment_error = failed
    order.save(update_fields=["payment_error"])
    if not already_told:
        transaction.on_commit(lambda: emails.send(kind="payment_failed", order_id=order.pk))


@transaction.atomic
def order_cancel(*, order: Order, reason: str = "cancelled") -> Order:
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.status != Order.Status.PENDING:
        return order
    _release(order)
    order.status = Order.Status.CANCELLED
    order.save(update_fields=["status"])
    order.vendor_orders.update(status=VendorOrder.Status.CANCELLED)
    transaction.on_commit(lambda: emails.send(kind="cancelled", order_id=order.pk))
    return order


@transaction.atomic
def order_payment_canceled(*, payment_intent: stripe_api.PaymentIntentInfo) -> None:
    order = Order.objects.filter(reference=payment_intent.order_reference).first()
    if order is not None and order.payment_intent_id in {"", payment_intent.id}:
        order_cancel(order=order)


@transaction.atomic
def order_refunded_at_stripe(*, payment_intent_id: str, amount_refunded: Decimal) -> None:
    """A refund made at Stripe (dashboard or ours): a full refund closes the whole order.

    `amount_refunded` is the charge's running total. Anything less than the charge (`total`) is
    a partial refund (a shop's part, the pieces that sold while the shopper paid, or one made by
    hand) and closes nothing.
    """
    order = Order.objects.select_for_update().filter(payment_intent_id=payment_intent_id).first()
    if order is None or order.status == Order.Status.REFUNDED or amount_refunded < order.total:
        return
    order.status = Order.Status.REFUNDED
    order.save(update_fields=["status"])
    # A part cancelled because its pieces sold meanwhile was never paid out: nothing to reverse.
    for vendor_order in order.vendor_orders.exclude(
        status__in=[VendorOrder.Status.REFUNDED, VendorOrder.Status.CANCELLED]
    ):
        vendor_order.status = VendorOrder.Status.REFUNDED
        vendor_order.save(update_fields=["status"])
        PayoutEntry.objects.get_or_create(
            vendor_order=vendor_order,
            kind=PayoutEntry.Kind.REVERSED,
            defaults={"amount": -vendor_order.payout_amount},
        )
    _status_email(order=order, kind="refunded")


# --- Webhooks ---------------------------------------------------------------------------------


def _on_payment_succeeded(data: dict) -> None:
    order_mark_paid(payment_intent=stripe_api.payment_intent_from_event(data))


def _on_payment_failed(data: dict) -> None:
    order_payment_failed(payment_intent=stripe_api.payment_intent_from_event(data))


def _on_payment_canceled(data: dict) -> None:
    order_payment_canceled(payment_intent=stripe_api.payment_intent_from_event(data))


def _on_charge_refunded(data: dict) -> None:
    from .money import from_minor_units

    if data.get("payment_intent"):
        order_refunded_at_stripe(
            payment_intent_id=data["payment_intent"],
            amount_refunded=from_minor_units(int(data["amount_refunded"]), data["currency"]),
        )


WEBHOOK_HANDLERS = {
    "payment_intent.succeeded": _on_payment_succeeded,
    "payment_intent.payment_failed": _on_payment_failed,
    "payment_intent.canceled": _on_payment_canceled,
    "charge.refunded": _on_charge_refunded,
}


def stripe_event_handle(*, event: dict) -> bool:
    """Handle a verified event once. Returns False when this event id was already handled."""
    handler = WEBHOOK_HANDLERS.get(event["type"])
    try:
        with transaction.atomic():
            StripeEvent.objects.create(event_id=event["id"], type=event["type"])
            if handler is not None:
                handler(event["data"]["object"])
    except IntegrityError:
        return False
    return True


# --- Order desk (a shop fulfils its part) -----------------------------------------------------


class TransitionNotAllowed(Exception):
    """The vendor order is not in a state where this step makes sense."""


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
    """Mark a shop's part shipped with tracking, and pay the shop out if it has Stripe Connect."""
    vendor_order = _lock_vendor_order(vendor_order)
    if vendor_order.status != VendorOrder.Status.PAID:
        raise TransitionNotAllowed(
            f"Only paid orders can be shipped (this one is {vendor_order.get_status_display().lower()})."
        )
    vendor_order.status = VendorOrder.Status.SHIPPED
    vendor_order.carrier = carrier.strip()
    vendor_order.tracking_number = tracking_number.strip()
    vendor_order.shipped_at = timezone.now()
    vendor_order.full_clean()
    vendor_order.save()
    try:
        payout_transfer(vendor_order=vendor_order)
    except stripe_api.PaymentServiceError:
        # Shipping is recorded regardless; the ledger still shows the payout as owed.
        logger.exception(
            "order %s: payout transfer failed",
            vendor_order.order.reference,
            extra={"order_reference": vendor_order.order.reference},
        )
    transaction.on_commit(
        lambda: emails.send(
            kind="shipped", order_id=vendor_order.order_id, vendor_order_id=vendor_order.pk
        )
    )
    return vendor_order


@transaction.atomic
def vendor_order_deliver(*, vendor_order: VendorOrder) -> VendorOrder:
    vendor_order = _lock_vendor_order(vendor_order)
    if vendor_order.status != VendorOrder.Status.SHIPPED:
        raise TransitionNotAllowed("Only shipped orders can be marked delivered.")
    vendor_order.status = VendorOrder.Status.DELIVERED
    vendor_order.delivered_at = timezone.now()
    vendor_order.save(update_fields=["status", "delivered_at"])
    _status_email(order=vendor_order.order, kind="delivered", vendor_order_id=vendor_order.pk)
    # The shopper may now write a verified-buyer testimonial (policies owns the invitation),
    # unless they erased their account: what is kept serves the delivery, not new requests.
    if vendor_order.order.erase_when_fulfilled_at is None:
        transaction.on_commit(
            lambda: policy_emails.send_testimonial_invitation(vendor_order_id=vendor_order.pk)
        )
    return vendor_order


@transaction.atomic
def vendor_order_refund(*, vendor_order: VendorOrder) -> VendorOrder:
    """Refund one shop's part to the shopper's card and put its pieces back on sale."""
    vendor_order = _lock_vendor_order(vendor_order)
    order = vendor_order.order
    if vendor_order.status not in {
        VendorOrder.Status.PAID,
        VendorOrder.Status.SHIPPED,
        VendorOrder.Status.DELIVERED,
    }:
        raise TransitionNotAllowed("Only paid orders can be refunded.")
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
    vendor_order.status = VendorOrder.Status.REFUNDED
    vendor_order.save(update_fields=["status"])
    PayoutEntry.objects.get_or_create(
        vendor_order=vendor_order,
        kind=PayoutEntry.Kind.REVERSED,
        defaults={"amount": -vendor_order.payout_amount},
    )
    transaction.on_commit(page_cache.bump)  # back on sale
    if not order.vendor_orders.exclude(
        status__in=[VendorOrder.Status.REFUNDED, VendorOrder.Status.CANCELLED]
    ).exists():
        Order.objects.filter(pk=order.pk).update(status=Order.Status.REFUNDED)
    _status_email(order=order, kind="vendor_refunded", vendor_order_id=vendor_order.pk)
    return vendor_order


# --- Orders kept for delivery after their shopper's account was erased ------------------------


def _status_email(*, order: Order, kind: str, vendor_order_id: int | None = None) -> None:
    """Queue a fulfilment step's email after commit. If the step closed the last open part of
    an order kept for delivery after its shopper's erasure, that order's personal data goes
    right after this email is sent: the task re-reads the order, so it cannot go before."""
    closes = (
        order.erase_when_fulfilled_at is not None and not VendorOrder.open_parts(order.pk).exists()
    )
    send = emails.send_then_erase if closes else emails.send
    transaction.on_commit(
        lambda: send(kind=kind, order_id=order.pk, vendor_order_id=vendor_order_id)
    )


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
def orders_erase_overdue(*, shipped_before, dry_run: bool = False) -> list[str]:
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


def payout_transfer(*, vendor_order: VendorOrder) -> PayoutEntry | None:
    """Transfer the shop's share to its Stripe Connect account, once (separate charges and
    transfers, grouped by the order reference). Shops without an account are paid manually
    from the ledger."""
    vendor = vendor_order.vendor
    if not vendor.stripe_account_id:
        return None
    existing = PayoutEntry.objects.filter(
        vendor_order=vendor_order, kind=PayoutEntry.Kind.TRANSFERRED
    ).first()
    if existing is not None:
        return existing
    order = vendor_order.order
    transfer_id = stripe_api.transfer_create(
        amount=vendor_order.payout_amount,
        currency=order.currency,
        destination_account=vendor.stripe_account_id,
        transfer_group=order.reference,
        idempotency_key=f"{order.reference}-transfer-{vendor_order.pk}",
    )
    return PayoutEntry.objects.create(
        vendor_order=vendor_order,
        kind=PayoutEntry.Kind.TRANSFERRED,
        amount=vendor_order.payout_amount,
        stripe_transfer_id=transfer_id,
    )


# --- Payment links (phone orders and emails) --------------------------------------------------

PAY_LINK_SALT = "vitrine.orders.pay-link"


class PayLinkInvalid(Exception):
    def __init__(self, message: str, order: Order | None = None):
        super().__init__(message)
        self.order = order


def pay_link_token(*, order: Order) -> str:
    """A signed, expiring token naming the order, for `/pay/<token>/` links in emails."""
    return signing.dumps({"ref": order.reference}, salt=PAY_LINK_SALT, compress=True)


def pay_link_order(*, token: str) -> Order:
    """The payable order a link names. Refuses tampered, expired or already used links."""
    max_age = timedelta(hours=settings.VITRINE_PHONE_ORDER_HOLD_HOURS)
    try:
        data = signing.loads(token, salt=PAY_LINK_SALT, max_age=max_age)
    except signing.SignatureExpired as error:
        raise PayLinkInvalid("This payment link has expired.") from error
    except signing.BadSignature as error:
        raise PayLinkInvalid("This payment link is not valid.") from error
    order = Order.objects.filter(reference=data.get("ref")).first()
    if order is None:
        raise PayLinkInvalid("This payment link is not valid.")
    if not order.is_payable:
        raise PayLinkInvalid("This payment link has already been used.", order=order)
    return order
