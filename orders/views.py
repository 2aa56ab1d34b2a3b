"""Cart, checkout and the shopper's own orders (/account/orders/). They parse input, call one
service, and render what it returns."""

import logging

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.backends import client_ip
from accounts.selectors import addresses_for_user
from accounts.views import account_view
from marketplace import fragments
from marketplace.http import safe_next_url

from . import selectors, services, stripe_api
from .error_messages import error_message, payment_error_message, removed_from_cart_message
from .forms import CheckoutForm
from .models import Order

logger = logging.getLogger(__name__)

APOLOGY = (
    "Sorry, something went wrong on our side while taking your payment. Nothing was charged "
    "twice and your order is kept: please try again in a moment, or contact us quoting {ref}."
)


def _item_id(request: HttpRequest) -> int | None:
    try:
        return int(request.POST.get("item", ""))
    except ValueError:
        return None


def _back(request: HttpRequest) -> str:
    return safe_next_url(request, reverse("orders:cart"))


@never_cache
@require_GET
def cart_detail(request: HttpRequest) -> HttpResponse:
    cart_id, lines = services.cart_lines_for_request(request)

    def parts_context() -> dict:
        items, notices = services.cart_prune(cart_id=cart_id, items=selectors.cart_cards(lines))
        for notice in notices:
            messages.warning(request, removed_from_cart_message(notice))
        if notices:  # rendered for fewer lines than its key names: not worth keeping
            fragments.valid_until(timezone.now())
        return {"cart": selectors.cart_summary(items=items)}

    # Kept for these lines of this cart until a piece in it or its shop changes (the tags of
    # the cards it reads): a sale, a hold, a withdrawal or a closed shop is pruned at once.
    parts = fragments.page_parts(
        request,
        "orders/cart_parts.html",
        parts_context,
        params=(),
        vary=f"cart={cart_id}:{','.join(map(str, lines))}" if lines else "empty",
    )
    return render(request, "orders/cart.html", {"parts": parts})


@never_cache
@require_POST
def cart_add(request: HttpRequest) -> HttpResponse:
    item_id = _item_id(request)
    if item_id is None:
        return HttpResponseBadRequest("Which item? Send item=<page id>.")
    try:
        item, added = services.cart_add(request=request, item_id=item_id)
    except services.ItemNotBuyable as refused:
        messages.error(request, error_message(refused))
    else:
        done = "was added to" if added else "is already in"
        messages.success(request, f"“{item.title}” {done} your cart.")
    return redirect(_back(request))


@never_cache
@require_POST
def cart_remove(request: HttpRequest) -> HttpResponse:
    item_id = _item_id(request)
    if item_id is None:
        return HttpResponseBadRequest("Which item? Send item=<page id>.")
    if services.cart_remove(request=request, item_id=item_id):
        messages.success(request, "Removed from your cart.")
    return redirect(_back(request))


def _remember_order(request: HttpRequest, order: Order) -> None:
    """Let this browser session (a guest) come back to its own order's pay and done pages."""
    refs = request.session.get("checkout_orders", [])
    request.session["checkout_orders"] = [*refs[-9:], order.reference]


@never_cache
@require_http_methods(["GET", "POST"])
def checkout(request: HttpRequest) -> HttpResponse:
    cart = services.cart_for_request(request)
    items = selectors.cart_cards(selectors.cart_item_ids(cart=cart))
    # On GET, sold pieces drop out with a notice. On POST the shopper confirms what they saw,
    # so nothing is dropped silently: order_place refuses and they go back to the cart.
    notices: list[services.ItemNotBuyable] = []
    if cart is not None and request.method == "GET":
        items, notices = services.cart_prune(cart_id=cart.pk, items=items)
    for notice in notices:
        messages.warning(request, removed_from_cart_message(notice))
    summary = selectors.cart_summary(items=items)
    if not summary.count:
        if not notices:
            messages.info(request, "Your cart is empty.")
        return redirect("orders:cart")

    initial, addresses = {}, None
    if request.user.is_authenticated:
        addresses = addresses_for_user(user=request.user)
        default = next((a for a in addresses if a.is_default_shipping), None)
        initial = {"email": request.user.email, "saved_address": default}
    form = CheckoutForm(request.POST or None, initial=initial, addresses=addresses)
    if request.method == "POST" and form.is_valid():
        try:
            order = services.order_place(
                cart=cart,
                customer=request.user,
                email=form.cleaned_data["email"],
                address=form.shipping_address(),
                client_ip=client_ip(request),
                testimonial_opt_in=form.cleaned_data["testimonial_opt_in"],
            )
        except services.ItemsUnavailable as error:
            messages.error(request, error_message(error))
            return redirect("orders:cart")
        except services.HoldRefused as refused:
            messages.error(request, error_message(refused))
            return redirect("orders:cart")
        _remember_order(request, order)
        return redirect("orders:pay", reference=order.reference)
    return render(request, "orders/checkout.html", {"form": form, "cart": summary})


