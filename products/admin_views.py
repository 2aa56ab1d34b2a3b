"""The stock control: a vendor sets how many of a piece they have, outside the page's revisions
(ItemPage.STOCK_FIELDS), at `/admin/stock/<item page id>/`."""

from django import forms
from django.apps import apps
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Sum
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from . import services
from .error_messages import error_message
from .errors import StockNotAllowed
from .models import ItemPage


class StockForm(forms.Form):
    quantity = forms.IntegerField(
        label="In stock",
        min_value=0,
        max_value=services.MAX_STOCK,
        help_text="How many of this piece you have. At 0 it shows as sold.",
    )


def held_units(item_id: int) -> int:
    """Units that checkouts in progress hold (active, unexpired reservations).

    The catalogue never imports the order system (it sits above it), so this one admin view
    reads the reservations table through the app registry, read-only, to guard the vendor's
    input; the order system alone writes it."""
    Reservation = apps.get_model("orders", "Reservation")
    total = Reservation.objects.filter(
        item_id=item_id, status="active", expires_at__gt=timezone.now()
    ).aggregate(total=Sum("quantity"))["total"]
    return total or 0


def stock_edit(request, page_id: int):
    # The vendor boundary middleware has already answered 404 for another shop's page.
    item = get_object_or_404(ItemPage, pk=page_id)
    if not item.permissions_for_user(request.user).can_edit():
        raise PermissionDenied
    form = StockForm(request.POST or None, initial={"quantity": item.quantity})
    if request.method == "POST" and form.is_valid():
        try:
            services.stock_set(
                item=item,
                quantity=form.cleaned_data["quantity"],
                by=request.user,
                held=lambda: held_units(item.pk),
            )
        except StockNotAllowed as refused:
            form.add_error("quantity", error_message(refused))
        else:
            messages.success(request, f"Stock of “{item.title}” set to {item.quantity}.")
            return redirect("wagtailadmin_pages:edit", item.pk)
    return TemplateResponse(
        request,
        "products/admin/stock_form.html",
        {
            "item": item,
            "form": form,
            "held": held_units(item.pk),
            "edit_url": reverse("wagtailadmin_pages:edit", args=[item.pk]),
        },
        status=400 if form.errors else 200,
    )
