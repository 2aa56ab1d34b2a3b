import secrets
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Exists, OuterRef, Q

from phonenumber_field.modelfields import PhoneNumberField

REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read out on the phone


def new_order_reference() -> str:
    return "VT-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))


class Cart(models.Model):
    """A shopper's cart. Anonymous carts are found through an id in the server-side session."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="cart",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Cart {self.pk}"


class CartItem(models.Model):
    """One item in a cart. Items are one-of-a-kind, so a cart holds each at most once."""

    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    item = models.ForeignKey("products.ItemPage", on_delete=models.CASCADE, related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["added_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "item"], name="cart_item_once"),
        ]

    def __str__(self) -> str:
        return f"{self.item_id} in cart {self.cart_id}"


class OrderQuerySet(models.QuerySet):
    def in_flight(self) -> "OrderQuerySet":
        """Paid orders with a shop's part still to send or on its way (not yet delivered,
        refunded or cancelled): erasing the shopper's account must not stop their delivery."""
        return self.filter(Exists(VendorOrder.open_parts(OuterRef("pk"))), status=Order.Status.PAID)


class DisputeStatus(models.TextChoices):
    """A chargeback on an order's payment: payouts wait while open, are netted when lost."""

    OPEN = "open", "Disputed (chargeback open)"
    WON = "won", "Dispute won"
    LOST = "lost", "Dispute lost"


class Order(models.Model):
    """One checkout: one payment, one or more shops. The shipping address is a snapshot."""

    class Status(models.TextChoices):
        PENDING = "pending", "Awaiting payment"
        PAID = "paid", "Paid"
        CANCELLED = "cancelled", "Cancelled"
        REFUNDED = "refunded", "Refunded"

    class Channel(models.TextChoices):
        WEB = "web", "Website"
        PHONE = "phone", "Phone order"

    reference = models.CharField(max_length=12, unique=True, default=new_order_reference)
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="orders",
    )
    email = models.EmailField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    channel = models.CharField(max_length=5, choices=Channel.choices, default=Channel.WEB)
    currency = models.CharField(max_length=3)
    subtotal = models.DecimalField(max_digits=12, decimal_places=2)
    shipping_total = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    total = models.DecimalField(max_digits=12, decimal_places=2)

    shipping_name = models.CharField(max_length=150)
    shipping_line1 = models.CharField(max_length=150)
    shipping_line2 = models.CharField(max_length=150, blank=True)
    shipping_city = models.CharField(max_length=100)
    shipping_postcode = models.CharField(max_length=20)
    shipping_country = models.CharField(max_length=2)
    shipping_phone = PhoneNumberField(blank=True)

    cart = models.ForeignKey(
        Cart, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    # Phone orders: who took the call and what was said (seen by that shop and site staff).
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    call_note = models.TextField(blank=True, max_length=2000)
    stripe_customer_id = models.CharField(max_length=64, blank=True)
    # The PaymentIntent of the latest attempt while the order is pending; once paid, the one
    # that paid it. Every attempt, with its own PaymentIntent, is a PaymentAttempt row.
    payment_intent_id = models.CharField(max_length=64, blank=True, db_index=True)
    # Why the last payment failed: an orders.errors code, worded by orders.error_messages.
    payment_error = models.CharField(max_length=300, blank=True)
    # Who placed a web checkout, for the per-network hold limit: a keyed hash, never the IP.
    client_key = models.CharField(max_length=32, blank=True, db_index=True)
    dispute_status = models.CharField(
        max_length=8, choices=DisputeStatus.choices, blank=True, default=""
    )
    created_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    # The shopper erased their account while this order was on its way: it keeps only what
    # delivery needs (address, phone, email for its status emails) until its last shop's part
    # is delivered, refunded or cancelled, then that goes too (orders.services).
    erase_when_fulfilled_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Ticked at checkout (never by default): may we email once after delivery to ask for a
    # testimonial? Turned off again by the invitation's unsubscribe link (policies).
    testimonial_opt_in = models.BooleanField(default=False)

    objects = OrderQuerySet.as_manager()

    # What erasure blanks: totals, lines, shops and country stay for the accounts.
    PERSONAL_DATA_ERASED = {
        "customer": None,
        "cart": None,  # the cart belongs to the account: no way back to it from the order
        "email": "",
        "shipping_name": "",
        "shipping_line1": "",
        "shipping_line2": "",
        "shipping_city": "",
        "shipping_postcode": "",
        "shipping_phone": "",
        "call_note": "",
        "stripe_customer_id": "",
        "client_key": "",
        "erase_when_fulfilled_at": None,
    }

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=0), name="order_total_gte_0"),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_payable(self) -> bool:
        return self.status == self.Status.PENDING

    # A piece can sell to someone else while this shopper pays (their hold expired): the rest is
    # sold, and those lines are refunded. `total` stays what the card was charged.
    @property
    def sold_meanwhile_lines(self) -> list["OrderLine"]:
        return [line for part in self.vendor_orders.all() for line in part.sold_meanwhile_lines]

    @property
    def sold_meanwhile_refund(self) -> Decimal:
        """What was refunded for pieces that sold before this payment (zero when none did)."""
        return sum((line.line_total for line in self.sold_meanwhile_lines), Decimal("0"))

    @property
    def kept_total(self) -> Decimal:
        """What the shopper paid for the pieces they get: the charge less that refund."""
        return self.total - self.sold_meanwhile_refund


