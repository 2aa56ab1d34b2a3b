"""Privacy pages in the shopper's account: the data export, erasure, and guest orders joining
the account (offered once the address is verified, then confirmed one by one). Thin views,
each personal and never cached (accounts.views.account_view).
"""

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts import services as account_services
from accounts import tokens
from accounts.forms import PasswordConfirmForm
from accounts.views import account_view
from orders import selectors as order_selectors
from orders import stripe_api

from . import selectors, services

# --- Email verification: the first step to adding guest orders ----------------------------------


@never_cache
@require_http_methods(["GET"])
def verify_email(request: HttpRequest, token: str) -> HttpResponse:
    try:
        verification = account_services.email_verify(token=token)
    except tokens.InvalidToken:
        return render(request, "accounts/verify_invalid.html", status=400)
    message = "Thank you: your email address is confirmed."
    found = (
        order_selectors.guest_orders_to_confirm(user=verification.user).count()
        if verification.first_time
        else 0
    )
    # Told to the account's holder (or whoever signs in next), not to another signed-in account.
    if found and request.user.pk in {None, verification.user.pk}:
        orders = "an earlier order" if found == 1 else f"{found} earlier orders"
        it = "it" if found == 1 else "them"
        message += (
            f" We found {orders} placed as a guest with this address: if {it} "
            f"{'is' if found == 1 else 'are'} yours, add {it} to your account under Guest orders."
        )
        messages.success(request, message)
        return redirect("accounts_guest_orders")
    messages.success(request, message)
    return redirect("accounts_home" if request.user.is_authenticated else "accounts_login")


# --- Guest orders: added to the account only when its holder confirms them --------------------

CLAIM_REFUSED = {
    services.GuestOrderClaimError.INVALID: (
        400,
        "This link does not name an order we can add. Please use the link in your order email.",
    ),
    services.GuestOrderClaimError.UNVERIFIED: (
        403,
        "Please confirm your email address first, with the link we sent you; then you can add "
        "the orders you placed as a guest.",
    ),
    services.GuestOrderClaimError.OTHER_MAILBOX: (
        403,
        "This order was placed with another email address than your account's, so it cannot "
        "be added to this account. Sign in to the account that uses that address.",
    ),
    services.GuestOrderClaimError.TAKEN: (403, "This order is already in another account."),
}


@account_view(methods=["GET", "POST"])
def guest_orders(request: HttpRequest) -> HttpResponse:
    """Guest orders placed with the account's verified address: the holder ticks those that are
    theirs (only reference, date and total are shown until then)."""
    if request.method == "POST":
        added = services.guest_orders_confirm(
            user=request.user, references=request.POST.getlist("reference")
        )
        if not added:
            messages.error(request, "Tick the orders that are yours, then add them.")
            return redirect("accounts_guest_orders")
        orders = "The order is" if added == 1 else f"{added} orders are"
        messages.success(request, f"{orders} now in your account.")
        return redirect("accounts_orders")
    return render(
        request,
        "accounts/guest_orders.html",
        {
            "orders": order_selectors.guest_orders_to_confirm(user=request.user),
            "verified": order_selectors.may_claim_guest_orders(request.user),
            "section": "orders",
        },
    )


@account_view(methods=["GET", "POST"])
def guest_order_claim(request: HttpRequest, token: str) -> HttpResponse:
    """The order email's "add this order to your account" link. GET asks (mail scanners follow
    links); POST adds it. Signing in comes first (account_view)."""
    try:
        order = services.guest_order_for_link(user=request.user, token=token)
        if order.customer_id is None and request.method == "POST":
            order = services.guest_order_claim(user=request.user, token=token)
            messages.success(request, f"Order {order.reference} is now in your account.")
            return redirect("accounts_order", reference=order.reference)
    except services.GuestOrderClaimError as error:
        status, reason = CLAIM_REFUSED[error.code]
        return render(
            request,
            "accounts/guest_order_claim_refused.html",
            {"reason": reason, "section": "orders"},
            status=status,
        )
    if order.customer_id is not None:
        messages.info(request, f"Order {order.reference} is already in your account.")
        return redirect("accounts_order", reference=order.reference)
    return render(
        request,
        "accounts/guest_order_claim.html",
        {"order": order, "token": token, "section": "orders"},
    )


# --- Export and erasure -------------------------------------------------------------------------


@account_view()
def export(request: HttpRequest) -> HttpResponse:
    data = selectors.account_export(user=request.user)
    response = HttpResponse(
        json.dumps(data, indent=2, ensure_ascii=False),
        content_type="application/json; charset=utf-8",
    )
    filename = f"vitrine-account-{timezone.localdate().isoformat()}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@account_view(methods=["GET", "POST"])
def delete(request: HttpRequest) -> HttpResponse:
    form = PasswordConfirmForm(request.POST or None, user=request.user)
    kept = order_selectors.orders_kept_for_delivery(user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.account_erase(user=request.user)
        except stripe_api.PaymentServiceError:
            messages.error(
                request,
                "Sorry, we could not reach our payment provider to delete your payment details. "
                "Nothing was erased yet: please try again in a few minutes.",
            )
            return redirect("accounts_delete")
        logout(request)
        messages.success(request, "Your account and personal data have been erased. Goodbye.")
        if kept:
            references = ", ".join(entry["order"].reference for entry in kept)
            messages.info(
                request,
                f"Still on its way ({references}): we keep only the delivery address and the "
                "email for its delivery updates until it arrives or is refunded, then erase "
                "those too.",
            )
        return redirect("/")
    return render(
        request,
        "accounts/delete.html",
        {
            "form": form,
            "section": "privacy",
            "kept": kept,
            "days": settings.VITRINE_ERASE_SHIPPED_ORDERS_AFTER_DAYS,
            "guest_orders": order_selectors.guest_orders_to_confirm(user=request.user).count(),
        },
    )
