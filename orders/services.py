"""Writes for carts, orders, stock and payments. Every function is keyword-only and atomic.

Stock rule: an item's availability is its quantity minus its active, unexpired reservations.
Checkout locks the items' rows in primary-key order (so two carts holding the same items in
any order cannot deadlock), re-checks availability and reserves. Payment turns reservations
into sales; expiry, failure and cancellation release them.
"""

import ipaddress
import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, Max, OuterRef, Q, Sum
from django.utils import timezone
from django.utils.crypto import salted_hmac

from home import page_cache
from policies import emails as policy_emails
from products.models import ItemPage
from vendors.models import ShopPage, Vendor, takes_orders

from . import emails, stripe_api
from .models import (
    Cart,
    CartItem,
    DisputeStatus,
    Order,
    OrderLine,
    PaymentAttempt,
    PayoutEntry,
    Reservation,
    StripeEvent,
    VendorOrder,
)
from .money import commission_on, from_minor_units

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


def _holds_changed(item_ids) -> None:
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
    changed = False
    for item_id, stock, was in ItemPage.objects.filter(pk__in=item_ids).values_list(
        "pk", "quantity", "held_until"
    ):
        mine = holds.get(item_id, [])
        fully_held = stock > 0 and sum(quantity for quantity, _ in mine) >= stock
        until = min(expires for _, expires in mine) if fully_held else None
        if until != was:
            ItemPage.objects.filter(pk=item_id).update(held_until=until)
            changed = True
    if changed:
        transaction.on_commit(page_cache.bump)


def holds_recount(*, item_ids) -> None:
    """After a shop changes its stock: whether its pieces are fully held may have changed."""
    _holds_changed(item_ids)


@transaction.atomic
def reservation_release_expired() -> int:
    """Release reservations whose time is up (availability already ignores them)."""
    expired = Reservation.objects.filter(
        status=Reservation.Status.ACTIVE, expires_at__lte=timezone.now()
    )
    item_ids = set(expired.values_list("item_id", flat=True))
    released = expired.update(status=Reservation.Status.RELEASED)
    _holds_changed(item_ids)
    return released


def _release(order: Order) -> None:
    active = order.reservations.filter(status=Reservation.Status.ACTIVE)
    item_ids = set(active.values_list("item_id", flat=True))
    active.update(status=Reservation.Status.RELEASED)
    _holds_changed(item_ids)


def _reserve_again(order: Order) -> None:
    """Hold the order's items again before a new payment attempt, if nobody bought them."""
    lines = list(OrderLine.objects.filter(vendor_order__order=order))
    held = {reservation.item_id for reservation in _active_reservations().filter(order=order)}
    missing = [line for line in lines if line.item_id not in held]
    if not missing:
        order.reservations.filter(status=Reservation.Status.ACTIVE).update(
            expires_at=_expiry(order)
        )
        _holds_changed([line.item_id for line in lines if line.item_id])
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
    _holds_changed(items)


# --- Checkout ---------------------------------------------------------------------------------


class HoldRefused(Exception):
    """A checkout would hold more than one shopper may; `code` names the limit (the view says
    it in words), `limit` is its value."""

    TOO_MANY_PIECES = "too_many_pieces"  # in one checkout
    TOO_MANY_CHECKOUTS = "too_many_checkouts"  # unpaid at once, per session or email
    NETWORK_BUSY = "network_busy"  # pieces held from one network in the last hour

    def __init__(self, code: str, limit: int):
        super().__init__(f"{code} (limit {limit})")
        self.code, self.limit = code, limit


def client_key(ip: str | None) -> str:
    """A keyed hash naming the shopper's network (an IPv4 address, an IPv6 /64) for the hold
    limit: no address is stored."""
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        return ""
    if address.version == 6:
        address = ipaddress.ip_network(f"{address}/64", strict=False).network_address
    return salted_hmac("vitrine.orders.client-key", str(address)).hexdigest()[:32]


def _unpaid_with_holds():
    held = _active_reservations().filter(order=OuterRef("pk"))
    return Order.objects.filter(status=Order.Status.PENDING).filter(Exists(held))


