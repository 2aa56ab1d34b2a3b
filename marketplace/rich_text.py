"""The admin's rich text editor: Wagtail's Draftail widget, refusing a value it cannot read.

Registered as the "default" editor in WAGTAILADMIN_RICH_TEXT_EDITORS, so it serves every rich
text field: RichTextFields (item descriptions, shop stories) and RichTextBlocks (policy bodies).
"""

import json
import logging

from django.core.exceptions import ValidationError
from django.utils.html import escape

from wagtail.admin.rich_text import DraftailRichTextArea as WagtailDraftailRichTextArea

logger = logging.getLogger(__name__)

UNREADABLE_MESSAGE = "This field could not be read; please re-enter it."

# Page ids are 32-bit (AutoField); a larger one overflows SQLite when the link is rendered.
MAX_ID = 2**31 - 1


class UnreadableRichText:
    """What the widget hands to its form field when the posted value is not contentstate.

    Every rich text form field, model field or StreamField block alike, is a CharField whose
    first step is `str(value)`; refusing that is the one hook they all share, and a
    ValidationError raised there becomes an error on that field (or block) like any other.
    `posted` keeps what was sent, so the form can show it back instead of losing it.
    """

    def __init__(self, posted: str):
        self.posted = posted

    def __str__(self):
        raise ValidationError(UNREADABLE_MESSAGE, code="unreadable_rich_text")

    def __repr__(self):
        return f"<UnreadableRichText {len(self.posted)} chars>"


def _is_contentstate(data) -> bool:
    """The shape Draftail posts: `null` for an empty editor, else blocks and an entity map."""
    if data is None:
        return True
    if not isinstance(data, dict):
        return False
    blocks, entities = data.get("blocks"), data.get("entityMap", {})
    return (
        isinstance(blocks, list)
        and all(isinstance(block, dict) for block in blocks)
        and isinstance(entities, dict)
        and all(_is_entity(entity) for entity in entities.values())
    )


def _is_entity(entity) -> bool:
    # A page link (image, document) entity points at a row by id. Anything but a database id
    # there converts and is stored without complaint, then raises on every render of the
    # public page or of this editor.
    data = entity.get("data") if isinstance(entity, dict) else None
    if not isinstance(data, dict):
        return False
    ident = data.get("id")
    if ident is None:
        return True
    if isinstance(ident, str) and ident.isascii() and ident.isdigit():
        ident = int(ident)  # Wagtail itself writes an image entity's id as the HTML attribute
    return isinstance(ident, int) and not isinstance(ident, bool) and 0 < ident <= MAX_ID


class DraftailRichTextArea(WagtailDraftailRichTextArea):
    """Draftail, but a posted value that is not contentstate is a field error, not a 500.

    Wagtail's widget converts the posted JSON without checking it, so HTML or JSON of another
    shape (only a hand-made request sends either) raised from json or the exporter. Same class
    name as Wagtail's, so the admin's `w-field--draftail_rich_text_area` styling still applies.
    """

    def value_from_datadict(self, data, files, name):
        # The string as posted: Draftail's own method would convert it, unchecked.
        posted = super(WagtailDraftailRichTextArea, self).value_from_datadict(data, files, name)
        if posted is None:
            return None
        try:
            if not _is_contentstate(json.loads(posted)):
                raise ValueError("not Draftail contentstate")
            return self.converter.to_database_format(posted)
        except Exception as error:  # whatever the parser or exporter trips on: it is input
            # The error's class only: its message can quote the posted text.
            logger.warning("Unreadable rich text posted for %s (%s)", name, type(error).__name__)
            return UnreadableRichText(posted)

    def format_value(self, value):
        if isinstance(value, UnreadableRichText):
            # Shown back as plain text, a paragraph per line, never read as HTML.
            lines = value.posted.splitlines() or [""]
            value = "".join(f"<p>{escape(line)}</p>" for line in lines)
        return super().format_value(value)
