"""Hooks that must run however they are triggered. Publishing a page or testimonial (editor,
workflow approval, scheduled go-live, code) hands over to services or invalidates caches; a
delivered order (orders.signals) invites its shopper to write a testimonial."""

from django.dispatch import receiver

from wagtail.signals import page_published, published, unpublished

from marketplace import page_cache
from orders.signals import vendor_order_delivered

from . import emails
from .models import PolicyPage, Testimonial
from .models.pages import TESTIMONIALS


@receiver(page_published, sender=PolicyPage)
def record_policy_version(sender, instance, revision, **kwargs):
    from .services import policy_change_record

    if revision is not None:
        policy_change_record(page=instance, revision=revision)


@receiver(published, sender=Testimonial)
@receiver(unpublished, sender=Testimonial)
def testimonial_visibility_changed(**kwargs):
    page_cache.invalidate(TESTIMONIALS)


@receiver(vendor_order_delivered)
def invite_testimonial(sender, vendor_order, **kwargs):
    """The shopper may now write a verified-buyer testimonial, unless they erased their
    account: what is kept serves the delivery, not new requests. (Whether they agreed at
    checkout is checked when the task runs.)"""
    if vendor_order.order.erase_when_fulfilled_at is None:
        emails.send_testimonial_invitation(vendor_order_id=vendor_order.pk)
