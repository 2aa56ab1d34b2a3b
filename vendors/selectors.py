from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet, prefetch_related_objects

from marketplace.page_cache import memoised_each
from orders.selectors import SalesFigures, sales_figures

from .cache import shop_items_tag
from .models import ShopPage, Vendor


def _available_counts(shops: list[ShopPage]) -> dict[str, int]:
    """Pieces for sale per shop, in one query (index ranges when only a few shops are asked)."""
    from functools import reduce
    from operator import or_

    from products.models import ItemPage
    from products.selectors import in_shop, shop_path_expression

    items = ItemPage.objects.live().filter(quantity__gt=0)
    if shops and len(shops) <= 50:
        items = items.filter(reduce(or_, (in_shop(shop) for shop in shops)))
    by_path = dict(
        items.annotate(shop_path=shop_path_expression())
        .order_by()
        .values_list("shop_path")
        .annotate(n=Count("pk"))
        .values_list("shop_path", "n")
    )
    return {shop.path: by_path.get(shop.path, 0) for shop in shops}


def shops_live(*, limit: int | None = None) -> list[ShopPage]:
    """Listed shops (live, of active vendors, not private: products.selectors.shops_listed)
    with their logo and number of available items."""
    from products.selectors import shops_listed

    listed = shops_listed().select_related("logo", "banner").order_by("title")
    shops = list(listed[:limit] if limit else listed)
    # Logos and banners are the same image table: their renditions in one query, not two.
    images = [image for shop in shops for image in (shop.logo, shop.banner) if image is not None]
    prefetch_related_objects(images, "renditions")
    by_path = {shop.path: shop for shop in shops}
    # Each shop's count is kept until one of its pieces changes (marketplace.page_cache).
    counts = memoised_each(
        "shop-available",
        by_path,
        lambda paths: _available_counts([by_path[path] for path in paths]),
        tags_of=lambda path: [shop_items_tag(path)],
        default=0,
    )
    for shop in shops:
        shop.available_count = counts[shop.path]
    return shops


def vendor_dashboard(*, vendor: Vendor) -> dict[str, Any]:
    """Numbers for the vendor's admin home: what is live, sold and waiting for review."""
    from django.contrib.contenttypes.models import ContentType
    from django.db.models import CharField
    from django.db.models.functions import Cast

    from wagtail.models import Page, WorkflowState

    from products.models import ItemPage

    shop = vendor.shop
    items = ItemPage.objects.child_of(shop)
    counts = items.aggregate(
        for_sale=Count("pk", filter=Q(live=True, quantity__gt=0)),
        sold=Count("pk", filter=Q(quantity=0)),
        drafts=Count("pk", filter=Q(live=False)),
    )
    page_ids = ItemPage.objects.descendant_of(shop, inclusive=False).annotate(
        key=Cast("pk", CharField())
    )
    awaiting = (
        WorkflowState.objects.active()
        .filter(
            Q(object_id__in=page_ids.values("key")) | Q(object_id=str(shop.pk)),
            base_content_type=ContentType.objects.get_for_model(Page),
        )
        .count()
    )
    from orders.selectors import vendor_orders_for_desk

    recent_orders = list(vendor_orders_for_desk(vendor=vendor).order_by("-order__created_at")[:5])
    return {
        "vendor": vendor,
        "shop": shop,
        "awaiting_review": awaiting,
        "recent_orders": recent_orders,
        "sales": sales_figures(vendor_ids=[vendor.pk])[vendor.pk],
        **counts,
    }


@dataclass(frozen=True)
class ShopSales:
    vendor: Vendor
    figures: SalesFigures


def vendors_for_sales() -> QuerySet[Vendor]:
    """Every shop, for the staff's sales overview (suspended and pending ones too)."""
    return Vendor.objects.order_by("name", "pk")


def sales_by_shop(*, vendors: Sequence[Vendor]) -> list[ShopSales]:
    """Each shop's weekly sales and payout totals, in two queries for any number of shops."""
    figures = sales_figures(vendor_ids=[vendor.pk for vendor in vendors])
    return [ShopSales(vendor=vendor, figures=figures[vendor.pk]) for vendor in vendors]
