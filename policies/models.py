from django.db import models

from wagtail import blocks
from wagtail.admin.panels import FieldPanel
from wagtail.fields import StreamField
from wagtail.models import Page

from home.page_mixins import ViewRestrictionShortcutMixin

POLICY_RICH_TEXT_FEATURES = ["h2", "h3", "bold", "italic", "ol", "ul", "link"]


class PolicyBody(blocks.StreamBlock):
    """Headings, rich text and lists. Deliberately no raw HTML block."""

    heading = blocks.CharBlock(form_classname="title", max_length=120)
    paragraph = blocks.RichTextBlock(features=POLICY_RICH_TEXT_FEATURES)
    list = blocks.ListBlock(blocks.CharBlock(max_length=400), label="Bulleted list")


class PolicyPage(ViewRestrictionShortcutMixin, Page):
    """`/privacy/`, `/security/`, `/terms/`: a policy under the HomePage. Editors keep them."""

    summary = models.TextField(max_length=600, help_text="A short, plain-language summary.")
    body = StreamField(PolicyBody(), use_json_field=True)
    effective_from = models.DateField()

    content_panels = [
        *Page.content_panels,
        FieldPanel("summary"),
        FieldPanel("effective_from"),
        FieldPanel("body"),
    ]

    parent_page_types = ["home.HomePage"]
    subpage_types = []
