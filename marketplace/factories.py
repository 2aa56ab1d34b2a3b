"""Test data for the core's own models: the site's images."""

import wagtail_factories
from wagtail.models import Collection

import factory

from marketplace.models import CustomImage


class ImageFactory(wagtail_factories.ImageFactory):
    """A real (tiny) PNG made by Pillow, in the root collection."""

    title = factory.Sequence(lambda n: f"Photo {n}")
    description = factory.LazyAttribute(lambda obj: f"{obj.title}, seen from the front")
    collection = factory.LazyFunction(Collection.get_first_root_node)
    file = factory.django.ImageField(width=40, height=50, color="#b08d57", format="PNG")

    class Meta:
        model = CustomImage
