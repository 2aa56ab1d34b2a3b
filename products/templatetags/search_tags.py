"""Template helpers for the search page's filters: facet order, options and "Clear filters"."""

from html import escape

from django import template
from django.utils.safestring import mark_safe

from products.models import ItemPage

register = template.Library()


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
    if selected in ItemPage.Condition.values:
        label = ItemPage.Condition(selected).label
    else:
        label = selected.replace("-", " ").replace("_", " ").capitalize()
    return [*facets, {"value": selected, "label": label, "count": 0}]


@register.simple_tag
def facet_options(facets, selected):
    """A facet select's `<option>`s in one pass, each value escaped: the shop facet can list
    hundreds of shops, which a template loop (or format_html per option) renders many times
    slower."""
    return mark_safe(
        "".join(
            f'<option value="{escape(str(facet["value"]))}"'
            f"{' selected' if facet['value'] == selected else ''}>"
            f"{escape(str(facet['label']))} ({int(facet['count'])})</option>"
            for facet in ensure_selected(facets, selected)
        )
    )  # noqa: S308 - every value is escaped above
