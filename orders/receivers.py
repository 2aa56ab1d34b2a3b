"""What orders does when signals arrive (connected in OrdersConfig.ready): login keeps what a
shopper put in their cart while signed out; a shop's new stock count changes whether its held
piece shows as reserved; a cart's lines changed renew its kept lines (selectors.cart_lines)."""

from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from marketplace import page_cache
from products.signals import stock_changed

from .models import Cart, CartItem
from .selectors import account_cart_tag, cart_tag
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


@receiver([post_save, post_delete], sender=CartItem)
def cart_line_changed(sender, instance, **kwargs):
    """Every way a line comes or goes (added, removed, pruned, sold elsewhere, merged at
    login, its piece or its cart deleted: a cascade deletes the lines first) saves or
    deletes it through the ORM, one by one. A cart's owner never changes (a login merges
    the session's cart into the account's), so only its lines move its tags on."""
    if CartItem.cart.is_cached(instance):  # type: ignore[attr-defined]
        user_id = instance.cart.user_id
    else:
        user_id = Cart.objects.filter(pk=instance.cart_id).values_list("user_id", flat=True).first()
    tags = [cart_tag(instance.cart_id)]
    if user_id:
        tags.append(account_cart_tag(user_id))
    page_cache.invalidate(*tags)