def _check_hold_limits(*, cart: Cart, email: str, customer, key: str, pieces: int) -> None:
    """Nobody holds the catalogue: a checkout holds a few pieces, a shopper (session, email or
    account) has few unpaid checkouts at once, and one network holds few pieces an hour."""
    if pieces > settings.VITRINE_CHECKOUT_MAX_PIECES:
        raise HoldRefused(HoldRefused.TOO_MANY_PIECES, settings.VITRINE_CHECKOUT_MAX_PIECES)
    same_shopper = Q(cart=cart) | Q(email__iexact=email)
    if customer is not None:
        same_shopper |= Q(customer=customer)
    if _unpaid_with_holds().filter(same_shopper).count() >= settings.VITRINE_UNPAID_CHECKOUTS_MAX:
        raise HoldRefused(HoldRefused.TOO_MANY_CHECKOUTS, settings.VITRINE_UNPAID_CHECKOUTS_MAX)
    if key:
        held_lately = Reservation.objects.filter(
            order__client_key=key, created_at__gte=timezone.now() - timedelta(hours=1)
        ).aggregate(total=Sum("quantity"))["total"]
        if (held_lately or 0) + pieces > settings.VITRINE_HOLDS_PER_NETWORK_PER_HOUR:
            raise HoldRefused(HoldRefused.NETWORK_BUSY, settings.VITRINE_HOLDS_PER_NETWORK_PER_HOUR)


def _supersede_unpaid_checkouts(cart: Cart) -> None:
    """Checking the same cart out again replaces its earlier unpaid checkout (its holds would
    otherwise keep this shopper from their own pieces), unless a payment for it is under way."""
    paying = PaymentAttempt.objects.filter(
        order=OuterRef("pk"), status__in=PaymentAttempt.OPEN_STATUSES
    )
    for order in (
        Order.objects.select_for_update()
        .filter(cart=cart, status=Order.Status.PENDING)
        .exclude(Exists(paying))
    ):
        _release(order)
        order.status = Order.Status.CANCELLED
        order.save(update_fields=["status"])
        order.vendor_orders.update(status=VendorOrder.Status.CANCELLED)


@transaction.atomic
def order_place(
    *,
    cart: Cart,
    customer,
    email: str,
    address: ShippingAddress,
    client_ip: str | None = None,
    testimonial_opt_in: bool = False,
) -> Order:
    """Create the order from the cart, holding every item for the reservation window.

    Prices, quantities and currency come from the database only. Raises ItemsUnavailable
    (nothing written, the cart untouched) when any item sold in the meantime, and HoldRefused
    when the checkout would hold more than a shopper may (`_check_hold_limits`).
    """
    cart = Cart.objects.select_for_update().get(pk=cart.pk)  # one checkout per cart at a time
    customer = customer if customer and customer.is_authenticated else None
    item_ids = list(cart.lines.values_list("item_id", flat=True))
    _supersede_unpaid_checkouts(cart)
    key = client_key(client_ip)
    _check_hold_limits(cart=cart, email=email, customer=customer, key=key, pieces=len(item_ids))
    order = _order_create(
        item_ids=item_ids,
        email=email,
        address=address,
        cart=cart,
        customer=customer,
        client_key=key,
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
    if len(item_ids) > settings.VITRINE_CHECKOUT_MAX_PIECES:
        raise HoldRefused(HoldRefused.TOO_MANY_PIECES, settings.VITRINE_CHECKOUT_MAX_PIECES)
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
    _holds_changed([item.pk for item in buyable])
    return order


@dataclass(frozen=True)
class PaymentOutcome:
    status: str  # "paid", "processing" or "requires_action"
    client_secret: str = ""


# Stripe's PaymentIntent status → the attempt's. One table: the webhook, the return page, the
# pay button and reconciliation all read Stripe's answer through it.
ATTEMPT_STATUS_FOR_INTENT = {
    "requires_confirmation": PaymentAttempt.Status.CONFIRMING,
    "requires_action": PaymentAttempt.Status.REQUIRES_ACTION,
    "processing": PaymentAttempt.Status.PROCESSING,
    "requires_capture": PaymentAttempt.Status.PROCESSING,
    "succeeded": PaymentAttempt.Status.SUCCEEDED,
    "requires_payment_method": PaymentAttempt.Status.FAILED,
    "canceled": PaymentAttempt.Status.CANCELED,
}


def order_pay(*, order: Order, card_token: str) -> PaymentOutcome:
    """Charge the shopper's card (a Stripe.js token) for the order, once.

    Two steps, each under the order's row lock. First the attempt is stored with its
    PaymentIntent, created unconfirmed (it cannot charge yet), and committed; an open earlier
    attempt is settled if Stripe says it succeeded, else cancelled. Then the PaymentIntent is
    confirmed. Whatever stops us after Stripe charged (a crash, a lost answer), the stored
    attempt lets the webhook, the return page or `reconcile_payments` finish the order. The
    same token posted again (a double click) is the same attempt. Raises CardDeclined (another
    card may work), ItemsUnavailable or PaymentServiceError; the order is kept in every case.
    """
    outcome, attempt = _attempt_start(order=order, card_token=card_token)
    if outcome is not None:
        return outcome
    return _attempt_confirm(attempt=attempt)


def _attempt_start(
    *, order: Order, card_token: str
) -> tuple[PaymentOutcome | None, PaymentAttempt | None]:
    failure = None
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.status == Order.Status.PAID:
            return PaymentOutcome("paid"), None
        if not order.is_payable:
            raise stripe_api.PaymentServiceError(f"order {order.reference} is {order.status}")
        for attempt in _open_attempts(order):
            outcome = _attempt_resolve(
                order=order, attempt=attempt, superseding=attempt.card_token != card_token
            )
            if outcome is not None:
                return outcome, None
        _reserve_again(order)
        number = (order.attempts.aggregate(last=Max("number"))["last"] or 0) + 1
        attempt = PaymentAttempt.objects.create(
            order=order,
            number=number,
            idempotency_key=f"{order.reference}-{number}",
            card_token=card_token[:64],
            amount=order.total,
            currency=order.currency,
        )
        try:
            card_id = _card_for(order=order, card_token=card_token, key=attempt.idempotency_key)
            intent = stripe_api.payment_intent_create(
                amount=order.total,
                currency=order.currency,
                customer_id=order.stripe_customer_id,
                payment_method_id=card_id,
                order_reference=order.reference,
                idempotency_key=f"{attempt.idempotency_key}-create",
            )
        except stripe_api.PaymentServiceError as error:
            # Kept (committed), declined or not: the next try is a new attempt with new keys,
            # never the same keys with another card. A PaymentIntent made before an answer was
            # lost is unconfirmed: it can never charge.
            failure = error
            if isinstance(error, stripe_api.CardDeclined):
                order.payment_error = error.shopper_message
            order.save(update_fields=["stripe_customer_id", "payment_error"])
            _attempt_record(attempt, PaymentAttempt.Status.FAILED)
        else:
            attempt.payment_intent_id = intent.id
            attempt.save(update_fields=["payment_intent_id", "updated_at"])
            order.payment_intent_id, order.payment_error = intent.id, ""
            order.save(update_fields=["stripe_customer_id", "payment_intent_id", "payment_error"])
            return None, attempt
    raise failure


def _attempt_confirm(*, attempt: PaymentAttempt) -> PaymentOutcome:
    declined = None
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=attempt.order_id)
        attempt = PaymentAttempt.objects.select_for_update().get(pk=attempt.pk)
        if attempt.status != PaymentAttempt.Status.CONFIRMING:
            # Settled meanwhile by another path (a second click, the webhook).
            return PaymentOutcome("paid" if order.status == Order.Status.PAID else "processing")
        try:
            intent = stripe_api.payment_intent_confirm(
                payment_intent_id=attempt.payment_intent_id,
                idempotency_key=f"{attempt.idempotency_key}-confirm",
            )
        except stripe_api.CardDeclined as error:
            declined, order.payment_error = error, error.shopper_message
            order.save(update_fields=["payment_error"])
            _attempt_record(attempt, PaymentAttempt.Status.FAILED)
        else:
            outcome = _attempt_settle(order=order, attempt=attempt, intent=intent)
            return outcome or PaymentOutcome("processing")
    raise declined


