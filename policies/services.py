"""Writes for policies and testimonials: keyword-only, atomic, side effects after commit."""

from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from wagtail.models import GroupPagePermission, ModelLogEntry, Page, Revision

from marketplace import page_cache
from orders.models import Order, OrderLine, VendorOrder
from products.models import ItemPage

if TYPE_CHECKING:
    from accounts.models import User

from . import emails, tokens
from .errors import PolicyErrorCode as Code
from .errors import TestimonialLinkInvalid, TestimonialRefused
from .models import (
    PolicyAcknowledgement,
    PolicyChange,
    PolicyPage,
    Testimonial,
    TestimonialIndexPage,
    TestimonialInvitation,
)
from .models.pages import TESTIMONIALS

EDITORS_GROUP_NAME = "Editors"
# Page types editors keep. Rights are granted per page: Wagtail's page rights inherit down
# the tree, so a right on the HomePage would reach every shop (see policies.permissions).
EDITOR_PAGE_TYPES = (PolicyPage, TestimonialIndexPage)
EDITOR_PAGE_PERMISSIONS = ("change_page", "publish_page", "lock_page", "unlock_page")

TESTIMONIAL_LINK_SALT = "policies.testimonial-invitation"


# --- Editors -------------------------------------------------------------------------------------


@transaction.atomic
def editors_grant_page_rights(*, page: Page) -> None:
    """Let the Editors group edit and publish this policy page or testimonial index (only)."""
    if not isinstance(page.specific, EDITOR_PAGE_TYPES):
        raise ValueError(f"Editors do not keep pages of type {type(page.specific).__name__}.")
    editors = Group.objects.filter(name=EDITORS_GROUP_NAME).first()
    if editors is None:
        return
    for codename in EDITOR_PAGE_PERMISSIONS:
        GroupPagePermission.objects.get_or_create(
            group=editors,
            page=page,
            permission=Permission.objects.get(
                content_type__app_label="wagtailcore", codename=codename
            ),
        )


# --- Policy history ------------------------------------------------------------------------------


@transaction.atomic
def policy_change_record(*, page: PolicyPage, revision: Revision) -> PolicyChange:
    """Record a published version of a policy (once per revision) for its public history.

    Called for every publish, however it happens (the editor, a workflow approval, a scheduled
    go-live, code). A material change emails every account holder after commit. The page's
    change note and flag are then cleared on the live row, so that publishing again from it
    (e.g. in code) never repeats a note or an email meant for one version.
    """
    change, created = PolicyChange.objects.get_or_create(
        revision_id=revision.pk,
        defaults={
            "page": page,
            "published_at": page.last_published_at or timezone.now(),
            "title": page.title,
            "summary": page.summary,
            "effective_from": page.effective_from,
            "body": page.body.get_prep_value(),
            "change_note": page.change_note.strip(),
            "material": page.material_change,
        },
    )
    if created:
        PolicyPage.objects.filter(pk=page.pk).update(change_note="", material_change=False)
        if change.material:
            emails.send_policy_change_emails(change_id=change.pk)
    return change


@transaction.atomic
def policy_acknowledge(*, user: "User", change: PolicyChange) -> PolicyAcknowledgement:
    """The user dismissed the notice for this version: record it in their ledger."""
    acknowledgement, _ = PolicyAcknowledgement.objects.get_or_create(
        user=user, revision_id=change.revision_id, defaults={"page_id": change.page_id}
    )
    return acknowledgement


@transaction.atomic
def policy_acknowledgements_erase_for_user(*, user: "User") -> int:
    """Erasure: delete the user's policy acknowledgements. Returns how many were deleted."""
    deleted, _ = PolicyAcknowledgement.objects.filter(user=user).delete()
    return deleted


# --- Verified-buyer testimonials -----------------------------------------------------------------


def testimonial_link_token(*, vendor_order: VendorOrder) -> str:
    """A signed token naming one delivered vendor order, for `/testimonials/submit/<token>/`."""
    return signing.dumps(
        {"vo": vendor_order.pk, "ref": vendor_order.order.reference},
        salt=TESTIMONIAL_LINK_SALT,
        compress=True,
    )


def testimonial_link_max_age() -> timedelta:
    return timedelta(days=getattr(settings, "VITRINE_TESTIMONIAL_LINK_DAYS", 60))


def testimonial_link_vendor_order(*, token: str) -> VendorOrder:
    """The delivered vendor order a testimonial link names, if the link may still be used."""
    try:
        data = signing.loads(token, salt=TESTIMONIAL_LINK_SALT, max_age=testimonial_link_max_age())
    except signing.SignatureExpired as error:
        raise TestimonialLinkInvalid(Code.LINK_EXPIRED) from error
    except signing.BadSignature as error:
        raise TestimonialLinkInvalid(Code.LINK_INVALID) from error
    if not isinstance(data, dict):
        raise TestimonialLinkInvalid(Code.LINK_INVALID)
    vendor_order_id = data.get("vo")
    if vendor_order_id is None:  # matches no part, as below
        raise TestimonialLinkInvalid(Code.LINK_INVALID)
    vendor_order = (
        VendorOrder.objects.select_related("order", "vendor__shop")
        .filter(pk=vendor_order_id, order__reference=data.get("ref"))
        .first()
    )
    if vendor_order is None or vendor_order.status != VendorOrder.Status.DELIVERED:
        raise TestimonialLinkInvalid(Code.LINK_INVALID)
    if TestimonialInvitation.objects.filter(
        vendor_order=vendor_order, used_at__isnull=False
    ).exists():
        raise TestimonialLinkInvalid(Code.LINK_USED)
    return vendor_order


