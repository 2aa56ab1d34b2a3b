"""The heart on item cards and item pages: a real form for visitors with cookies, a plain link
for first-time visitors (so cached pages stay cacheable), saved state at one query a page."""

import re

from django.db import connection
from django.test.utils import CaptureQueriesContext

import pytest

from products.factories import ItemPageFactory
from saved.models import SavedItem

from .helpers import with_cookie

pytestmark = pytest.mark.django_db


def hearts(html: str) -> list[str]:
    return re.findall(r'<(?:form|a) id="save-\d+"[^>]*>.*?</(?:form|a)>', html, flags=re.S)


def test_first_time_visitor_gets_links_and_no_cookie(client, shop, tote, clutch):
    response = client.get(shop.url)
    html = response.content.decode()
    links = hearts(html)
    assert len(links) == 2
    assert all(link.startswith("<a ") for link in links)
    assert f'href="/saved/add/?item={tote.pk}&amp;next=' in html
    assert 'aria-label="Save Cognac leather tote"' in html
    assert "csrfmiddlewaretoken" not in html
    assert not response.cookies


def test_visitor_with_cookies_gets_post_forms_with_pressed_state(client, shop, tote, clutch):
    with_cookie(client)
    client.post("/saved/add/", {"item": tote.pk})
    html = client.get(shop.url).content.decode()
    forms = {re.search(r'id="save-(\d+)"', f).group(1): f for f in hearts(html)}
    saved, unsaved = forms[str(tote.pk)], forms[str(clutch.pk)]
    assert 'action="/saved/remove/"' in saved and 'aria-pressed="true"' in saved
    assert 'aria-label="Remove Cognac leather tote from saved"' in saved
    assert 'action="/saved/add/"' in unsaved and 'aria-pressed="false"' in unsaved
    assert 'aria-label="Save Ivory silk clutch"' in unsaved
    assert "csrfmiddlewaretoken" in saved
    assert f'name="next" value="{shop.url}#save-{clutch.pk}"' in unsaved


def test_heart_toggles_save_then_unsave(client, shop, tote):
    with_cookie(client)
    response = client.post("/saved/add/", {"item": tote.pk, "next": f"{shop.url}#save-{tote.pk}"})
    assert response.status_code == 302 and response["Location"] == f"{shop.url}#save-{tote.pk}"
    assert 'aria-pressed="true"' in hearts(client.get(shop.url).content.decode())[0]
    client.post("/saved/remove/", {"item": tote.pk, "next": shop.url})
    assert 'aria-pressed="false"' in hearts(client.get(shop.url).content.decode())[0]


def test_item_page_has_a_labelled_save_button(client, tote):
    html = client.get(tote.url).content.decode()
    # The add-to-cart form already sets the CSRF cookie, so the heart can be a form too.
    (heart,) = hearts(html)
    assert heart.startswith("<form") and "save-toggle--page" in heart
    assert 'aria-label="Save Cognac leather tote"' in heart and ">Save</span>" in heart


def test_sold_item_page_of_a_first_time_visitor_stays_cookie_free(client, shop):
    sold = ItemPageFactory(parent=shop, title="Old watch", sold=True)
    response = client.get(sold.url)
    (heart,) = hearts(response.content.decode())
    assert heart.startswith("<a ") and not response.cookies


@pytest.mark.parametrize("path", ["/", "shop"])
def test_pages_with_hearts_are_still_served_from_the_page_cache(client, settings, shop, tote, path):
    settings.VITRINE_PAGE_CACHE_SECONDS = 300
    url = shop.url if path == "shop" else path
    first = client.get(url)
    assert hearts(first.content.decode()), "the page shows item cards with hearts"
    assert first["X-Page-Cache"] == "miss" and not first.cookies
    client.cookies.clear()
    assert client.get(url)["X-Page-Cache"] == "hit"


def _saved_queries(client, url) -> list[str]:
    client.get(url)  # warm-up
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return [q["sql"] for q in ctx.captured_queries if "saved_saveditem" in q["sql"]]


def test_saved_state_costs_one_query_for_a_signed_in_shopper_then_none(signed_in, shopper, shop):
    """The account's ids are read once per change of the list (any device), then cached."""
    items = [ItemPageFactory(parent=shop) for _ in range(6)]
    SavedItem.objects.create(user=shopper, item=items[0])
    with CaptureQueriesContext(connection) as first:
        signed_in.get(shop.url)
    assert len([q for q in first.captured_queries if "saved_saveditem" in q["sql"]]) == 1
    assert _saved_queries(signed_in, shop.url) == []  # cached
    for item in items[1:]:
        SavedItem.objects.create(user=shopper, item=item)  # e.g. from another device
    html = signed_in.get(shop.url).content.decode()
    assert html.count('aria-pressed="true"') == 6
    SavedItem.objects.filter(item=items[0]).delete()
    assert signed_in.get(shop.url).content.decode().count('aria-pressed="true"') == 5
    assert _saved_queries(signed_in, shop.url) == []


def test_saved_state_costs_nothing_for_anonymous_visitors(client, shop, tote, clutch):
    assert _saved_queries(client, shop.url) == []
    with_cookie(client)
    client.post("/saved/add/", {"item": tote.pk})
    assert _saved_queries(client, shop.url) == []  # read from the session already loaded


def test_anonymous_page_with_a_session_costs_no_more_queries(client, shop, tote, clutch):
    """Anonymous hearts read the session the page loads anyway."""
    with_cookie(client)
    client.get(shop.url)
    with CaptureQueriesContext(connection) as before:
        client.get(shop.url)
    client.post("/saved/add/", {"item": tote.pk})
    client.post("/saved/add/", {"item": clutch.pk})
    client.get(shop.url)  # shows (and so clears) the "saved" messages
    with CaptureQueriesContext(connection) as after:
        client.get(shop.url)
    # The session row is now read (the visitor has one); nothing per card.
    assert len(after) <= len(before) + 1, [q["sql"] for q in after.captured_queries]


def test_no_heart_for_an_unsaved_page_or_without_a_request(rf, tote):
    from django.template import Context, Template

    from products.models import ItemPage

    template = Template("{% load saved_tags %}{% save_button item %}")
    request = rf.get("/")
    assert (
        template.render(Context({"item": ItemPage(title="Draft"), "request": request})).strip()
        == ""
    )
    assert template.render(Context({"item": tote})).strip() == ""
