"""Behaviour shared by every page type of the site."""

from functools import cache as cache_once

from django.core.cache import cache
from django.db.models import QuerySet
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from wagtail.models import PageViewRestriction

from . import fragments

ANY_RESTRICTION_CACHE_KEY = "pages:any-view-restriction"


def any_view_restriction_exists() -> bool:
    exists = cache.get(ANY_RESTRICTION_CACHE_KEY)
    if exists is None:
        exists = PageViewRestriction.objects.exists()
        cache.set(ANY_RESTRICTION_CACHE_KEY, exists, 300)
    return exists


@receiver([post_save, post_delete], sender=PageViewRestriction)
def _forget_view_restrictions(**kwargs):
    cache.delete(ANY_RESTRICTION_CACHE_KEY)


class ViewRestrictionShortcutMixin:
    """Skip Wagtail's two view-restriction queries per request while the site has none.

    Wagtail checks the page and its ancestors for privacy settings on every request. Almost
    always there are none; the flag is cleared whenever a restriction is saved or deleted.
    """

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
