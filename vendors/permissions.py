"""Who is a vendor, and which admin areas a vendor may use at all."""

# Who is a vendor is decided next to the Vendor model (its page form needs it too).
from .models import vendor_for_user

__all__ = ["VENDOR_ADMIN_ALLOWED", "vendor_for_user", "vendor_may_use"]

# Vendors may reach only these admin URL namespaces / names; everything else in /admin/ is
# refused before Wagtail's own checks run. A new admin area is therefore closed to vendors
# until it is added here, and Wagtail's object permissions still apply inside these areas.
VENDOR_ADMIN_ALLOWED = (
    "wagtailadmin_home",
    "wagtailadmin_account",
    "wagtailadmin_login",
    "wagtailadmin_logout",
    "wagtailadmin_password_reset",
    "wagtailadmin_javascript_catalog",
    "wagtailadmin_sprite",
    "wagtailadmin_dismissibles",
    "wagtailadmin_editing_sessions",
    "wagtailadmin_tag_autocomplete",
    "wagtailadmin_block_preview",
    "wagtailadmin_pages",
    "wagtailadmin_explore",
    "wagtailadmin_choose_page",
    "wagtail_bulk_action",
    "wagtailimages",
    "wagtailimages_chooser",
    "wagtailsnippetchoosers_products_designer",
    "wagtailsnippetchoosers_products_category",
    "orders_vendororder_modeladmin",  # the order desk: filtered to the vendor's own orders
    "orders_phoneorder",  # recording phone orders for their own shop
    "products_stock",  # the stock control of their own items (`page_id` checked)
)


def vendor_may_use(view_name: str) -> bool:
    """Whether a vendor may reach the admin view named `view_name` (namespace:name)."""
    return any(
        view_name == allowed or view_name.startswith((f"{allowed}:", f"{allowed}_"))
        for allowed in VENDOR_ADMIN_ALLOWED
    )