class VendorOrder(models.Model):
    """One shop's part of an Order: what it must send, and what it is owed."""

    class Status(models.TextChoices):
        PENDING = "pending", "Awaiting payment"
        PAID = "paid", "Paid – to send"
        SHIPPED = "shipped", "Shipped"
        DELIVERED = "delivered", "Delivered"
        CANCELLED = "cancelled", "Cancelled"
        REFUNDED = "refunded", "Refunded"

    # Nothing more happens to a part in these: nothing left to send.
    FINAL_STATUSES = (Status.DELIVERED, Status.REFUNDED, Status.CANCELLED)

    # The only moves a part can make; the services check every change against this table.
    TRANSITIONS = {
        Status.PENDING: {Status.PAID, Status.CANCELLED},
        Status.PAID: {Status.SHIPPED, Status.REFUNDED},
        Status.SHIPPED: {Status.DELIVERED, Status.REFUNDED},
        Status.DELIVERED: {Status.REFUNDED},
        Status.CANCELLED: set(),
        Status.REFUNDED: set(),
    }

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="vendor_orders")
    vendor = models.ForeignKey(
        "vendors.Vendor", on_delete=models.PROTECT, related_name="vendor_orders"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    subtotal = models.DecimalField(max_digits=12, decimal_places=2)
    commission_rate = models.DecimalField(max_digits=5, decimal_places=4)
    commission = models.DecimalField(max_digits=12, decimal_places=2)
    carrier = models.CharField(max_length=60, blank=True)
    tracking_number = models.CharField(max_length=80, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-order__created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["order", "vendor"], name="one_vendor_order_per_shop"),
        ]

    def __str__(self) -> str:
        return f"{self.order.reference} · {self.vendor}"

    def can_become(self, status: str) -> bool:
        return status in self.TRANSITIONS[self.Status(self.status)]

    @classmethod
    def open_parts(cls, order_id) -> models.QuerySet:
        """An order's parts still to send or on their way (`order_id` may be an OuterRef)."""
        return cls.objects.filter(order_id=order_id).exclude(status__in=cls.FINAL_STATUSES)

    SHOPPER_LABELS = {
        Status.PENDING: "Awaiting payment",
        Status.PAID: "Being prepared",
        Status.SHIPPED: "Shipped",
        Status.DELIVERED: "Delivered",
        Status.CANCELLED: "Cancelled",
        Status.REFUNDED: "Refunded",
    }

    @property
    def shopper_status(self) -> str:
        """The status in the shopper's words (the desk's labels speak to the shop)."""
        lines = self.lines.all()
        if (
            self.status == self.Status.CANCELLED
            and lines
            and all(line.is_sold_meanwhile for line in lines)
        ):
            return "Sold before your payment: refunded"
        return self.SHOPPER_LABELS[self.status]

    @property
    def kept_lines(self) -> list["OrderLine"]:
        """The lines this shop sells in this order (subtotal and commission count only these)."""
        return [line for line in self.lines.all() if not line.is_sold_meanwhile]

    @property
    def sold_meanwhile_lines(self) -> list["OrderLine"]:
        return [line for line in self.lines.all() if line.is_sold_meanwhile]

    @property
    def payout_amount(self):
        return self.subtotal - self.commission


class OrderLine(models.Model):
    """An item bought, with its title and price as they were at checkout.

    A line whose piece sold to someone else while this shopper paid is kept (the shopper sees
    it, refunded) but marked, and no longer counts in its shop's subtotal.
    """

    class Status(models.TextChoices):
        ORDERED = "ordered", "Ordered"
        SOLD_MEANWHILE = "sold_meanwhile", "Sold to someone else before payment: refunded"

    vendor_order = models.ForeignKey(VendorOrder, on_delete=models.CASCADE, related_name="lines")
    item = models.ForeignKey(
        "products.ItemPage", null=True, on_delete=models.SET_NULL, related_name="order_lines"
    )
    title = models.CharField(max_length=255)
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)
    quantity = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ORDERED)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.title

    @property
    def line_total(self):
        return self.unit_price * self.quantity

    @property
    def is_sold_meanwhile(self) -> bool:
        return self.status == self.Status.SOLD_MEANWHILE


