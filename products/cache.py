"""What the catalogue's changes invalidate in the page cache (marketplace.page_cache), and the
tags its pages and counts depend on. Wired in ProductsConfig.ready."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models.signals import post_delete, post_save

from wagtail.models import Page

from marketplace import page_cache
from vendors.cache import shop_items_tag

from .signals import stock_changed

CATALOGUE = page_cache.CATALOGUE
SHOPS = page_cache.SHOPS


# Which pieces are the newest for sale (the home page's new arrivals): moved on when a piece
# is published or withdrawn, or comes back on sale; a sale moves on only the sold piece's tag.
ARRIVALS = "arrivals"
# Which pieces are listed and what they say (their designer, category, condition, price,
# words): what search counts and ranks. Moved on by a publish or a withdrawal, not by a sale
# (search lists sold pieces too) or a hold.
LISTED = "listed"
# Which pieces are reserved this minute: what counts the pieces for sale right now (the API's
# `available` filter). Holds move on only this and the held pieces' own tags.
HOLDS = "holds"


def item_tag(item_id: int) -> str:
    return f"item:{item_id}"


def designer_items_tag(designer_id: int) -> str:
    return f"designer-items:{designer_id}"


def item_changed_tags(*, item_id: int, path: str, designer_id: int) -> list[str]:
    """What a change of one piece (published, withdrawn, sold, restocked, back on sale)
    invalidates: its page, its shop's and designer's listings and counts, the catalogue's.
    A hold changes only what shows its card (holds_changed)."""
    return [
        item_tag(item_id),
        shop_items_tag(path[: -Page.steplen]),
        designer_items_tag(designer_id),
        CATALOGUE,
    ]


def items_changed(item_ids: Iterable[int], *, back_on_sale: bool = False) -> None:
    """Pieces whose stock or sale changed: invalidate what shows or counts them (call inside the
    transaction that changes them). `back_on_sale`: a piece sold out may be for sale again,
    so it may be among the newest arrivals."""
    item_ids = list(item_ids)
    if not item_ids:
        return
    from .models import ItemPage

    rows = ItemPage.objects.filter(pk__in=item_ids).values_list("pk", "path", "designer_id")
    page_cache.invalidate(
        *{
            tag
            for pk, path, designer_id in rows
            for tag in item_changed_tags(item_id=pk, path=path, designer_id=designer_id)
        },
        *([ARRIVALS] if back_on_sale else []),
    )


def holds_changed(item_ids: Iterable[int]) -> None:
    """Pieces now shown as reserved, or no longer: invalidate their pages and every page
    that shows their cards (listings record each card's tag: products.selectors), not the
    listings and counts that include them, which holds do not change (call inside the
    transaction that changes them)."""
    tags = [item_tag(pk) for pk in item_ids]
    if tags:
        page_cache.invalidate(*tags, HOLDS)


def _stock_set(*, item_id: int, quantity: int, previous: int, **kwargs) -> None:
    items_changed([item_id], back_on_sale=previous == 0 < quantity)


def _everything(**kwargs) -> None:
    # A designer's or category's name shows on cards everywhere; rare editor changes.
    page_cache.invalidate(page_cache.SITE)


def connect() -> None:
    from .models import Category, Designer

    stock_changed.connect(_stock_set, dispatch_uid="pagecache-stock")
    for model in (Designer, Category):
        post_save.connect(_everything, sender=model, dispatch_uid=f"pagecache-save-{model}")
        post_delete.connect(_everything, sender=model, dispatch_uid=f"pagecache-del-{model}")
