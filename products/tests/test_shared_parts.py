"""A page's own parts are rendered once and shared by every shopper (marketplace.fragments),
while what is each shopper's own (a CSRF token, a heart, the minutes left on a hold) is drawn
per request; a change renews only the parts that show what changed."""

import re
from datetime import timedelta

from django.test import Client
from django.utils import timezone

import pytest

from marketplace import fragments
from products.factories import DesignerFactory, ItemPageFactory
from products.models import ItemPage
from products.services import stock_set
from vendors.factories import ShopPageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def kept(settings):
    settings.VITRINE_FRAGMENT_SECONDS = 3600


TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture
def world(site_tree):
    lune = ShopPageFactory(title="Maison Lune")
    atelier = ShopPageFactory(title="Atelier Nord")
    hermes = DesignerFactory(name="Hermès", slug="hermes")
    celine = DesignerFactory(name="Celine", slug="celine")
    bag = ItemPageFactory(parent=lune, title="Kelly bag", designer=hermes, gallery=1)
    tote = ItemPageFactory(parent=atelier, title="Luggage tote", designer=celine)
    return {
        "bag": bag,
        "tote": tote,
        "shows the bag": {
            "its page": bag.url,
            "its shop": lune.url,
            "its designer": "/designers/hermes/",
            "home": "/",
            "a search": "/search/?q=kelly",
        },
        "does not show it": {
            "another piece": tote.url,
            "another shop": atelier.url,
            "another designer": "/designers/celine/",
        },
    }


def visit(client, url: str):
    response = client.get(url)
    assert response.status_code == 200, url
    return response


def test_item_parts_are_rendered_once_and_every_shopper_gets_their_own_token_and_heart(
    world, shopper
):
    bag = world["bag"]
    anonymous = Client(enforce_csrf_checks=True)
    signed_in = Client(enforce_csrf_checks=True)
    signed_in.force_login(shopper)
    visit(signed_in, "/")  # a session, so the heart is a form
    token = TOKEN.search(visit(signed_in, world["tote"].url).content.decode()).group(1)
    assert (
        signed_in.post("/saved/add/", {"item": bag.pk, "csrfmiddlewaretoken": token}).status_code
        == 302
    )

    first = visit(anonymous, bag.url)
    second = visit(signed_in, bag.url)
    assert (first["X-Shared-Parts"], second["X-Shared-Parts"]) == ("miss", "hit")
    # The signed-in shopper's heart says saved, the anonymous one's does not.
    assert "Remove Kelly bag from saved" in second.content.decode()
    assert "Remove Kelly bag from saved" not in first.content.decode()
    assert 'aria-label="Save Kelly bag"' in first.content.decode()
    # Each gets a token of their own, which their add-to-cart form posts successfully.
    tokens = {
        name: TOKEN.search(response.content.decode()).group(1)
        for name, response in (("anonymous", first), ("signed in", second))
    }
    assert tokens["anonymous"] != tokens["signed in"]
    for name, client in (("anonymous", anonymous), ("signed in", signed_in)):
        response = client.post("/cart/add/", {"item": bag.pk, "csrfmiddlewaretoken": tokens[name]})
        assert response.status_code == 302, name


def test_selling_a_piece_renews_only_the_parts_that_show_it(world, shopper, client):
    client.force_login(shopper)  # a signed-in shopper: never served by the whole-page cache
    pages = {**world["shows the bag"], **world["does not show it"]}
    for name, url in pages.items():
        visit(client, url)
        assert visit(client, url)["X-Shared-Parts"] == "hit", name

    stock_set(item=world["bag"], quantity=0, by=None)

    for name, url in world["shows the bag"].items():
        response = visit(client, url)
        assert response["X-Shared-Parts"] == "miss", name
        html = response.content.decode()
        if name == "home":  # the latest pieces for sale: no longer among them
            assert "Kelly bag" not in html
        elif name != "its page":  # its card says so
            assert "Sold, was" in html, name
    assert "This piece has found a new home" in visit(client, world["bag"].url).content.decode()
    for name, url in world["does not show it"].items():
        assert visit(client, url)["X-Shared-Parts"] == "hit", name


def test_the_minutes_left_on_a_hold_count_down_in_shared_parts(world, client, monkeypatch):
    bag = world["bag"]
    ItemPage.objects.filter(pk=bag.pk).update(held_until=timezone.now() + timedelta(minutes=12))
    assert "within 12 minutes" in visit(client, bag.url).content.decode()
    later = timezone.now() + timedelta(minutes=11)
    monkeypatch.setattr(timezone, "now", lambda: later)
    response = visit(client, bag.url)
    assert response["X-Shared-Parts"] == "hit"
    assert "within 1 minute." in response.content.decode()
    # The hold runs out by itself: the parts that said "Reserved" are rendered again.
    later = later + timedelta(minutes=1)
    response = visit(client, bag.url)
    assert response["X-Shared-Parts"] == "miss"
    assert "Add to cart" in response.content.decode()


