"""`{% reserved_minutes item %}`: "12 minutes", the time left on the hold that reserves a piece.

It counts down by the minute, so it is a hole in the item page's shared parts
(marketplace.fragments), filled per request.
"""

from datetime import datetime

from django import template
from django.http import HttpRequest
from django.template.defaultfilters import pluralize

from marketplace import fragments
from products.models import minutes_left

register = template.Library()


@fragments.filler("reserved-minutes")
def _fill(request: HttpRequest, *, held_until: datetime | None) -> str:
    minutes = max(1, minutes_left(held_until))
    return f"{minutes} minute{pluralize(minutes)}"


@register.simple_tag
def reserved_minutes(item) -> str:
    return fragments.hole("reserved-minutes", held_until=item.held_until) or _fill(
        None, held_until=item.held_until
    )
