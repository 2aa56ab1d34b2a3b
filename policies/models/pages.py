from django.db import models
from django.http import Http404

from wagtail import blocks
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.contrib.routable_page.models import RoutablePageMixin, path
from wagtail.fields import StreamField
from wagtail.models import Page

from marketplace.page_mixins import ViewRestrictionShortcutMixin
from policies.forms import PolicyPageForm

# The page-cache tag of what shows published testimonials (this index, the home page).
TESTIMONIALS = "testimonials"

POLICY_RICH_TEXT_FEATURES = ["h2", "h3", "bold", "italic", "ol", "ul", "link"]


class PolicyBody(blocks.StreamBlock):
    """Headings, rich text and lists. Deliberately no raw HTML block."""

    heading = blocks.CharBlock(form_classname="title", max_length=120)
    paragraph = blocks.RichTextBlock(features=POLICY_RICH_TEXT_FEATURES)
    list = blocks.ListBlock(blocks.CharBlock(max_length=400), label="Bulleted list")


class PolicyPage(RoutablePageMixin, ViewRestrictionShortcutMixin, Page):
    """`/privacy/`, `/security/`, `/terms/`: a policy under the HomePage. Editors keep them.

    Every publish is recorded as a PolicyChange (a snapshot with the editor's one-line change
    note), which is what `<policy>/history/` shows. `change_note` and `material_change` only
    describe the version being published: they are blank again in the next edit.
    """

    summary = models.TextField(max_length=600, help_text="A short, plain-language summary.")
    body = StreamField(PolicyBody(), use_json_field=True)
    effective_from = models.DateField()
    change_note = models.CharField(
        max_length=200,
        blank=True,
        help_text="Required when publishing: one line, shown publicly in this policy's history.",
    )
    material_change = models.BooleanField(
        default=False,
        help_text="A change that affects people's rights or data: every account holder is "
        "emailed about it when this version is published.",
    )

    content_panels = [
        *Page.content_panels,
        FieldPanel("summary"),
        FieldPanel("effective_from"),
        FieldPanel("body"),
        MultiFieldPanel(
            [FieldPanel("change_note"), FieldPanel("material_change")],
            heading="About this version",
        ),
    ]

    base_form_class = PolicyPageForm

    parent_page_types = ["home.HomePage"]
    subpage_types = []

    def cache_tags(self) -> list[str]:
        return [TESTIMONIALS]

    def get_context(self, request, *args, **kwargs):
        from policies import selectors

        context = super().get_context(request, *args, **kwargs)
        context["latest_change"] = selectors.policy_latest_change(page=self)
        return context

    @path("history/")
    def history(self, request):
        from policies import selectors

        return self.render(
            request,
            template="policies/policy_history.html",
            context_overrides={"changes": selectors.policy_history(page=self)},
        )

    @path("history/<int:revision_id>/")
    def history_version(self, request, revision_id):
        from policies import selectors

        change = selectors.policy_change(page=self, revision_id=revision_id)
        if change is None:
            raise Http404("No published version of this policy with that number.")
        previous = selectors.policy_change_before(change=change)
        return self.render(
            request,
            template="policies/policy_version.html",
            context_overrides={
                "change": change,
                "previous": previous,
                "diff": selectors.policy_diff(old=previous, new=change) if previous else None,
            },
        )


class TestimonialIndexPage(ViewRestrictionShortcutMixin, Page):
    """`/testimonials/`: published testimonials, newest first. One per site, under the HomePage;
    editors keep the intro and moderate the testimonials (snippets) it lists."""

    intro = models.TextField(max_length=500, blank=True)

    content_panels = [*Page.content_panels, FieldPanel("intro")]

    max_count = 1
    parent_page_types = ["home.HomePage"]
    subpage_types = []

    def cache_tags(self) -> list[str]:
        return [TESTIMONIALS]

    def get_context(self, request, *args, **kwargs):
        from policies import selectors

        context = super().get_context(request, *args, **kwargs)
        context["testimonials_page"] = selectors.testimonials_page(request=request, per_page=24)
        return context
