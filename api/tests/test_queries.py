"""Every endpoint costs a fixed number of queries, whatever the number of objects on the page.

Each URL is requested once to warm up (renditions generated, site root paths cached), then
measured with the memoised counts forgotten (the worst case); the catalogue grows tenfold and the
URL is measured again.
"""

from django.db import connection
from django.test.utils import CaptureQueriesContext

import pytest

from marketplace.factories import ImageFactory
from marketplace.page_cache import SITE, invalidate
from products.factories import CategoryFactory, DesignerFactory, ItemPageFactory
from vendors.factories import ShopPageFactory

MAX_QUERIES = 10


class Catalogue:
    def __init__(self):
        self.shops, self.designers, self.categories, self.items = [], [], [], []

    def grow(self, *, shops, designers, items):
        for _ in range(shops - len(self.shops)):
            self.shops.append(
                ShopPageFactory(logo=ImageFactory(), banner=ImageFactory(), phone=True)
            )
        for _ in range(designers - len(self.designers)):
            self.designers.append(DesignerFactory(logo=ImageFactory()))
            parent = self.categories[0] if self.categories else None
            self.categories.append(CategoryFactory(parent=parent))
        for i in range(len(self.items), items):
            self.items.append(
                ItemPageFactory(
                    parent=self.shops[i % len(self.shops)],
                    designer=self.designers[i % len(self.designers)],
                    category=self.categories[i % len(self.categories)],
                    quantity=0 if i % 5 == 4 else 1,
                    gallery=2,
                )
            )


def measure(client, url) -> list[str]:
    client.get(url)  # warm-up
    invalidate(SITE)  # memoised counts forgotten: measure without them
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, (url, response.content[:300])
    return [query["sql"] for query in ctx.captured_queries]


def report(label, queries) -> str:
    return f"{label}: {len(queries)} queries\n" + "\n".join(
        f"  {n}. {sql[:240]}" for n, sql in enumerate(queries, 1)
    )


@pytest.mark.django_db
def test_listings_cost_the_same_for_3_or_30_objects(client, site_tree):
    catalogue = Catalogue()
    urls = {
        "items": "/api/v2/items/?limit=50",
        "items all fields": "/api/v2/items/?limit=50&fields=*",
        "items filtered": "/api/v2/items/?limit=50&shop=shop-0&designer=designer-0&category="
        "category-0&available=true&min_price=1&order=-price&search=item",
        "shops": "/api/v2/shops/?limit=50&fields=*",
        "designers": "/api/v2/designers/?limit=50",
    }
    catalogue.grow(shops=2, designers=2, items=3)
    small = {name: measure(client, url) for name, url in urls.items()}
    catalogue.grow(shops=12, designers=20, items=30)
    large = {name: measure(client, url) for name, url in urls.items()}

    for name in urls:
        assert len(small[name]) == len(large[name]), "\n".join(
            [report(f"{name}, small", small[name]), report(f"{name}, large", large[name])]
        )
        assert len(large[name]) <= MAX_QUERIES, report(name, large[name])
    assert client.get(urls["items"]).json()["meta"]["total_count"] == 30


@pytest.mark.django_db
def test_details_cost_the_same_whatever_the_gallery_and_shop_size(client, site_tree):
    shop = ShopPageFactory(logo=ImageFactory(), banner=ImageFactory())
    designer = DesignerFactory(logo=ImageFactory())
    small = ItemPageFactory(parent=shop, designer=designer, gallery=1)
    large = ItemPageFactory(parent=shop, designer=designer, gallery=8)
    counts = {
        "item, 1 picture": len(measure(client, f"/api/v2/items/{small.pk}/")),
        "item, 8 pictures": len(measure(client, f"/api/v2/items/{large.pk}/")),
    }
    for _ in range(10):
        ItemPageFactory(parent=shop, designer=designer, designer__logo=None)
    counts["shop"] = len(measure(client, f"/api/v2/shops/{shop.pk}/"))
    counts["designer"] = len(measure(client, f"/api/v2/designers/{designer.pk}/"))
    assert counts["item, 1 picture"] == counts["item, 8 pictures"], counts
    assert max(counts.values()) <= MAX_QUERIES, counts
