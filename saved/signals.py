"""Hooks that must run however they are triggered: sign-in (site, sign-up, admin) merges the
anonymous saved list, as orders.receivers does for the cart; every publish of an item (editor,
workflow approval, scheduled go-live) checks for price drops. Both hand over to services."""

from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from wagtail.signals import page_published

from products.models import ItemPage

from .models import SavedItem
from .selectors import SAVED_SESSION_KEY, forget_account_saved_ids
from .services import price_drop_alerts_queue, saved_merge_into_account


@receiver(user_logged_in)
def merge_saved_at_login(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        saved_merge_into_account(
            user=user, anonymous_ids=request.session.pop(SAVED_SESSION_KEY, None)
        )


@receiver(post_save, sender=SavedItem)
@receiver(post_delete, sender=SavedItem)
def forget_cached_ids(sender, instance, **kwargs):
    forget_account_saved_ids(user_id=instance.user_id)


@receiver(page_published, sender=ItemPage)
def alert_price_drops(sender, instance, **kwargs):
    price_drop_alerts_queue(item=instance)
