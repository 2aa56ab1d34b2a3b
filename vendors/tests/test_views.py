"""Shop pages list their items 24 at a time; a bad `?page=` never errors."""

import pytest

from products.factories import ItemPageFactory
from vendors.factories import ShopPageFactory


@pytest.fixture
def shop_with_30_items(site_tree):
    shop = ShopPageFactory()
    for _ in range(30):
        ItemPageFactory(parent=shop)
    return shop


def _page(client, url, **params):
    response = client.get(url, params)
    assert response.status_code == 200, params
    return response.context["items_page"]


@pytest.mark.django_db
def test_shop_paginates_24_then_6(client, shop_with_30_items):
    url = shop_with_30_items.url
    first = _page(client, url)
    second = _page(client, url, page="2")
    assert (first.number, len(first.object_list)) == (1, 24)
    assert (second.number, len(second.object_list)) == (2, 6)
    assert first.paginator.num_pages == 2
    seen = {item.pk for item in first.object_list} | {item.pk for item in second.object_list}
    assert len(seen) == 30, "pages must not overlap or skip items"
    html = client.get(url).content.decode()
    assert "page=2" in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("page", "expected"),
    [
        ("abc", 1),
        ("", 1),
        ("0", 2),  # Django's get_page: below range -> last page
        ("-1", 2),
        ("999", 2),
        ("99999999999999999999999", 2),
        ("1.5", 1),
        ("2", 2),
    ],
)
def test_bad_page_numbers_fall_back(client, shop_with_30_items, page, expected):
    assert _page(client, shop_with_30_items.url, page=page).number == expected


@pytest.mark.django_db
def test_shop_index_lists_live_shops_of_active_vendors(client, site_tree):
    live = ShopPageFactory(vendor__name="Maison Lune")
    ItemPageFactory(parent=live)
    ShopPageFactory(vendor__name="Suspended Shop", vendor__status="suspended")
    hidden = ShopPageFactory(vendor__name="Draft Shop")
    hidden.unpublish()
    response = client.get("/shops/")
    assert response.status_code == 200
    shops = list(response.context["shops"])
    assert [shop.title for shop in shops] == ["Maison Lune"]
    assert shops[0].available_count == 1
