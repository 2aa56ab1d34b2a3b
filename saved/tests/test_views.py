"""The saved list pages and the save/unsave endpoints, through the views."""

from django.contrib.messages import get_messages
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

import pytest

from products.factories import ItemPageFactory
from products.models import ItemPage
from saved import services
from saved.models import SavedItem
from saved.selectors import SAVED_SESSION_KEY

from .helpers import with_cookie

pytestmark = pytest.mark.django_db


def message_texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- Who sees which list ------------------------------------------------------------------------


def test_anonymous_list_is_kept_in_the_session_and_shown_at_saved(client, tote, clutch):
    client.post("/saved/add/", {"item": tote.pk})
    client.post("/saved/add/", {"item": clutch.pk})
    assert client.session[SAVED_SESSION_KEY] == [clutch.pk, tote.pk]  # newest first
    response = client.get("/saved/")
    html = response.content.decode()
    assert response.status_code == 200
    grid = html.split('class="grid grid--items saved-grid"')[1]
    assert grid.index("Ivory silk clutch") < grid.index("Cognac leather tote")
    assert "2 pieces" in html and "Sign in" in html
    assert not SavedItem.objects.exists()


def test_session_cookie_holds_only_the_session_key(client, tote):
    response = client.post("/saved/add/", {"item": tote.pk})
    assert set(response.cookies) <= {"sessionid", "csrftoken"}
    key = response.cookies["sessionid"].value
    # Only the key of the server-side session, which holds the list.
    assert Session.objects.get(session_key=key).get_decoded()[SAVED_SESSION_KEY] == [tote.pk]


def test_signed_in_shopper_at_saved_goes_to_the_account_list(signed_in):
    response = signed_in.get("/saved/")
    assert response.status_code == 302 and response["Location"] == "/account/saved/"


def test_account_list_needs_sign_in(client):
    response = client.get("/account/saved/")
    assert response.status_code == 302
    assert response["Location"] == "/account/login/?next=/account/saved/"


def test_signed_in_saves_go_to_the_account(signed_in, shopper, tote):
    response = signed_in.post("/saved/add/", {"item": tote.pk})
    assert response["Location"] == "/account/saved/"
    assert list(SavedItem.objects.values_list("user", "item")) == [(shopper.pk, tote.pk)]
    html = signed_in.get("/account/saved/").content.decode()
    assert "Cognac leather tote" in html
    assert 'href="/account/saved/" aria-current="page"' in html  # account nav


@pytest.mark.parametrize("path", ["/saved/", "/account/saved/", "/saved/add/?item=1"])
def test_saved_pages_are_never_cached(signed_in, client, path):
    response = signed_in.get(path)
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


def test_anonymous_list_is_no_store(client):
    assert "no-store" in client.get("/saved/")["Cache-Control"]


def test_empty_list_links_to_browse(signed_in, site_tree):
    for response in (Client().get("/saved/"), signed_in.get("/account/saved/")):
        html = response.content.decode()
        assert "Nothing saved yet" in html and 'href="/shops/"' in html


def test_header_nav_links_to_the_right_list(signed_in, site_tree):
    assert 'href="/saved/"' in Client().get("/").content.decode()
    assert 'href="/account/saved/"' in signed_in.get("/").content.decode()


# --- Sold and withdrawn pieces stay ------------------------------------------------------------


