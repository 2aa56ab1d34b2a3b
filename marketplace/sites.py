"""Which Wagtail `Site` answers a request, and the sites' root paths, found without a query
on every request.

Wagtail's `Site.find_for_request` runs its hostname-matching query for each request (and
keeps the answer only on that request). The answer depends on the `Site` rows and on the
root page's place in the tree, so it is memoised under the page cache's `site` version:
saving or deleting a `Site` moves that version on (`connect`), and so do the root page's
publish, unpublish, move and slug change (marketplace.page_cache). Each request gets its own
unpickled copy. Of the root page only the tree's columns are kept (`_find`); the home page
itself is read afresh when it is the page served (HomePage.route).

Rows changed without a signal (a database restored under a running cache, a test's rollback)
are not seen until the cache is cleared: `VITRINE_SITE_MEMO` turns the memo off.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.http import HttpRequest
from django.http.request import split_domain_port

from wagtail.models import Site

from . import page_cache


def site_and_root_paths(request: HttpRequest) -> tuple[Site | None, list]:
    """Wagtail's Site for this request's host and port, and every site's root path
    (`Site.get_site_root_paths`: what a page's URL is worked out from, which depends on the
    same rows and root pages), memoised (see the module)."""
    hostname = split_domain_port(request._get_raw_host())[0]
    port = request.get_port()
    return page_cache.memoised(
        f"site-for:{hostname}:{port}", lambda: (_find(request), Site.get_site_root_paths())
    )


def _find(request: HttpRequest) -> Site | None:
    site = Site._find_for_request(request)
    if site is not None:
        # The root page as its own type with only the tree's columns read: Wagtail routes
        # through it with no query per request, and a field of its own loads when read.
        site.root_page = site.root_page.specific_deferred
    return site


class SiteMiddleware:
    """Sets the request's Site (where Wagtail looks for it) from the memo. After
    CommonMiddleware, so only allowed host names get a memo entry."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        if settings.VITRINE_SITE_MEMO:
            # Where Wagtail looks for them: `{% pageurl %}` and `page.get_url(request)` then
            # work out a URL without reading the root paths from the cache, once per page.
            site, root_paths = site_and_root_paths(request)
            request._wagtail_site = site  # type: ignore[attr-defined]
            request._wagtail_cached_site_root_paths = root_paths  # type: ignore[attr-defined]
        return self.get_response(request)


def _sites_changed(**kwargs) -> None:
    page_cache.invalidate(page_cache.SITE)


def connect() -> None:
    for signal in (post_save, post_delete):
        signal.connect(_sites_changed, sender=Site, dispatch_uid=f"sites-changed-{signal}")
