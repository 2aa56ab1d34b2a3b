"""Reads for accounts: a shopper's own addresses and orders (never anyone else's), the data
export, newsletter recipients and the customer list for customer service."""

from datetime import timedelta
from decimal import Decimal
from typing import Any, cast

from django.conf import settings
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from orders.models import Order, OrderLine, VendorOrder
from policies.selectors import testimonials_for_user
from saved.selectors import saved_items_export

from .models import Address, ConsentRecord, PiiAccessLog, User

# Where a shopper can follow a parcel, by carrier name as the shop typed it (lower case).
TRACKING_URLS = {
    "royal mail": "https://www.royalmail.com/track-your-item#/tracking-results/{number}",
    "parcelforce": "https://www.parcelforce.com/track-trace?trackNumber={number}",
    "dhl": "https://www.dhl.com/gb-en/home/tracking.html?tracking-id={number}",
    "dpd": "https://track.dpd.co.uk/parcels/{number}",
    "ups": "https://www.ups.com/track?tracknum={number}",
    "fedex": "https://www.fedex.com/fedextrack/?trknbr={number}",
    "evri": "https://www.evri.com/track/parcel/{number}",
}


def tracking_url(*, carrier: str, number: str) -> str:
    template = TRACKING_URLS.get((carrier or "").strip().lower())
    return template.format(number=number.strip()) if template and number.strip() else ""


def addresses_for_user(*, user: User) -> QuerySet[Address]:
    return Address.objects.filter(user=user)


def address_for_user(*, user: User, address_id: int | str) -> Address | None:
    """The user's own address with this id, or None (also for someone else's id)."""
    return Address.objects.filter(user=user, pk=address_id).first()


def _with_parts(orders: QuerySet[Order]) -> QuerySet[Order]:
    return orders.prefetch_related(
        Prefetch(
            "vendor_orders",
            queryset=VendorOrder.objects.select_related("vendor").order_by("pk"),
        ),
        Prefetch("vendor_orders__lines", queryset=OrderLine.objects.order_by("pk")),
    )


def orders_for_customer(*, user: User) -> QuerySet[Order]:
    return _with_parts(Order.objects.filter(customer=user)).order_by("-created_at")


def _with_tracking(order: Order) -> Order:
    for part in order.vendor_orders.all():
        # Set for the templates only: no such model field, so the stubs cannot know it.
        part.tracking_url = tracking_url(  # type: ignore[attr-defined]
            carrier=part.carrier, number=part.tracking_number
        )
    return order


def order_history(*, user: User) -> list[Order]:
    """The shopper's orders, each shop's part with its status and a tracking link if known."""
    return [_with_tracking(order) for order in orders_for_customer(user=user)]


def order_for_customer(*, user: User, reference: str) -> Order | None:
    """The shopper's own order with this reference, or None (also for someone else's)."""
    order = orders_for_customer(user=user).filter(reference=reference).first()
    return _with_tracking(order) if order is not None else None


def may_claim_guest_orders(user: User) -> bool:
    """Only a verified address proves the account holder reads that mailbox; an unverified
    one could be anybody's. Erased and inactive accounts claim nothing."""
    return bool(user.email) and user.email_verified and user.is_active and user.erased_at is None


def guest_orders_to_confirm(*, user: User) -> QuerySet[Order]:
    """Guest orders placed with the account's verified address (any letter case) that are in
    no account yet: offered to the account holder, who must confirm each is theirs (anyone
    can type an address at checkout). Erased orders, and orders kept only for delivery after
    an erasure, are never offered."""
    if not may_claim_guest_orders(user):
        return Order.objects.none()
    # iexact escapes LIKE wildcards: "a_b@x" does not match "axb@x".
    return (
        Order.objects.filter(
            customer__isnull=True, email__iexact=user.email, erase_when_fulfilled_at__isnull=True
        )
        .exclude(email="")
        .order_by("-created_at")
    )


def consents_for_user(*, user: User) -> QuerySet[ConsentRecord]:
    return ConsentRecord.objects.filter(user=user)


def access_log_for_user(*, user: User) -> QuerySet[PiiAccessLog]:
    return PiiAccessLog.objects.filter(customer=user)


def newsletter_recipients(*, topic: str = "promotional_emails") -> QuerySet[User]:
    """Active accounts that opted in to `topic` and whose address is verified."""
    opted_in = {
        "promotional_emails": Q(promotional_emails=True),
        "catalogue_mailings": Q(catalogue_mailings=True),
    }
    if topic not in opted_in:
        raise ValueError(f"not a mailing topic: {topic}")
    return (
        User.objects.filter(opted_in[topic], is_active=True, erased_at__isnull=True)
        .filter(email_verified_at__isnull=False)
        .exclude(email="")
        .order_by("pk")
    )


