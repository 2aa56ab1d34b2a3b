from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils.text import slugify

from wagtail.models import Collection, GroupCollectionPermission, GroupPagePermission

from .models import ShopIndexPage, ShopPage, Vendor

User = get_user_model()

PAGE_PERMISSIONS = ["add_page", "change_page", "publish_page"]
MODERATED_PAGE_PERMISSIONS = ["add_page", "change_page"]
# Wagtail checks image rights against wagtailimages.Image, even with a custom image model.
IMAGE_PERMISSIONS = ["add_image", "choose_image", "change_image"]


def vendor_group_name(vendor: Vendor) -> str:
    return f"Vendor: {vendor.name}"


def _permission(app_label: str, codename: str) -> Permission:
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


@transaction.atomic
def vendor_onboard(
    *,
    name: str,
    contact_email: str,
    staff_email: str,
    staff_username: str | None = None,
    staff_password: str | None = None,
    commission_rate: Decimal | None = None,
    requires_moderation: bool = False,
    status: str = Vendor.Status.ACTIVE,
) -> Vendor:
    """Create a vendor with its shop page, admin group, image collection and first staff user.

    Everything or nothing: one transaction. The group may only touch the shop's own subtree and
    collection; whether it may publish depends on `requires_moderation`.
    """
    vendor = Vendor(
        name=name,
        contact_email=contact_email,
        requires_moderation=requires_moderation,
        status=status,
    )
    if commission_rate is not None:
        vendor.commission_rate = commission_rate
    vendor.full_clean()
    vendor.save()

    shop_index = ShopIndexPage.objects.get()
    shop = shop_index.add_child(instance=ShopPage(title=name, slug=slugify(name), vendor=vendor))

    group = Group.objects.create(name=vendor_group_name(vendor))
    group.permissions.add(_permission("wagtailadmin", "access_admin"))
    codenames = MODERATED_PAGE_PERMISSIONS if requires_moderation else PAGE_PERMISSIONS
    for codename in codenames:
        GroupPagePermission.objects.create(
            group=group, page=shop, permission=_permission("wagtailcore", codename)
        )

    collection = Collection.get_first_root_node().add_child(name=name)
    for codename in IMAGE_PERMISSIONS:
        GroupCollectionPermission.objects.create(
            group=group, collection=collection, permission=_permission("wagtailimages", codename)
        )

    user = User(username=staff_username or staff_email, email=staff_email)
    if staff_password:
        user.set_password(staff_password)
    else:
        user.set_unusable_password()
    user.full_clean()
    user.save()
    user.groups.add(group)
    return vendor
