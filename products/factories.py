"""Test data for the catalogue: designers, categories, items (with gallery) and `/designers/`."""

import datetime
from decimal import Decimal

from django.utils import timezone
from django.utils.text import slugify

import wagtail_factories

import factory
from factory.django import DjangoModelFactory

from home.factories import site_home
from marketplace.factories import ImageFactory
from products.models import Category, Designer, DesignerIndexPage, ItemImage, ItemPage
from vendors.factories import ShopPageFactory

_last_publication: datetime.datetime | None = None


def publication_time() -> datetime.datetime:
    """Now, but later than the last item made: listings sort newest first, and tests build
    pieces in order, so a wall clock stepping back (a VM's clock being synced) must not swap them."""
    global _last_publication
    now = timezone.now()
    if _last_publication is not None and now <= _last_publication:
        now = _last_publication + datetime.timedelta(microseconds=1)
    _last_publication = now
    return now


def reset_publication_time() -> None:
    """Forget the last item's time: each test starts from the wall clock (a test that moved the
    clock forward must not date the next test's pieces in the future)."""
    global _last_publication
    _last_publication = None


class DesignerFactory(DjangoModelFactory):
    name = factory.Sequence(lambda n: f"Designer {n}")
    slug = factory.LazyAttribute(lambda obj: slugify(obj.name))
    bio = "A house known for careful work."

    class Meta:
        model = Designer


class CategoryFactory(DjangoModelFactory):
    """A top-level category; pass `parent=` for a sub-category (Bags › Clutches)."""

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.LazyAttribute(lambda obj: slugify(obj.name))
    parent = None

    class Meta:
        model = Category


class ItemPageFactory(wagtail_factories.PageFactory):
    """A live, available item. Without `parent=` it gets a shop (and vendor) of its own.

    `ItemPageFactory(gallery=2)` adds two gallery pictures; `with_image=True` adds one;
    `sold=True` sets quantity 0.
    """

    title = factory.Sequence(lambda n: f"Item {n}")
    slug = factory.LazyAttribute(lambda obj: slugify(obj.title))
    designer = factory.SubFactory(DesignerFactory)
    category = factory.SubFactory(CategoryFactory)
    condition = ItemPage.Condition.EXCELLENT
    price = Decimal("495.00")
    quantity = 1
    description = "<p>Gently used and cared for.</p>"
    # Set like a publish would: `newest` sorts on it.
    first_published_at = factory.LazyFunction(publication_time)
    last_published_at = factory.SelfAttribute("first_published_at")
    parent = factory.SubFactory(ShopPageFactory)

    class Meta:
        model = ItemPage
        skip_postgeneration_save = True

    class Params:
        sold = factory.Trait(quantity=0)

    @factory.post_generation
    def with_image(obj, create, extracted, **kwargs):
        # A post-generation hook, not a Trait: a Trait cannot set `gallery` (it is not a field).
        if create and extracted:
            ItemImageFactory(item=obj, image=ImageFactory())

    @factory.post_generation
    def gallery(obj, create, extracted, **kwargs):
        """`gallery=<n>` adds n pictures; `gallery=[image, ...]` adds those images."""
        if not create or not extracted:
            return
        images = extracted if isinstance(extracted, list | tuple) else range(extracted)
        for image in images:
            ItemImageFactory(
                item=obj, image=image if not isinstance(image, int) else ImageFactory()
            )


class ItemImageFactory(DjangoModelFactory):
    item = factory.SubFactory(ItemPageFactory)
    image = factory.SubFactory(ImageFactory)
    alt_text = ""
    sort_order = factory.Sequence(int)

    class Meta:
        model = ItemImage


class DesignerIndexPageFactory(wagtail_factories.PageFactory):
    """Another `/designers/`-type page under the HomePage (the site has one: max_count 1)."""

    title = "Designers"
    slug = factory.Sequence(lambda n: f"designers-{n}")
    intro = "Shop by the houses and makers you love."
    parent = factory.LazyFunction(site_home)

    class Meta:
        model = DesignerIndexPage