def _open_attempts(order: Order):
    """The order's attempts whose outcome is still to be learnt from Stripe."""
    return order.attempts.filter(status__in=PaymentAttempt.OPEN_STATUSES).exclude(
        payment_intent_id=""
    )


def _attempt_record(attempt: PaymentAttempt, status: str) -> None:
    if attempt.status != status:
        attempt.status = status
        attempt.save(update_fields=["status", "updated_at"])


def _attempt_settle(
    *, order: Order, attempt: PaymentAttempt, intent: stripe_api.PaymentIntentInfo
) -> PaymentOutcome | None:
    """Act on what Stripe says of one attempt; None when it is over without paying."""
    status = ATTEMPT_STATUS_FOR_INTENT.get(intent.status, PaymentAttempt.Status.PROCESSING)
    if status == PaymentAttempt.Status.SUCCEEDED:
        order_mark_paid(payment_intent=intent)
        order.refresh_from_db()
        return PaymentOutcome("paid" if order.status == Order.Status.PAID else "processing")
    if status == PaymentAttempt.Status.CANCELED:
        order_payment_canceled(payment_intent=intent)  # cancelled at Stripe, not by us
        return None
    _attempt_record(attempt, status)
    if status == PaymentAttempt.Status.REQUIRES_ACTION:
        return PaymentOutcome("requires_action", client_secret=intent.client_secret)
    if status in (PaymentAttempt.Status.PROCESSING, PaymentAttempt.Status.CONFIRMING):
        return PaymentOutcome("processing")
    order_payment_failed(payment_intent=intent)
    return None


