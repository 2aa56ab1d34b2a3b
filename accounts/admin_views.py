"""Customer records in the Wagtail admin: need-to-know, read-only, audited.

Only users with `accounts.view_customer_pii` (the "Customer service" group, and superusers)
may list or open customers; every opened record is written to the customer's access log,
which they can read at /account/access-log/. Vendors never get here (their admin allowlist
does not include these views) and editors lack the permission.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from . import selectors, services
from .models import ConsentRecord

VIEW_PII = "accounts.view_customer_pii"
SEND_NEWSLETTER = "accounts.send_newsletter"


def _require(request, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied("You do not have access to customer records.")


@never_cache
def customer_list(request):
    _require(request, VIEW_PII)
    customers = selectors.customers()
    query = request.GET.get("q", "").strip()[:100]
    if query:
        customers = customers.filter(
            Q(email__icontains=query)
            | Q(username__icontains=query)
            | Q(first_name__icontains=query)
            | Q(last_name__icontains=query)
        )
    page = Paginator(customers, 50).get_page(request.GET.get("p"))
    return TemplateResponse(
        request, "accounts/admin/customer_list.html", {"page": page, "query": query}
    )


@never_cache
def customer_detail(request, pk: int):
    _require(request, VIEW_PII)
    customer = get_object_or_404(selectors.customers(), pk=pk)
    services.pii_access_record(
        customer=customer,
        viewer=request.user,
        what="customer record (profile, addresses, orders)",
        path=request.path,
    )
    return TemplateResponse(
        request,
        "accounts/admin/customer_detail.html",
        {
            "customer": customer,
            "addresses": selectors.addresses_for_user(user=customer),
            "consents": selectors.consents_for_user(user=customer)[:20],
        },
    )


@require_POST
def customer_unsubscribe(request, pk: int):
    """A customer asked us (phone, email) to stop marketing: staff record the opt-out.

    Staff can only turn mailings off; turning them on needs the customer's own opt-in.
    """
    _require(request, VIEW_PII)
    customer = get_object_or_404(selectors.customers(), pk=pk)
    services.preferences_update(
        user=customer,
        changes={"promotional_emails": False, "catalogue_mailings": False},
        source=ConsentRecord.Source.ADMIN,
        changed_by=request.user,
    )
    messages.success(request, "Marketing emails and catalogue mailings turned off.")
    return redirect("accounts_customer_detail", pk=customer.pk)


class NewsletterForm(forms.Form):
    subject = forms.CharField(max_length=150)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 12}), max_length=20_000)
    topic = forms.ChoiceField(
        choices=[
            ("promotional_emails", "New arrivals and offers"),
            ("catalogue_mailings", "Catalogue mailings"),
        ]
    )


def newsletter_send(request):
    _require(request, SEND_NEWSLETTER)
    form = NewsletterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        sent = services.newsletter_send(
            subject=data["subject"], body=data["body"], topic=data["topic"]
        )
        messages.success(request, f"Queued for {sent} opted-in customers.")
        return redirect("accounts_newsletter_send")
    counts = {
        topic: selectors.newsletter_recipients(topic=topic).count()
        for topic in ("promotional_emails", "catalogue_mailings")
    }
    return TemplateResponse(
        request, "accounts/admin/newsletter_form.html", {"form": form, "counts": counts}
    )
