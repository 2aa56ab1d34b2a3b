"""Small request helpers shared by the apps' views."""

from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

# Longer is not a link anyone follows, and it would end up in a Location header.
NEXT_URL_MAX_LENGTH = 2000


def safe_next_url(request: HttpRequest, fallback: str) -> str:
    """The request's `next` (POST for a POST, else the query string) as a path on this site,
    or `fallback`.

    Always a plain path ("/shops/?page=2"), never a bare word: `redirect()` would take "abc" for
    a URL pattern name and raise (a 500). Other sites, protocol-relative and scheme URLs, control
    characters (a newline in a Location header raises too) and overlong values give `fallback`.
    """
    data = request.POST if request.method == "POST" else request.GET
    candidate = data.get("next", "")
    if not candidate or len(candidate) > NEXT_URL_MAX_LENGTH:
        return fallback
    if any(unicodedata.category(char)[0] == "C" for char in candidate):
        return fallback
    if not url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return fallback
    # An absolute URL to this very host is fine: keep only its path, query and fragment.
    parts = urlsplit(candidate)
    path = parts.path
    if not path.startswith("/") or path.startswith(("//", "/\\")):
        return fallback
    query = f"?{parts.query}" if parts.query else ""
    fragment = f"#{parts.fragment}" if parts.fragment else ""
    return f"{path}{query}{fragment}"
