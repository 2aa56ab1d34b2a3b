from django import forms
from django.conf import settings

from accounts.validators import clean_phone, clean_postcode

from .services import ShippingAddress


class CheckoutForm(forms.Form):
    """Contact and shipping details. Prices and quantities are never taken from the shopper."""

    email = forms.EmailField(help_text="For your receipt and order updates.")
    # Signed-in shoppers may pick one of their own saved addresses instead of typing one. Only
    # their addresses are choices, so a forged id (someone else's address) is refused.
    saved_address = forms.ModelChoiceField(
        label="Deliver to",
        queryset=None,
        required=False,
        empty_label="A new address",
        widget=forms.RadioSelect,
    )
    name = forms.CharField(label="Full name", max_length=150)
    line1 = forms.CharField(label="Address", max_length=150)
    line2 = forms.CharField(label="Address line 2 (optional)", max_length=150, required=False)
    city = forms.CharField(label="Town or city", max_length=100)
    postcode = forms.CharField(label="Postcode", max_length=20)
    country = forms.ChoiceField(choices=settings.VITRINE_SHIPPING_COUNTRIES, initial="GB")
    phone = forms.CharField(
        label="Phone (optional)",
        max_length=30,
        required=False,
        help_text="Only for the courier if they cannot find you.",
    )

    # Consent, so never ticked in advance; stored on the order (policies sends the one email).
    testimonial_opt_in = forms.BooleanField(
        label="After delivery, email me once to ask how it went (for a testimonial)",
        required=False,
        initial=False,
        help_text="Every invitation has a link to stop them.",
    )

    ADDRESS_FIELDS = ("name", "line1", "line2", "city", "postcode", "country", "phone")

    def __init__(self, *args, addresses=None, **kwargs):
        super().__init__(*args, **kwargs)
        if addresses is None:
            del self.fields["saved_address"]
            return
        self.fields["saved_address"].queryset = addresses
        if self.is_bound and self.data.get(self.add_prefix("saved_address")):
            for name in self.ADDRESS_FIELDS:
                self.fields[name].required = False

    def clean(self):
        data = super().clean()
        saved = data.get("saved_address")
        if saved is not None:
            for name in self.ADDRESS_FIELDS:
                self._errors.pop(name, None)
            data.update(
                name=saved.name,
                line1=saved.line1,
                line2=saved.line2,
                city=saved.city,
                postcode=saved.postcode,
                country=saved.country,
                phone=saved.phone.as_e164 if saved.phone else "",
            )
        country = data.get("country")
        if country and data.get("postcode"):
            data["postcode"], error = clean_postcode(country=country, postcode=data["postcode"])
            if error:
                self.add_error("postcode", error)
        raw_phone = data.get("phone")
        data["phone"] = None
        if country and raw_phone:
            data["phone"], error = clean_phone(country=country, raw=raw_phone)
            if error:
                self.add_error("phone", error)
        return data

    def shipping_address(self) -> ShippingAddress:
        data = self.cleaned_data
        phone = data.get("phone")
        return ShippingAddress(
            name=data["name"],
            line1=data["line1"],
            line2=data["line2"],
            city=data["city"],
            postcode=data["postcode"],
            country=data["country"],
            phone=phone.as_e164 if phone else "",
        )
