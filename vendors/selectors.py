from django.db.models import Count, QuerySet

from .models import ShopPage


def shops_live(*, limit: int | None = None) -> QuerySet[ShopPage] | list[ShopPage]:
    """Live shops of active vendors with their logo and number of available items."""
    from products.models import ItemPage

    shops = (
        ShopPage.objects.live()
        .filter(vendor__status="active")
        .select_related("logo", "banner")
        .prefetch_related("logo__renditions", "banner__renditions")
        .order_by("title")
    )
    counts = {}
    shops = list(shops[:limit] if limit else shops)
    if shops:
        from products.selectors import shop_path_expression

        counts = dict(
            ItemPage.objects.live()
            .filter(quantity__gt=0)
            .annotate(shop_path=shop_path_expression())
            .filter(shop_path__in=[shop.path for shop in shops])
            .order_by()
            .values_list("shop_path")
            .annotate(n=Count("pk"))
            .values_list("shop_path", "n")
        )
    for shop in shops:
        shop.available_count = counts.get(shop.path, 0)
    return shops
