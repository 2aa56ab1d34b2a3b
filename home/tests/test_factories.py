"""Every page type has a factory, and the factories build a tree that Wagtail serves."""

import importlib

from django.apps import apps

from wagtail.models import Page, get_page_models

import pytest

from home.factories import HomePageFactory
from marketplace.factories import ImageFactory
from policies.factories import PolicyPageFactory
from products.factories import (
    DesignerIndexPageFactory,
    ItemImageFactory,
    ItemPageFactory,
)
from vendors.factories import ShopIndexPageFactory, ShopPageFactory

PROJECT_APPS = ["home", "vendors", "products", "orders", "accounts", "policies"]


def _factory_models() -> set[type]:
    models = set()
    for app in PROJECT_APPS:
        try:
            module = importlib.import_module(f"{app}.factories")
        except ModuleNotFoundError:
            continue
        for value in vars(module).values():
            meta = getattr(value, "_meta", None)
            model = getattr(meta, "model", None)
            if isinstance(value, type) and model is not None and hasattr(meta, "declarations"):
                models.add(model)
    return models


def test_every_project_page_type_has_a_factory():
    page_models = [
        model
        for model in get_page_models()
        if model._meta.app_label in PROJECT_APPS and not model._meta.abstract
    ]
    assert page_models, "no page types found in the project apps"
    missing = sorted(m.__name__ for m in page_models if m not in _factory_models())
    assert missing == [], f"page types without a factory in <app>/factories.py: {missing}"


def test_every_project_app_page_type_is_known():
    """Guard for the test above: get_page_models() sees our apps' pages."""
    names = {m.__name__ for m in get_page_models()}
    assert {"HomePage", "ShopIndexPage", "ShopPage", "ItemPage", "DesignerIndexPage"} <= names
    assert apps.get_app_config("policies")


@pytest.mark.django_db
def test_image_factory_makes_a_real_image():
    image = ImageFactory()
    assert image.width == 40 and image.height == 50
    rendition = image.get_rendition("fill-20x20")
    assert rendition.width == 20


@pytest.mark.django_db
def test_page_factories_build_under_the_site_tree(site_tree):
    item = ItemPageFactory(gallery=2)
    shop = item.get_parent().specific
    assert isinstance(shop, ShopPageFactory._meta.model)
    assert shop.get_parent().pk == site_tree.shop_index.pk
    assert item.url == f"/shops/{shop.slug}/{item.slug}/"
    assert [photo.image.pk for photo in item.gallery_images.all()] != []
    assert item.gallery_images.count() == 2
    assert ItemImageFactory(item=item).item_id == item.pk
    assert item.live and item.first_published_at is not None

    assert PolicyPageFactory(title="Privacy").url == "/privacy/"
    assert DesignerIndexPageFactory().get_parent().pk == site_tree.home.pk
    assert ShopIndexPageFactory().get_parent().pk == site_tree.home.pk
    assert HomePageFactory().get_parent().pk == Page.get_first_root_node().pk


@pytest.mark.django_db
def test_factories_work_without_the_fixture():
    """A test that only asks for an item still gets the whole tree and a routable URL."""
    item = ItemPageFactory(sold=True)
    assert item.quantity == 0
    assert item.url.startswith("/shops/")


@pytest.mark.django_db
def test_items_made_later_are_listed_later_even_when_the_clock_steps_back(monkeypatch):
    """Listings sort newest first on the publication time the factory sets: a wall clock that
    steps back between two items (a VM's clock being synced) must not swap them."""
    import datetime

    from django.utils import timezone

    start = timezone.now()
    ticks = iter([start, start - datetime.timedelta(seconds=2)])
    monkeypatch.setattr(timezone, "now", lambda: next(ticks, start))
    first, second = ItemPageFactory(), ItemPageFactory()
    assert second.first_published_at > first.first_published_at
    assert second.listed_at > first.listed_at
