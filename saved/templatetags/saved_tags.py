"""`{% save_button item %}`: the heart that saves or unsaves a piece, on cards and item pages.

Built in Python, not a template: a page of cards draws one heart per card, per request (it is
the shopper's own state, so it is never part of a cached card: see `home.templatetags.cards`).
"""

from dataclasses import dataclass
from functools import cache as once
from types import SimpleNamespace
from urllib.parse import quote

from django import template
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from marketplace import fragments
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


@once
def _urls() -> tuple[str, str]:
    return reverse("saved_add"), reverse("saved_remove")


@dataclass(frozen=True)
class _Page:
    """What every heart of one page shares, worked out once per request (a page of cards
    draws some thirty): where it sends the shopper back, and their form's token."""

    next_url: str
    may_render_form: bool
    token_input: str


def _page(request, csrf_token) -> _Page:
    page = getattr(request, "_save_buttons", None)
    if page is None:
        may_render_form = _may_render_form(request)
        token = str(csrf_token) if may_render_form and csrf_token else ""
        page = request._save_buttons = _Page(
            next_url=request.get_full_path(),
            may_render_form=may_render_form,
            token_input=(
                f'<input type="hidden" name="csrfmiddlewaretoken" value="{escape(token)}">'
                if token and token != "NOTPROVIDED"
                else ""
            ),
        )
    return page


def save_button_html(request, item, *, csrf_token, size: str = "card") -> SafeString:
    """The heart for `item` (anything with `pk` and `title`) as this shopper sees it: a form
    that saves or removes it, or, for a first-time visitor, a link to the confirmation page.
    `csrf_token`: the template context's (one token for every form of the page; asked for
    only when a form is drawn, since asking sets the CSRF cookie: _may_render_form).

    A page of cards draws one per card per request: plain string building, escaping only
    what comes from data (the title and the page's own URL)."""
    if request is None or item.pk is None:  # an email, or an admin preview of a new page
        return SafeString("")
    marker = fragments.hole("save", pk=item.pk, title=item.title, size=size)
    if marker is not None:  # in a page's shared parts: drawn per request (_fill_save_button)
        return marker
    page = _page(request, csrf_token)
    pk = int(item.pk)
    next_url = page.next_url
    if size == "card":
        next_url += f"#save-{pk}"  # back to this card: the shopper keeps their place
    add_url, remove_url = _urls()
    title = escape(item.title)
    if not page.may_render_form:
        text = (
            '<span class="save-toggle__text" aria-hidden="true">Save</span>'
            if size == "page"
            else ""
        )
        return mark_safe(  # noqa: S308 - data escaped above
            f'<a id="save-{pk}" class="save-toggle save-toggle--{escape(size)} '
            f'save-toggle__button" href="{add_url}?item={pk}&amp;next='
            f'{escape(quote(next_url, safe="/"))}" aria-label="Save {title}" rel="nofollow">\n  '
            f"{HEART}{text}\n</a>\n"
        )
    saved = pk in saved_item_ids(request)
    text = (
        f'<span class="save-toggle__text" aria-hidden="true">{"Saved" if saved else "Save"}</span>'
        if size == "page"
        else ""
    )
    label = f"Remove {title} from saved" if saved else f"Save {title}"
    return mark_safe(  # noqa: S308 - data escaped above
        f'<form id="save-{pk}" class="save-toggle save-toggle--{escape(size)}" method="post" '
        f'action="{remove_url if saved else add_url}">\n  {page.token_input}<input type="hidden" '
        f'name="item" value="{pk}"><input type="hidden" name="next" value="{escape(next_url)}">'
        f'\n  <button type="submit" class="save-toggle__button" aria-pressed='
        f'"{"true" if saved else "false"}" aria-label="{label}">\n    {HEART}{text}\n  '
        f"</button>\n</form>\n"
    )


@fragments.filler("save")
def _fill_save_button(request, *, pk: int, title: str, size: str) -> SafeString:
    token = SimpleLazyObject(lambda: fragments.csrf_token(request))  # read only for a form
    return save_button_html(
        request, SimpleNamespace(pk=pk, title=title), csrf_token=token, size=size
    )


@register.simple_tag(takes_context=True)
def save_button(context, item, size: str = "card") -> SafeString:
    return save_button_html(
        context.get("request"), item, csrf_token=context.get("csrf_token"), size=size
    )
