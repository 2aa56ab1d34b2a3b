"""Items held by a checkout in progress (`ItemPage.held_until`): `reserved: true`, not
`available`, and the `available=` filter agrees."""

from datetime import timedelta

from django.utils import timezone

import pytest

from products.factories import ItemPageFactory
from products.models import ItemPage
from vendors.factories import ShopPageFactory

from .helpers import get_json, listed_ids


@pytest.fixture
def pieces(site_tree):
    shop = ShopPageFactory()
    free = ItemPageFactory(parent=shop, title="Free")
    held = ItemPageFactory(parent=shop, title="Held")
    expired = ItemPageFactory(parent=shop, title="Hold ran out")
    sold = ItemPageFactory(parent=shop, title="Sold", quantity=0)
    now = timezone.now()
    ItemPage.objects.filter(pk=held.pk).update(held_until=now + timedelta(minutes=10))
    ItemPage.objects.filter(pk=expired.pk).update(held_until=now - timedelta(minutes=1))
    return free, held, expired, sold


@pytest.mark.django_db
def test_items_say_whether_they_are_reserved(client, pieces):
    free, held, expired, sold = pieces
    rows = {row["id"]: row for row in get_json(client, "/api/v2/items/")["items"]}
    assert {pk: (rows[pk]["available"], rows[pk]["reserved"], rows[pk]["sold"]) for pk in rows} == {
        free.pk: (True, False, False),
        held.pk: (False, True, False),
        expired.pk: (True, False, False),
        sold.pk: (False, False, True),
    }
    detail = get_json(client, f"/api/v2/items/{held.pk}/")
    assert (detail["available"], detail["reserved"]) == (False, True)


@pytest.mark.django_db
def test_the_available_filter_treats_reserved_as_not_available(client, pieces):
    free, held, expired, sold = pieces
    assert listed_ids(client, "items", {"available": "true"}) == {free.pk, expired.pk}
    assert listed_ids(client, "items", {"available": "false"}) == {held.pk, sold.pk}
