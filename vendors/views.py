from wagtail.admin.views import generic

from . import services


class VendorOnboardView(generic.CreateView):
    """Staff onboard a vendor: shop page, group, collection and staff user in one go.
    (The form, VendorOnboardForm, comes from VendorViewSet.get_form_class.)"""

    def get_panel(self):
        return None

    def save_instance(self):
        data = self.form.cleaned_data
        return services.vendor_onboard(
            name=data["name"],
            contact_email=data["contact_email"],
            commission_rate=data["commission_rate"],
            requires_moderation=data["requires_moderation"],
            staff_email=data["staff_email"],
            staff_username=data["staff_username"],
        )


class VendorEditView(generic.EditView):
    """Changes go through the service so admin rights and review follow the new settings.
    (The form, VendorEditForm, comes from VendorViewSet.get_form_class.)"""

    def get_panel(self):
        return None

    def save_instance(self):
        data = self.form.cleaned_data
        return services.vendor_update(
            vendor=self.object,
            status=data["status"],
            requires_moderation=data["requires_moderation"],
            commission_rate=data["commission_rate"],
            contact_email=data["contact_email"],
            stripe_account_id=data["stripe_account_id"],
        )
