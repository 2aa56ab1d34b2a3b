"""Which Wagtail `Site` answers a request, and the sites' root paths, found without a query
on every request.

Wagtail's `Site.find_for_request` runs its hostname-matching query for each request (and
keeps the answer only on that request). The answer depends on the `Site` rows and on the
root page's place in the tree, so it is memoised under the page cache's `site` version:
saving or deleting a `Site` moves that version on (`connect`), and so do the root page's
publish, unpublish, move and slug change (marketplace.page_cache). Each request gets its own
unpickled copy. Of the root page only the tree's columns are kept (`_with_tree_columns`); the
home page itself is read afresh when it is the page served (HomePage.route).

A first view (the memo empty: after a deploy, or every view while the cache is down) reads
every site in one query, with its root page and what else an app registered to be read with
it (`read_with_site`: the footer's settings), instead of Wagtail's host-matching query and
its root-paths query: the site is chosen, and the root paths listed, as Wagtail does.

Rows changed without a signal (a database restored under a running cache, a test's rollback)
are not seen until the cache is cleared: `VITRINE_SITE_MEMO` turns the memo off.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.http import HttpRequest
from django.http.request import split_domain_port

from wagtail.models import Site
from wagtail.models.sites import SiteRootPath

from . import page_cache


def site_and_root_paths(request: HttpRequest) -> tuple[Site | None, list[SiteRootPath]]:
    """Wagtail's Site for this request's host and port, and every site's root path
    (`Site.get_site_root_paths`: what a page's URL is worked out from, which depends on the
    same rows and root pages), memoised (see the module)."""
    hostname = split_domain_port(request._get_raw_host())[0]
    port = request.get_port()
    return page_cache.memoised(f"site-for:{hostname}:{port}", lambda: _read(hostname, port))


# Relations of Site read with it (select_related names), registered by the apps they belong to.
_READ_WITH_SITE: list[str] = []


def read_with_site(relation: str) -> None:
    """Read `relation` of each Site (a one-to-one row: an app's settings) with the sites, so
    that the memoised site has it at hand (Django raises the related model's DoesNotExist
    when there is none)."""
    if relation not in _READ_WITH_SITE:
        _READ_WITH_SITE.append(relation)


def _read(hostname: str, port: int) -> tuple[Site | None, list[SiteRootPath]]:
    sites = list(Site.objects.order_by().select_related("root_page__locale", *_READ_WITH_SITE))
    # With translations, a site has a root path for each: Wagtail's list then.
    paths = Site.get_site_root_paths() if settings.WAGTAIL_I18N_ENABLED else _root_paths(sites)
    return _with_tree_columns(_choose(sites, hostname, port)), paths


# Wagtail's order of preference (wagtail.models.sites.get_site_for_hostname).
_HOSTNAME_PORT, _HOSTNAME_DEFAULT, _DEFAULT, _HOSTNAME = range(4)


def _choose(sites: list[Site], hostname: str, port: int) -> Site | None:
    """The site Wagtail's `Site.find_for_request` answers for this host and port: an exact
    host and port, else the host's site that is the default, else the default unless exactly
    one other site has the host."""

    def match(site: Site) -> int:
        if site.hostname == hostname:
            if site.port == port:
                return _HOSTNAME_PORT
            return _HOSTNAME_DEFAULT if site.is_default_site else _HOSTNAME
        return _DEFAULT

    candidates = sorted(
        (site for site in sites if site.hostname == hostname or site.is_default_site), key=match
    )
    if not candidates:
        return None
    best = match(candidates[0])
    if len(candidates) == 1 or best in (_HOSTNAME_PORT, _HOSTNAME_DEFAULT):
        return candidates[0]
    if best == _DEFAULT:
        return candidates[len(candidates) == 2]
    return None  # several sites with the host, none the default: Wagtail finds none


def _root_paths(sites: list[Site]) -> list[SiteRootPath]:
    """`Site.get_site_root_paths()`: the longest root path first (then the default site,
    then by host name), so a page's URL is worked out from the most specific site."""
    ordered = sorted(sites, key=lambda site: site.hostname)
    ordered.sort(key=lambda site: site.is_default_site, reverse=True)
    ordered.sort(key=lambda site: site.root_page.url_path, reverse=True)
    return [
        SiteRootPath(
            site.id, site.root_page.url_path, site.root_url, site.root_page.locale.language_code
        )
        for site in ordered
    ]


def _with_tree_columns(site: Site | None) -> Site | None:
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
