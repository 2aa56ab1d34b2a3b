from django import forms
from django.contrib.auth import get_user_model

from wagtail.admin.forms import WagtailAdminModelForm

from .models import Vendor


class VendorOnboardForm(WagtailAdminModelForm):
    """Staff's form for a new vendor: the business and its first staff member."""

    staff_email = forms.EmailField(
        help_text="This person gets an email with a link to choose a password."
    )
    staff_username = forms.CharField(
        max_length=150, required=False, help_text="Leave empty to use the email address."
    )

    class Meta:
        model = Vendor
        fields = ["name", "contact_email", "commission_rate", "requires_moderation"]

    def clean_staff_username(self):
        username = self.cleaned_data.get("staff_username") or self.cleaned_data.get("staff_email")
        if username and get_user_model().objects.filter(username=username).exists():
            raise forms.ValidationError("Someone already has this username.")
        return username


class VendorEditForm(WagtailAdminModelForm):
    class Meta:
        model = Vendor
        fields = [
            "contact_email",
            "commission_rate",
            "requires_moderation",
            "status",
            "stripe_account_id",
        ]
