"""Filters, ordering and pagination: each works, and each malformed value is a clear 400."""

from decimal import Decimal

import pytest

from products.factories import CategoryFactory, DesignerFactory, ItemPageFactory
from vendors.factories import ShopPageFactory

from .helpers import get_json, listed_ids


@pytest.fixture
def catalogue(site_tree):
    class Catalogue:
        pass

    c = Catalogue()
    c.lune = ShopPageFactory(vendor__name="Maison Lune", city="Paris")
    c.soleil = ShopPageFactory(vendor__name="Atelier Soleil", city="London")
    c.chanel = DesignerFactory(name="Chanel")
    c.hermes = DesignerFactory(name="Hermès", slug="hermes")
    c.bags = CategoryFactory(name="Bags")
    c.clutches = CategoryFactory(name="Clutches", parent=c.bags)
    c.shoes = CategoryFactory(name="Shoes")
    c.flap = ItemPageFactory(
        title="Classic Flap Bag",
        parent=c.lune,
        designer=c.chanel,
        category=c.bags,
        price=Decimal("4200.00"),
        condition="excellent",
    )
    c.clutch = ItemPageFactory(
        title="Evening Clutch",
        parent=c.lune,
        designer=c.hermes,
        category=c.clutches,
        price=Decimal("950.50"),
        condition="pristine",
    )
    c.loafers = ItemPageFactory(
        title="Suede Loafers",
        parent=c.soleil,
        designer=c.hermes,
        category=c.shoes,
        price=Decimal("310.00"),
        condition="good",
        sold=True,
    )
    return c


@pytest.mark.django_db
def test_items_by_designer_shop_and_category_id_or_slug(client, catalogue):
    c = catalogue
    assert listed_ids(client, "items", {"designer": c.hermes.pk}) == {c.clutch.pk, c.loafers.pk}
    assert listed_ids(client, "items", {"designer": "hermes"}) == {c.clutch.pk, c.loafers.pk}
    assert listed_ids(client, "items", {"shop": c.lune.pk}) == {c.flap.pk, c.clutch.pk}
    assert listed_ids(client, "items", {"shop": c.soleil.slug}) == {c.loafers.pk}
    # A parent category takes in its sub-categories.
    assert listed_ids(client, "items", {"category": "bags"}) == {c.flap.pk, c.clutch.pk}
    assert listed_ids(client, "items", {"category": c.clutches.pk}) == {c.clutch.pk}
    assert listed_ids(client, "items", {"designer": "hermes", "shop": "maison-lune"}) == {
        c.clutch.pk
    }


@pytest.mark.django_db
def test_items_by_condition_availability_and_price(client, catalogue):
    c = catalogue
    assert listed_ids(client, "items", {"condition": "pristine"}) == {c.clutch.pk}
    assert listed_ids(client, "items", {"available": "true"}) == {c.flap.pk, c.clutch.pk}
    assert listed_ids(client, "items", {"available": "false"}) == {c.loafers.pk}
    assert listed_ids(client, "items", {"min_price": "950.50"}) == {c.flap.pk, c.clutch.pk}
    assert listed_ids(client, "items", {"max_price": "950"}) == {c.loafers.pk}
    assert listed_ids(client, "items", {"min_price": "300", "max_price": "1000"}) == {
        c.clutch.pk,
        c.loafers.pk,
    }


@pytest.mark.django_db
def test_unknown_references_give_an_empty_list(client, catalogue):
    for params in ({"designer": "nobody"}, {"shop": 999999}, {"category": "hats"}):
        assert listed_ids(client, "items", params) == set()


@pytest.mark.django_db
def test_shop_filter_ignores_hidden_shops(client, catalogue):
    catalogue.lune.unpublish()
    assert listed_ids(client, "items", {"shop": "maison-lune"}) == set()


@pytest.mark.django_db
def test_search_matches_words_in_title_and_description(client, catalogue):
    c = catalogue
    assert listed_ids(client, "items", {"search": "clutch"}) == {c.clutch.pk}
    assert listed_ids(client, "items", {"search": "suede loafers"}) == {c.loafers.pk}
    assert listed_ids(client, "items", {"search": "clutch", "designer": "chanel"}) == set()
    # Syntax and control characters are only text.
    for odd in ('"clutch', "clutch*", "clutch OR flap", "clutch\x00", "NEAR(", "(", "a" * 5000):
        get_json(client, "/api/v2/items/", {"search": odd})


@pytest.mark.django_db
def test_shops_and_designers_filters(client, catalogue):
    c = catalogue
    assert listed_ids(client, "shops", {"slug": "atelier-soleil"}) == {c.soleil.pk}
    assert listed_ids(client, "shops", {"city": "paris"}) == {c.lune.pk}
    assert listed_ids(client, "designers", {"slug": "chanel"}) == {c.chanel.pk}


@pytest.mark.django_db
def test_ordering(client, catalogue):
    c = catalogue

    def order(endpoint, value=None):
        params = {"order": value} if value else {}
        return [row["id"] for row in get_json(client, f"/api/v2/{endpoint}/", params)["items"]]

    assert order("items", "price") == [c.loafers.pk, c.clutch.pk, c.flap.pk]
    assert order("items", "-price") == [c.flap.pk, c.clutch.pk, c.loafers.pk]
    assert order("items", "title") == [c.flap.pk, c.clutch.pk, c.loafers.pk]
    assert order("items") == [c.loafers.pk, c.clutch.pk, c.flap.pk]  # newest first
    assert order("shops") == [c.soleil.pk, c.lune.pk]  # by title
    assert order("shops", "-title") == [c.lune.pk, c.soleil.pk]
    assert order("designers") == [c.chanel.pk, c.hermes.pk]
    assert order("designers", "-name") == [c.hermes.pk, c.chanel.pk]


