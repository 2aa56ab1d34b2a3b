from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    """A shopper's data across the apps: export, erasure, and guest orders joining an account.
    The top layer: it imports accounts, orders, policies and saved; nothing imports it."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "privacy"
