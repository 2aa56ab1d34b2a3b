"""The page-cache tags of shops (marketplace.page_cache), and what a vendor's change
invalidates. Wired in VendorsConfig.ready."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save

from marketplace import page_cache


def shop_tag(shop_path: str) -> str:
    """The shop itself: its name, pictures, phone, whether it takes orders."""
    return f"shop:{shop_path}"


def shop_items_tag(shop_path: str) -> str:
    """What the shop lists and counts."""
    return f"shop-items:{shop_path}"


def _vendor_changed(**kwargs) -> None:
    # A vendor's status lists or unlists all its shop's pieces, wherever they show; rare.
    page_cache.invalidate(page_cache.SITE)


def connect() -> None:
    from .models import Vendor

    post_save.connect(_vendor_changed, sender=Vendor, dispatch_uid="pagecache-vendor-save")
    post_delete.connect(_vendor_changed, sender=Vendor, dispatch_uid="pagecache-vendor-del")
