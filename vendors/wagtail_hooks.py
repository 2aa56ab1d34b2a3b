from wagtail import hooks
from wagtail.admin.viewsets.model import ModelViewSet

from .forms import VendorEditForm, VendorOnboardForm
from .models import Vendor
from .permissions import vendor_for_user
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
