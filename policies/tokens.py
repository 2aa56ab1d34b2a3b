"""The signed token in a testimonial invitation's "stop asking me" link.

The scheme of `accounts.tokens` (Django signing, a salt of its own, no expiry: a link in an
old email must still work). It names the order the invitation was about, not an address, so no
personal data sits in the URL. A token made for anything else on the site never passes here.
"""

from django.conf import settings
from django.core import signing
from django.urls import reverse

from accounts.tokens import InvalidToken

TESTIMONIAL_UNSUBSCRIBE_SALT = "policies.testimonial-unsubscribe"

__all__ = [
    "InvalidToken",
    "read_testimonial_unsubscribe_token",
    "testimonial_unsubscribe_token",
    "testimonial_unsubscribe_url",
]


def testimonial_unsubscribe_token(*, order) -> str:
    return signing.dumps({"o": order.pk}, salt=TESTIMONIAL_UNSUBSCRIBE_SALT)


def read_testimonial_unsubscribe_token(token: str) -> int:
    """The order id; raises InvalidToken."""
    try:
        return int(signing.loads(token, salt=TESTIMONIAL_UNSUBSCRIBE_SALT)["o"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as error:
        raise InvalidToken(str(error)) from error


def testimonial_unsubscribe_url(*, order) -> str:
    token = testimonial_unsubscribe_token(order=order)
    path = reverse("policies:testimonial_unsubscribe", args=[token])
    return f"{settings.WAGTAILADMIN_BASE_URL}{path}"