def _order_or_404(request: HttpRequest, reference: str) -> Order:
    order = selectors.order_for_shopper(request=request, reference=reference)
    if order is None:
        raise Http404("No such order in this session.")
    return order


@never_cache
@require_http_methods(["GET", "POST"])
def pay(request: HttpRequest, reference: str) -> HttpResponse:
    order = _order_or_404(request, reference)
    if order.status == Order.Status.PENDING and request.method == "GET":
        # A payment Stripe may have taken (we crashed, or the answer was lost) is settled
        # before the shopper is offered to pay again.
        order = _confirm_quietly(order)
    if order.status == Order.Status.PAID:
        return redirect("orders:done", reference=order.reference)
    context = {
        "order": order,
        "stripe_js_url": settings.STRIPE_JS_URL,
        "stripe_publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        "error": payment_error_message(order),
    }
    if not order.is_payable:
        context["error"] = "This order is closed and can no longer be paid."
        return render(request, "orders/pay.html", context, status=410)
    if request.method == "POST":
        token = request.POST.get("card_token", "")
        if not token.startswith("tok_"):
            context["error"] = "Please enter your card details."
            return render(request, "orders/pay.html", context, status=400)
        try:
            outcome = services.order_pay(order=order, card_token=token)
        except stripe_api.CardDeclined as declined:
            context["error"] = error_message(declined)
            return render(request, "orders/pay.html", context, status=402)
        except services.ItemsUnavailable as error:
            context["error"] = error_message(error)
            return render(request, "orders/pay.html", context, status=409)
        except stripe_api.PaymentServiceError:
            logger.exception(
                "payment failed for order %s",
                order.reference,
                extra={"order_reference": order.reference},
            )
            context["error"] = APOLOGY.format(ref=order.reference)
            return render(request, "orders/pay.html", context, status=502)
        if outcome.status == "requires_action":
            context["client_secret"] = outcome.client_secret
            return render(request, "orders/pay.html", context)
        return redirect("orders:done", reference=order.reference)
    return render(request, "orders/pay.html", context)


def _confirm_quietly(order: Order) -> Order:
    """Ask Stripe what became of the order's open payments; Stripe unreachable is logged and
    the order shown as we know it."""
    try:
        return services.order_confirm_from_stripe(order=order)
    except stripe_api.PaymentServiceError:
        logger.exception(
            "could not confirm order %s with Stripe",
            order.reference,
            extra={"order_reference": order.reference},
        )
        return order


@never_cache
@require_GET
def done(request: HttpRequest, reference: str) -> HttpResponse:
    order = _order_or_404(request, reference)
    _confirm_quietly(order)
    # Read again, with its parts and lines, as confirming may have just settled it.
    order = _order_or_404(request, reference)
    return render(
        request,
        "orders/done.html",
        {"order": order, "payment_error": payment_error_message(order)},
    )


@never_cache
@require_GET
def pay_link(request: HttpRequest, token: str) -> HttpResponse:
    """An emailed payment link: opens this order's payment page in any browser."""
    try:
        order = services.pay_link_order(token=token)
    except services.PayLinkInvalid as error:
        if error.order is not None and error.order.status == Order.Status.PAID:
            _remember_order(request, error.order)
            return redirect("orders:done", reference=error.order.reference)
        return render(
            request, "orders/pay_link_invalid.html", {"message": error_message(error)}, status=410
        )
    _remember_order(request, order)
    return redirect("orders:pay", reference=order.reference)


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """Stripe's events: the source of truth for payments. The only CSRF-exempt view."""
    try:
        event = stripe_api.webhook_event(
            payload=request.body, signature=request.headers.get("Stripe-Signature")
        )
    except stripe_api.InvalidWebhook:
        return HttpResponseBadRequest("invalid signature")
    try:
        handled = services.stripe_event_handle(event=event)
    except services.MalformedEvent:
        logger.warning("malformed Stripe event %s refused", event["id"][:255], exc_info=True)
        return HttpResponseBadRequest("malformed event")
    return HttpResponse("ok" if handled else "already handled")


# --- The shopper's orders, in their account ----------------------------------------------------


@account_view()
def order_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "accounts/order_list.html",
        {
            "orders": selectors.order_history(user=request.user),
            "guest_orders": selectors.guest_orders_to_confirm(user=request.user).count(),
            "section": "orders",
        },
    )


@account_view()
def order_detail(request: HttpRequest, reference: str) -> HttpResponse:
    order = selectors.order_for_customer(user=request.user, reference=reference)
    if order is None:
        raise Http404("No such order in your account.")
    return render(request, "accounts/order_detail.html", {"order": order, "section": "orders"})
