"""Price-drop emails: rendered from templates/emails/, sent as background tasks after commit
along marketplace.mail's one path. Queueing never raises: a failure is logged."""

from decimal import Decimal

from django.conf import settings
from django.urls import reverse

from marketplace.mail import (
    build_message,
    email_task,
    one_click_unsubscribe,
    queue_email,
    send_email,
)
from products.selectors import items_live


@email_task()
def send_price_drop_email(*, saved_item_id: int, old_price: str, new_price: str) -> bool:
    """Tell one saver that a piece's price dropped from `old_price` to `new_price`.

    Checked again when the task runs (it may run later, in a worker): nothing goes if the
    alert was turned off, the address is no longer verified, the piece sold or was withdrawn,
    or its price has since gone back up. Returns whether a message was sent.
    """
    from .models import SavedItem
    from .tokens import price_alert_unsubscribe_url

    row = SavedItem.objects.select_related("user").filter(pk=saved_item_id).first()
    if row is None or not row.price_alert:
        return False
    user = row.user
    if not (user.is_active and user.email and user.email_verified):
        return False
    item = items_live().filter(pk=row.item_id).first()
    if item is None or item.is_sold or item.price >= Decimal(old_price):
        return False
    site_url = settings.WAGTAILADMIN_BASE_URL
    unsubscribe_url = price_alert_unsubscribe_url(saved_item=row)
    context = {
        "user": user,
        "item": item,
        "old_price": Decimal(old_price),
        "new_price": Decimal(new_price),
        "item_url": f"{site_url}{item.url}",
        "saved_url": f"{site_url}{reverse('saved_account_list')}",
        "unsubscribe_url": unsubscribe_url,
        "site_url": site_url,
    }
    message = build_message(
        to=user.email,
        subject=f"Price drop: {item.title}",
        template="saved_price_drop",
        context=context,
        headers=one_click_unsubscribe(unsubscribe_url),
    )
    return send_email(message)


def send_price_drop(*, saved_item_id: int, old_price: str, new_price: str) -> None:
    """Queue a price-drop email after commit. Failures are logged, never raised."""
    queue_email(
        send_price_drop_email, saved_item_id=saved_item_id, old_price=old_price, new_price=new_price
    )
