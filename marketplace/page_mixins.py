"""Behaviour shared by every page type of the site."""

from functools import cache as cache_once

from django.db.models import QuerySet

from wagtail.models import PageViewRestriction

from . import fragments
from .page_cache import memoised


def restricted_paths() -> list[str]:
    """The tree paths of the view-restricted pages (usually none): Wagtail's check on every
    page served and the listings (products.selectors.hidden_sections) both read them from
    here. Kept until a restriction is saved or deleted, or a page moved, which moves the
    `site` tag on (marketplace.page_cache.connect)."""
    return memoised(
        "restricted-paths",
        lambda: sorted(PageViewRestriction.objects.values_list("page__path", flat=True)),
    )


def any_view_restriction_exists() -> bool:
    return bool(restricted_paths())


class ViewRestrictionShortcutMixin:
    """Skip Wagtail's two view-restriction queries per request while the site has none.

    Wagtail checks the page and its ancestors for privacy settings on every request. Almost
    always there are none (`restricted_paths`, kept until a restriction changes)."""

    def get_view_restrictions(self):
        if not any_view_restriction_exists():
            return _no_restrictions()
        return super().get_view_restrictions()


@cache_once
def _no_restrictions() -> QuerySet[PageViewRestriction]:
    """No restriction, as a query set already read (shared: it never changes). Wagtail
    iterates what it gets on every request, and an empty query set not yet read compiles
    its query every time to find there is nothing to ask."""
    none = PageViewRestriction.objects.none()
    len(none)  # read now: nothing
    return none


class SharedPartsMixin:
    """A page whose own content is rendered once and shared by every shopper, with holes for
    what is each shopper's own (marketplace.fragments). Its template puts `parts` (the blocks
    of `parts_template`, rendered) into the layout."""

    parts_template: str
    parts_params: tuple[str, ...] = ("page",)  # the query parameters its parts depend on

    def parts_context(self, request, context: dict) -> dict:
        """The context of its parts: asked for only when they are rendered, not when they
        come from the cache, so this is where the page's queries go."""
        return context

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["parts"] = fragments.page_parts(
            request,
            self.parts_template,
            lambda: self.parts_context(request, context),
            params=self.parts_params,
        )
        return context
