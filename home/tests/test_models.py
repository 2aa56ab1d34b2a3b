"""The HomePage: one, at the root, served at `/` for any host (default Site)."""

from wagtail.models import Page, Site
from wagtail.test.utils import WagtailPageTestCase

import pytest

from home.models import HomePage
from home.services import site_ensure_structure
from policies.models import PolicyPage
from products.factories import ItemPageFactory
from products.models import DesignerIndexPage, ItemPage
from vendors.factories import ShopPageFactory
from vendors.models import ShopIndexPage, ShopPage


class HomeTreeTests(WagtailPageTestCase):
    @classmethod
    def setUpTestData(cls):
        cls.home = site_ensure_structure()

    def test_home_sits_at_the_root_only(self):
        self.assertAllowedParentPageTypes(HomePage, {Page})
        self.assertAllowedSubpageTypes(
            HomePage,
            {ShopIndexPage, DesignerIndexPage, PolicyPage}
            | {m for m in HomePage.allowed_subpage_models() if m._meta.app_label == "policies"},
        )
        for parent in (HomePage, ShopIndexPage, ShopPage, ItemPage, DesignerIndexPage):
            self.assertCanNotCreateAt(parent, HomePage)

    def test_home_is_unique(self):
        self.assertEqual(HomePage.max_count, 1)
        self.assertFalse(HomePage.can_create_at(Page.get_first_root_node()))

    def test_home_routes_and_renders(self):
        self.assertPageIsRoutable(self.home)
        self.assertPageIsRenderable(self.home)


@pytest.mark.django_db
def test_site_ensure_structure_replaces_the_placeholder_and_is_idempotent():
    root = Page.get_first_root_node()
    home = site_ensure_structure()
    again = site_ensure_structure()
    assert home.pk == again.pk
    assert [type(p.specific) for p in root.get_children()] == [HomePage]
    assert HomePage.objects.count() == 1
    assert ShopIndexPage.objects.count() == 1 and DesignerIndexPage.objects.count() == 1
    site = Site.objects.get(is_default_site=True)
    assert (site.hostname, site.port, site.root_page_id) == ("localhost", 80, home.pk)
    assert Site.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("host", ["testserver", "localhost", "vitrine.example"])
def test_unknown_hosts_fall_back_to_the_default_site(client, site_tree, settings, host):
    settings.ALLOWED_HOSTS = [host]
    item = ItemPageFactory()
    for url in ("/", "/shops/", "/designers/", item.url):
        response = client.get(url, HTTP_HOST=host)
        assert response.status_code == 200, (host, url)
    assert client.get("/", HTTP_HOST=host).context["page"].pk == site_tree.home.pk


@pytest.mark.django_db
def test_home_shows_latest_available_items_and_shops(client, site_tree):
    shop = ShopPageFactory(vendor__name="Maison Lune")
    available = ItemPageFactory(parent=shop, title="Cognac tote", with_image=True)
    sold = ItemPageFactory(parent=shop, title="Sold clutch", sold=True)
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert available.url in html
    assert sold.url not in html
    assert [item.pk for item in response.context["latest_items"]] == [available.pk]
    assert [s.pk for s in response.context["featured_shops"]] == [shop.pk]


@pytest.mark.django_db
def test_unknown_url_is_404(client, site_tree):
    assert client.get("/no-such-page/").status_code == 404
    assert client.get("/shops/no-such-shop/").status_code == 404
    assert client.get("/shops/no-such-shop/no-item/").status_code == 404