def _attempt_resolve(
    *, order: Order, attempt: PaymentAttempt, superseding: bool
) -> PaymentOutcome | None:
    """Ask Stripe about an open attempt. Returns the outcome to show when it paid or is still
    under way; None when it is over, or was cancelled because the shopper starts a new one
    (`superseding`). A cancel that comes too late finds it succeeded and settles instead."""
    intent = stripe_api.payment_intent_retrieve(payment_intent_id=attempt.payment_intent_id)
    if superseding and intent.status in {"requires_confirmation", "requires_action"}:
        try:
            stripe_api.payment_intent_cancel(
                payment_intent_id=attempt.payment_intent_id,
                idempotency_key=f"{attempt.idempotency_key}-cancel",
            )
        except stripe_api.PaymentServiceError:
            intent = stripe_api.payment_intent_retrieve(payment_intent_id=intent.id)
            if intent.status != "succeeded":
                raise
        else:
            _attempt_record(attempt, PaymentAttempt.Status.CANCELED)
            return None
    return _attempt_settle(order=order, attempt=attempt, intent=intent)


def _card_for(*, order: Order, card_token: str, key: str) -> str:
    """The token's card on the order's Stripe Customer; a customer deleted at Stripe (by hand,
    or a stale id) is made again instead of failing every payment."""
    if not order.stripe_customer_id:
        order.stripe_customer_id = _stripe_customer_for(order)
    try:
        return stripe_api.customer_add_card(
            customer_id=order.stripe_customer_id,
            card_token=card_token,
            idempotency_key=f"{key}-card",
        )
    except stripe_api.CustomerMissing:
        logger.warning(
            "order %s: Stripe customer gone, making a new one",
            order.reference,
            extra={"order_reference": order.reference},
        )
        order.stripe_customer_id = _stripe_customer_for(order, stale=order.stripe_customer_id)
        return stripe_api.customer_add_card(
            customer_id=order.stripe_customer_id,
            card_token=card_token,
            idempotency_key=f"{key}-card2",
        )


def _stripe_customer_for(order: Order, stale: str = "") -> str:
    customer = order.customer
    saved = getattr(customer, "stripe_customer_id", "") if customer is not None else ""
    if saved and saved != stale:
        return saved
    customer_id = stripe_api.customer_create(
        email=order.email,
        idempotency_key=f"{order.reference}-customer" + (f"-after-{stale}" if stale else ""),
    )
    if customer is not None and hasattr(customer, "stripe_customer_id"):
        type(customer).objects.filter(pk=customer.pk).update(stripe_customer_id=customer_id)
    return customer_id


