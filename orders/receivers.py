"""What orders does when other apps' signals arrive (connected in OrdersConfig.ready): login
keeps what a shopper put in their cart while signed out; a shop's new stock count changes
whether its held piece shows as reserved."""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from products.signals import stock_changed

from .services import CART_SESSION_KEY, cart_merge_into_account, holds_recount


@receiver(stock_changed)
def recount_holds(sender, item_id, **kwargs):
    holds_recount(item_ids=[item_id])


@receiver(user_logged_in)
def merge_cart_at_login(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        cart_merge_into_account(
            user=user, anonymous_cart_id=request.session.pop(CART_SESSION_KEY, None)
        )
