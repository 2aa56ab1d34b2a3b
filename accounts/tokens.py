"""Signed tokens in emailed links: email verification (expiring), unsubscribe (lasting) and
adding a guest order to an account (lasting).

Each kind has its own salt, so a token made for one purpose (or by another part of the site,
such as a pay link) never passes as another.
"""

from datetime import timedelta

from django.conf import settings
from django.core import signing

VERIFY_SALT = "accounts.verify-email"
UNSUBSCRIBE_SALT = "accounts.unsubscribe"
ORDER_CLAIM_SALT = "accounts.order-claim"
UNSUBSCRIBE_TOPICS = {"promotional_emails", "catalogue_mailings", "order_status_emails"}


class InvalidToken(Exception):
    """Tampered, expired or made for something else."""


def verification_token(*, user) -> str:
    # The address is part of the token: a link sent to an old address stops working once the
    # email changes.
    return signing.dumps({"u": user.pk, "e": user.email.lower()}, salt=VERIFY_SALT, compress=True)


def read_verification_token(token: str) -> tuple[int, str]:
    max_age = timedelta(days=settings.VITRINE_EMAIL_VERIFICATION_DAYS)
    try:
        data = signing.loads(token, salt=VERIFY_SALT, max_age=max_age)
        return int(data["u"]), str(data["e"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as error:
        raise InvalidToken(str(error)) from error


def unsubscribe_token(*, user, topic: str = "promotional_emails") -> str:
    # No expiry: an unsubscribe link in a years-old email must still work.
    return signing.dumps({"u": user.pk, "t": topic}, salt=UNSUBSCRIBE_SALT)


def read_unsubscribe_token(token: str) -> tuple[int, str]:
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
        user_id, topic = int(data["u"]), str(data["t"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as error:
        raise InvalidToken(str(error)) from error
    if topic not in UNSUBSCRIBE_TOPICS:
        raise InvalidToken(f"unknown topic {topic}")
    return user_id, topic


def unsubscribe_url(*, user, topic: str = "promotional_emails") -> str:
    return f"{settings.WAGTAILADMIN_BASE_URL}/email/unsubscribe/{unsubscribe_token(user=user, topic=topic)}/"


def order_claim_token(*, order) -> str:
    # Sent only to the order's own address: holding it shows the mailbox received the order's
    # email. The address is part of it, so it stops working if the order's address is erased.
    return signing.dumps(
        {"r": order.reference, "e": order.email.lower()}, salt=ORDER_CLAIM_SALT, compress=True
    )


def read_order_claim_token(token: str) -> tuple[str, str]:
    """(order reference, order email in lower case). No expiry: the order must still be a
    guest order with that address, and the account's verified address must be that one."""
    try:
        data = signing.loads(token, salt=ORDER_CLAIM_SALT)
        return str(data["r"]), str(data["e"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as error:
        raise InvalidToken(str(error)) from error


def order_claim_url(*, order) -> str:
    return (
        f"{settings.WAGTAILADMIN_BASE_URL}/account/guest-orders/{order_claim_token(order=order)}/"
    )
