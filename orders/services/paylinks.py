"""Signed, expiring payment links (phone orders and emails)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core import signing

from ..errors import OrderErrorCode as Code
from ..errors import PayLinkInvalid
from ..models import Order

PAY_LINK_SALT = "vitrine.orders.pay-link"


def pay_link_token(*, order: Order) -> str:
    """A signed, expiring token naming the order, for `/pay/<token>/` links in emails."""
    return signing.dumps({"ref": order.reference}, salt=PAY_LINK_SALT, compress=True)


def pay_link_order(*, token: str) -> Order:
    """The payable order a link names. Refuses tampered, expired or already used links."""
    max_age = timedelta(hours=settings.VITRINE_PHONE_ORDER_HOLD_HOURS)
    try:
        data = signing.loads(token, salt=PAY_LINK_SALT, max_age=max_age)
    except signing.SignatureExpired as error:
        raise PayLinkInvalid(Code.PAY_LINK_EXPIRED) from error
    except signing.BadSignature as error:
        raise PayLinkInvalid(Code.PAY_LINK_INVALID) from error
    order = Order.objects.filter(reference=data.get("ref")).first()
    if order is None:
        raise PayLinkInvalid(Code.PAY_LINK_INVALID)
    if not order.is_payable:
        raise PayLinkInvalid(Code.PAY_LINK_USED, order=order)
    return order
