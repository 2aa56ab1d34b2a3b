"""Login keeps what a shopper put in their cart while signed out."""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from .services import CART_SESSION_KEY, cart_merge_into_account


@receiver(user_logged_in)
def merge_cart_at_login(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        cart_merge_into_account(
            user=user, anonymous_cart_id=request.session.pop(CART_SESSION_KEY, None)
        )
