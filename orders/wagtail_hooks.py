from django.urls import path, reverse

from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail_modeladmin.options import modeladmin_register

from vendors.permissions import vendor_for_user

from .desk import VendorOrderAdmin
from .phone_desk import phone_order_create

modeladmin_register(VendorOrderAdmin)


@hooks.register("register_admin_urls")
def phone_order_urls():
    return [path("phone-orders/new/", phone_order_create, name="orders_phoneorder_create")]


class PhoneOrderMenuItem(MenuItem):
    def is_shown(self, request):
        return vendor_for_user(request.user) is not None


@hooks.register("register_admin_menu_item")
def phone_order_menu_item():
    return PhoneOrderMenuItem(
        "Phone order", reverse("orders_phoneorder_create"), icon_name="mobile-alt", order=210
    )