def test_sold_and_unpublished_pieces_stay_shown_as_sold_or_unavailable(
    signed_in, shopper, tote, clutch, shop
):
    watch = ItemPageFactory(parent=shop, title="Steel dress watch")
    for item in (tote, clutch, watch):
        SavedItem.objects.create(user=shopper, item=item)
    ItemPage.objects.filter(pk=tote.pk).update(quantity=0)  # sold
    clutch.unpublish()
    response = signed_in.get("/account/saved/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("badge--sold") == 2
    # Honest labels: the tote sold; the clutch was withdrawn, not sold.
    assert html.count(">Sold</span>") == 1 and html.count(">Unavailable</span>") == 1
    # Only the watch can go in the cart; the withdrawn clutch is not linked (its page is gone).
    assert html.count('action="/cart/add/"') == 1
    assert f'value="{watch.pk}"' in html.split('action="/cart/add/"')[1][:200]
    assert "Ivory silk clutch" in html and f'href="{clutch.url}"' not in html


def test_anonymous_list_survives_a_deleted_piece(client, tote, clutch):
    client.post("/saved/add/", {"item": tote.pk})
    client.post("/saved/add/", {"item": clutch.pk})
    clutch.delete()
    response = client.get("/saved/")
    html = response.content.decode()
    assert response.status_code == 200 and "Cognac leather tote" in html
    assert "1 piece saved" in html


# --- Forged and odd input -----------------------------------------------------------------------


@pytest.mark.parametrize("value", ["", "abc", "-3", "0", "99999999", "1e5", "9" * 40])
def test_unknown_or_forged_ids_give_a_message_not_an_error(client, site_tree, value):
    response = client.post("/saved/add/", {"item": value})
    assert response.status_code == 302
    (text,) = message_texts(response)
    assert "could not" in text
    assert client.get(f"/saved/add/?item={value}").status_code == 302
    assert client.post("/saved/remove/", {"item": value}).status_code == 302


def test_only_live_public_items_can_be_saved(client, shop, tote):
    tote.unpublish()
    response = client.post("/saved/add/", {"item": tote.pk})
    assert "could not be found" in message_texts(response)[0]
    assert SAVED_SESSION_KEY not in client.session
    # Other page types are not items.
    client.post("/saved/add/", {"item": shop.pk})
    assert SAVED_SESSION_KEY not in client.session


def test_next_must_be_on_this_site(client, tote):
    response = client.post("/saved/add/", {"item": tote.pk, "next": "https://evil.example/"})
    assert response["Location"] == "/saved/"
    response = client.post("/saved/remove/", {"item": tote.pk, "next": "//evil.example/x"})
    assert response["Location"] == "/saved/"


# Bad `next` values: a bare word once made redirect() reverse it as a URL name (a 500).
BAD_NEXT = ["abc", "//evil.com", "https://evil.com/x", "/" + "a" * 9_999]


@pytest.mark.parametrize("next_url", [*BAD_NEXT, "/shops/"])
def test_any_next_gives_a_redirect_on_this_site(signed_in, tote, next_url):
    expected = next_url if next_url == "/shops/" else "/account/saved/"
    anonymous = Client()
    for response in (
        anonymous.get("/saved/add/", {"next": next_url}),  # no item: straight back
        signed_in.get("/saved/add/", {"next": next_url}),
        signed_in.post("/saved/add/", {"item": tote.pk, "next": next_url}),
        signed_in.post("/saved/remove/", {"item": tote.pk, "next": next_url}),
        signed_in.post(
            "/account/saved/alerts/", {"item": tote.pk, "alert": "on", "next": next_url}
        ),
    ):
        assert response.status_code == 302
        if response.wsgi_request.user.is_authenticated:
            assert response["Location"] == expected
        else:
            assert response["Location"] == (next_url if next_url == "/shops/" else "/saved/")
    # The confirmation page's "back" link gets the same safe value.
    response = anonymous.get("/saved/add/", {"item": tote.pk, "next": next_url})
    assert response.status_code == 200
    assert response.context["next"] == (next_url if next_url == "/shops/" else "/saved/")


def test_get_does_not_remove(client, tote):
    client.post("/saved/add/", {"item": tote.pk})
    assert client.get(f"/saved/remove/?item={tote.pk}").status_code == 405
    assert client.session[SAVED_SESSION_KEY] == [tote.pk]


def test_session_list_is_capped(client, shop, monkeypatch):
    monkeypatch.setattr(services, "SAVED_LIMIT", 3)
    items = [ItemPageFactory(parent=shop) for _ in range(4)]
    for item in items[:3]:
        client.post("/saved/add/", {"item": item.pk})
    response = client.post("/saved/add/", {"item": items[3].pk})
    assert "full" in message_texts(response)[-1]
    assert len(client.session[SAVED_SESSION_KEY]) == 3


def test_account_list_is_capped(signed_in, shopper, shop, monkeypatch):
    monkeypatch.setattr(services, "SAVED_LIMIT", 2)
    items = [ItemPageFactory(parent=shop) for _ in range(3)]
    for item in items:
        signed_in.post("/saved/add/", {"item": item.pk})
    assert SavedItem.objects.filter(user=shopper).count() == 2


def test_saving_twice_keeps_one(signed_in, shopper, tote):
    signed_in.post("/saved/add/", {"item": tote.pk})
    response = signed_in.post("/saved/add/", {"item": tote.pk})
    assert "already" in message_texts(response)[-1]
    assert SavedItem.objects.filter(user=shopper).count() == 1


def test_a_tampered_session_list_is_ignored(client, tote):
    with_cookie(client)
    client.post("/saved/add/", {"item": tote.pk})
    session = client.session
    session[SAVED_SESSION_KEY] = ["<script>", None, tote.pk, 10**12]
    session.save()
    response = client.get("/saved/")
    assert response.status_code == 200 and "Cognac leather tote" in response.content.decode()


# --- The confirmation page of a cookie-less heart -----------------------------------------------


def test_cookie_less_heart_link_leads_to_a_confirmation_page(client, shop, tote):
    response = client.get(f"/saved/add/?item={tote.pk}&next={shop.url}%23save-{tote.pk}")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Save this piece?" in html and "Cognac leather tote" in html
    assert 'action="/saved/add/"' in html and "csrfmiddlewaretoken" in html
    assert f'name="next" value="{shop.url}#save-{tote.pk}"' in html
    assert SAVED_SESSION_KEY not in client.session  # GET changes nothing
    client.post("/saved/add/", {"item": tote.pk})
    assert "Already saved" in client.get(f"/saved/add/?item={tote.pk}").content.decode()


# --- Query counts -------------------------------------------------------------------------------


def _count(client, url) -> int:
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx)


@pytest.mark.parametrize("signed_in_shopper", [True, False])
def test_list_page_query_count_is_the_same_for_1_and_20_pieces(
    client, shopper, shop, signed_in_shopper
):
    if signed_in_shopper:
        client.force_login(shopper)
    url = "/account/saved/" if signed_in_shopper else "/saved/"
    items = [ItemPageFactory(parent=shop, gallery=1) for _ in range(20)]
    client.post("/saved/add/", {"item": items[0].pk})
    one = _count(client, url)
    for item in items[1:]:
        client.post("/saved/add/", {"item": item.pk})
    twenty = _count(client, url)
    assert one == twenty <= 12


def test_pieces_of_a_closed_shop_show_as_withdrawn_and_cannot_be_saved(
    signed_in, shopper, tote, clutch, shop
):
    SavedItem.objects.create(user=shopper, item=tote)
    other_shop_piece = ItemPageFactory(title="Steel dress watch")
    SavedItem.objects.create(user=shopper, item=other_shop_piece)
    shop.unpublish()  # its pieces stay live, but are off the site
    html = signed_in.get("/account/saved/").content.decode()
    assert "Cognac leather tote" in html and f'href="{tote.url}"' not in html
    assert html.count("badge--sold") == 1 and html.count('action="/cart/add/"') == 1
    response = signed_in.post("/saved/add/", {"item": clutch.pk})
    assert "could not be found" in message_texts(response)[-1]
    assert not SavedItem.objects.filter(item=clutch).exists()
