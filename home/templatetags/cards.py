"""Item cards, each rendered once and shared by every page and shopper that shows it.

A card's HTML is kept under a *fingerprint* of everything it shows, taken from the rows the
page has just read: the piece (title, URL, price, stock, whether it is reserved now, its
cover picture and the version of that picture's tag, moved on when its file is replaced),
its designer's name and its shop's name and URL. A sale, a hold, a publish or a rename
changes the fingerprint, so the next page to show the card renders it again; a fingerprint
is never stale, whatever order requests and changes interleave in. The version of the `site`
tag is in the key too (marketplace.page_cache: the rare changes that show everywhere), and
so is the card template's own text (a deploy that changes it starts afresh).

The shopper's own part, the heart (saved or not, a form with their CSRF token or a link), is
never cached: it is drawn per request into the slot the cached card leaves for it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from functools import cache as once

from django import template
from django.core.cache import cache
from django.template import engines
from django.utils.safestring import SafeString, mark_safe

from marketplace import fragments, page_cache
from marketplace.pictures import image_tag
from products import selectors
from saved.templatetags.saved_tags import save_button_html

register = template.Library()

CARD_TEMPLATE = "components/item_card.html"  # Jinja2's (home/jinja2/): rendered most often
# Where the heart goes; item titles and names are escaped, so no data can contain it.
SAVE_SLOT = "<!--save-button-->"
CARD_TIMEOUT = 3600  # seconds; bounds how long an edited picture's old alt text could show


@once
def _card_template():
    return engines["jinja2"].get_template(CARD_TEMPLATE)


@once
def _template_digest() -> str:
    with open(_card_template().template.filename, encoding="utf-8") as source:
        return hashlib.blake2b(source.read().encode(), digest_size=6).hexdigest()


def _fingerprint(item, picture_version: int | None) -> str:
    shop = getattr(item, "shop", None)
    shown = (
        item.pk,
        item.title,
        item.url_path,
        item.live,
        item.is_sold,
        item.is_reserved,
        str(item.price),
        item.designer.name,
        getattr(item, "cover_image_id", None),
        getattr(item, "cover_alt", None),
        picture_version,  # its renditions: a replaced file has new ones
        (shop.title, shop.url_path) if shop is not None else None,
    )
    return hashlib.blake2b(repr(shown).encode(), digest_size=12).hexdigest()


def _render(item, request) -> tuple[str, str]:
    html = _card_template().render(
        {"item": item, "request": request, "save_slot": mark_safe(SAVE_SLOT)}  # noqa: S308
    )
    head, _, tail = html.partition(SAVE_SLOT)
    return head, tail


def card_html(items: Iterable, request, *, csrf_token) -> list[SafeString]:
    """The HTML of each item's card (items as products.selectors.attach_cards completes them),
    with this shopper's heart."""
    items = list(items)
    picture_tags = {
        item.pk: image_tag(item.cover_image_id)
        for item in items
        if getattr(item, "cover_image_id", None)
    }
    versions = page_cache.shown_versions(page_cache.SITE, *picture_tags.values()) or {}
    site = versions.get(page_cache.SITE)
    keys = [
        f"card:{_template_digest()}:{site}:{item.pk}:"
        f"{_fingerprint(item, versions.get(picture_tags.get(item.pk, '')))}"
        if site
        else None
        for item in items
    ]
    found = cache.get_many([key for key in keys if key]) if site else {}
    missing = [item for item, key in zip(items, keys, strict=True) if key not in found]
    if found and missing:  # only the cards rendered here need their pictures
        selectors.attach_covers(missing)
    fresh = {}
    cards = []
    for item, key in zip(items, keys, strict=True):
        if item.is_reserved:  # in a page's shared parts: "Reserved" until the hold runs out
            fragments.valid_until(item.held_until)
        parts = found.get(key) if key else None
        if parts is None:
            parts = _render(item, request)
            if key:
                fresh[key] = parts
        head, tail = parts
        heart = save_button_html(request, item, csrf_token=csrf_token)
        cards.append(mark_safe(head + heart + tail))  # noqa: S308 - rendered by the template
    if fresh:
        cache.set_many(fresh, CARD_TIMEOUT)
    return cards


@register.simple_tag(takes_context=True)
def item_cards(context, items) -> list[SafeString]:
    """`{% item_cards items as cards %}`: the cards of a grid, in one cache read."""
    return card_html(items, context.get("request"), csrf_token=context.get("csrf_token"))


@register.simple_tag(takes_context=True)
def item_card(context, item) -> SafeString:
    """`{% item_card item %}`: one card (the saved list's, a confirmation page's)."""
    return card_html([item], context.get("request"), csrf_token=context.get("csrf_token"))[0]
