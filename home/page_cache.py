"""Whole-page cache for anonymous shoppers on browsing pages.

Only a first-time visitor's GET (no cookies at all) of a listed page is served from or stored in
the cache, and only a response that sets no cookie and is not private: anything personal (a
cart, messages, a CSRF form) has a cookie or sets one, so it is never cached. Every cached entry
carries the site's content generation; publishing or unpublishing a page, editing the catalogue
or selling a piece moves the generation on, so a vendor's edit shows at once.
"""

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils.cache import patch_vary_headers

from wagtail.signals import page_published, page_unpublished

GENERATION_KEY = "pagecache:generation"
# Pages worth caching whole (items included: an item page with an add-to-cart form sets the
# CSRF cookie, so only a sold piece's or a closed shop's item page is ever stored).
CACHEABLE_PREFIXES = ("/shops/", "/designers/", "/privacy/", "/security/", "/terms/")


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


def _key(request) -> str:
    return f"pagecache:{generation()}:{request.get_host()}:{request.get_full_path()}"


def _eligible(request) -> bool:
    if settings.VITRINE_PAGE_CACHE_SECONDS <= 0 or request.method not in ("GET", "HEAD"):
        return False
    if request.COOKIES or request.META.get("HTTP_AUTHORIZATION"):
        return False
    path = request.path
    if path != "/" and not path.startswith(CACHEABLE_PREFIXES):
        return False
    # Only the page number may vary; other query strings would let anyone fill the cache.
    return set(request.GET) <= {"page"}


class AnonymousPageCacheMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not _eligible(request):
            return self.get_response(request)
        key = _key(request)
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