@transaction.atomic
def order_confirm_from_stripe(*, order: Order) -> Order:
    """The return page (and the pay page, before offering to pay again) asks Stripe about the
    order's open attempts, never the query string, and settles what it learns."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.status == Order.Status.PENDING:
        for attempt in _open_attempts(order).order_by("-number"):
            _attempt_resolve(order=order, attempt=attempt, superseding=False)
            order.refresh_from_db()
            if order.status != Order.Status.PENDING:
                break
    order.refresh_from_db()
    return order


def _attempt_for(order: Order, intent: stripe_api.PaymentIntentInfo) -> PaymentAttempt:
    """The stored attempt of a PaymentIntent; one we never stored (made before attempts were
    recorded, or by hand at Stripe) is recorded now, so that what it did is on file."""
    attempt = PaymentAttempt.objects.select_for_update().filter(payment_intent_id=intent.id).first()
    if attempt is None:
        number = (order.attempts.aggregate(last=Max("number"))["last"] or 0) + 1
        attempt = PaymentAttempt.objects.create(
            order=order,
            number=number,
            idempotency_key=f"{order.reference}-{number}-found",
            payment_intent_id=intent.id,
            status=ATTEMPT_STATUS_FOR_INTENT.get(intent.status, PaymentAttempt.Status.PROCESSING),
            amount=intent.amount,
            currency=intent.currency,
        )
    return attempt


@transaction.atomic
def order_mark_paid(*, payment_intent: stripe_api.PaymentIntentInfo) -> Order | None:
    """Settle a succeeded PaymentIntent, exactly once, whichever path (webhook, return page,
    pay button, reconciliation) comes first.

    Locks the order row; a second caller finds it settled and does nothing. The first
    succeeded payment of a pending order pays it. Any other succeeded payment (a duplicate,
    a late 3-D Secure success after another card paid, one for a cancelled or erased order, one
    for the wrong amount) is refunded in full and recorded on its attempt. If an item sold while
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
    attempt = _attempt_for(order, payment_intent)
    if attempt.status in (PaymentAttempt.Status.REFUNDED, PaymentAttempt.Status.DISPUTED):
        return order  # settled before (refunded), or the shopper's bank is deciding it
    if order.payment_intent_id == payment_intent.id and order.status in {
        Order.Status.PAID,
        Order.Status.REFUNDED,
    }:
        _attempt_record(attempt, PaymentAttempt.Status.SUCCEEDED)
        return order  # this payment paid the order already (a repeated or second event)
    if order.status != Order.Status.PENDING:
        reason = "duplicate" if order.status == Order.Status.PAID else "not_payable"
        _refund_attempt(order=order, attempt=attempt, intent=payment_intent, reason=reason)
        return order
    if payment_intent.amount != order.total or payment_intent.currency != order.currency:
        logger.error(
            "order %s: payment %s is for %s %s, order total %s %s: refunded, not marked paid",
            order.reference, payment_intent.id, payment_intent.amount,
            payment_intent.currency, order.total, order.currency,
            extra={"order_reference": order.reference},
        )  # fmt: skip
        _refund_attempt(order=order, attempt=attempt, intent=payment_intent, reason="mismatch")
        return order

    _attempt_record(attempt, PaymentAttempt.Status.SUCCEEDED)
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
        or items[line.item_id].quantity < line.quantity
        or (
            held.get(line.item_id, 0) < line.quantity
            and items[line.item_id].quantity - reserved_by_others.get(line.item_id, 0)
            < line.quantity
        )
    ]
    order.payment_intent_id = payment_intent.id
    if len(gone) == len(lines):
        order.save(update_fields=["payment_intent_id"])
        _refund_attempt(
            order=order, attempt=attempt, intent=payment_intent, reason="sold_meanwhile"
        )
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
    _holds_changed([line.item_id for line in lines if line.item_id])
    order.status = Order.Status.PAID
    order.paid_at = timezone.now()
    order.payment_error = ""
    order.save(update_fields=["status", "paid_at", "payment_intent_id", "payment_error"])
    for vendor_order in order.vendor_orders.all():
        if vendor_order.status == VendorOrder.Status.CANCELLED:
            continue  # every piece of this shop's part sold meanwhile: nothing to send or pay
        _vendor_order_move(vendor_order, VendorOrder.Status.PAID)
        PayoutEntry.objects.create(
            vendor_order=vendor_order,
            kind=PayoutEntry.Kind.EARNED,
            amount=vendor_order.payout_amount,
        )
    # Another attempt still open (a 3-D Secure check on another card) must not charge too.
    _cancel_open_attempts(order=order, keep=attempt)
    # The items are sold: out of this shopper's cart (and anyone else's).
    CartItem.objects.filter(item_id__in=[line.item_id for line in kept]).delete()
    kind = "paid_sold_meanwhile" if gone else "paid"
    transaction.on_commit(lambda: emails.send(kind=kind, order_id=order.pk))
    transaction.on_commit(page_cache.bump)  # shop pages now show these pieces as sold
    return order


def _cancel_open_attempts(*, order: Order, keep: PaymentAttempt | None = None) -> None:
    """Cancel the order's other open attempts at Stripe, as far as Stripe lets us. One that
    succeeded anyway is refunded when its success reaches us (webhook or reconciliation)."""
    others = _open_attempts(order)
    if keep is not None:
        others = others.exclude(pk=keep.pk)
    for other in others:
        try:
            stripe_api.payment_intent_cancel(
                payment_intent_id=other.payment_intent_id,
                idempotency_key=f"{other.idempotency_key}-cancel",
            )
        except stripe_api.PaymentServiceError:
            logger.warning(
                "order %s: could not cancel payment %s; settled when Stripe reports it",
                order.reference,
                other.payment_intent_id,
                extra={"order_reference": order.reference},
            )
            continue
        _attempt_record(other, PaymentAttempt.Status.CANCELED)


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
    _holds_changed([line.item_id for line in gone if line.item_id])
    for vendor_order in order.vendor_orders.prefetch_related("lines"):
        kept = vendor_order.kept_lines
        vendor_order.subtotal = sum((line.line_total for line in kept), Decimal("0"))
        vendor_order.commission = commission_on(vendor_order.subtotal, vendor_order.commission_rate)
        if not kept:
            vendor_order.status = VendorOrder.Status.CANCELLED
        vendor_order.save(update_fields=["subtotal", "commission", "status"])