@pytest.mark.django_db
def test_pagination_with_limit_and_offset(client, catalogue):
    pages = [
        get_json(client, "/api/v2/items/", {"order": "price", "limit": 2, "offset": offset})
        for offset in (0, 2)
    ]
    assert [p["meta"]["total_count"] for p in pages] == [3, 3]
    assert [len(p["items"]) for p in pages] == [2, 1]
    assert get_json(client, "/api/v2/items/", {"limit": 50})["meta"]["total_count"] == 3


BAD_PARAMETERS = {
    "items": [
        ({"designer": ""}, "designer must be an id"),
        ({"designer": "not a slug!"}, "designer must be an id"),
        ({"designer": "0"}, "designer must be an id"),
        ({"designer": "99999999999999999999999"}, "designer must be an id"),
        ({"shop": "1.5"}, "shop must be an id"),
        ({"shop": "x\x00"}, "shop must be an id"),
        ({"category": "a" * 121}, "category must be an id"),
        ({"condition": "mint"}, "condition must be one of"),
        ({"available": "maybe"}, "available must be true or false"),
        ({"min_price": "cheap"}, "min_price must be an amount"),
        ({"min_price": "-5"}, "min_price must be an amount"),
        ({"max_price": "1e999999"}, "max_price must be an amount"),
        ({"max_price": "NaN"}, "max_price must be an amount"),
        ({"max_price": "123456789"}, "max_price must be an amount"),
        ({"order": "quantity"}, "cannot order by 'quantity'"),
        ({"order": "-owner"}, "cannot order by '-owner'"),
        ({"order": "random"}, "cannot order by 'random'"),
        ({"order": "price,title,id,-price"}, "order takes at most 3 fields"),
        ({"quantity": "0"}, "query parameter is not an operation or a recognised filter"),
        ({"price": "495.00"}, "query parameter is not an operation or a recognised filter"),
        ({"type": "wagtailcore.Page"}, "query parameter is not an operation"),
        ({"child_of": "3"}, "query parameter is not an operation"),
        ({"search_operator": "or"}, "query parameter is not an operation"),
        ({"limit": "51"}, "limit cannot be higher than 50"),
        ({"limit": "-1"}, "limit must be a positive integer"),
        ({"limit": "x"}, "limit must be a positive integer"),
        ({"offset": "-3"}, "offset must be a positive integer"),
        ({"offset": "99999999999999999999999"}, "offset cannot be higher than"),
        ({"fields": "title("}, "fields error"),
        ({"fields": "shop(title)"}, "'shop' does not support nested fields"),
        ({"rich_text_format": "pdf"}, "rich_text_format"),
    ],
    "shops": [
        ({"slug": "no spaces"}, "slug must be"),
        ({"city": ""}, "city must be"),
        ({"city": "x" * 81}, "city must be"),
        ({"order": "phone_number"}, "cannot order by 'phone_number'"),
        ({"phone_number": "+442079460958"}, "query parameter is not an operation"),
        ({"vendor": "1"}, "query parameter is not an operation"),
    ],
    "designers": [
        ({"slug": "é/x"}, "slug must be"),
        ({"order": "item_count"}, "cannot order by 'item_count'"),
        ({"name": "Chanel"}, "query parameter is not an operation"),
    ],
}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("endpoint", "params", "message"),
    [(endpoint, params, message) for endpoint, cases in BAD_PARAMETERS.items() for params, message in cases],
)  # fmt: skip
def test_bad_values_are_a_400_with_a_message(client, catalogue, endpoint, params, message):
    data = get_json(client, f"/api/v2/{endpoint}/", params, status=400)
    assert message in data["message"], data


@pytest.mark.django_db
def test_totals_follow_publishing(client, catalogue):
    """Totals are memoised until the catalogue changes: a publish renews them."""
    assert get_json(client, "/api/v2/items/")["meta"]["total_count"] == 3
    assert get_json(client, "/api/v2/items/", {"shop": "maison-lune"})["meta"]["total_count"] == 2
    item = ItemPageFactory(parent=catalogue.lune, live=False)
    item.save_revision().publish()
    assert get_json(client, "/api/v2/items/")["meta"]["total_count"] == 4
    assert get_json(client, "/api/v2/items/", {"shop": "maison-lune"})["meta"]["total_count"] == 3
    assert get_json(client, f"/api/v2/shops/{catalogue.lune.pk}/")["item_count"] == 3


@pytest.mark.django_db
def test_the_available_total_follows_a_hold(client, catalogue):
    """A hold changes no listing, but it takes a piece out of `available=true` at once."""
    from datetime import timedelta

    from django.utils import timezone

    from products.cache import holds_changed
    from products.models import ItemPage

    available = {"available": "true"}
    assert get_json(client, "/api/v2/items/", available)["meta"]["total_count"] == 2
    held_until = timezone.now() + timedelta(minutes=10)
    ItemPage.objects.filter(pk=catalogue.flap.pk).update(held_until=held_until)
    holds_changed([catalogue.flap.pk])  # as orders.services.holds_recount does
    assert get_json(client, "/api/v2/items/", available)["meta"]["total_count"] == 1
