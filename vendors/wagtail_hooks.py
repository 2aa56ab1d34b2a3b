from django.urls import path, reverse

from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.ui.components import Component
from wagtail.admin.viewsets.model import ModelViewSet

from . import selectors
from .charts import sales_chart
from .forms import VendorEditForm, VendorOnboardForm
from .models import Vendor
from .permissions import vendor_for_user
from .sales import SalesView, may_see_all_sales, site_sales_context
from .views import VendorEditView, VendorOnboardView


class VendorViewSet(ModelViewSet):
    """Site staff manage vendors here; vendors themselves have no rights on this model."""

    model = Vendor
    icon = "group"
    menu_label = "Vendors"
    menu_order = 250
    add_to_admin_menu = True
    add_view_class = VendorOnboardView
    edit_view_class = VendorEditView
    list_display = ["name", "status", "commission_rate", "requires_moderation", "created_at"]
    list_filter = ["status", "requires_moderation"]
    search_fields = ["name", "contact_email"]
    inspect_view_enabled = False
    copy_view_enabled = False

    def get_form_class(self, for_update=False):
        # The viewset passes its form class to both views, overriding their own `form_class`.
        return VendorEditForm if for_update else VendorOnboardForm


@hooks.register("register_admin_viewset")
def register_vendor_viewset():
    return VendorViewSet("vendors")


@hooks.register("construct_page_chooser_queryset")
def limit_page_chooser_to_own_shop(pages, request):
    vendor = vendor_for_user(request.user)
    if vendor is None:
        return pages
    return pages.descendant_of(vendor.shop, inclusive=True)


@hooks.register("construct_reports_menu")
def hide_reports_from_vendors(request, menu_items):
    if vendor_for_user(request.user) is not None:
        menu_items[:] = []
    elif not request.user.is_superuser:
        # Page-type usage names the last edited page of every type, across all shops.
        menu_items[:] = [item for item in menu_items if item.name != "page-types-usage"]


class SalesChartMedia:
    css = {"all": ["css/admin-sales.css"]}


class VendorDashboardPanel(Component):
    template_name = "vendors/admin/dashboard_panel.html"
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

    template_name = "vendors/admin/site_sales_panel.html"
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
    return [path("sales/", SalesView.as_view(), name="vendors_sales")]


class SalesMenuItem(MenuItem):
    def is_shown(self, request):
        return may_see_all_sales(request.user)


@hooks.register("register_admin_menu_item")
def sales_menu_item():
    return SalesMenuItem("Sales", reverse("vendors_sales"), icon_name="table", order=220)
