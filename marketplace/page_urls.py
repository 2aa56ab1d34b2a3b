"""Page URLs worked out once per page path, not once per link.

Wagtail's `{% pageurl %}` reverses its `wagtail_serve` pattern for every link it writes (some
35 µs: a card has two, a page of new search results two dozen cards); the answer depends only
on the page's path, the sites' root paths, the current site, the script prefix and the
URLconf, so it is kept per worker under all of them: a moved or renamed page (a new path), a
new site or root page (new root paths: marketplace.sites keeps them per request) asks again.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.http import HttpRequest
from django.urls import get_script_prefix, get_urlconf
from django.utils import translation

from wagtail.models import Page, Site

_URLS: dict[tuple, str | None] = {}
MAX_URLS = 50_000  # some 10 MB at most; emptied when full


def page_url(page: Page, request: HttpRequest | None) -> str | None:
    """`page.get_url(request)`, worked out once per page path in this worker."""
    site = Site.find_for_request(request) if request is not None else None
    key = (
        page.url_path,
        tuple(page._get_site_root_paths(request)),
        site.pk if site is not None else None,
        get_script_prefix(),
        get_urlconf(),
        translation.get_language() if settings.WAGTAIL_I18N_ENABLED else None,
    )
    try:
        return _URLS[key]
    except KeyError:
        pass
    if len(_URLS) >= MAX_URLS:
        _URLS.clear()
    url = _URLS[key] = page.get_url(request=request, current_site=site)
    return url


def _forget(**kwargs: Any) -> None:
    # URLconf, slash and site settings overridden (tests): every URL is worked out again.
    _URLS.clear()


setting_changed.connect(_forget, dispatch_uid="page-urls-setting-changed")
