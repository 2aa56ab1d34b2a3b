from wagtail import hooks
from wagtail.admin.viewsets.model import ModelViewSet

from .models import Vendor
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
    form_fields = ["contact_email", "commission_rate", "requires_moderation", "status"]
    inspect_view_enabled = False
    copy_view_enabled = False


@hooks.register("register_admin_viewset")
def register_vendor_viewset():
    return VendorViewSet("vendors")
