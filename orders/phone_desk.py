"""Recording a phone order in the admin: the shop picks the pieces and the shopper's details;
the shopper pays through an emailed link, so the shop never takes a card number."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from products.models import ItemPage
from vendors.permissions import vendor_for_user

from . import services
from .error_messages import error_message
from .forms import CheckoutForm


class PhoneOrderForm(CheckoutForm):
    items = forms.ModelMultipleChoiceField(
        queryset=ItemPage.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text="Pieces from your shop that are for sale now.",
    )
    note = forms.CharField(
        label="Call note",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=2000,
        help_text="For your records, e.g. what was agreed on the phone. Never a card number.",
    )
    # Consent to testimonial invitations is the shopper's own, ticked at a web checkout only.
    testimonial_opt_in = None
    field_order = [
        "items",
        "email",
        "name",
        "line1",
        "line2",
        "city",
        "postcode",
        "country",
        "phone",
        "note",
    ]

    def __init__(self, *args, shop, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["items"].queryset = (
            ItemPage.objects.live().child_of(shop).filter(quantity__gt=0).order_by("title")
        )
        self.fields["email"].help_text = "The payment link is emailed here."
        self.fields["phone"].help_text = "The number the shopper called from, for the courier."


def phone_order_create(request):
    vendor = vendor_for_user(request.user)
    if vendor is None:
        raise PermissionDenied
    shop = vendor.shop
    form = PhoneOrderForm(request.POST or None, shop=shop)
    if request.method == "POST" and form.is_valid():
        try:
            order = services.phone_order_record(
                vendor=vendor,
                recorded_by=request.user,
                item_ids=[item.pk for item in form.cleaned_data["items"]],
                email=form.cleaned_data["email"],
                address=form.shipping_address(),
                note=form.cleaned_data["note"],
            )
        except (
            services.ItemsUnavailable,
            services.HoldRefused,
            services.PhoneOrdersClosed,
        ) as error:
            messages.error(request, error_message(error))
        else:
            messages.success(
                request,
                f"Phone order {order.reference} recorded. The pieces are held and "
                f"{order.email} has been emailed a secure payment link.",
            )
            return redirect("orders_phoneorder_create")
    return TemplateResponse(
        request,
        "orders/admin/phone_order_form.html",
        {"form": form, "shop": shop, "taking_calls": bool(shop.published_phone_number)},
    )
