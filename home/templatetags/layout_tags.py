"""The site's layout, as every page draws it per request: `{% site_header %}` and
`{% asset %}`. Each is worked out once per process, not once per request: the header has a
handful of variants (which of its links is the current page's, signed in or not), and an
asset's URL (its hashed name in the manifest) never changes while the process runs. In
DEBUG each is drawn afresh, so an edited template shows at once."""

from functools import cache

from django import template
from django.conf import settings
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

# Where the search box's words go: `<` cannot appear in a rendered attribute value.
QUERY_SLOT = "<query>"


@register.simple_tag(takes_context=True)
def site_header(context) -> SafeString:
    request = context.get("request")
    path = request.path if request is not None else ""
    user = getattr(request, "user", None)
    html = _header(
        shops=path.startswith("/shops/"),
        designers=path.startswith("/designers/"),
        saved=path in ("/saved/", "/account/saved/"),
        account=path.startswith("/account/"),
        authenticated=bool(user is not None and user.is_authenticated),
    )
    query = getattr(context.get("filters"), "q", "") or ""
    return mark_safe(html.replace(QUERY_SLOT, escape(query)))  # noqa: S308 - escaped


def _render_header(*, authenticated: bool, **current: bool) -> str:
    return render_to_string(
        "components/site_header.html",
        {"current": current, "authenticated": authenticated, "query_slot": mark_safe(QUERY_SLOT)},  # noqa: S308
    )


_header_once = cache(_render_header)


def _header(**variant: bool) -> str:
    return (_render_header if settings.DEBUG else _header_once)(**variant)


@register.simple_tag
def asset(path: str) -> str:
    """`{% asset 'css/site.css' %}`: `{% static %}`, worked out once per path."""
    return static(path) if settings.DEBUG else _asset_once(path)


_asset_once = cache(static)
