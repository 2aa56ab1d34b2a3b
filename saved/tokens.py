"""The signed token in a price-drop email's "stop these alerts" link.

The scheme of `accounts.tokens` (Django signing, a salt of its own, no expiry: a link in an
old email must still work), for one saved item of one shopper. A token made for anything else
on the site never passes here.
"""

from django.conf import settings
from django.core import signing
from django.urls import reverse

from accounts.tokens import InvalidToken

PRICE_ALERT_SALT = "saved.price-alert-unsubscribe"

__all__ = [
    "InvalidToken",
    "price_alert_token",
    "price_alert_unsubscribe_url",
    "read_price_alert_token",
]


def price_alert_token(*, saved_item) -> str:
    return signing.dumps({"s": saved_item.pk, "u": saved_item.user_id}, salt=PRICE_ALERT_SALT)


def read_price_alert_token(token: str) -> tuple[int, int]:
    """(saved item id, user id); raises InvalidToken."""
    try:
        data = signing.loads(token, salt=PRICE_ALERT_SALT)
        return int(data["s"]), int(data["u"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as error:
        raise InvalidToken(str(error)) from error


def price_alert_unsubscribe_url(*, saved_item) -> str:
    token = price_alert_token(saved_item=saved_item)
    path = reverse("saved_alert_unsubscribe", args=[token])
    return f"{settings.WAGTAILADMIN_BASE_URL}{path}"
