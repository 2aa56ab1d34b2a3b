from django.apps import AppConfig


class ProductsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "products"

    def ready(self):
        from . import cache, listing, receivers  # noqa: F401
        from .templatetags import item_tags  # noqa: F401 - fills the holds' minutes of shared parts

        cache.connect()
        listing.connect()
