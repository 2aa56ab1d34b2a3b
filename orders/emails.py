"""Order-status emails: rendered from templates/emails/, sent as background tasks after commit
along marketplace.mail's one path.

`send()` never raises: a mail server problem is logged and never fails a checkout or webhook.
A task that fails is tried again later; each message goes through `send_email` (once): a retry,
or a task run again after its worker died (`tasks_requeue_stale`), sends only what the earlier
runs had not sent.
"""

from django.conf import settings
from django.urls import reverse

from marketplace.mail import build_message, email_task, queue_email, send_email
from marketplace.money import format_money
from marketplace.tasks import last_attempt

# kind → (subject, headline, message). Subjects carry the order reference, never personal data.
SHOPPER_MESSAGES = {
    "placed": (
        "We've received your order {ref}",
        "Thank you, we have your order",
        "Your pieces are held for you while you pay. Once payment goes through, each shop "
        "prepares its part and we email you when it ships.",
    ),
    "paid": (
        "Order {ref} is confirmed",
        "Payment received: your order is confirmed",
        "Each shop below now prepares your pieces. You will hear from us when they ship.",
    ),
    # Some pieces sold to someone else while the shopper paid: the rest is theirs, those refunded.
    "paid_sold_meanwhile": (
        "Order {ref} is confirmed; we refunded what sold while you paid",
        "Payment received: your order is confirmed",
        "{gone} sold moments before your payment went through, so we have refunded {refund} to "
        "the card you paid with (banks usually take 5–10 days). The rest of your order below is "
        "confirmed and being prepared; you will hear from us when it ships.",
    ),
    "payment_failed": (
        "Payment for order {ref} did not go through",
        "Your payment did not go through",
        "Nothing was charged. You can try again with another card from the link below.",
    ),
    "cancelled": (
        "Order {ref} was cancelled",
        "Your order was cancelled",
        "Nothing was charged and the pieces are back on sale.",
    ),
    "refunded": (
        "Order {ref} was refunded",
        "Your refund is on its way",
        "The full amount goes back to the card you paid with; banks usually take 5–10 days.",
    ),
    "refunded_sold_meanwhile": (
        "Order {ref}: refunded, a piece sold while you paid",
        "Sorry: a piece sold while you were paying",
        "Your hold on it had expired and another shopper bought it first. We have refunded "
        "the whole payment; it goes back to your card within 5–10 days.",
    ),
    "refunded_not_payable": (
        "Order {ref}: payment refunded",
        "We have refunded your payment",
        "This order had already been closed when your payment arrived, so we refunded it in "
        "full. Nothing else is needed from you.",
    ),
    "refunded_duplicate": (
        "Order {ref}: a second payment was refunded",
        "You were charged twice: we refunded the second payment",
        "Your order was already paid when another payment for it went through, so we refunded "
        "that one in full; it goes back to your card within 5–10 days. Your order is unchanged.",
    ),
    "refunded_mismatch": (
        "Order {ref}: payment refunded",
        "We have refunded your payment",
        "Your payment did not match your order's total, so we refunded it in full rather than "
        "keep the wrong amount. You can pay your order again from the link below.",
    ),
    "phone_order": (
        "Your order {ref}: pay securely online",
        "Thank you for your call",
        "{shop} has put these pieces aside for you. To complete your order, pay securely with "
        "the link below; your card details go only to our payment provider, never to the shop.",
    ),
    "shipped": (
        "Part of order {ref} has shipped",
        "On its way",
        "{shop} has sent your pieces.",
    ),
    "delivered": (
        "Part of order {ref} was delivered",
        "Delivered",
        "{shop} marked your pieces as delivered. We hope you love them.",
    ),
    "vendor_refunded": (
        "Part of order {ref} was refunded",
        "A refund from {shop}",
        "{shop} refunded the pieces below; the money goes back to your card within 5–10 days.",
    ),
}


# Progress updates a signed-in shopper may turn off at /account/preferences/.
OPTIONAL_KINDS = {"shipped", "delivered"}

# Receipts: each shop with something to send is told too.
PAID_KINDS = {"paid", "paid_sold_meanwhile"}


def _pieces(lines) -> str:
    """The start of a sentence naming the pieces: `One piece, “Scarf”,` or `2 pieces, “A” and
    “B”,` (worded as templates/orders/_sold_meanwhile_notice.html words it on the pages)."""
    titles = [f"“{line.title}”" for line in lines]
    if len(titles) <= 1:
        return f"One piece, {titles[0]}," if titles else ""
    return f"{len(titles)} pieces, {', '.join(titles[:-1])} and {titles[-1]},"


def _send(*, to: str, subject: str, template: str, context: dict, step: str) -> None:
    """Send one message; `step` names it within its task (who it is for, never the address)."""
    send_email(build_message(to=to, subject=subject, template=template, context=context), step=step)