def customers() -> QuerySet[User]:
    """Shopper accounts (not staff) for customer service, newest first."""
    return User.objects.filter(is_staff=False, is_superuser=False).order_by("-date_joined", "-pk")


def _money(value: Decimal) -> str:
    return str(value)


def account_export(*, user: User) -> dict[str, Any]:
    """Everything we hold about the shopper, as JSON-ready data."""
    orders = []
    for order in orders_for_customer(user=user):
        orders.append(
            {
                "reference": order.reference,
                "placed_at": order.created_at.isoformat(),
                "status": order.status,
                "currency": order.currency,
                "subtotal": _money(order.subtotal),
                "shipping": _money(order.shipping_total),
                "total": _money(order.total),
                "refunded_for_pieces_sold_meanwhile": _money(order.sold_meanwhile_refund),
                "email": order.email,
                # The consent given at its checkout (policies asks after delivery only if so).
                "testimonial_invitation_agreed": order.testimonial_opt_in,
                "shipping_address": {
                    "name": order.shipping_name,
                    "line1": order.shipping_line1,
                    "line2": order.shipping_line2,
                    "city": order.shipping_city,
                    "postcode": order.shipping_postcode,
                    "country": order.shipping_country,
                    "phone": order.shipping_phone.as_e164 if order.shipping_phone else "",
                },
                "shops": [
                    {
                        "shop": part.vendor.name,
                        "status": part.shopper_status,
                        "carrier": part.carrier,
                        "tracking_number": part.tracking_number,
                        "lines": [
                            {
                                "title": line.title,
                                "unit_price": _money(line.unit_price),
                                "quantity": line.quantity,
                                "status": line.get_status_display(),
                            }
                            for line in part.lines.all()
                        ],
                    }
                    for part in order.vendor_orders.all()
                ],
            }
        )
    return {
        "exported_at": timezone.now().isoformat(),
        "profile": {
            "username": user.username,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "email": user.email,
            "email_verified": user.email_verified,
            "phone": user.phone.as_e164 if user.phone else "",
            "date_joined": user.date_joined.isoformat(),
            "last_login": user.last_login.isoformat() if user.last_login else None,
        },
        "preferences": {
            "order_status_emails": user.order_status_emails,
            "promotional_emails": user.promotional_emails,
            "catalogue_mailings": user.catalogue_mailings,
        },
        "addresses": [
            {
                "label": address.label,
                "name": address.name,
                "line1": address.line1,
                "line2": address.line2,
                "city": address.city,
                "postcode": address.postcode,
                "country": address.country,
                "phone": address.phone.as_e164 if address.phone else "",
                "default_shipping": address.is_default_shipping,
                "default_billing": address.is_default_billing,
            }
            for address in addresses_for_user(user=user)
        ],
        "orders": orders,
        "saved_items": saved_items_export(user=user),
        "consents": [
            {
                "what": record.topic,
                "old": record.old_value,
                "new": record.new_value,
                "how": record.source,
                "when": record.created_at.isoformat(),
            }
            for record in consents_for_user(user=user)
        ],
        "access_log": [
            {"who": entry.viewer_name, "what": entry.what, "when": entry.created_at.isoformat()}
            for entry in access_log_for_user(user=user)
        ],
        "testimonials": [
            {
                "quote": testimonial.quote,
                "name_shown": testimonial.display_name,
                "location": testimonial.location,
                "shop": testimonial.vendor.name if testimonial.vendor else "",
                # testimonials_for_user filters on the part's order, so it is never None here
                "order": cast(VendorOrder, testimonial.vendor_order).order.reference,
                "published": testimonial.live,
                "consent_given_at": (
                    testimonial.consent_given_at.isoformat()
                    if testimonial.consent_given_at
                    else None
                ),
            }
            for testimonial in testimonials_for_user(user=user)
        ],
    }


def orders_kept_for_delivery(*, user: User) -> list[dict[str, Any]]:
    """The account's orders still on their way, which erasure leaves their delivery details
    until they arrive (accounts.services.account_erase): each with its open shops' parts and,
    once every one of those has shipped, the date the details go at the latest."""
    days = settings.VITRINE_ERASE_SHIPPED_ORDERS_AFTER_DAYS
    orders = (
        Order.objects.filter(customer=user)
        .in_flight()
        .prefetch_related("vendor_orders__vendor", "vendor_orders__lines")
        .order_by("created_at")
    )
    kept = []
    for order in orders:
        parts = [p for p in order.vendor_orders.all() if p.status not in VendorOrder.FINAL_STATUSES]
        shipped = [part.shipped_at for part in parts if part.shipped_at]
        latest = max(shipped) + timedelta(days=days) if len(shipped) == len(parts) else None
        kept.append({"order": order, "parts": parts, "latest": latest})
    return kept
