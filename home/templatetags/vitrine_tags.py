"""Small template helpers for the public site: money, JSON-LD, pagination, breadcrumbs."""

import json
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

register = template.Library()

CURRENCY_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}
CENT = Decimal("0.01")

# Characters that could end the <script> element or confuse an HTML parser, as JSON escapes.
_JSON_SCRIPT_ESCAPES = {
    ord("<"): "\\u003C",
    ord(">"): "\\u003E",
    ord("&"): "\\u0026",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


def _to_decimal(value) -> Decimal | None:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or value is None or value == "":
        return None
    try:
        # str() first: a float (never expected) is read as its shortest repr, not its binary value.
        return Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None


@register.filter(is_safe=False)
def money(value, currency: str | None = None) -> str:
    """`Decimal("1250")` → "£1,250.00" in the site currency (`settings.VITRINE_CURRENCY`).

    GBP, EUR and USD get their symbol in front; any other currency code goes after the amount:
    "1,250.00 CHF". Anything that is not a number renders as an empty string.
    """
    amount = _to_decimal(value)
    if amount is None or not amount.is_finite():
        return ""
    code = (currency or getattr(settings, "VITRINE_CURRENCY", "GBP") or "GBP").upper()
    amount = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    sign = "-" if amount < 0 else ""
    digits = f"{abs(amount):,.2f}"
    symbol = CURRENCY_SYMBOLS.get(code)
    if symbol:
        return f"{sign}{symbol}{digits}"
    return f"{sign}{digits} {code}"


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
    return list(page.get_ancestors().filter(depth__gt=1))


@register.filter
def plural_pieces(count) -> str:
    """`1|plural_pieces` → "1 piece", `3|plural_pieces` → "3 pieces"."""
    try:
        n = int(count)
    except (TypeError, ValueError):
        n = 0
    return format_html("{} {}", f"{n:,}", "piece" if n == 1 else "pieces")


@register.filter
def has_refinements(filters) -> bool:
    """True when search filters other than the text query are set (for "Clear filters")."""
    return bool(
        getattr(filters, "designer", "")
        or getattr(filters, "category", "")
        or getattr(filters, "condition", "")
        or getattr(filters, "shop", "")
        or getattr(filters, "min_price", None) is not None
        or getattr(filters, "max_price", None) is not None
    )


@register.filter
def by_condition_rank(facets):
    """Condition facets best first (New, Pristine, … Good), not alphabetically."""
    from products.models import ItemPage

    rank = {value: index for index, value in enumerate(ItemPage.Condition.values)}
    return sorted(facets or [], key=lambda facet: rank.get(facet.get("value"), len(rank)))


@register.filter
def ensure_selected(facets, selected):
    """The facet list, plus the shopper's current choice at count 0 when no result carries it.

    Without this a select would silently fall back to "All …" and the next submit would drop the
    filter. The label is rebuilt from the slug (the facet rows hold the real name only when counted).
    """
    facets = list(facets or [])
    if not selected or any(facet.get("value") == selected for facet in facets):
        return facets
    from products.models import ItemPage

    if selected in ItemPage.Condition.values:
        label = ItemPage.Condition(selected).label
    else:
        label = selected.replace("-", " ").replace("_", " ").capitalize()
    return [*facets, {"value": selected, "label": label, "count": 0}]


@register.simple_tag
def facet_options(facets, selected):
    """A facet select's `<option>`s in one pass: the shop facet can list hundreds of shops,
    which a template loop renders ten times slower."""
    return format_html_join(
        "",
        '<option value="{}"{}>{} ({})</option>',
        (
            (
                facet["value"],
                mark_safe(" selected") if facet["value"] == selected else "",
                facet["label"],
                facet["count"],
            )
            for facet in ensure_selected(facets, selected)
        ),
    )
