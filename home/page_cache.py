"""Whole-page cache for anonymous shoppers on browsing pages.

Only a first-time visitor's GET (no cookies at all) of a listed page is served from or stored in
the cache, and only a response that sets no cookie and is not private: anything personal (a
cart, messages, a CSRF form) has a cookie or sets one, so it is never cached. Every cached entry
carries the site's content generation; publishing or unpublishing a page, editing the catalogue
or selling a piece moves the generation on, so a vendor's edit shows at once.

Only canonical URLs are stored, or anyone could fill the cache with copies of one page
(`?page=junk1`, `?page=junk2`, ...): no query string, or exactly `?page=N` where N is written
plainly, is at least 2 (page 1 is the URL without it), and is the page the view really served
(not a bad or out-of-range number it answered with the first or last page). Every other URL is
served as usual, uncached.
"""

import re

from django.conf import settings
from django.core.cache import cache
from django.core.paginator import Page as PaginatorPage
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils.cache import patch_vary_headers

from wagtail.signals import page_published, page_unpublished

GENERATION_KEY = "pagecache:generation"
# Pages worth caching whole (items included: an item page with an add-to-cart form sets the
# CSRF cookie, so only a sold piece's or a closed shop's item page is ever stored).
CACHEABLE_PREFIXES = ("/shops/", "/designers/", "/privacy/", "/security/", "/terms/")
# A page number as the site's own links write it; page 1 is the URL without one.
PAGE_NUMBER = re.compile(r"[2-9]|[1-9][0-9]{1,5}")


def generation() -> int:
    value = cache.get(GENERATION_KEY)
    if value is None:
        cache.add(GENERATION_KEY, 1, None)
        value = cache.get(GENERATION_KEY, 1)
    return value


def bump() -> None:
    """Invalidate every cached page and memoised count (content, prices or stock changed).

    Once now, and again when the transaction commits: a request in between still reads the
    old rows, and would otherwise keep them under the new generation.
    """
    _next_generation()
    transaction.on_commit(_next_generation)


def _next_generation() -> None:
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:
        cache.set(GENERATION_KEY, 2, None)


def _key(request, query: str) -> str:
    return f"pagecache:{generation()}:{request.get_host()}:{request.path}?{query}"


def _canonical_query(request) -> str | None:
    """The query string of a cacheable request, normalised ("" or "page=N"); None when the
    request may not be cached at all."""
    if settings.VITRINE_PAGE_CACHE_SECONDS <= 0 or request.method not in ("GET", "HEAD"):
        return None
    if request.COOKIES or request.META.get("HTTP_AUTHORIZATION"):
        return None
    path = request.path
    if path != "/" and not path.startswith(CACHEABLE_PREFIXES):
        return None
    if not request.GET:
        return ""
    pages = request.GET.getlist("page")
    if set(request.GET) != {"page"} or len(pages) != 1 or not PAGE_NUMBER.fullmatch(pages[0]):
        return None
    return f"page={pages[0]}"


def _served_as_asked(query: str, response) -> bool:
    """A `?page=N` response is cacheable only if the view paginated and showed page N itself
    (Paginator.get_page answers an out-of-range number with the last page)."""
    if not query:
        return True
    number = int(query.removeprefix("page="))
    context = getattr(response, "context_data", None) or {}
    shown = [value.number for value in context.values() if isinstance(value, PaginatorPage)]
    return bool(shown) and all(shown_number == number for shown_number in shown)


class AnonymousPageCacheMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        query = _canonical_query(request)
        if query is None:
            return self.get_response(request)
        key = _key(request, query)
        cached = cache.get(key)
        if cached is not None:
            cached["X-Page-Cache"] = "hit"
            return cached
        response = self.get_response(request)
        cache_control = response.get("Cache-Control", "")
        if (
            response.status_code == 200
            and not response.cookies
            and not response.streaming
            and "private" not in cache_control
            and "no-store" not in cache_control
            and _served_as_asked(query, response)
        ):
            # Stored before the (outer) CSP middleware adds its header: every hit gets a fresh
            # policy without a nonce, so no nonce is reused; scripts load as 'self' files.
            patch_vary_headers(response, ["Cookie"])
            response["X-Page-Cache"] = "miss"
            cache.set(key, response, settings.VITRINE_PAGE_CACHE_SECONDS)
        return response


@receiver(page_published)
@receiver(page_unpublished)
def _page_changed(**kwargs):
    bump()


def _connect_model_signals():
    from wagtail.models import PageViewRestriction

    from products.models import Category, Designer
    from products.signals import stock_changed
    from vendors.models import Vendor

    # A new or lifted view restriction changes what anonymous shoppers and the API may see.
    for model in (Designer, Category, Vendor, PageViewRestriction):
        post_save.connect(_model_changed, sender=model, dispatch_uid=f"pagecache-save-{model}")
        post_delete.connect(_model_changed, sender=model, dispatch_uid=f"pagecache-del-{model}")
    # A vendor's stock control (the order system bumps for its own sales and refunds).
    stock_changed.connect(_model_changed, dispatch_uid="pagecache-stock")


def _model_changed(**kwargs):
    bump()
