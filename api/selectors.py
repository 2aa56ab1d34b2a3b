"""Reads for the public API: what anonymous visitors may see, loaded in a fixed number of queries.

Visible means what the site lists (products.selectors.items_live and shops_listed): live,
outside any view-restricted section, and in a shop that is live and of an active vendor. Vendor
rows are only ever used in SQL conditions, never loaded: nothing of them can reach a serializer.

Counts (pieces for sale per shop or designer) are memoised until the catalogue changes, like the
site's own (`marketplace.page_cache.memoised`): publishing, catalogue edits and sales renew them.
"""

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from functools import reduce
from operator import or_
from typing import Any

from django.db.models import Count, QuerySet

from wagtail.images.models import SourceImageIOError

from marketplace.models import CustomImage, CustomRendition
from marketplace.page_cache import CATALOGUE, SHOPS, memoised
from products.models import Category, Designer, ItemImage, ItemPage
from products.selectors import attach_shops, in_shop, items_live, shop_path_expression
from vendors.models import ShopPage

# Rendition specs: the ones the site's templates use, so the API reuses their files.
ITEM_THUMBNAIL = "fill-360x450"  # item cards
ITEM_LARGE = "max-1200x1200"  # item page gallery (and JSON-LD)
LOGO = "fill-160x160"  # shop and designer headers
BANNER = "fill-1600x600"  # shop page banner
ITEM_IMAGE_SPECS = {"thumbnail": ITEM_THUMBNAIL, "large": ITEM_LARGE}


def _digest(keys: Iterable) -> str:
    return hashlib.sha256(",".join(sorted(map(str, keys))).encode()).hexdigest()[:32]


def load_images(image_ids: Iterable[int | None], *specs: str) -> dict[int, CustomImage]:
    """Images by id with the renditions for `specs`: two queries, whatever their number."""
    ids = {pk for pk in image_ids if pk}
    if not ids:
        return {}
    return CustomImage.objects.filter(pk__in=ids).prefetch_renditions(*specs).in_bulk()


def rendition_or_none(image: CustomImage | None, spec: str) -> CustomRendition | None:
    """The rendition, or None when the source file is missing (as Wagtail's image tag does)."""
    if image is None:
        return None
    try:
        return image.get_rendition(spec)
    except SourceImageIOError:
        return None


def attach_item_extras(items: Iterable[ItemPage]) -> list[ItemPage]:
    """Give each item its shop (`item.shop`) and its gallery (`item.api_gallery`: a list of
    (alt, {"thumbnail": rendition, "large": rendition}) pairs). Four queries at most."""
    items = attach_shops(items)
    by_item: dict[int, list[tuple[int, str]]] = defaultdict(list)
    rows = (
        ItemImage.objects.filter(item_id__in=[item.pk for item in items])
        .order_by("item_id", "sort_order", "pk")
        .values_list("item_id", "image_id", "alt_text")
    )
    for item_id, image_id, alt_text in rows:
        by_item[item_id].append((image_id, alt_text))
    images = load_images(
        (image_id for photos in by_item.values() for image_id, _ in photos),
        *ITEM_IMAGE_SPECS.values(),
    )
    for item in items:
        gallery = []
        for image_id, alt_text in by_item.get(item.pk, []):
            image = images.get(image_id)
            renditions = {
                name: rendition_or_none(image, spec) for name, spec in ITEM_IMAGE_SPECS.items()
            }
            if image is not None and all(renditions.values()):
                gallery.append((alt_text or image.default_alt_text or item.title, renditions))
        item.api_gallery = gallery
    return items


def attach_shop_extras(shops: Iterable[ShopPage]) -> list[ShopPage]:
    """Give each shop its logo and banner renditions, its number of pieces for sale and the
    designers and categories of those pieces. Five queries, for any number of shops."""
    shops = list(shops)
    images = load_images(
        [shop.logo_id for shop in shops] + [shop.banner_id for shop in shops], LOGO, BANNER
    )
    by_path = {shop.path: shop for shop in shops}
    counts: dict[str, int] = defaultdict(int)
    designer_ids: dict[str, set[int]] = defaultdict(set)
    category_ids: dict[str, set[int]] = defaultdict(set)
    if shops:

        def for_sale() -> list[tuple[Any, ...]]:
            # Ids only, no joins: the plan stays on the tree-path index ranges.
            return list(
                items_live()
                .filter(quantity__gt=0)
                .filter(reduce(or_, (in_shop(shop) for shop in shops)))
                .annotate(shop_path=shop_path_expression())
                .order_by()
                .values_list("shop_path", "designer_id", "category_id")
                .annotate(n=Count("pk"))
            )

        rows = memoised(f"api-shop-stats:{_digest(by_path)}", for_sale, tags=[CATALOGUE, SHOPS])
        for shop_path, designer_id, category_id, n in rows:
            counts[shop_path] += n
            designer_ids[shop_path].add(designer_id)
            category_ids[shop_path].add(category_id)
    designers = _summaries(Designer, designer_ids)
    categories = _summaries(Category, category_ids)
    for path, shop in by_path.items():
        shop.api_logo = rendition_or_none(images.get(shop.logo_id), LOGO)
        shop.api_banner = rendition_or_none(images.get(shop.banner_id), BANNER)
        shop.api_item_count = counts[path]
        shop.api_designers = _sorted_summaries(designers, designer_ids[path])
        shop.api_categories = _sorted_summaries(categories, category_ids[path])
    return shops


def _summaries(
    model: type[Category] | type[Designer], ids_by_key: dict[Any, set[int]]
) -> dict[int, Mapping[str, Any]]:
    ids = set().union(*ids_by_key.values()) if ids_by_key else set()
    if not ids:
        return {}
    return {row["id"]: row for row in model.objects.filter(pk__in=ids).values("id", "name", "slug")}


def _sorted_summaries(
    summaries: dict[int, Mapping[str, Any]], ids: set[int]
) -> list[Mapping[str, Any]]:
    return sorted(
        (summaries[pk] for pk in ids if pk in summaries), key=lambda row: (row["name"], row["id"])
    )


def attach_designer_extras(designers: Iterable[Designer], *, items: QuerySet) -> list[Designer]:
    """Give each designer its logo rendition and the number of its visible pieces for sale."""
    designers = list(designers)
    images = load_images([designer.logo_id for designer in designers], LOGO)
    ids = [designer.pk for designer in designers]
    counts = (
        memoised(
            f"api-designer-counts:{_digest(ids)}",
            lambda: dict(
                items.filter(quantity__gt=0, designer_id__in=ids)
                .order_by()
                .values_list("designer_id")
                .annotate(n=Count("pk"))
                .values_list("designer_id", "n")
            ),
            tags=[CATALOGUE, SHOPS],
        )
        if designers
        else {}
    )
    for designer in designers:
        logo = images.get(designer.logo_id) if designer.logo_id is not None else None
        designer.api_logo = rendition_or_none(logo, LOGO)
        designer.api_item_count = counts.get(designer.pk, 0)
    return designers
