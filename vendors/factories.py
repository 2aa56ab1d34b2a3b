"""Test data for vendors: `ShopPageFactory()` makes a Vendor and its live shop under `/shops/`."""

from decimal import Decimal

from django.utils.text import slugify

import wagtail_factories

import factory
from factory.django import DjangoModelFactory

from home.factories import site_home
from vendors.models import ShopIndexPage, ShopPage, Vendor

# A number reserved by Ofcom for drama (020 7946 0xxx): never a real line.
PHONE_E164 = "+442079460958"


def site_shop_index() -> ShopIndexPage:
    """The site's `/shops/` page, creating the fixed tree if needed."""
    site_home()
    return ShopIndexPage.objects.first()


class VendorFactory(DjangoModelFactory):
    name = factory.Sequence(lambda n: f"Shop {n}")
    contact_email = factory.LazyAttribute(lambda obj: f"hello@{slugify(obj.name)}.example")
    commission_rate = Decimal("0.1500")
    status = Vendor.Status.ACTIVE

    class Meta:
        model = Vendor


class ShopIndexPageFactory(wagtail_factories.PageFactory):
    """Another `/shops/`-type page under the HomePage (the site already has one: max_count 1)."""

    title = "Shops"
    slug = factory.Sequence(lambda n: f"shops-{n}")
    intro = "Independent shops, each with its own eye."
    parent = factory.LazyFunction(site_home)

    class Meta:
        model = ShopIndexPage


class ShopPageFactory(wagtail_factories.PageFactory):
    """A live shop for a new active Vendor, under the site's ShopIndexPage.

    `ShopPageFactory(phone=True)` publishes a phone number; `phone_number=` alone stores one
    without publishing it.
    """

    vendor = factory.SubFactory(VendorFactory)
    title = factory.LazyAttribute(lambda obj: obj.vendor.name)
    slug = factory.LazyAttribute(lambda obj: slugify(obj.title))
    intro = "Quietly exceptional pieces, chosen one at a time."
    city = "London"
    address = "14 Cecil Court"
    parent = factory.LazyFunction(site_shop_index)

    class Meta:
        model = ShopPage

    class Params:
        phone = factory.Trait(
            phone_number=PHONE_E164, phone_orders=True, phone_hours="Tue–Sat 10:00–18:00"
        )