def testimonial_items(*, vendor_order: VendorOrder) -> QuerySet[ItemPage]:
    """The pieces of that vendor order a testimonial may name (not one that sold to someone
    else while the shopper paid: they never had it)."""
    return ItemPage.objects.filter(
        order_lines__vendor_order=vendor_order, order_lines__status=OrderLine.Status.ORDERED
    ).distinct()


@transaction.atomic
def testimonial_invitations_stop(*, token: str) -> int:
    """The invitation's one-click "stop asking me": no more invitations for the shopper of the
    token's order, i.e. none for any order placed with its email address (any letter case) or
    by its account. Idempotent; raises tokens.InvalidToken. Returns how many orders changed.

    A later order asks again only if the shopper ticks the box at that checkout again.
    """
    order_id = tokens.read_testimonial_unsubscribe_token(token)
    order = Order.objects.filter(pk=order_id).values("email", "customer_id").first()
    if order is None:
        return 0
    same_shopper = Q(pk=order_id)
    if order["email"]:
        same_shopper |= Q(email__iexact=order["email"])
    if order["customer_id"]:
        same_shopper |= Q(customer_id=order["customer_id"])
    return Order.objects.filter(same_shopper, testimonial_opt_in=True).update(
        testimonial_opt_in=False
    )


@transaction.atomic
def testimonial_invitation_sent(*, vendor_order_id: int) -> TestimonialInvitation:
    invitation, _ = TestimonialInvitation.objects.get_or_create(vendor_order_id=vendor_order_id)
    if invitation.sent_at is None:
        invitation.sent_at = timezone.now()
        invitation.save(update_fields=["sent_at"])
    return invitation


@transaction.atomic
def testimonial_submit(
    *,
    token: str,
    quote: str,
    display_name: str,
    location: str = "",
    item: ItemPage | None = None,
    consent: bool,
) -> Testimonial:
    """A verified buyer's testimonial: a draft, submitted to the testimonial review workflow.

    The link is single-use: the invitation row is locked and marked used in the same
    transaction, so a second submission (even after a withdrawal) is refused.
    """
    if not consent:
        raise TestimonialRefused(Code.CONSENT_MISSING, field="consent")
    vendor_order = testimonial_link_vendor_order(token=token)
    try:
        with transaction.atomic():
            invitation, _ = TestimonialInvitation.objects.get_or_create(vendor_order=vendor_order)
    except IntegrityError:
        pass
    invitation = TestimonialInvitation.objects.select_for_update().get(vendor_order=vendor_order)
    if (
        invitation.used_at is not None
        or Testimonial.objects.filter(vendor_order=vendor_order).exists()
    ):
        raise TestimonialLinkInvalid(Code.LINK_USED)
    if (
        item is not None
        and not testimonial_items(vendor_order=vendor_order).filter(pk=item.pk).exists()
    ):
        raise TestimonialRefused(Code.ITEM_NOT_IN_ORDER, field="item")
    now = timezone.now()
    testimonial = Testimonial(
        quote=quote.strip(),
        display_name=display_name.strip(),
        location=location.strip(),
        vendor=vendor_order.vendor,
        item=item,
        date=timezone.localdate(),
        vendor_order=vendor_order,
        consent_given_at=now,
        live=False,
    )
    testimonial.full_clean()
    testimonial.save()
    testimonial.save_revision(log_action=True)
    workflow = testimonial.get_workflow()
    if workflow is not None:
        workflow.start(testimonial, user=None)
    invitation.used_at = now
    invitation.save(update_fields=["used_at"])
    return testimonial


def _delete_testimonials(testimonials: QuerySet[Testimonial]) -> int:
    """Delete testimonials with their revisions, workflow states and admin log labels."""
    ids = [str(pk) for pk in testimonials.values_list("pk", flat=True)]
    if not ids:
        return 0
    content_type = ContentType.objects.get_for_model(Testimonial)
    ModelLogEntry.objects.filter(content_type=content_type, object_id__in=ids).delete()
    deleted = 0
    for testimonial in Testimonial.objects.filter(pk__in=ids):
        testimonial.delete()  # GenericRelations take the revisions and workflow states along
        deleted += 1
    page_cache.invalidate(TESTIMONIALS)
    return deleted


@transaction.atomic
def testimonial_withdraw(*, user: "User | AnonymousUser", testimonial_id: int) -> None:
    """The shopper whose order it names withdraws a testimonial: it is deleted, live or not."""
    if isinstance(user, AnonymousUser) or not user.is_authenticated:
        raise Testimonial.DoesNotExist
    testimonials = Testimonial.objects.filter(pk=testimonial_id, vendor_order__order__customer=user)
    if not testimonials.exists():
        raise Testimonial.DoesNotExist
    _delete_testimonials(testimonials)


@transaction.atomic
def testimonials_erase_for_user(*, user: "User") -> int:
    """Erasure: delete every testimonial about this user's orders. Returns how many."""
    return _delete_testimonials(Testimonial.objects.filter(vendor_order__order__customer=user))
