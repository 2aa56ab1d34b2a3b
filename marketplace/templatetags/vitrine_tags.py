"""Small template helpers for every app's pages and emails: money, JSON-LD, pagination,
breadcrumbs, piece counts. (The search page's facet helpers are products' `search_tags`.)"""

import html
import json
from typing import Any

from django import template
from django.apps import apps
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from wagtail.images.shortcuts import get_renditions_or_not_found

from marketplace import page_urls
from marketplace.money import format_money

register = template.Library()

# Characters that could end the <script> element or confuse an HTML parser, as JSON escapes.
_JSON_SCRIPT_ESCAPES = {
    ord("<"): "\\u003C",
    ord(">"): "\\u003E",
    ord("&"): "\\u0026",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


@register.filter(is_safe=False)
def money(value, currency: str | None = None) -> str:
    """`{{ price|money }}` → "£1,250.00"; `{{ amount|money:order.currency }}` (see format_money)."""
    return format_money(value, currency)


@register.simple_tag
def json_ld(data) -> str:
    """`{% json_ld data %}`: a `<script type="application/ld+json">` element, safely escaped."""
    if not data:
        return ""
    text = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":"))
    text = text.translate(_JSON_SCRIPT_ESCAPES)
    return mark_safe(f'<script type="application/ld+json">{text}</script>')  # noqa: S308 - escaped above


@register.simple_tag
def elided_page_range(page_obj, on_each_side: int = 1, on_ends: int = 1):
    """Page numbers around the current page, with `…` gaps: for `components/pagination.html`."""
    return page_obj.paginator.get_elided_page_range(
        page_obj.number, on_each_side=on_each_side, on_ends=on_ends
    )


@register.filter
def is_ellipsis(value) -> bool:
    """True for the `…` gaps of `elided_page_range` (page numbers are ints; the gap is lazy text)."""
    return not isinstance(value, int)


@register.simple_tag
def breadcrumb_ancestors(page):
    """The page's ancestors below the tree root (home first), as specific-less Page objects."""
    if page is None or not hasattr(page, "get_ancestors"):
        return []
    # A page served through HomePage.route carries them (read while routing).
    routed = getattr(page, "route_ancestors", None)
    if routed is not None:
        return routed
    return list(page.get_ancestors().filter(depth__gt=1))


@register.simple_tag
def rendition_img(rendition, **attrs):
    """The `<img>` of a rendition already at hand, as `{% image %}` writes it (an underscore
    in an attribute's name stands for a hyphen: `data_gallery_main=""`): the same attributes
    in the same order as Wagtail's `img_tag`, written here in a third of its time (its
    `flatatt` formats each attribute through `format_html`: 80 µs an image, on every item
    page a few times)."""
    shown = {
        **rendition.attrs_dict,
        **apps.get_app_config("wagtailimages").default_attrs,
        **{name.replace("_", "-"): value for name, value in attrs.items()},
    }
    # As django.forms.utils.flatatt: name="value" sorted, then the true booleans, sorted.
    valued = sorted((n, v) for n, v in shown.items() if not isinstance(v, bool) and v is not None)
    flags = sorted(name for name, value in shown.items() if value is True)
    return mark_safe(  # noqa: S308 - every name and value is escaped
        "<img"
        + "".join(f' {_escaped(n)}="{_escaped(v)}"' for n, v in valued)
        + "".join(f" {_escaped(name)}" for name in flags)
        + ">"
    )


def _escaped(value: Any) -> str:
    """`conditional_escape(value)` without its lazy-string wrapper (a card's picture has some
    fifteen attributes: a third of the card's rendering went to it)."""
    return value.__html__() if hasattr(value, "__html__") else html.escape(str(value))


@register.simple_tag(takes_context=True)
def page_url(context, page) -> str:
    """`{% page_url page %}`: what Wagtail's `{% pageurl page %}` writes, worked out once per
    page path (marketplace.page_urls); "" for a page that is not routable."""
    return page_urls.page_url(page, context.get("request")) or ""


@register.simple_tag
def img(image, *specs, **attrs):
    """`{% img image "fill-360x450" "fill-720x900" sizes="50vw" alt="" %}`: what Wagtail's
    `{% image image fill-360x450 ... %}` (one size) or `{% srcset_image image
    fill-{360x450,720x900} ... %}` (several: the first the `src`, each a width in `srcset`)
    write, through rendition_img; nothing for no image. A card is written once per piece
    shown for the first time: some two dozen on a page of new search words."""
    if not image:
        return ""
    renditions = list(get_renditions_or_not_found(image, specs).values())
    if len(renditions) > 1:
        attrs["srcset"] = ", ".join(f"{r.url} {r.width}w" for r in renditions)
    return rendition_img(renditions[0], **attrs)


@register.filter
def plural_pieces(count) -> str:
    """`1|plural_pieces` → "1 piece", `3|plural_pieces` → "3 pieces"."""
    try:
        n = int(count)
    except (TypeError, ValueError):
        n = 0
    return format_html("{} {}", f"{n:,}", "piece" if n == 1 else "pieces")
