"""Test data for the site skeleton: the HomePage and the fixed index pages.

The usual way to get a realistic tree is the `site_tree` fixture (root conftest), which runs
`home.services.site_ensure_structure()`; factories for pages below it find their parent there.
"""

import wagtail_factories
from wagtail.models import Page

import factory

from home.models import HomePage
from home.services import site_ensure_structure


def site_home() -> HomePage:
    """The site's HomePage, creating the fixed tree (home, /shops/, /designers/) if needed."""
    return HomePage.objects.first() or site_ensure_structure()


class HomePageFactory(wagtail_factories.PageFactory):
    """A HomePage directly under the tree root (no Site). Prefer `site_tree` for the real one."""

    title = "Vitrine"
    slug = factory.Sequence(lambda n: f"home-{n}")
    hero_heading = "One-of-a-kind designer pieces"
    hero_text = "Pre-owned and new luxury from independent shops."
    parent = factory.LazyFunction(Page.get_first_root_node)

    class Meta:
        model = HomePage
