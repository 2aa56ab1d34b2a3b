"""Signed tokens in emailed links: email verification (expiring), unsubscribe (lasting) and
adding a guest order to an account (lasting).

Each kind has its own salt, so a token made for one purpose (or by another part of the site,
such as a pay link) never passes as another.
"""

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac

VERIFY_SALT = "accounts.verify-email"
UNSUBSCRIBE_SALT = "accounts.unsubscribe"
ORDER_CLAIM_SALT = "accounts.order-claim"
UNSUBSCRIBE_TOPICS = {"promotional_emails", "catalogue_mailings", "order_status_emails"}


class InvalidToken(Exception):
    """Tampered, expired or made for something else."""


def verification_fingerprint(*, user, verified_at=...) -> str:
    """A keyed hash of what the link confirms: the account, its address and whether (when) it
    was confirmed. It changes when the address changes, so a link sent to an old address stops
    working; being keyed with SECRET_KEY, it tells nothing about the address."""
    if verified_at is ...:
        verified_at = user.email_verified_at
    state = f"{user.pk}|{user.email.lower()}|{verified_at.timestamp() if verified_at else ''}"
    return salted_hmac(VERIFY_SALT, state, algorithm="sha256").hexdigest()[:32]


def verification_token(*, user) -> str:
    # Opaque: the link ends up in access logs (proxies, mail scanners), so it carries the
    # account id and the fingerprint only, never the address itself.
    return signing.dumps([user.pk, verification_fingerprint(user=user)], salt=VERIFY_SALT)


def read_verification_token(token: str) -> tuple[int, str]:
    """The account id and fingerprint in a verification token (see verification_matches)."""
    max_age = timedelta(days=settings.VITRINE_EMAIL_VERIFICATION_DAYS)
    try:
        user_id, fingerprint = signing.loads(token, salt=VERIFY_SALT, max_age=max_age)
        return int(user_id), str(fingerprint)
    except (signing.BadSignature, TypeError, ValueError) as error:
        raise InvalidToken(str(error)) from error


def verification_matches(*, user, fingerprint: str) -> bool:
    """The link was made for the account's current address. Also true for the link that
    confirmed it, opened again (made before the confirmation, same address)."""
    if constant_time_compare(fingerprint, verification_fingerprint(user=user)):
        return True
    return user.email_verified_at is not None and constant_time_compare(
        fingerprint, verification_fingerprint(user=user, verified_at=None)
    )


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
    token = unsubscribe_token(user=user, topic=topic)
    return f"{settings.WAGTAILADMIN_BASE_URL}{reverse('accounts_unsubscribe', args=[token])}"


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
    path = reverse("accounts_guest_order_claim", args=[order_claim_token(order=order)])
    return f"{settings.WAGTAILADMIN_BASE_URL}{path}"
