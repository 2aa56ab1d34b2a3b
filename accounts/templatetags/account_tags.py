"""Account links in templates that other apps render (order emails)."""

from django import template

from accounts import tokens

register = template.Library()


@register.simple_tag
def order_claim_url(order) -> str:
    """The emailed "add this order to your account" link, for a guest order only."""
    if order.customer_id is not None or not order.email:
        return ""
    return tokens.order_claim_url(order=order)
