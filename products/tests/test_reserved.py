"""A piece whose every available unit is held by a checkout in progress shows as Reserved:
not for sale, not sold (`ItemPage.held_until`, written by the order system)."""

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import pytest

from products.cache import holds_changed
from products.factories import ItemPageFactory
from products.models import ItemPage
from vendors.factories import ShopPageFactory

from .helpers import json_ld


def reserve(item, minutes=12):
    # As orders.services.stock.holds_recount sets it: with the pages that show it renewed.
    ItemPage.objects.filter(pk=item.pk).update(
        held_until=timezone.now() + timedelta(minutes=minutes)
    )
    holds_changed([item.pk])
    return ItemPage.objects.get(pk=item.pk)


@pytest.fixture
def shop(site_tree):
    return ShopPageFactory()


@pytest.mark.django_db
def test_is_reserved_needs_stock_and_a_hold_still_running(shop):
    item = ItemPageFactory(parent=shop)
    assert not item.is_reserved
    assert reserve(item).is_reserved
    assert not reserve(item, minutes=-1).is_reserved, "the hold ran out: for sale again"
    ItemPage.objects.filter(pk=item.pk).update(quantity=0)
    assert not reserve(item).is_reserved, "sold, not reserved"
    assert reserve(ItemPageFactory(parent=shop)).reserved_minutes_left == 12


@pytest.mark.django_db
def test_the_item_page_says_reserved_and_offers_no_cart(client, shop):
    item = reserve(ItemPageFactory(parent=shop, gallery=1))
    html = client.get(item.url).content.decode()
    assert '<p class="sold-note__title">Reserved</p>' in html
    assert "Someone is checking out with this piece" in html
    assert "back on sale within 12 minutes" in html
    assert 'action="/cart/add/"' not in html
    assert "badge--reserved" in html
    assert "badge--sold" not in html and ">Sold<" not in html
    assert "save-toggle--page" in html, "the heart stays"


@pytest.mark.django_db
def test_an_expired_hold_shows_the_piece_for_sale(client, shop):
    item = reserve(ItemPageFactory(parent=shop), minutes=-1)
    html = client.get(item.url).content.decode()
    assert 'action="/cart/add/"' in html and "Reserved" not in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("state", "availability"),
    [
        ("for sale", "https://schema.org/InStock"),
        ("reserved", "https://schema.org/LimitedAvailability"),
        ("sold", "https://schema.org/SoldOut"),
    ],
)
def test_json_ld_availability(client, shop, state, availability):
    item = ItemPageFactory(parent=shop, quantity=0 if state == "sold" else 1)
    if state != "for sale":
        reserve(item)
    data = json_ld(client.get(item.url).content.decode())
    assert data["offers"]["availability"] == availability


@pytest.mark.django_db
def test_cards_show_a_reserved_badge_in_listings_and_search(client, shop):
    held = reserve(ItemPageFactory(parent=shop, title="Held tote"))
    ItemPageFactory(parent=shop, title="Free scarf")
    for url in (shop.url, "/search/?q=tote"):
        html = client.get(url).content.decode()
        assert html.count("badge--reserved") == 1, url
        card = html[html.index("badge--reserved") - 1500 : html.index("badge--reserved")]
        assert "Held tote" in html and "badge--sold" not in card, url
    assert held.is_reserved


@pytest.mark.django_db
def test_reserved_cards_cost_no_extra_query(client, shop):
    for n in range(3):
        ItemPageFactory(parent=shop, title=f"Piece {n}")
    client.get(shop.url)
    holds_changed(ItemPage.objects.values_list("pk", flat=True))  # their rows read again
    with CaptureQueriesContext(connection) as plain:
        client.get(shop.url)
    for item in ItemPage.objects.all():
        reserve(item)
    with CaptureQueriesContext(connection) as reserved:
        html = client.get(shop.url).content.decode()
    assert html.count("badge--reserved") == 3
    assert len(reserved) == len(plain)
