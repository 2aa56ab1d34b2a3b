"""The order desk in the Wagtail admin (wagtail-modeladmin).

A shop's staff see only their own shop's orders, from payment on, with the delivery details
they need to send them; site staff with the view permission see all. Status changes go through
the services: ship (with tracking), deliver, refund this shop's part.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.urls import re_path, reverse
from django.utils.functional import cached_property
from django.views.decorators.http import require_POST

from wagtail_modeladmin.helpers import PermissionHelper
from wagtail_modeladmin.options import ModelAdmin
from wagtail_modeladmin.views import InspectView

from vendors.permissions import vendor_for_user

from . import selectors, services, stripe_api
from .error_messages import error_message
from .models import VendorOrder


def desk_queryset(user):
    """The vendor orders this user may see: their shop's (vendors) or all (site staff)."""
    vendor = vendor_for_user(user)
    if vendor is not None:
        return selectors.vendor_orders_for_desk(vendor=vendor)
    orders = VendorOrder.objects.select_related("order", "vendor")
    if user.is_superuser or user.has_perm("orders.view_vendororder"):
        return orders
    return orders.none()


class DeskPermissionHelper(PermissionHelper):
    def _may_see(self, user, obj) -> bool:
        return desk_queryset(user).filter(pk=obj.pk).exists()

    def user_can_list(self, user):
        return vendor_for_user(user) is not None or user.has_perm("orders.view_vendororder")

    def user_can_create(self, user):
        return False

    def user_can_inspect_obj(self, user, obj):
        return self._may_see(user, obj)

    def user_can_edit_obj(self, user, obj):
        return False  # changes go through the actions below, never a generic form

    def user_can_delete_obj(self, user, obj):
        return False


class ShipForm(forms.Form):
    carrier = forms.CharField(max_length=60, initial="Royal Mail")
    tracking_number = forms.CharField(max_length=80)


class VendorOrderInspectView(InspectView):
    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            {
                "vendor_order": self.instance,
                "order": self.instance.order,
                "lines": self.instance.lines.all(),
                "ship_form": ShipForm(),
                "payouts": self.instance.payout_entries.all(),
            }
        )
        return context


class VendorOrderAdmin(ModelAdmin):
    model = VendorOrder
    menu_label = "Order desk"
    menu_icon = "list-ul"
    menu_order = 200
    add_to_admin_menu = True
    inspect_view_enabled = True
    history_view_enabled = False  # Wagtail's history view checks only list permission
    inspect_view_class = VendorOrderInspectView
    inspect_template_name = "orders/admin/vendor_order_inspect.html"
    permission_helper_class = DeskPermissionHelper
    list_display = ["reference", "placed", "vendor", "status", "subtotal", "payout_amount"]
    list_filter = ["status"]
    search_fields = ["order__reference"]
    ordering = ["-order__created_at"]

    def get_queryset(self, request):
        return desk_queryset(request.user)

    def reference(self, obj):
        return obj.order.reference

    def placed(self, obj):
        return obj.order.created_at

    @cached_property
    def action_views(self):
        return {"ship": ship_view, "deliver": deliver_view, "refund": refund_view}

    def get_admin_urls_for_registration(self):
        urls = super().get_admin_urls_for_registration()
        return urls + tuple(
            re_path(
                self.url_helper.get_action_url_pattern(action),
                view,
                name=self.url_helper.get_action_url_name(action),
            )
            for action, view in self.action_views.items()
        )


def _own(request, instance_pk) -> VendorOrder:
    return get_object_or_404(desk_queryset(request.user), pk=instance_pk)


def _inspect_url(vendor_order) -> str:
    return reverse("orders_vendororder_modeladmin_inspect", args=[vendor_order.pk])


def _act(request, vendor_order, action, success):
    if not (vendor_for_user(request.user) or request.user.has_perm("orders.change_vendororder")):
        raise PermissionDenied
    try:
        action()
    except services.TransitionNotAllowed as error:
        messages.error(request, error_message(error))
    except stripe_api.PaymentServiceError:
        messages.error(
            request, "The payment provider did not answer. Nothing was changed; try again."
        )
    else:
        messages.success(request, success)
    return redirect(_inspect_url(vendor_order))


@require_POST
def ship_view(request, instance_pk):
    vendor_order = _own(request, instance_pk)
    form = ShipForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Please give the carrier and the tracking number.")
        return redirect(_inspect_url(vendor_order))
    return _act(
        request,
        vendor_order,
        lambda: services.vendor_order_ship(vendor_order=vendor_order, **form.cleaned_data),
        "Marked as shipped. The shopper has been emailed the tracking number.",
    )


@require_POST
def deliver_view(request, instance_pk):
    vendor_order = _own(request, instance_pk)
    return _act(
        request,
        vendor_order,
        lambda: services.vendor_order_deliver(vendor_order=vendor_order),
        "Marked as delivered.",
    )


@require_POST
def refund_view(request, instance_pk):
    vendor_order = _own(request, instance_pk)
    return _act(
        request,
        vendor_order,
        lambda: services.vendor_order_refund(vendor_order=vendor_order),
        "Refunded. The pieces are back on sale and the shopper has been emailed.",
    )
