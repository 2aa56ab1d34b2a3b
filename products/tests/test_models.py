"""Item and designer pages: tree rules, routing, sold items and their JSON-LD."""

from decimal import Decimal

from wagtail.models import Page
from wagtail.test.utils import WagtailPageTestCase

import pytest

from home.models import HomePage
from home.services import site_ensure_structure
from products.factories import DesignerFactory, ItemPageFactory
from products.models import DesignerIndexPage, ItemPage
from vendors.factories import ShopPageFactory
from vendors.models import ShopIndexPage, ShopPage

from .helpers import JSON_LD_RE, json_ld


class ItemTreeTests(WagtailPageTestCase):
    @classmethod
    def setUpTestData(cls):
        site_ensure_structure()
        cls.item = ItemPageFactory(gallery=2)
        cls.designer_index = DesignerIndexPage.objects.get()

    def test_item_lives_under_a_shop_only(self):
        self.assertAllowedParentPageTypes(ItemPage, {ShopPage})
        self.assertAllowedSubpageTypes(ItemPage, set())
        self.assertCanCreateAt(ShopPage, ItemPage)
        for parent in (Page, HomePage, ShopIndexPage, ItemPage, DesignerIndexPage):
            self.assertCanNotCreateAt(parent, ItemPage)

    def test_designer_index_lives_under_home_only_and_is_unique(self):
        self.assertAllowedParentPageTypes(DesignerIndexPage, {HomePage})
        self.assertAllowedSubpageTypes(DesignerIndexPage, set())
        self.assertCanCreateAt(HomePage, DesignerIndexPage)
        for parent in (Page, ShopIndexPage, ShopPage, ItemPage, DesignerIndexPage):
            self.assertCanNotCreateAt(parent, DesignerIndexPage)
        self.assertEqual(DesignerIndexPage.max_count, 1)
        self.assertFalse(DesignerIndexPage.can_create_at(HomePage.objects.get()))

    def test_item_routes_and_renders(self):
        self.assertPageIsRoutable(self.item)
        self.assertPageIsRenderable(self.item)

    def test_designer_routes_and_render(self):
        slug = self.item.designer.slug
        self.assertPageIsRoutable(self.designer_index)
        self.assertPageIsRenderable(self.designer_index)
        self.assertPageIsRoutable(self.designer_index, f"{slug}/")
        self.assertPageIsRenderable(self.designer_index, f"{slug}/")
        self.assertPageIsRenderable(self.designer_index, "no-such-designer/", accept_404=True)
        self.assertEqual(self.client.get("/designers/no-such-designer/").status_code, 404)


# --- Sold items and JSON-LD --------------------------------------------------------------------


@pytest.mark.django_db
def test_sold_item_shows_sold_and_cannot_be_added_to_cart(client, site_tree):
    shop = ShopPageFactory()
    item = ItemPageFactory(parent=shop, sold=True, with_image=True)
    html = client.get(item.url).content.decode()
    assert "Sold" in html
    assert "/cart/add/" not in html
    assert "Add to cart" not in html

    shop_html = client.get(shop.url).content.decode()
    assert item.url in shop_html, "a sold item stays listed on its shop"
    assert "badge--sold" in shop_html and "Sold" in shop_html


@pytest.mark.django_db
def test_available_item_can_be_added_to_cart(client, site_tree):
    item = ItemPageFactory()
    html = client.get(item.url).content.decode()
    assert 'action="/cart/add/"' in html
    assert f'name="item" value="{item.pk}"' in html
    assert "badge--sold" not in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("quantity", "availability"),
    [(0, "https://schema.org/SoldOut"), (1, "https://schema.org/InStock")],
)
def test_itemjson_ld(client, site_tree, quantity, availability):
    designer = DesignerFactory(name="Maison Aubert")
    shop = ShopPageFactory(phone=True)
    item = ItemPageFactory(
        parent=shop, designer=designer, quantity=quantity, price=Decimal("1250.00"), gallery=1
    )
    html = client.get(item.url).content.decode()
    data = json_ld(html)
    assert data["@type"] == "Product"
    assert data["name"] == item.title
    assert data["brand"]["name"] == "Maison Aubert"
    assert data["offers"]["price"] == "1250.00"
    assert data["offers"]["priceCurrency"] == "GBP"
    assert data["offers"]["availability"] == availability
    assert data["url"].endswith(item.url)
    assert data["image"] and data["image"][0].startswith("http")
    block = JSON_LD_RE.search(html).group(1)
    for spelling in ("2079460958", "7946 0958", "telephone", "tel:"):
        assert spelling not in block, "the phone number must not be in JSON-LD"


@pytest.mark.django_db
def test_json_ld_cannot_break_out_of_its_script(client, site_tree):
    item = ItemPageFactory(title="</script><script>alert(1)</script>", slug="nasty")
    html = client.get(item.url).content.decode()
    assert "<script>alert(1)" not in html
    assert json_ld(html)["name"] == "</script><script>alert(1)</script>"
