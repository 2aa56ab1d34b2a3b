"""A page served through HomePage.route gets its breadcrumb from the rows routing read: the
same trail, without asking the tree for its ancestors again."""

import re

from wagtail.models import Page

import pytest

from products.factories import ItemPageFactory
from vendors.factories import ShopPageFactory

pytestmark = pytest.mark.django_db


def _breadcrumb(html):
    (nav,) = re.findall(r'<nav class="breadcrumb".*?</nav>', html, re.S)
    return re.findall(r'<li><(?:a href="([^"]*)"|span aria-current="page")>([^<]*)<', nav)


def test_an_item_page_breadcrumb_comes_from_routing(client, site_tree, monkeypatch):
    shop = ShopPageFactory(title="Maison Lune")
    item = ItemPageFactory(parent=shop, title="Ivory silk clutch")
    asked = []
    original = Page.get_ancestors

    def counting(page, *args, **kwargs):
        asked.append(page.pk)
        return original(page, *args, **kwargs)

    monkeypatch.setattr(Page, "get_ancestors", counting)
    html = client.get(item.url).content.decode()

    assert _breadcrumb(html) == [
        ("/", "Home"),
        ("/shops/", site_tree.shop_index.title),
        (shop.url, "Maison Lune"),
        ("", "Ivory silk clutch"),
    ]
    assert item.pk not in asked
