from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from phonenumber_field.modelfields import PhoneNumberField


class User(AbstractUser):
    """A person with a login: shopper, vendor staff, editor or site staff.

    Shoppers' mailing preferences live here (one row, no extra query); every change to them
    goes through `accounts.services.preferences_update`, which writes a ConsentRecord.
    """

    email = models.EmailField("email address", blank=True, db_index=True)
    phone = PhoneNumberField("phone", blank=True)
    email_verified_at = models.DateTimeField(null=True, blank=True)
    # Transactional mail about the shopper's own orders: on unless they turn it off.
    order_status_emails = models.BooleanField(default=True)
    # Marketing: off until the shopper explicitly opts in (and sent only to verified addresses).
    promotional_emails = models.BooleanField(default=False)
    catalogue_mailings = models.BooleanField(default=False)
    stripe_customer_id = models.CharField(max_length=64, blank=True)
    erased_at = models.DateTimeField(null=True, blank=True)

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        constraints = [
            # Case-insensitive: Ada@Example.com and ada@example.com are one mailbox.
            models.UniqueConstraint(
                Lower("email"),
                condition=~Q(email=""),
                name="user_email_ci_unique",
                violation_error_message="An account with this email address already exists.",
            ),
        ]
        permissions = [
            ("view_customer_pii", "Can view customers' personal data (every view is logged)"),
            ("send_newsletter", "Can send promotional emails to opted-in customers"),
        ]

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.get_username()


class Address(models.Model):
    """A saved address in a shopper's address book; checkout copies it into the order."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="addresses"
    )
    label = models.CharField(max_length=40, blank=True, help_text="e.g. Home, Work.")
    name = models.CharField("full name", max_length=150)
    line1 = models.CharField("address", max_length=150)
    line2 = models.CharField("address line 2", max_length=150, blank=True)
    city = models.CharField("town or city", max_length=100)
    postcode = models.CharField(max_length=20)
    country = models.CharField(
        max_length=2, choices=settings.VITRINE_SHIPPING_COUNTRIES, default="GB"
    )
    phone = PhoneNumberField(blank=True)
    is_default_shipping = models.BooleanField("default delivery address", default=False)
    is_default_billing = models.BooleanField("default billing address", default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_default_shipping", "-is_default_billing", "-updated_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(is_default_shipping=True),
                name="one_default_shipping_address_per_user",
            ),
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(is_default_billing=True),
                name="one_default_billing_address_per_user",
            ),
        ]

    def __str__(self) -> str:
        return ", ".join(part for part in [self.name, self.line1, self.city, self.postcode] if part)

    @property
    def lines(self) -> list[str]:
        return [
            part
            for part in [
                self.name,
                self.line1,
                self.line2,
                f"{self.city} {self.postcode}",
                self.get_country_display(),
            ]
            if part.strip()
        ]


class ConsentRecord(models.Model):
    """The consent ledger: one row per change of a mailing preference, never edited.

    Rows hold no personal data beyond the link to the account, so erasure keeps them (the
    account itself is anonymised) as evidence of what consent existed when.
    """

    class Topic(models.TextChoices):
        ORDER_STATUS = "order_status_emails", "Order-status emails"
        PROMOTIONAL = "promotional_emails", "Promotional emails"
        CATALOGUE = "catalogue_mailings", "Catalogue mailings"

    class Source(models.TextChoices):
        SIGNUP = "signup", "Sign-up form"
        FORM = "form", "Preferences form"
        UNSUBSCRIBE = "unsubscribe", "Unsubscribe link"
        ADMIN = "admin", "Staff in the admin"
        ERASURE = "erasure", "Account erased"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="consents"
    )
    topic = models.CharField(max_length=24, choices=Topic.choices)
    old_value = models.BooleanField(null=True, help_text="Empty for the value set at sign-up.")
    new_value = models.BooleanField()
    source = models.CharField(max_length=12, choices=Source.choices)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_topic_display()}: {self.old_value} → {self.new_value} ({self.source})"


class PiiAccessLog(models.Model):
    """A staff member looked at a customer's personal data. The customer sees these rows."""

    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="pii_access_log"
    )
    viewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # A snapshot: the record outlives the staff account.
    viewer_name = models.CharField(max_length=150)
    what = models.CharField(max_length=100)
    path = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.viewer_name} viewed {self.what} of customer {self.customer_id}"


class UserSession(models.Model):
    """Which server-side sessions belong to whom, so they can be ended (password change, erasure).

    The session store itself is keyed by session key only; scanning and decoding every session
    to find a user's would not scale.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"session of user {self.user_id}"


class EmailRequest(models.Model):
    """A request that may send an account email (password reset, a sign-up with a taken
    address), kept for an hour to throttle them per address and per IP address.

    `key` is a keyed hash (HMAC with SECRET_KEY) of the address or IP: neither is stored.
    """

    class Scope(models.TextChoices):
        RESET_ADDRESS = "reset-address"
        RESET_IP = "reset-ip"
        SIGNUP_ADDRESS = "signup-address"

    scope = models.CharField(max_length=20, choices=Scope.choices)
    key = models.CharField(max_length=64)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [models.Index(fields=["scope", "key", "created_at"], name="emailrequest_lookup")]

    def __str__(self) -> str:
        return f"{self.scope} at {self.created_at:%Y-%m-%d %H:%M}"