def _refund_attempt(
    *, order: Order, attempt: PaymentAttempt, intent: stripe_api.PaymentIntentInfo, reason: str
) -> None:
    """Give a whole payment back: it cannot pay this order (`reason`), and say so once.

    `sold_meanwhile`: every piece sold before it arrived, the order closes as refunded. The
    other reasons leave the order as it is: paid by another payment (`duplicate`), closed
    before this one arrived (`not_payable`), or charged a different amount (`mismatch`)."""
    attempt.refund_id = stripe_api.refund_create(
        payment_intent_id=intent.id,
        amount=intent.amount,
        currency=intent.currency,
        idempotency_key=f"{attempt.idempotency_key}-refund",
    )
    attempt.status = PaymentAttempt.Status.REFUNDED
    attempt.save(update_fields=["status", "refund_id", "updated_at"])
    logger.warning(
        "order %s: payment %s refunded in full (%s)",
        order.reference,
        intent.id,
        reason,
        extra={"order_reference": order.reference},
    )
    if reason == "sold_meanwhile":
        _release(order)
        order.status = Order.Status.REFUNDED
        order.save(update_fields=["status"])
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
    if order is None:
        return
    attempt = PaymentAttempt.objects.filter(payment_intent_id=payment_intent.id).first()
    if attempt is not None and attempt.is_open:
        _attempt_record(attempt, PaymentAttempt.Status.FAILED)
    # A late failure of an earlier attempt must not free the pieces a newer payment holds.
    if order.payment_intent_id not in {"", payment_intent.id}:
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
    """Close an unpaid order: its pieces go back on sale and its open payments are cancelled
    at Stripe (one that succeeds all the same is refunded when it is reported)."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.status != Order.Status.PENDING:
        return order
    _release(order)
    order.status = Order.Status.CANCELLED
    order.save(update_fields=["status"])
    order.vendor_orders.update(status=VendorOrder.Status.CANCELLED)
    _cancel_open_attempts(order=order)
    transaction.on_commit(lambda: emails.send(kind="cancelled", order_id=order.pk))
    return order


@transaction.atomic
def order_payment_canceled(*, payment_intent: stripe_api.PaymentIntentInfo) -> None:
    """A PaymentIntent cancelled at Stripe. One we cancelled (a new attempt replaced it) or an
    earlier attempt changes nothing; the order's current one cancelled closes the order."""
    attempt = PaymentAttempt.objects.filter(payment_intent_id=payment_intent.id).first()
    if attempt is not None:
        if attempt.status == PaymentAttempt.Status.CANCELED:
            return
        _attempt_record(attempt, PaymentAttempt.Status.CANCELED)
    order = Order.objects.filter(reference=payment_intent.order_reference).first()
    if order is not None and order.payment_intent_id in {"", payment_intent.id}:
        order_cancel(order=order)


@transaction.atomic
def order_refunded_at_stripe(*, payment_intent_id: str, amount_refunded: Decimal) -> None:
    """A refund made at Stripe (dashboard or ours): a full refund of the payment that paid an
    order closes it, reversing each shop's earnings and clawing back what was transferred.

    `amount_refunded` is the charge's running total. Anything less than the charge (`total`) is
    a partial refund (a shop's part, the pieces that sold while the shopper paid, or one made by
    hand) and closes nothing. Refunds of payments that did not pay their order are ours
    (`_refund_attempt`) and change nothing here.
    """
    order = (
        Order.objects.select_for_update()
        .filter(payment_intent_id=payment_intent_id, status=Order.Status.PAID)
        .first()
    )
    if order is None or amount_refunded < order.total:
        return
    order.status = Order.Status.REFUNDED
    order.save(update_fields=["status"])
    # A part cancelled because its pieces sold meanwhile was never paid out: nothing to reverse.
    for vendor_order in order.vendor_orders.exclude(
        status__in=[VendorOrder.Status.REFUNDED, VendorOrder.Status.CANCELLED]
    ):
        _vendor_order_move(vendor_order, VendorOrder.Status.REFUNDED)
        _reverse_earnings(vendor_order=vendor_order, order=order)
    _status_email(order=order, kind="refunded")


# --- Disputes (chargebacks) -------------------------------------------------------------------


def _disputed_payment(
    dispute: stripe_api.DisputeInfo,
) -> tuple[Order | None, PaymentAttempt | None]:
    """The order a chargeback is about, and the disputed payment's attempt when that payment
    is not the one that paid the order (a stray one: a duplicate, a late success)."""
    attempt = (
        PaymentAttempt.objects.select_for_update()
        .filter(payment_intent_id=dispute.payment_intent_id)
        .exclude(payment_intent_id="")
        .first()
    )
    if attempt is None:
        logger.error("dispute %s names no payment of ours (%s)", dispute.id,
                     dispute.payment_intent_id)  # fmt: skip
        return None, None
    order = Order.objects.select_for_update().get(pk=attempt.order_id)
    paid_it = order.payment_intent_id == attempt.payment_intent_id and order.status in {
        Order.Status.PAID,
        Order.Status.REFUNDED,
    }
    return order, None if paid_it else attempt


@transaction.atomic
def order_dispute_opened(*, dispute: stripe_api.DisputeInfo) -> None:
    """A chargeback: the shops' payouts for this order wait until it is decided; staff and
    the shops are told. On a payment that did not pay its order, only that payment waits: we
    do not refund what the bank is deciding."""
    order, stray = _disputed_payment(dispute)
    if stray is not None:
        if stray.status != PaymentAttempt.Status.REFUNDED:
            _attempt_record(stray, PaymentAttempt.Status.DISPUTED)
        return
    if order is None or order.dispute_status == DisputeStatus.OPEN:
        return
    order.dispute_status = DisputeStatus.OPEN
    order.save(update_fields=["dispute_status"])
    transaction.on_commit(lambda: emails.send_dispute_notice(order_id=order.pk, state="opened"))


