"""Signing in adds what the shopper saved while signed out to the account (like the cart)."""

import pytest

from accounts.factories import DEFAULT_PASSWORD
from products.factories import ItemPageFactory
from saved import services
from saved.models import SavedItem
from saved.selectors import SAVED_SESSION_KEY

pytestmark = pytest.mark.django_db


def sign_in(client, user):
    response = client.post(
        "/account/login/", {"username": user.email, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 302, response.content.decode()[:500]
    return response


def test_login_merges_the_anonymous_list(client, shopper, tote, clutch):
    client.post("/saved/add/", {"item": tote.pk})
    client.post("/saved/add/", {"item": clutch.pk})
    sign_in(client, shopper)
    rows = list(SavedItem.objects.filter(user=shopper).values_list("item_id", flat=True))
    assert rows == [clutch.pk, tote.pk]  # newest first, as they were saved
    assert SAVED_SESSION_KEY not in client.session
    html = client.get("/account/saved/").content.decode()
    assert "Cognac leather tote" in html and "Ivory silk clutch" in html


def test_merge_keeps_the_account_list_skips_duplicates_and_deleted_pieces(
    client, shopper, tote, clutch, shop
):
    SavedItem.objects.create(user=shopper, item=tote)
    withdrawn, deleted = ItemPageFactory(parent=shop), ItemPageFactory(parent=shop)
    for item in (tote, clutch, withdrawn, deleted):
        client.post("/saved/add/", {"item": item.pk})
    withdrawn.unpublish()  # stays, shown as sold
    deleted.delete()
    sign_in(client, shopper)
    assert set(SavedItem.objects.filter(user=shopper).values_list("item_id", flat=True)) == {
        tote.pk,
        clutch.pk,
        withdrawn.pk,
    }


def test_merge_respects_the_limit(client, shopper, shop, monkeypatch):
    monkeypatch.setattr(services, "SAVED_LIMIT", 2)
    items = [ItemPageFactory(parent=shop) for _ in range(2)]
    SavedItem.objects.create(user=shopper, item=items[0])
    client.post("/saved/add/", {"item": items[1].pk})
    client.post("/saved/add/", {"item": ItemPageFactory(parent=shop).pk})
    sign_in(client, shopper)
    assert SavedItem.objects.filter(user=shopper).count() == 2


def test_merge_ignores_garbage(shopper):
    assert services.saved_merge_into_account(user=shopper, anonymous_ids=None) == 0
    assert services.saved_merge_into_account(user=shopper, anonymous_ids="1,2") == 0
    assert services.saved_merge_into_account(user=shopper, anonymous_ids=["x", 10**12]) == 0
