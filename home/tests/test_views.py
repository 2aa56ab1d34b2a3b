"""SEO plumbing: sitemap.xml and robots.txt."""

import pytest

from products.factories import ItemPageFactory
from vendors.factories import ShopPageFactory


@pytest.mark.django_db
def test_sitemap_lists_shops_and_items(client, site_tree):
    shop = ShopPageFactory()
    item = ItemPageFactory(parent=shop)
    draft = ItemPageFactory(parent=shop, title="Draft item")
    draft.unpublish()
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    xml = response.content.decode()
    for path in ("/shops/", shop.url, item.url, "/designers/"):
        assert f"{path}</loc>" in xml, path
    assert draft.url not in xml


@pytest.mark.django_db
def test_robots_txt(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert "Sitemap: http://testserver/sitemap.xml" in text.splitlines()
    for private in ["/admin/", "/cart/", "/checkout/", "/account/", "/saved/", "/pay/"]:
        assert f"Disallow: {private}" in text.splitlines()
    assert client.post("/robots.txt").status_code == 405