class Reservation(models.Model):
    """Stock held for an unpaid order. Available = quantity − active, unexpired reservations."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Held"
        CONSUMED = "consumed", "Sold"
        RELEASED = "released", "Released"

    item = models.ForeignKey("products.ItemPage", on_delete=models.CASCADE, related_name="+")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="reservations")
    quantity = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["item", "status", "expires_at"], name="reservation_active_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × item {self.item_id} for {self.order_id} ({self.status})"


class StripeEvent(models.Model):
    """Each Stripe event id is handled once: the unique id is the lock."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    received_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class PaymentAttempt(models.Model):
    """One try at paying an order: one PaymentIntent, stored before it is confirmed.

    The row is committed with its PaymentIntent id before the confirm call, so whatever happens
    next (a crash, a lost answer, a late 3-D Secure success) the webhook, the return page and
    `reconcile_payments` can find it. A new attempt cancels the open one at Stripe; a succeeded
    attempt that did not pay its order is refunded (`REFUNDED`).
    """

    class Status(models.TextChoices):
        CONFIRMING = "confirming", "Being confirmed"
        REQUIRES_ACTION = "requires_action", "Waiting for the shopper's bank (3-D Secure)"
        PROCESSING = "processing", "Processing"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELED = "canceled", "Canceled"
        REFUNDED = "refunded", "Succeeded, refunded: it did not pay its order"
        DISPUTED = "disputed", "Succeeded, did not pay its order, disputed by the bank"

    # The outcome is still to be learnt from Stripe.
    OPEN_STATUSES = (Status.CONFIRMING, Status.REQUIRES_ACTION, Status.PROCESSING)

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveSmallIntegerField()
    idempotency_key = models.CharField(max_length=40, unique=True)
    # Blank only while the attempt is being made, or when the card was refused before Stripe
    # made a PaymentIntent (the attempt is kept, so its number and keys are never reused).
    payment_intent_id = models.CharField(max_length=64, blank=True, db_index=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CONFIRMING)
    # The Stripe.js card token it was made with (single-use, no card data): the same token
    # posted again is the same submission (a double click), not a new attempt.
    card_token = models.CharField(max_length=64, blank=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    refund_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order", "number"]
        constraints = [
            models.UniqueConstraint(fields=["order", "number"], name="one_attempt_number"),
            models.UniqueConstraint(
                fields=["payment_intent_id"],
                condition=~Q(payment_intent_id=""),
                name="one_attempt_per_payment_intent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} #{self.number} {self.payment_intent_id} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class PayoutEntry(models.Model):
    """The ledger of what each shop is owed and what was paid out, per vendor order.

    Signed amounts. What the platform owes the shop for a part is `earned − paid out`, where
    earned = EARNED + REVERSED and paid out = TRANSFERRED + TRANSFER_REVERSED + NETTED. A refund
    or lost dispute after a transfer is reversed at Stripe (TRANSFER_REVERSED); when that
    fails the part's balance goes negative and the shop's next payout nets it off (a NETTED
    pair: minus on the payout's part, plus on the part that was owed)."""

    class Kind(models.TextChoices):
        EARNED = "earned", "Earned (sale minus commission)"
        REVERSED = "reversed", "Reversed (refund or lost dispute)"
        TRANSFERRED = "transferred", "Transferred to the shop"
        TRANSFER_REVERSED = "transfer_reversed", "Transfer reversed (clawed back)"
        NETTED = "netted", "Netted against another payout"

    EARNED_KINDS = (Kind.EARNED, Kind.REVERSED)
    PAID_OUT_KINDS = (Kind.TRANSFERRED, Kind.TRANSFER_REVERSED, Kind.NETTED)

    vendor_order = models.ForeignKey(
        VendorOrder, on_delete=models.PROTECT, related_name="payout_entries"
    )
    kind = models.CharField(max_length=17, choices=Kind.choices)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    stripe_transfer_id = models.CharField(max_length=64, blank=True)
    # NETTED entries come in pairs: each names the other part.
    netted_with = models.ForeignKey(
        VendorOrder, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["vendor_order", "kind"],
                condition=~Q(kind="netted"),
                name="one_payout_entry_of_each_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.amount}"
