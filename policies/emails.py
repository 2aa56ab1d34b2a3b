"""Policy and testimonial emails: rendered from templates/emails/, sent as background tasks
after commit (the pattern of orders.emails). Queueing never raises: failures are logged."""

import logging

from django.conf import settings
from django.core.mail import get_connection
from django.urls import reverse

from marketplace.mail import build_message, one_click_unsubscribe
from marketplace.tasks import traced_task
from orders.models import VendorOrder

from .tokens import testimonial_unsubscribe_url

logger = logging.getLogger(__name__)


@traced_task()
def send_policy_change_email_task(*, change_id: int) -> int:
    """Tell every account holder about a material policy change, one message each (nobody
    sees anyone else's address). Returns how many were sent."""
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
    sent = 0
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
                message.send()
                sent += 1
            except Exception:
                logger.exception("policy change %s: could not email user %s", change_id, user.pk)
    return sent


def send_policy_change_emails(*, change_id: int) -> None:
    try:
        send_policy_change_email_task.enqueue(change_id=change_id)
    except Exception:
        logger.exception("could not queue the emails for policy change %s", change_id)


@traced_task()
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
    message.send()
    testimonial_invitation_sent(vendor_order_id=vendor_order.pk)


def send_testimonial_invitation(*, vendor_order_id: int) -> None:
    """Queue the testimonial invitation for a delivered vendor order; never raises."""
    try:
        send_testimonial_invitation_task.enqueue(vendor_order_id=vendor_order_id)
    except Exception:
        logger.exception("could not queue the testimonial invitation for %s", vendor_order_id)
