"""`{% save_button item %}`: the heart that saves or unsaves a piece, on cards and item pages.

Built in Python, not a template: a page of cards draws one heart per card, per request (it is
the shopper's own state, so it is never part of a cached card: see `home.templatetags.cards`).
"""

from urllib.parse import quote

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from saved.selectors import saved_item_ids

register = template.Library()

HEART = mark_safe(  # noqa: S308 - a constant
    '<svg class="save-toggle__heart" aria-hidden="true" focusable="false" width="20" height="20"'
    ' viewBox="0 0 24 24"><path d="M12 20.3c-.4-.25-8-4.9-8-10.3a4.3 4.3 0 0 1 8-2.2 4.3 4.3 0 0'
    ' 1 8 2.2c0 5.4-7.6 10.05-8 10.3Z" fill="none" stroke="currentColor" stroke-width="1.6"'
    ' stroke-linejoin="round"/></svg>'
)


def _may_render_form(request) -> bool:
    """A POST form needs a CSRF token, which sets the CSRF cookie, and a response that
    sets a cookie is never stored by the anonymous page cache (marketplace.page_cache). So a request
    without any cookie (a first-time visitor, whose page may be cached for everyone) gets a
    plain link to the confirmation page instead, unless this response already carries a
    token anyway (an item page's add-to-cart form rendered above)."""
    return bool(request.COOKIES) or bool(request.META.get("CSRF_COOKIE_NEEDS_UPDATE"))


def save_button_html(request, item, *, csrf_token, size: str = "card") -> SafeString:
    """The heart for `item` (anything with `pk` and `title`) as this shopper sees it: a form
    that saves or removes it, or, for a first-time visitor, a link to the confirmation page.
    `csrf_token`: the template context's (one token for every form of the page)."""
    if request is None or item.pk is None:  # an email, or an admin preview of a new page
        return SafeString("")
    next_url = request.get_full_path()
    if size == "card":
        next_url += f"#save-{item.pk}"  # back to this card: the shopper keeps their place
    text = size == "page"
    if not _may_render_form(request):
        return format_html(
            '<a id="save-{pk}" class="save-toggle save-toggle--{size} save-toggle__button" '
            'href="{url}?item={pk}&amp;next={next}" aria-label="Save {title}" rel="nofollow">\n  '
            "{heart}{text}\n</a>\n",
            pk=item.pk,
            size=size,
            url=reverse("saved_add"),
            next=quote(next_url, safe="/"),
            title=item.title,
            heart=HEART,
            text=mark_safe('<span class="save-toggle__text" aria-hidden="true">Save</span>')
            if text
            else "",
        )
    saved = item.pk in saved_item_ids(request)
    token = (
        format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', csrf_token)
        if csrf_token and csrf_token != "NOTPROVIDED"
        else ""
    )
    return format_html(
        '<form id="save-{pk}" class="save-toggle save-toggle--{size}" method="post" '
        'action="{url}">\n  {token}<input type="hidden" name="item" value="{pk}">'
        '<input type="hidden" name="next" value="{next}">\n  '
        '<button type="submit" class="save-toggle__button" aria-pressed="{pressed}" '
        'aria-label="{label}">\n    {heart}{text}\n  </button>\n</form>\n',
        pk=item.pk,
        size=size,
        url=reverse("saved_remove" if saved else "saved_add"),
        token=token,
        next=next_url,
        pressed="true" if saved else "false",
        label=f"Remove {item.title} from saved" if saved else f"Save {item.title}",
        heart=HEART,
        text=format_html(
            '<span class="save-toggle__text" aria-hidden="true">{}</span>',
            "Saved" if saved else "Save",
        )
        if text
        else "",
    )


@register.simple_tag(takes_context=True)
def save_button(context, item, size: str = "card") -> SafeString:
    return save_button_html(
        context.get("request"), item, csrf_token=context.get("csrf_token"), size=size
    )
