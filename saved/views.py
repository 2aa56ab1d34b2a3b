"""Saved-list views: parse input, call one service, render a selector's data.

Every response is personal (`never_cache`: Cache-Control no-store, private). The heart's
POSTs go back to a safe `next` with a message; a cookie-less visitor's heart is a link to
`GET /saved/add/`, a confirmation page with the POST button (see templatetags/saved_tags.py).
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.middleware import signed_link
from accounts.views import account_view
from marketplace.http import safe_next_url
from products.selectors import cards_of

from . import selectors, services, tokens
from .error_messages import ERROR_MESSAGES, error_message
from .errors import SavedError, SavedErrorCode

INVALID_ITEM = "Sorry, we could not tell which piece you meant. Please try again from its page."


def _item_id(value) -> int | None:
    try:
        item_id = int(value or "")
    except (TypeError, ValueError):
        return None
    return item_id if 0 < item_id < 2**63 else None


def _list_url(request: HttpRequest) -> str:
    return reverse("saved_account_list" if request.user.is_authenticated else "saved_list")


# --- The list -----------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET"])
def saved_list(request: HttpRequest) -> HttpResponse:
    """`/saved/`: an anonymous shopper's list (in their session). Signed in, it is the
    account's list, at `/account/saved/`."""
    if request.user.is_authenticated:
        return redirect("saved_account_list")
    return render(
        request, "saved/saved_list.html", {"saved": selectors.saved_list(request=request)}
    )


@account_view()
def account_saved_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "saved/account_saved_list.html",
        {"saved": selectors.saved_list(request=request), "section": "saved"},
    )


# --- The heart ----------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def saved_add(request: HttpRequest) -> HttpResponse:
    """POST saves `item`. GET (the heart of a cookie-less visitor) asks to confirm."""
    data = request.POST if request.method == "POST" else request.GET
    next_url = safe_next_url(request, _list_url(request))
    item_id = _item_id(data.get("item"))
    if item_id is None:
        messages.error(request, INVALID_ITEM)
        return redirect(next_url)
    if request.method == "GET":
        item = services.saveable_item(item_id=item_id)
        if item is None:
            messages.error(request, ERROR_MESSAGES[SavedErrorCode.ITEM_NOT_FOUND])
            return redirect(next_url)
        (card,) = cards_of([item.pk])
        return render(
            request,
            "saved/saved_confirm.html",
            {
                "item": card,
                "already_saved": item.pk in selectors.saved_item_ids(request),
                "next": next_url,
                "list_url": _list_url(request),
            },
        )
    try:
        item, added = services.saved_add(request=request, item_id=item_id)
    except SavedError as refused:
        messages.error(request, error_message(refused))
    else:
        saved = "is in" if added else "is already in"
        messages.success(request, f"“{item.title}” {saved} your saved list.")
    return redirect(next_url)


@never_cache
@require_POST
def saved_remove(request: HttpRequest) -> HttpResponse:
    next_url = safe_next_url(request, _list_url(request))
    item_id = _item_id(request.POST.get("item"))
    if item_id is None:
        messages.error(request, INVALID_ITEM)
    elif services.saved_remove(request=request, item_id=item_id):
        messages.success(request, "Removed from your saved list.")
    return redirect(next_url)


# --- Price-drop alerts --------------------------------------------------------------------------


@account_view(methods=["POST"])
def price_alert(request: HttpRequest) -> HttpResponse:
    """Turn one saved piece's price-drop email on (`alert=on`) or off."""
    item_id = _item_id(request.POST.get("item"))
    if item_id is None:
        messages.error(request, INVALID_ITEM)
    else:
        enabled = request.POST.get("alert") == "on"
        try:
            services.price_alert_set(user=request.user, item_id=item_id, enabled=enabled)
        except SavedError as refused:
            messages.error(request, error_message(refused))
        else:
            messages.success(
                request,
                "We'll email you if the price drops."
                if enabled
                else "We won't email you about this piece's price.",
            )
    return redirect(safe_next_url(request, reverse("saved_account_list")))


@signed_link(tokens.read_price_alert_token, "saved/alert_unsubscribe_invalid.html")
@never_cache
@require_http_methods(["GET", "POST"])
def price_alert_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed "stop this alert" link: GET confirms (mail scanners follow links), POST
    turns the alert off at once, from the page's button or a mail client's one-click request
    (RFC 8058). The signed token is the credential: no sign-in, and the POST passes CSRF on it
    (see accounts.middleware), which also answers a bad token's POST with the 400 page."""
    try:
        tokens.read_price_alert_token(token)
    except tokens.InvalidToken:
        return render(request, "saved/alert_unsubscribe_invalid.html", status=400)
    if request.method == "GET":
        return render(request, "saved/alert_unsubscribe.html", {"token": token})
    row = services.price_alert_unsubscribe(token=token)
    return render(request, "saved/alert_unsubscribe_done.html", {"row": row})
