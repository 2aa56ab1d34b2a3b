from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.middleware import signed_link
from marketplace.http import safe_next_url

from . import services, tokens
from .error_messages import error_message
from .errors import TestimonialLinkInvalid, TestimonialRefused
from .forms import TestimonialSubmitForm
from .models import PolicyChange, Testimonial


def _link_invalid(request: HttpRequest, error: TestimonialLinkInvalid) -> HttpResponse:
    return render(
        request,
        "policies/testimonial_link_invalid.html",
        {"message": error_message(error), "days": services.testimonial_link_max_age().days},
        status=410,
    )


@require_POST
def policy_acknowledge(request: HttpRequest) -> HttpResponse:
    """Dismiss the changed-policy notice for one published version (signed-in users)."""
    if not request.user.is_authenticated:
        return HttpResponseForbidden("Sign in to dismiss this notice.")
    try:
        change = PolicyChange.objects.select_related("page").get(
            revision_id=int(request.POST.get("revision", ""))
        )
    except (ValueError, PolicyChange.DoesNotExist) as error:
        raise Http404("No such policy version.") from error
    services.policy_acknowledge(user=request.user, change=change)
    return redirect(safe_next_url(request, change.page.url))


@never_cache
@require_http_methods(["GET", "POST"])
def testimonial_submit(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed verified-buyer link: a form whose result waits for an editor's approval."""
    try:
        vendor_order = services.testimonial_link_vendor_order(token=token)
    except TestimonialLinkInvalid as error:
        return _link_invalid(request, error)
    order = vendor_order.order
    first, _, rest = order.shipping_name.strip().partition(" ")
    form = TestimonialSubmitForm(
        request.POST or None,
        items=services.testimonial_items(vendor_order=vendor_order),
        initial={
            "display_name": f"{first} {rest[:1]}.".strip() if rest else first,
            "location": order.shipping_city,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.testimonial_submit(token=token, **form.cleaned_data)
        except TestimonialLinkInvalid as error:
            return _link_invalid(request, error)
        except TestimonialRefused as refused:
            form.add_error(refused.field, error_message(refused))
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            return redirect("policies:testimonial_thanks")
    return render(
        request,
        "policies/testimonial_submit.html",
        {"form": form, "vendor_order": vendor_order, "shop": vendor_order.vendor},
    )


@require_GET
def testimonial_thanks(request: HttpRequest) -> HttpResponse:
    return render(request, "policies/testimonial_thanks.html")


@require_POST
def testimonial_withdraw(request: HttpRequest, testimonial_id: int) -> HttpResponse:
    """Delete one of your own testimonials (only the shopper whose order it names may)."""
    if not request.user.is_authenticated:
        return HttpResponseForbidden("Sign in to withdraw a testimonial.")
    try:
        services.testimonial_withdraw(user=request.user, testimonial_id=testimonial_id)
    except Testimonial.DoesNotExist as error:
        raise Http404("No such testimonial of yours.") from error
    messages.success(request, "Your testimonial has been withdrawn and deleted.")
    return redirect(safe_next_url(request, "/testimonials/"))


@signed_link(
    tokens.read_testimonial_unsubscribe_token, "policies/testimonial_unsubscribe_invalid.html"
)
@never_cache
@require_http_methods(["GET", "POST"])
def testimonial_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """The invitation's "stop asking me" link: GET confirms (mail scanners follow links), POST
    stops at once, from the page's button or a mail client's one-click request (RFC 8058). The
    signed token is the credential: no sign-in, and the POST passes CSRF on it (see
    accounts.middleware), which also answers a bad token's POST with the 400 page."""
    try:
        tokens.read_testimonial_unsubscribe_token(token)
    except tokens.InvalidToken:
        return render(request, "policies/testimonial_unsubscribe_invalid.html", status=400)
    if request.method == "GET":
        return render(request, "policies/testimonial_unsubscribe.html", {"token": token})
    services.testimonial_invitations_stop(token=token)
    return render(request, "policies/testimonial_unsubscribe_done.html")
