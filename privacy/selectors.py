"""Reads for privacy: everything we hold about a shopper, for the data export."""

from decimal import Decimal
from typing import Any, cast

from django.utils import timezone

from accounts.models import User
from accounts.selectors import access_log_for_user, addresses_for_user, consents_for_user
from orders.models import VendorOrder
from orders.selectors import orders_for_customer
from policies.selectors import testimonials_for_user
from saved.selectors import saved_items_export


def _money(value: Decimal) -> str:
    return str(value)


def _orders(user: User) -> list[dict[str, Any]]:
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
    return orders


def account_export(*, user: User) -> dict[str, Any]:
    """Everything we hold about the shopper, as JSON-ready data: the account (profile,
    preferences, addresses, consents, who opened the record), the orders, the saved list and the
    testimonials."""
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
        "orders": _orders(user),
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
