import re

from django import forms
from django.conf import settings

from phonenumber_field.phonenumber import to_python

from .services import ShippingAddress

POSTCODE_PATTERNS = {
    "GB": (r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$", "a UK postcode such as SW1A 1AA"),
    "US": (r"^[0-9]{5}(-[0-9]{4})?$", "a ZIP code such as 10001"),
    "IE": (r"^[A-Z0-9]{3} ?[A-Z0-9]{4}$", "an Eircode such as D02 X285"),
    "FR": (r"^[0-9]{5}$", "a five-digit code postal"),
    "DE": (r"^[0-9]{5}$", "a five-digit Postleitzahl"),
    "IT": (r"^[0-9]{5}$", "a five-digit CAP"),
    "ES": (r"^[0-9]{5}$", "a five-digit código postal"),
    "NL": (r"^[0-9]{4} ?[A-Z]{2}$", "a postcode such as 1012 AB"),
    "BE": (r"^[0-9]{4}$", "a four-digit postcode"),
}


class CheckoutForm(forms.Form):
    """Contact and shipping details. Prices and quantities are never taken from the shopper."""

    email = forms.EmailField(help_text="For your receipt and order updates.")
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

    def clean(self):
        data = super().clean()
        country = data.get("country")
        postcode = (data.get("postcode") or "").strip().upper()
        if country and postcode:
            pattern, example = POSTCODE_PATTERNS.get(country, (r"^[A-Z0-9 -]{2,12}$", "a postcode"))
            if not re.match(pattern, postcode):
                self.add_error("postcode", f"Please enter {example}.")
            data["postcode"] = postcode
        raw_phone = (data.get("phone") or "").strip()
        data["phone"] = None
        if country and raw_phone:
            # A local number ("020 7946 0958") is read in the delivery country's format.
            number = to_python(raw_phone, region=country)
            if number is None or not number.is_valid():
                self.add_error("phone", "Please enter a valid phone number, or leave it empty.")
            else:
                data["phone"] = number
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
