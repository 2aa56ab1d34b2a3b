from wagtail import hooks
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet

from .models import PolicyPage, Testimonial, TestimonialIndexPage
from .services import editors_grant_page_rights


class TestimonialViewSet(SnippetViewSet):
    """Testimonials, moderated by editors through the "Testimonial review" workflow."""

    model = Testimonial
    icon = "openquote"
    menu_label = "Testimonials"
    menu_order = 260
    add_to_admin_menu = True
    list_display = ["__str__", "display_name", "vendor", "date", "is_verified_buyer"]
    list_filter = ["live", "vendor"]
    search_fields = ["quote", "display_name"]
    search_backend_name = None  # plain database filtering; no search index for snippets
    copy_view_enabled = False


register_snippet(TestimonialViewSet)


@hooks.register("after_create_page")
@hooks.register("before_publish_page")
def editors_keep_new_policy_pages(request, page):
    """A new policy page or testimonial index is the editors' to keep, whoever created it.

    Also before publishing: "create and publish" publishes (checking the editor's publish
    right on the new page) before `after_create_page` runs.
    """
    if isinstance(page.specific, (PolicyPage, TestimonialIndexPage)):
        editors_grant_page_rights(page=page)
