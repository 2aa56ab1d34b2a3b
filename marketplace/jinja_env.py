"""The Jinja2 environment of the few templates rendered most often (TEMPLATES' "jinja2"
engine): the item card, drawn once for each piece a page shows for the first time, which the
Django template engine took some 0.5 ms to render and Jinja2, compiling a template to Python,
renders in a fraction of that. Its helpers are the Django templates' own (vitrine_tags)."""

from typing import Any

from jinja2 import Environment, pass_context
from jinja2.runtime import Context

from marketplace import page_urls
from marketplace.money import format_money
from marketplace.templatetags.vitrine_tags import img


@pass_context
def page_url(context: Context, page: Any) -> str:
    """`{{ page_url(page) }}`: as `{% page_url page %}`, for the context's `request`."""
    return page_urls.page_url(page, context.get("request")) or ""


def environment(**options: Any) -> Environment:
    env = Environment(**options)  # noqa: S701 - Django's backend turns autoescape on
    env.globals.update(img=img, page_url=page_url)
    env.filters["money"] = format_money
    return env
