"""Policy and testimonial emails: rendered from templates/emails/, sent as background tasks
after commit along marketplace.mail's one path. Queueing never raises: failures are logged."""

import logging

from django.conf import settings
from django.core.mail import get_connection
from django.urls import reverse

from marketplace.mail import (
    build_message,
    email_task,
    one_click_unsubscribe,
    queue_email,
    send_email,
)
from orders.models import VendorOrder

from .tokens import testimonial_unsubscribe_url

logger = logging.getLogger(__name__)


class MessagesRefused(Exception):
    """Some messages of a mailing were refused: the task fails, to be tried again for them."""


@email_task()
def send_policy_change_email_task(*, change_id: int) -> int:
    """Tell every account holder about a material policy change, one message each (nobody
    sees anyone else's address). A refusal for one address is logged and the mailing goes
    on; the task then fails so that a retry sends what was refused, and only that. Returns
    how many were sent by this run."""
    from .models import PolicyChange
    from .selectors import policy_change_before, policy_material_change_recipients

    change = PolicyChange.objects.select_related("page").get(pk=change_id)
    site_url = settings.WAGTAILADMIN_BASE_URL
    context = {
        "change": change,
        "previous": policy_change_before(change=change),
        "diff_url": f"{site_url}{change.get_url()}",
        "policy_url": f"{site_url}{change.page.url}",
        "site_url": site_url,
    }
    subject = f"We have updated our {change.title.lower()}"
    sent, refused = 0, 0
    with get_connection() as connection:
        for user in policy_material_change_recipients().iterator():
            message = build_message(
                to=user.email,
                subject=subject,
                template="policy_change",
                context={**context, "user": user},
            )
            message.connection = connection
            try:
                sent += send_email(message, step=f"user:{user.pk}")
            except Exception:
                refused += 1
                logger.exception("policy change %s: could not email user %s", change_id, user.pk)
    if refused:
        raise MessagesRefused(f"policy change {change_id}: {refused} message(s) refused")
    return sent


def send_policy_change_emails(*, change_id: int) -> None:
    queue_email(send_policy_change_email_task, change_id=change_id)


@email_task()
def send_testimonial_invitation_task(*, vendor_order_id: int) -> None:
    """Invite the shopper of a delivered vendor order to write a testimonial."""
    from .services import (
        testimonial_invitation_sent,
        testimonial_link_max_age,
        testimonial_link_token,
    )

    vendor_order = VendorOrder.objects.select_related("order", "vendor").get(pk=vendor_order_id)
    # Checked when the task runs: only a shopper who agreed at checkout (and has not stopped
    # the invitations since) is asked.
    order = vendor_order.order
    if vendor_order.status != VendorOrder.Status.DELIVERED or not order.testimonial_opt_in:
        return
    if not order.email:
        return  # erased since
    site_url = settings.WAGTAILADMIN_BASE_URL
    token = testimonial_link_token(vendor_order=vendor_order)
    unsubscribe_url = testimonial_unsubscribe_url(order=order)
    message = build_message(
        to=order.email,
        subject=f"How was your order {order.reference} from {vendor_order.vendor.name}?",
        template="testimonial_invitation",
        context={
            "vendor_order": vendor_order,
            "order": order,
            "shop": vendor_order.vendor.name,
            "lines": vendor_order.lines.all(),
            "submit_url": f"{site_url}{reverse('policies:testimonial_submit', args=[token])}",
            "days": testimonial_link_max_age().days,
            "unsubscribe_url": unsubscribe_url,
            "site_url": site_url,
        },
        headers=one_click_unsubscribe(unsubscribe_url),
    )
    send_email(message)
    testimonial_invitation_sent(vendor_order_id=vendor_order.pk)


def send_testimonial_invitation(*, vendor_order_id: int) -> None:
    """Queue the testimonial invitation for a delivered vendor order; never raises."""
    queue_email(send_testimonial_invitation_task, vendor_order_id=vendor_order_id)
