from decimal import Decimal

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils.text import slugify

from wagtail.models import (
    Collection,
    GroupCollectionPermission,
    GroupPagePermission,
    Workflow,
    WorkflowPage,
)

from accounts.models import User
from marketplace.mail import queue_email

from . import emails
from .models import ShopIndexPage, ShopPage, Vendor

REVIEW_WORKFLOW_NAME = "Vendor content review"
EDITORS_GROUP_NAME = "Editors"  # made by home's data migration; they approve moderated shops
PAGE_PERMISSIONS = {"add_page", "change_page", "publish_page"}
MODERATED_PAGE_PERMISSIONS = {"add_page", "change_page"}
# Wagtail checks image rights against wagtailimages.Image, even with a custom image model.
IMAGE_PERMISSIONS = ["add_image", "choose_image", "change_image"]


def _permission(app_label: str, codename: str) -> Permission:
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def _group_of(vendor: Vendor) -> Group:
    group = vendor.group
    assert group is not None, "vendor_onboard gives every vendor its group"
    return group


def _sync_access(vendor: Vendor) -> None:
    """Make the vendor group's rights match the vendor's status and moderation setting."""
    group, shop = _group_of(vendor), vendor.shop
    access_admin = _permission("wagtailadmin", "access_admin")
    if vendor.status == Vendor.Status.SUSPENDED:
        group.permissions.remove(access_admin)
    else:
        group.permissions.add(access_admin)

    wanted = MODERATED_PAGE_PERMISSIONS if vendor.requires_moderation else PAGE_PERMISSIONS
    GroupPagePermission.objects.filter(group=group).exclude(
        page=shop, permission__codename__in=wanted
    ).delete()
    for codename in wanted:
        GroupPagePermission.objects.get_or_create(
            group=group, page=shop, permission=_permission("wagtailcore", codename)
        )

    if vendor.requires_moderation:
        WorkflowPage.objects.update_or_create(
            page=shop, defaults={"workflow": Workflow.objects.get(name=REVIEW_WORKFLOW_NAME)}
        )
    else:
        WorkflowPage.objects.filter(page=shop).delete()

    # Wagtail publishes an approved revision as the approving editor, checking their publish
    # right on the page: without it every approval fails. Editors get it on moderated shops only.
    editors = Group.objects.filter(name=EDITORS_GROUP_NAME).first()
    if editors is not None:
        publish = _permission("wagtailcore", "publish_page")
        if vendor.requires_moderation:
            GroupPagePermission.objects.get_or_create(group=editors, page=shop, permission=publish)
        else:
            GroupPagePermission.objects.filter(group=editors, page=shop).delete()


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

    Everything or nothing: one transaction. The group may touch only the shop's own subtree and
    collection; whether it may publish or only submit for review depends on `requires_moderation`.
    A staff user created without a password is emailed a link to set one.
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
    vendor.group = Group.objects.create(name=f"Vendor: {name}")
    vendor.collection = Collection.get_first_root_node().add_child(name=name)
    vendor.save()

    ShopIndexPage.objects.get().add_child(
        instance=ShopPage(title=name, slug=slugify(name), vendor=vendor)
    )
    for codename in IMAGE_PERMISSIONS:
        GroupCollectionPermission.objects.create(
            group=vendor.group,
            collection=vendor.collection,
            permission=_permission("wagtailimages", codename),
        )
    _sync_access(vendor)
    vendor_add_staff(
        vendor=vendor, email=staff_email, username=staff_username, password=staff_password
    )
    return vendor


@transaction.atomic
def vendor_add_staff(
    *, vendor: Vendor, email: str, username: str | None = None, password: str | None = None
) -> User:
    """Give a person admin access to this vendor's shop (and nothing else)."""
    user = User(username=username or email, email=email)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean()
    user.save()
    user.groups.add(_group_of(vendor))
    if not password:
        queue_email(emails.send_invitation, user_id=user.pk, vendor_id=vendor.pk)
    return user


@transaction.atomic
def vendor_update(
    *,
    vendor: Vendor,
    status: str | None = None,
    requires_moderation: bool | None = None,
    commission_rate: Decimal | None = None,
    contact_email: str | None = None,
    stripe_account_id: str | None = None,
) -> Vendor:
    """Change a vendor's terms or standing; admin rights and review follow at once.

    Suspension removes the staff's admin access but unpublishes nothing: the shop and item
    pages stay reachable, marked as not taking orders, while its pieces are listed nowhere
    (home, designers, search, shops, API), until staff reactivate or close it deliberately.
    """
    vendor = Vendor.objects.select_for_update().get(pk=vendor.pk)
    for field, value in {
        "status": status,
        "requires_moderation": requires_moderation,
        "commission_rate": commission_rate,
        "contact_email": contact_email,
        "stripe_account_id": stripe_account_id,
    }.items():
        if value is not None:
            setattr(vendor, field, value)
    vendor.full_clean()
    # Saving a Vendor invalidates every cached page and count (vendors.cache): a change of
    # status lists or unlists the shop's pieces (products.selectors.hidden_sections) and
    # refreshes cached pages at once, the shop and item pages' "not taking orders" note included.
    vendor.save()
    _sync_access(vendor)
    return vendor
