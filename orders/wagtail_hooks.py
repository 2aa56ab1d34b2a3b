from django.urls import path, reverse

from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.ui.components import Component
from wagtail_modeladmin.options import modeladmin_register

from vendors.permissions import vendor_for_user

from . import selectors
from .charts import sales_chart
from .desk import VendorOrderAdmin
from .phone_desk import phone_order_create
from .sales import SalesView, may_see_all_sales, site_sales_context

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


# --- Dashboards: a shop's own (its pieces, orders and sales), the site's sales ------------------


class SalesChartMedia:
    css = {"all": ["css/admin-sales.css"]}


class VendorDashboardPanel(Component):
    template_name = "orders/admin/dashboard_panel.html"
    order = 50
    Media = SalesChartMedia

    def __init__(self, vendor):
        self.vendor = vendor

    def get_context_data(self, parent_context=None):
        context = selectors.vendor_dashboard(vendor=self.vendor)
        context["sales_chart"] = sales_chart(
            context["sales"].weeks, dom_id="sales-own", title="Your sales per week"
        )
        return context


class SiteSalesPanel(Component):
    """Staff dashboard: sales across all shops, with a link to the per-shop view."""

    template_name = "orders/admin/site_sales_panel.html"
    order = 60
    Media = SalesChartMedia

    def get_context_data(self, parent_context=None):
        return site_sales_context()


@hooks.register("construct_homepage_panels")
def add_sales_panels(request, panels):
    vendor = vendor_for_user(request.user)
    if vendor is not None:
        panels.insert(0, VendorDashboardPanel(vendor))
    elif may_see_all_sales(request.user):
        panels.insert(0, SiteSalesPanel())


@hooks.register("register_admin_urls")
def sales_urls():
    # Not in VENDOR_ADMIN_ALLOWED: the vendor boundary middleware refuses shops' staff.
    return [path("sales/", SalesView.as_view(), name="orders_sales")]


class SalesMenuItem(MenuItem):
    def is_shown(self, request):
        return may_see_all_sales(request.user)


@hooks.register("register_admin_menu_item")
def sales_menu_item():
    return SalesMenuItem("Sales", reverse("orders_sales"), icon_name="table", order=220)
