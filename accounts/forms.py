from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm, UserCreationForm

from phonenumber_field.formfields import PhoneNumberField

from .models import Address, User
from .validators import clean_phone, clean_postcode


def _phone_field(**kwargs) -> PhoneNumberField:
    return PhoneNumberField(
        region=settings.PHONENUMBER_DEFAULT_REGION,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
        error_messages={"invalid": "Please enter a valid phone number, e.g. 07911 123456."},
        **kwargs,
    )


class SignupForm(UserCreationForm):
    """Name, email, username, optional phone, password (Django's validators: length ≥ 8,
    not common, not like the name or email; no composition rules; long passphrases welcome)."""

    first_name = forms.CharField(label="First name", max_length=150)
    last_name = forms.CharField(label="Last name", max_length=150)
    email = forms.EmailField(
        label="Email address",
        max_length=254,  # the model's length, checked here (see _get_validation_exclusions)
        help_text="We'll send a link to confirm it. Your receipts go here too.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    phone = _phone_field(
        label="Phone (optional)", help_text="Only used if a courier needs to reach you."
    )
    promotional_emails = forms.BooleanField(
        label="Email me about new arrivals and offers",
        required=False,
        help_text="Optional. You can stop at any time, with one click from any email.",
    )

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("first_name", "last_name", "email", "username", "phone")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields[
            "username"
        ].help_text = "You can sign in with this or your email. Letters, digits and . + - _ only."
        self.fields["username"].widget.attrs["autocomplete"] = "username"
        self.fields["username"].widget.attrs.pop("autofocus", None)  # would scroll past the top
        self.fields["password1"].help_text = "At least 8 characters. A long passphrase is best."
        self.fields["password2"].label = "Repeat the password"
        self.fields["password2"].help_text = ""

    def clean_username(self):
        username = super().clean_username()  # None when already taken (error added)
        if username and "@" in username:
            raise forms.ValidationError("Please choose a username without “@”.")
        return username

    def clean_email(self):
        return self.cleaned_data["email"].strip()

    def _get_validation_exclusions(self):
        # A taken address is not a form error: that would tell anyone which addresses have an
        # account. accounts.services.user_signup emails the address's holder instead, so the
        # model's unique constraint on email is not checked here.
        return super()._get_validation_exclusions() | {"email"}


class LoginForm(AuthenticationForm):
    """Sign in by email or username. The error never says which part was wrong."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That email or username and password don't match an account.",
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].label = "Email or username"
        self.fields["username"].widget.attrs["autocomplete"] = "username"


class ProfileForm(forms.Form):
    first_name = forms.CharField(label="First name", max_length=150)
    last_name = forms.CharField(label="Last name", max_length=150)
    phone = _phone_field(label="Phone (optional)")


class EmailChangeForm(forms.Form):
    email = forms.EmailField(label="New email address")
    current_password = forms.CharField(
        label="Your current password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, user: User, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_current_password(self):
        password = self.cleaned_data["current_password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("That is not your current password.")
        return password

    def clean_email(self):
        email = self.cleaned_data["email"].strip()
        if User.objects.filter(email__iexact=email).exclude(pk=self.user.pk).exists():
            raise forms.ValidationError("Another account already uses this email address.")
        if email.lower() == self.user.email.lower():
            raise forms.ValidationError("This is already your email address.")
        return email


class PasswordChangeWithValidationForm(PasswordChangeForm):
    """Django's form: old password, then the new one twice, checked by the validators."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].help_text = "At least 8 characters. A long passphrase is best."
        self.fields["new_password2"].label = "Repeat the new password"


class AddressForm(forms.ModelForm):
    """An address-book entry, checked like a delivery address at checkout (same rules)."""

    phone = forms.CharField(
        label="Phone (optional)",
        max_length=30,
        required=False,
        help_text="Only for the courier if they cannot find you.",
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )

    class Meta:
        model = Address
        fields = [
            "label",
            "name",
            "line1",
            "line2",
            "city",
            "postcode",
            "country",
            "phone",
            "is_default_shipping",
            "is_default_billing",
        ]
        labels = {"label": "Label (optional)", "line2": "Address line 2 (optional)"}
        widgets = {
            "name": forms.TextInput(attrs={"autocomplete": "name"}),
            "line1": forms.TextInput(attrs={"autocomplete": "address-line1"}),
            "line2": forms.TextInput(attrs={"autocomplete": "address-line2"}),
            "city": forms.TextInput(attrs={"autocomplete": "address-level2"}),
            "postcode": forms.TextInput(attrs={"autocomplete": "postal-code"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.phone:
            self.initial["phone"] = self.instance.phone.as_national

    def clean(self):
        data = super().clean()
        country = data.get("country")
        if country and data.get("postcode"):
            data["postcode"], error = clean_postcode(country=country, postcode=data["postcode"])
            if error:
                self.add_error("postcode", error)
        number, error = clean_phone(country=country or "GB", raw=data.get("phone") or "")
        if error:
            self.add_error("phone", error)
        data["phone"] = number.as_e164 if number else ""
        return data


class PreferencesForm(forms.Form):
    order_status_emails = forms.BooleanField(
        label="Order updates",
        required=False,
        help_text="When a shop sends or delivers your pieces. Receipts and refunds always come.",
    )
    promotional_emails = forms.BooleanField(
        label="New arrivals and offers",
        required=False,
        help_text="Occasional emails about new pieces and events.",
    )
    catalogue_mailings = forms.BooleanField(
        label="Catalogue mailings",
        required=False,
        help_text="Our seasonal catalogue of pieces from every shop.",
    )


class PasswordConfirmForm(forms.Form):
    """Re-enter the password before something that cannot be undone."""

    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    confirm = forms.BooleanField(
        label="I understand my account and personal data will be erased for good.",
    )

    def __init__(self, *args, user: User, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("That is not your password.")
        return password
