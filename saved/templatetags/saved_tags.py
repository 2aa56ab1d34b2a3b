"""`{% save_button item %}`: the heart that saves or unsaves a piece, on cards and item pages."""

from django import template

from saved.selectors import saved_item_ids

register = template.Library()


def _may_render_form(request) -> bool:
    """A POST form needs `{% csrf_token %}`, which sets the CSRF cookie, and a response that
    sets a cookie is never stored by the anonymous page cache (marketplace.page_cache). So a request
    without any cookie (a first-time visitor, whose page may be cached for everyone) gets a
    plain link to the confirmation page instead, unless this response already carries a
    token anyway (an item page's add-to-cart form rendered above)."""
    return bool(request.COOKIES) or bool(request.META.get("CSRF_COOKIE_NEEDS_UPDATE"))


@register.inclusion_tag("saved/_save_button.html", takes_context=True)
def save_button(context, item, size: str = "card") -> dict:
    request = context.get("request")
    if request is None or item.pk is None:  # an email, or an admin preview of a new page
        return {"item": None}
    next_url = request.get_full_path()
    if size == "card":
        next_url += f"#save-{item.pk}"  # back to this card: the shopper keeps their place
    return {
        "item": item,
        "saved": item.pk in saved_item_ids(request),
        "use_form": _may_render_form(request),
        "next": next_url,
        "size": size,
    }
