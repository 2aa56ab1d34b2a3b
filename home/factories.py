"""Test data for the site skeleton: images, the HomePage and the fixed index pages.

The usual way to get a realistic tree is the `site_tree` fixture (root conftest), which runs
`home.services.site_ensure_structure()`; factories for pages below it find their parent there.
"""

import wagtail_factories
from wagtail.models import Collection, Page

import factory

from home.models import CustomImage, HomePage
from home.services import site_ensure_structure


def site_home() -> HomePage:
    """The site's HomePage, creating the fixed tree (home, /shops/, /designers/) if needed."""
    return HomePage.objects.first() or site_ensure_structure()


class ImageFactory(wagtail_factories.ImageFactory):
    """A real (tiny) PNG made by Pillow, in the root collection."""

    title = factory.Sequence(lambda n: f"Photo {n}")
    description = factory.LazyAttribute(lambda obj: f"{obj.title}, seen from the front")
    collection = factory.LazyFunction(Collection.get_first_root_node)
    file = factory.django.ImageField(width=40, height=50, color="#b08d57", format="PNG")

    class Meta:
        model = CustomImage


class HomePageFactory(wagtail_factories.PageFactory):
    """A HomePage directly under the tree root (no Site). Prefer `site_tree` for the real one."""

    title = "Vitrine"
    slug = factory.Sequence(lambda n: f"home-{n}")
    hero_heading = "One-of-a-kind designer pieces"
    hero_text = "Pre-owned and new luxury from independent shops."
    parent = factory.LazyFunction(Page.get_first_root_node)

    class Meta:
        model = HomePage