@transaction.atomic
def order_dispute_closed(*, dispute: stripe_api.DisputeInfo) -> None:
    """Won: the payouts are released. Lost: the bank took the money back from us, which is
    netted like a refund after payout: each shop's earnings are reversed and what was
    transferred is clawed back (or owed, and netted off its next payout). A disputed payment
    that did not pay its order is given back when won, and was given back by the bank when
    lost."""
    order, stray = _disputed_payment(dispute)
    lost = dispute.status == "lost"
    if stray is not None:
        if stray.status == PaymentAttempt.Status.DISPUTED and lost:
            _attempt_record(stray, PaymentAttempt.Status.REFUNDED)
        elif stray.status == PaymentAttempt.Status.DISPUTED:
            intent = stripe_api.payment_intent_retrieve(payment_intent_id=stray.payment_intent_id)
            _refund_attempt(order=order, attempt=stray, intent=intent, reason="not_payable")
        return
    if order is None or order.dispute_status == DisputeStatus.LOST:
        return
    order.dispute_status = DisputeStatus.LOST if lost else DisputeStatus.WON
    order.save(update_fields=["dispute_status"])
    if lost:
        for vendor_order in order.vendor_orders.all():
            _reverse_earnings(vendor_order=vendor_order, order=order)
    state = "lost" if lost else "won"
    transaction.on_commit(lambda: emails.send_dispute_notice(order_id=order.pk, state=state))


# --- Webhooks ---------------------------------------------------------------------------------


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


# --- Order desk (a shop fulfils its part) -----------------------------------------------------


class TransitionNotAllowed(Exception):
    """The vendor order is not in a state where this step makes sense."""


def _vendor_order_move(vendor_order: VendorOrder, status: str, **fields) -> None:
    """Change a part's status along VendorOrder.TRANSITIONS (and any fields that go with it)."""
    if not vendor_order.can_become(status):
        raise TransitionNotAllowed(
            f"A {vendor_order.get_status_display().lower()} order cannot become "
            f"{VendorOrder.Status(status).label.lower()}."
        )
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
    if vendor_order.status != VendorOrder.Status.PAID:
        raise TransitionNotAllowed(
            f"Only paid orders can be shipped (this one is {vendor_order.get_status_display().lower()})."
        )
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
    _vendor_order_move(vendor_order, VendorOrder.Status.DELIVERED, delivered_at=timezone.now())
    _status_email(order=vendor_order.order, kind="delivered", vendor_order_id=vendor_order.pk)
    # The shopper may now write a verified-buyer testimonial (policies owns the invitation),
    # unless they erased their account: what is kept serves the delivery, not new requests.
    if vendor_order.order.erase_when_fulfilled_at is None:
        transaction.on_commit(
            lambda: policy_emails.send_testimonial_invitation(vendor_order_id=vendor_order.pk)
        )
    return vendor_order


REFUNDABLE_STATUSES = (
    VendorOrder.Status.PAID,
    VendorOrder.Status.SHIPPED,
    VendorOrder.Status.DELIVERED,
)


@transaction.atomic
def vendor_order_refund(*, vendor_order: VendorOrder) -> VendorOrder:
    """Refund one shop's part to the shopper's card, put its pieces back on sale, reverse what
    the shop earned on it and claw back what was already transferred."""
    vendor_order = _lock_vendor_order(vendor_order)
    order = vendor_order.order
    if vendor_order.status not in REFUNDABLE_STATUSES:
        raise TransitionNotAllowed("Only paid orders can be refunded.")
    if order.dispute_status in (DisputeStatus.OPEN, DisputeStatus.LOST):
        # The bank decides (or has taken) this money: a refund on top would pay it twice.
        raise TransitionNotAllowed("This order is under a chargeback: it cannot be refunded.")
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
    _holds_changed([line.item_id for line in lines if line.item_id])
    _vendor_order_move(vendor_order, VendorOrder.Status.REFUNDED)
    _reverse_earnings(vendor_order=vendor_order, order=order)
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


# --- Payouts ----------------------------------------------------------------------------------


