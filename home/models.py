import hashlib

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.http import Http404

from wagtail.admin.panels import FieldPanel, InlinePanel, MultiFieldPanel
from wagtail.contrib.settings.models import BaseSiteSetting, register_setting
from wagtail.models import Page, Site

from marketplace import page_cache
from marketplace.page_mixins import SharedPartsMixin, ViewRestrictionShortcutMixin
from policies import selectors as policy_selectors
from policies.models.pages import TESTIMONIALS
from policies.permissions import HomePagePermissionTester
from products import selectors as product_selectors

# How long a path's page is remembered at most (tags renew it at once when it changes).
ROUTE_SECONDS = 3600


# The home page's own row, as routing keeps it: moved on whenever it is saved (home.apps).
HOME = "home"


class HomePage(SharedPartsMixin, ViewRestrictionShortcutMixin, Page):
    """The site root at `/`. Editors keep the welcome text and hero picture; the rest is live data."""

    hero_heading = models.CharField(max_length=120, default="One-of-a-kind designer pieces")
    hero_text = models.TextField(
        max_length=400,
        blank=True,
        help_text="A sentence or two under the heading. Plain text.",
    )
    hero_image = models.ForeignKey(
        "marketplace.CustomImage",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    content_panels = [
        *Page.content_panels,
        MultiFieldPanel(
            [FieldPanel("hero_heading"), FieldPanel("hero_text"), FieldPanel("hero_image")],
            heading="Hero",
        ),
        InlinePanel(
            "featured_testimonials",
            heading="Testimonials on the home page",
            label="Testimonial",
            max_num=6,
            help_text="Pick and order a few published testimonials; without picks, the latest three are shown.",
        ),
    ]

    max_count = 1
    parent_page_types = ["wagtailcore.Page"]
    subpage_types = [
        "vendors.ShopIndexPage",
        "products.DesignerIndexPage",
        "policies.PolicyPage",
        "policies.TestimonialIndexPage",
    ]

    def permissions_for_user(self, user):
        # Editors edit this page only, not the shops below it (see policies.permissions).
        return HomePagePermissionTester(user, self)

    def route(self, request, path_components):
        """Find a descendant by its full URL path in one query instead of one per level, and
        remember which page that was (`_route_memo`), so that most requests read only it.

        Falls back to Wagtail's walk when no page has that exact path (e.g. the routable
        `/designers/<slug>/`), so each page type still decides how its own URL is served.
        """
        if path_components:
            if settings.VITRINE_SITE_MEMO:
                return self._route_memo(request, path_components)
            return self._route_below(request, path_components)
        if self.get_deferred_fields():
            # The memoised Site's copy (marketplace.sites): serve the page as it is now, kept
            # until its row is saved again (home.apps).
            home = page_cache.memoised(
                f"home-page:{self.pk}",
                lambda: type(self)._default_manager.get(pk=self.pk),
                tags=[HOME],
            )
            return home.route(request, path_components)
        return super().route(request, path_components)

    def _route_memo(self, request, path_components):
        """The page that serves this path (as routing read it, with its relations and its
        breadcrumb) and the path components it takes, kept until it changes: its own cache
        tags cover the page and its shop (published, unpublished, sold, held, renamed), `site`
        the rest (a move, a new slug, an unpublished index page). A request for a kept page
        reads no row at all."""
        routed = None

        def route_and_remember() -> tuple[Page, int]:
            nonlocal routed
            routed = self._route_below(request, path_components)
            page = routed.page
            page_cache.depends_on(*getattr(page, "cache_tags", list)())
            return page, page.depth - self.depth

        # Hashed: a requested path may hold spaces or run long, which cache keys should not.
        url_path = hashlib.blake2b("/".join(path_components).encode()).hexdigest()
        page, taken = page_cache.cached(
            f"route:{self.pk}:{url_path}", route_and_remember, timeout=ROUTE_SECONDS
        )
        if routed is not None:
            return routed
        return page.route(request, path_components[taken:])

    def _route_below(self, request, path_components):
        # The deepest page whose URL is a prefix of the request's; it routes the rest
        # (a routable page such as `/designers/<slug>/` handles its own sub-paths).
        prefixes = [
            self.url_path + "/".join(path_components[:length]) + "/"
            for length in range(1, len(path_components) + 1)
        ]
        found = list(
            Page.objects.filter(url_path__in=prefixes, path__startswith=self.path).order_by(
                "-depth"
            )
        )
        # Nothing is served under an unpublished page (an item of an unpublished shop).
        if found and all(ancestor.live for ancestor in found[1:]):
            target = found[0]
            model = ContentType.objects.get_for_id(target.content_type_id).model_class()
            related = getattr(model, "route_select_related", ())
            page = model._default_manager.select_related(*related).get(pk=target.pk)
            # Its ancestors below the tree root, home first, as the breadcrumb shows them
            # (vitrine_tags.breadcrumb_ancestors): read here already.
            page.route_ancestors = [
                ancestor for ancestor in (self, *reversed(found[1:])) if ancestor.depth > 1
            ]
            return page.route(request, path_components[target.depth - self.depth :])
        raise Http404

    def cache_tags(self) -> list[str]:
        # The testimonials; the newest pieces, the shops with their counts and the designers
        # record their own tags as they are read (products.selectors), so a sale or publish
        # elsewhere in the catalogue leaves the page cached.
        return [TESTIMONIALS]

    # Its own parts are shared (marketplace.fragments) until the catalogue changes.
    parts_template = "home/home_page_parts.html"
    parts_params = ()

    def parts_context(self, request, context):
        context = dict(context)
        latest = context["latest_items"] = product_selectors.items_latest(limit=8)
        # Its hero, the shops' pictures and the new pieces' covers, with their renditions:
        # read at once (one query on a first view), kept.
        context["featured_shops"] = product_selectors.shops_live(
            limit=6, pictures_of=[(self, "hero_image")], cards=latest
        )
        context["featured_designers"] = product_selectors.designers_listed(limit=10)
        context["testimonials"] = policy_selectors.testimonials_for_home(home=self, limit=3)
        return context


@register_setting(icon="site")
class SiteFooterSettings(BaseSiteSetting):
    """Contact details shown in the footer of every page."""

    customer_service_email = models.EmailField(blank=True)
    tagline = models.CharField(
        max_length=200, blank=True, default="Independent designer shops, one checkout."
    )

    @classmethod
    def of(cls, site: Site) -> "SiteFooterSettings":
        """The site's footer settings: read with the site where it was memoised
        (marketplace.sites.read_with_site), else Wagtail's way (made on first use)."""
        try:
            return site.sitefootersettings  # type: ignore[attr-defined]
        except cls.DoesNotExist:
            return cls.for_site(site)

    # Read only when the footer is rendered, which is kept with the site's version: editing
    # these moves it on (home.apps, home/templatetags/footer_tags.py).
    panels = [FieldPanel("customer_service_email"), FieldPanel("tagline")]

    class Meta:
        verbose_name = "footer"
