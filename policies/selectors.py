from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.paginator import Page as PaginatorPage
from django.core.paginator import Paginator
from django.db.models import F, Max, OuterRef, QuerySet, Subquery
from django.http import HttpRequest

from wagtail.models import Page

from marketplace.page_cache import SHOPS, memoised
from products.cache import LISTED

from . import diff
from .models import (
    HomePageTestimonial,
    PolicyAcknowledgement,
    PolicyChange,
    PolicyPage,
    Testimonial,
)
from .models.pages import TESTIMONIALS

if TYPE_CHECKING:
    from accounts.models import User


def policies_for_footer() -> list[dict]:
    """Title and URL of each live policy page, for the footer (kept with it: a publish of a
    policy page moves the `site` tag on, see home/templatetags/footer_tags.py)."""
    return [
        {"title": page.title, "url": page.url}
        for page in PolicyPage.objects.live().order_by("path").only("title", "url_path", "path")
    ]


# --- Policy history ------------------------------------------------------------------------------


def policy_history(*, page: PolicyPage) -> QuerySet[PolicyChange]:
    """Every published version of a policy, newest first (drafts are never recorded)."""
    return PolicyChange.objects.filter(page=page).defer("body").order_by("-revision_id")


def policy_latest_change(*, page: PolicyPage) -> PolicyChange | None:
    return policy_history(page=page).first()


def policy_change(*, page: PolicyPage, revision_id: int) -> PolicyChange | None:
    """The published version of *this* page with that revision id (None for another page's)."""
    return PolicyChange.objects.filter(page=page, revision_id=revision_id).first()


def policy_change_before(*, change: PolicyChange) -> PolicyChange | None:
    return (
        PolicyChange.objects.filter(page_id=change.page_id, revision_id__lt=change.revision_id)
        .order_by("-revision_id")
        .first()
    )


def policy_diff(*, old: PolicyChange, new: PolicyChange) -> list[diff.DiffRow]:
    return diff.policy_diff(old, new)


# --- Changed-policy notices ----------------------------------------------------------------------


def policy_notices_for_user(*, user: "User | AnonymousUser") -> list[dict[str, Any]]:
    """Live policies changed since this signed-in user last acknowledged them.

    A user is asked about a policy once it has more than one published version and the newest
    is newer than both the version they last dismissed and (if they never dismissed one) their
    sign-up: a new account has already seen the current text.
    """
    # isinstance first: the same answer, and it tells the type checker this is a User.
    if isinstance(user, AnonymousUser) or not getattr(user, "is_authenticated", False):
        return []
    changed = memoised("changed-policies", _changed_policies)
    if not changed:  # the usual case: no query per page for signed-in shoppers
        return []
    acknowledged = dict(
        PolicyAcknowledgement.objects.filter(user=user)
        .values("page_id")
        .annotate(revision_id=Max("revision_id"))
        .values_list("page_id", "revision_id")
    )
    notices = []
    for policy in changed:
        seen = acknowledged.get(policy["page_id"])
        if seen is not None:
            is_new = seen < policy["revision_id"]
        else:
            is_new = user.date_joined < policy["published_at"]
        if is_new:
            notices.append({key: policy[key] for key in NOTICE_KEYS})
    return notices


NOTICE_KEYS = ("title", "revision_id", "published_at", "diff_url")


def _changed_policies() -> list[dict]:
    """Live policies with more than one published version, with their newest; the same for
    every user, so memoised until a policy is published (marketplace.page_cache)."""
    latest = PolicyChange.objects.filter(page=OuterRef("pk")).order_by("-revision_id")
    pages = (
        PolicyPage.objects.live()
        .annotate(
            newest_revision_id=Subquery(latest.values("revision_id")[:1]),
            newest_published_at=Subquery(latest.values("published_at")[:1]),
            oldest_revision_id=Subquery(
                PolicyChange.objects.filter(page=OuterRef("pk"))
                .order_by("revision_id")
                .values("revision_id")[:1]
            ),
        )
        .filter(newest_revision_id__isnull=False)
        .order_by("path")
        .only("title", "url_path", "path")
    )
    return [
        {
            "page_id": page.pk,
            "title": page.title,
            "revision_id": page.newest_revision_id,
            "published_at": page.newest_published_at,
            "diff_url": f"{page.url}history/{page.newest_revision_id}/",
        }
        for page in pages
        if page.newest_revision_id != page.oldest_revision_id
    ]


def policy_acknowledgements_for_user(*, user: "User") -> QuerySet[PolicyAcknowledgement]:
    """The user's ledger of acknowledged policy versions (for the account data export)."""
    return PolicyAcknowledgement.objects.filter(user=user).select_related("page")


def policy_material_change_recipients() -> QuerySet:
    """Who is told about a material policy change: every active account with an email.

    A material change is a legal notice about the terms people hold their account under, not
    marketing, so it goes to all account holders whatever their promotional-email choice.
    Guests without an account have no continuing relationship to notify.
    """
    return get_user_model().objects.filter(is_active=True).exclude(email="").order_by("pk")


# --- Testimonials --------------------------------------------------------------------------------


# What a testimonial's card shows (policies/includes/testimonial.html): its shop and piece are
# pages of some thirty columns each, of which the card reads a link and a title.
TESTIMONIAL_CARD = ("quote", "display_name", "location", "date", "vendor_order_id",
                    "vendor__name", "vendor__shop__live", "vendor__shop__url_path",
                    "item__live", "item__url_path", "item__title")  # fmt: skip


def testimonials_published() -> QuerySet[Testimonial]:
    return (
        Testimonial.objects.filter(live=True)
        .select_related("vendor__shop", "item")
        .only(*TESTIMONIAL_CARD)
        .order_by("-date", "-pk")
    )


def testimonials_page(*, request: HttpRequest, per_page: int = 24) -> PaginatorPage:
    return Paginator(testimonials_published(), per_page).get_page(request.GET.get("page"))


def testimonials_for_home(*, home: Page, limit: int = 3) -> list[Testimonial]:
    """The editors' picks for the home page (`home`, a HomePage), in their order; without
    picks, the latest."""

    def compute() -> list[Testimonial]:
        # One query: the published ones, the picks first in their order; picks shown alone.
        pick = HomePageTestimonial.objects.filter(page=home, testimonial=OuterRef("pk"))
        first = list(
            testimonials_published()
            .annotate(pick=Subquery(pick.order_by("sort_order", "pk").values("sort_order")[:1]))
            .order_by(F("pick").asc(nulls_last=True), "-date", "-pk")[:limit]
        )
        if first and first[0].pick is not None:
            return [testimonial for testimonial in first if testimonial.pick is not None]
        return first

    # A card shows its piece's and shop's title, link and whether they are live: what a
    # publish or withdrawal changes (LISTED, SHOPS), never a sale.
    return memoised(
        f"home-testimonials:{home.pk}:{limit}", compute, tags=[TESTIMONIALS, LISTED, SHOPS]
    )


def testimonials_for_user(*, user: "User | AnonymousUser") -> QuerySet[Testimonial]:
    """The testimonials a shopper submitted about their own orders (draft or published), for
    their account page, where they can withdraw them."""
    # isinstance first: the same answer, and it tells the type checker this is a User.
    if isinstance(user, AnonymousUser) or not getattr(user, "is_authenticated", False):
        return Testimonial.objects.none()
    return (
        Testimonial.objects.filter(vendor_order__order__customer=user)
        .select_related("vendor", "vendor_order__order")
        .order_by("-created_at")
    )
