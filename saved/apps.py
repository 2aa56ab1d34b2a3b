from django.apps import AppConfig


class SavedConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "saved"
    verbose_name = "saved lists"

    def ready(self):
        from . import signals  # noqa: F401
        from .templatetags import saved_tags  # noqa: F401 - fills the hearts of shared parts
