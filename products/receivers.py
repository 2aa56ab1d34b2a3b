"""What the catalogue adds to the shop pages (vendors.signals.page_context, connected in
ProductsConfig.ready): shops sit below products, so they ask instead of importing it."""

from django.dispatch import receiver

from vendors.cache import shop_items_tag
from vendors.models import ShopIndexPage, ShopPage
from vendors.signals import page_context

from . import selectors


@receiver(page_context, sender=ShopIndexPage)
def listed_shops(sender, page, request, **kwargs) -> dict:
    shops = selectors.shops_page(request)
    return {"shops": shops.object_list, "shops_page": shops}


@receiver(page_context, sender=ShopPage)
def shop_pieces(sender, page, request, **kwargs) -> dict:
    return {
        "items_page": selectors.paginate(
            request,
            lambda: selectors.items_for_shop(shop=page),
            shops=[page],
            pictures_of=[(page, "logo"), (page, "banner")],
            # What it lists moves on with any change of one of its pieces but a hold.
            kept=selectors.Kept(f"shop:{page.path}", [shop_items_tag(page.path)]),
        )
    }