def test_a_preview_of_a_draft_is_neither_kept_nor_served_from_the_live_parts(world, client):
    bag = world["bag"]
    visit(client, bag.url)
    assert visit(client, bag.url)["X-Shared-Parts"] == "hit"
    draft = ItemPage.objects.get(pk=bag.pk)
    draft.title = "Kelly bag, draft title"
    preview = draft.make_preview_request()
    assert "Kelly bag, draft title" in preview.content.decode()
    live = visit(client, bag.url)
    assert live["X-Shared-Parts"] == "hit"
    assert "draft title" not in live.content.decode()


def test_a_query_the_page_does_not_read_is_served_but_never_kept(world, client):
    shop = world["shows the bag"]["its shop"]
    for url in (f"{shop}?ref=mail", "/search/?q=kelly&junk=1", f"{shop}?page=1&page=2"):
        assert visit(client, url)["X-Shared-Parts"] == "off", url
        assert visit(client, url)["X-Shared-Parts"] == "off", url
    long = "/search/?q=" + "k" * (fragments.MAX_PARAM_LENGTH + 1)
    assert visit(client, long)["X-Shared-Parts"] == "off"
    for url in (f"{shop}?page=1", "/search/?q=kelly&sort=price_asc"):
        assert visit(client, url)["X-Shared-Parts"] == "miss", url
        assert visit(client, url)["X-Shared-Parts"] == "hit", url


def test_a_campaign_link_shares_the_parts_of_the_page_without_it(world, client):
    """Campaign parameters (utm_*, gclid, ...) are for analytics in the browser: the page reads
    the parts of the same URL without them, and its links (pagination) do not carry them."""
    assert visit(client, "/search/?q=kelly&utm_source=mail&gclid=Cj0K")["X-Shared-Parts"] == "miss"
    response = visit(client, "/search/?q=kelly")
    assert response["X-Shared-Parts"] == "hit"
    response = visit(client, "/search/?utm_campaign=spring&q=kelly&msclkid=9f")
    assert response["X-Shared-Parts"] == "hit"
    assert response.wsgi_request.GET.dict() == {"q": "kelly"}
    assert response.wsgi_request.get_full_path() == "/search/?q=kelly"


def test_data_that_looks_like_a_hole_is_only_text(world, client):
    item = ItemPageFactory(
        parent=world["bag"].get_parent(),
        title=f"Bag {fragments.HOLE}",
        designer=world["bag"].designer,
    )
    for url in (item.url, world["shows the bag"]["its shop"], "/"):
        response = visit(client, url)
        assert "Bag &lt;!--hole--&gt;" in response.content.decode(), url


def test_parts_rendered_for_a_signed_in_shopper_carry_nothing_of_theirs(world):
    from accounts.factories import UserFactory

    marie = UserFactory(
        username="marie-qx7", email="marie.qx7@example.com", first_name="Mariequx", verified=True
    )
    signed_in, anonymous = Client(), Client()
    signed_in.force_login(marie)
    signed_in.post("/saved/add/", {"item": world["bag"].pk})
    pages = [*world["shows the bag"].values(), *world["does not show it"].values()]
    for url in pages:
        assert visit(signed_in, url)["X-Shared-Parts"] == "miss", url  # rendered for Marie
    for url in pages:
        response = visit(anonymous, url)
        assert response["X-Shared-Parts"] == "hit", url
        html = response.content.decode()
        for theirs in ("marie", "Mariequx", "Remove Kelly bag from saved"):
            assert theirs not in html, (url, theirs)


def test_a_query_with_spaces_or_a_long_path_makes_valid_cache_keys(world, client):
    import warnings

    from django.core.cache.backends.base import CacheKeyWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheKeyWarning)  # a key memcached would refuse
        for url in ("/search/?q=kelly%20bag", "/search/?q=" + "bag%20" * 30):
            assert visit(client, url)["X-Shared-Parts"] in ("miss", "off"), url
            visit(client, url)
        assert client.get("/shops/" + "x" * 300 + "/").status_code == 404


def test_a_page_served_whole_from_the_page_cache_says_nothing_of_parts(world, settings):
    settings.VITRINE_PAGE_CACHE_SECONDS = 300
    shop = world["shows the bag"]["its shop"]
    first = Client().get(shop)  # a first-time visitor: stored whole
    assert (first["X-Page-Cache"], first["X-Shared-Parts"]) == ("miss", "miss")
    again = Client().get(shop)
    assert again["X-Page-Cache"] == "hit"
    assert "X-Shared-Parts" not in again