def payout_balances(*, vendor_order_ids=None, vendor_id: int | None = None) -> dict[int, Decimal]:
    """What the platform owes the shop on each part (negative: what the shop owes back), from
    the ledger: earned (EARNED + REVERSED) less paid out (TRANSFERRED + TRANSFER_REVERSED +
    NETTED). One query."""
    entries = PayoutEntry.objects.order_by()
    if vendor_order_ids is not None:
        entries = entries.filter(vendor_order_id__in=vendor_order_ids)
    if vendor_id is not None:
        entries = entries.filter(vendor_order__vendor_id=vendor_id)
    zero = Decimal("0")
    rows = entries.values("vendor_order_id").annotate(
        earned=Sum("amount", filter=Q(kind__in=PayoutEntry.EARNED_KINDS), default=zero),
        paid_out=Sum("amount", filter=Q(kind__in=PayoutEntry.PAID_OUT_KINDS), default=zero),
    )
    cent = Decimal("0.01")
    return {
        row["vendor_order_id"]: (row["earned"] - row["paid_out"]).quantize(cent) for row in rows
    }


def _reverse_earnings(*, vendor_order: VendorOrder, order: Order) -> None:
    """The shopper got a part's money back (refund, lost dispute): the shop's earning on it is
    reversed, and what was transferred for it is clawed back at Stripe. If the reversal fails
    the part's balance stays negative and the shop's next payout nets it off."""
    earned = PayoutEntry.objects.filter(
        vendor_order=vendor_order, kind=PayoutEntry.Kind.EARNED
    ).first()
    if earned is None:
        return  # never earned (unpaid, or its pieces sold to someone else first)
    _, reversed_now = PayoutEntry.objects.get_or_create(
        vendor_order=vendor_order,
        kind=PayoutEntry.Kind.REVERSED,
        defaults={"amount": -earned.amount},
    )
    if not reversed_now:
        return
    transfer = PayoutEntry.objects.filter(
        vendor_order=vendor_order, kind=PayoutEntry.Kind.TRANSFERRED
    ).first()
    if transfer is None:
        return
    debt = -payout_balances(vendor_order_ids=[vendor_order.pk]).get(vendor_order.pk, Decimal("0"))
    amount = min(transfer.amount, debt)
    if amount <= 0:
        return
    try:
        reversal_id = stripe_api.transfer_reversal_create(
            transfer_id=transfer.stripe_transfer_id,
            amount=amount,
            currency=order.currency,
            idempotency_key=f"{order.reference}-transfer-{vendor_order.pk}-reversal",
        )
    except stripe_api.PaymentServiceError as error:
        logger.warning(
            "order %s: transfer reversal failed (%s); the shop's next payout nets it off",
            order.reference,
            error,
            extra={"order_reference": order.reference},
        )
        return
    PayoutEntry.objects.create(
        vendor_order=vendor_order,
        kind=PayoutEntry.Kind.TRANSFER_REVERSED,
        amount=-amount,
        stripe_transfer_id=reversal_id,
    )


@transaction.atomic
def payout_settle(*, vendor_order: VendorOrder, now=None) -> PayoutEntry | None:
    """Pay a shop its share of a part that is due (`selectors.payouts_due`): first net off what
    the shop owes on other parts (refunds after payout that could not be clawed back), then
    transfer the rest to its Stripe Connect account (separate charges and transfers, grouped by
    the order reference, with a deterministic idempotency key).

    Runs under a lock on the vendor, so two runs, or a run and a refund, never pay one shop at
    once; the part is re-checked inside the lock. Returns the transfer (or the netting entry
    when nothing was left to transfer), or None when the part was not due any more."""
    from .selectors import payouts_due

    Vendor.objects.select_for_update().filter(pk=vendor_order.vendor_id).first()
    vendor_order = payouts_due(now=now).filter(pk=vendor_order.pk).first()
    if vendor_order is None:
        return None
    balances = payout_balances(vendor_id=vendor_order.vendor_id)
    to_pay = balances.get(vendor_order.pk, Decimal("0"))
    if to_pay <= 0:
        return None
    entry = None
    for debtor_id in sorted(pk for pk, balance in balances.items() if balance < 0):
        netted = min(-balances[debtor_id], to_pay)
        entry = PayoutEntry.objects.create(
            vendor_order=vendor_order,
            kind=PayoutEntry.Kind.NETTED,
            amount=netted,
            netted_with_id=debtor_id,
        )
        PayoutEntry.objects.create(
            vendor_order_id=debtor_id,
            kind=PayoutEntry.Kind.NETTED,
            amount=-netted,
            netted_with=vendor_order,
        )
        to_pay -= netted
        if to_pay == 0:
            return entry
    order = vendor_order.order
    transfer_id = stripe_api.transfer_create(
        amount=to_pay,
        currency=order.currency,
        destination_account=vendor_order.vendor.stripe_account_id,
        transfer_group=order.reference,
        idempotency_key=f"{order.reference}-transfer-{vendor_order.pk}",
    )
    return PayoutEntry.objects.create(
        vendor_order=vendor_order,
        kind=PayoutEntry.Kind.TRANSFERRED,
        amount=to_pay,
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