@email_task()
def send_order_email(*, kind: str, order_id: int, vendor_order_id: int | None = None) -> None:
    from .models import Order, VendorOrder
    from .services import pay_link_token

    order = (
        Order.objects.select_related("customer")
        .prefetch_related("vendor_orders__lines", "vendor_orders__vendor")
        .get(pk=order_id)
    )
    vendor_order = (
        VendorOrder.objects.select_related("vendor").get(pk=vendor_order_id)
        if vendor_order_id
        else None
    )
    customer = order.customer
    if kind in OPTIONAL_KINDS and customer is not None and not customer.order_status_emails:
        return  # the shopper turned shipping updates off; receipts and refunds always go
    shop = vendor_order.vendor.name if vendor_order else ""
    if not shop and order.channel == Order.Channel.PHONE:
        shop = order.vendor_orders.all()[0].vendor.name
    subject, headline, message = SHOPPER_MESSAGES[kind]
    facts = {
        "shop": shop,
        "gone": _pieces(order.sold_meanwhile_lines),
        "refund": format_money(order.sold_meanwhile_refund, order.currency),
    }
    context = {
        "order": order,
        "vendor_orders": [vendor_order] if vendor_order else order.vendor_orders.all(),
        "headline": headline.format(**facts),
        "message": message.format(**facts),
        "kind": kind,
        "site_url": settings.WAGTAILADMIN_BASE_URL,
        # Works on any device, unlike the checkout pages tied to the shopper's session.
        "pay_url": settings.WAGTAILADMIN_BASE_URL
        + reverse("orders:pay_link", args=[pay_link_token(order=order)])
        if order.is_payable
        else "",
        "hold_hours": settings.VITRINE_PHONE_ORDER_HOLD_HOURS,
    }
    # An erased shopper's order has no address left: nobody to tell (the shops still are).
    if order.email:
        _send(
            to=order.email,
            subject=subject.format(ref=order.reference),
            template="order_status",
            context=context,
            step="shopper",
        )
    if kind in PAID_KINDS:
        for each in order.vendor_orders.all():
            if each.status != VendorOrder.Status.PAID:
                continue  # its pieces sold to someone else first: nothing to send
            _send(
                to=each.vendor.contact_email,
                subject=f"New order {order.reference}: please send",
                template="vendor_order",
                context={"order": order, "vendor_order": each, "site_url": context["site_url"]},
                step=f"vendor:{each.pk}",
            )


# A chargeback, told to staff and to each shop in the order (never to the shopper: their bank
# is the one asking). state → (subject, headline, message).
DISPUTE_MESSAGES = {
    "opened": (
        "Chargeback on order {ref}: payouts on hold",
        "A chargeback was opened on order {ref}",
        "The shopper's bank is disputing this payment. Payouts for this order wait until the "
        "dispute is decided. Keep proof of delivery and your correspondence with the shopper.",
    ),
    "won": (
        "Chargeback on order {ref} won: payouts released",
        "The dispute on order {ref} was decided in our favour",
        "The payment stands. Payouts for this order are made as usual.",
    ),
    "lost": (
        "Chargeback on order {ref} lost",
        "The dispute on order {ref} was lost",
        "The bank returned the payment to the shopper. The shops' earnings on this order are "
        "reversed: anything already paid out is taken back, or netted off the next payout.",
    ),
}


@email_task()
def send_dispute_notice_email(*, order_id: int, state: str) -> None:
    from .models import Order

    order = Order.objects.prefetch_related("vendor_orders__vendor").get(pk=order_id)
    subject, headline, message = (
        text.format(ref=order.reference) for text in DISPUTE_MESSAGES[state]
    )
    parts = list(order.vendor_orders.all())
    staff = [settings.VITRINE_DISPUTES_EMAIL] if settings.VITRINE_DISPUTES_EMAIL else []
    staff += [address for _name, address in settings.ADMINS]
    recipients = [(address, parts, f"staff-{n}") for n, address in enumerate(staff)]
    recipients += [(part.vendor.contact_email, [part], f"shop-{part.pk}") for part in parts]
    for address, shown, step in recipients:
        _send(
            to=address,
            subject=subject,
            template="dispute_notice",
            step=f"dispute-{state}-{step}",
            context={
                "order": order,
                "vendor_orders": shown,
                "headline": headline,
                "message": message,
                "site_url": settings.WAGTAILADMIN_BASE_URL,
            },
        )


def send_dispute_notice(*, order_id: int, state: str) -> None:
    """Queue a chargeback notice to staff and the order's shops; never raises (as `send`)."""
    queue_email(send_dispute_notice_email, order_id=order_id, state=state)


def send(*, kind: str, order_id: int, vendor_order_id: int | None = None) -> None:
    """Queue an order email after commit. A queue that fails is logged, never raised."""
    queue_email(send_order_email, kind=kind, order_id=order_id, vendor_order_id=vendor_order_id)


# An order kept for delivery after its shopper erased their account: its last status email
# needs the address, so the erasure of what was kept for delivery runs here, once it was sent,
# or once its last attempt failed (the data must not stay for an email that cannot go).
# Separate from send_order_email so that an earlier part's late email never erases before this
# one goes.
@email_task()
def send_order_email_then_erase(
    *, kind: str, order_id: int, vendor_order_id: int | None = None
) -> None:
    from .services import order_erase_if_fulfilled

    try:
        send_order_email.call(kind=kind, order_id=order_id, vendor_order_id=vendor_order_id)
    except Exception:
        if last_attempt():
            order_erase_if_fulfilled(order_id=order_id)
        raise
    order_erase_if_fulfilled(order_id=order_id)


def send_then_erase(*, kind: str, order_id: int, vendor_order_id: int | None = None) -> None:
    """Queue an order's last status email, then its erasure; never raises (as `send`)."""
    queue_email(
        send_order_email_then_erase, kind=kind, order_id=order_id, vendor_order_id=vendor_order_id
    )
