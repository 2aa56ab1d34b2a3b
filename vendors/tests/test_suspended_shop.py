"""A suspended vendor's shop: its pages stay reachable and say it is not taking orders, its
pieces are listed nowhere (site and API alike), and reinstating brings everything back at once,
cached pages included."""

import json
import re

from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

import pytest

from products.factories import CategoryFactory, DesignerFactory, ItemPageFactory
from vendors import services
from vendors.factories import PHONE_E164, ShopPageFactory
from vendors.models import Vendor

pytestmark = pytest.mark.django_db

NOTE = "This shop is not taking orders at the moment."
CART_FORM = 'action="/cart/add/"'
PHONE_DISPLAY = "+44 20 7946 0958"


class World:
    """An open shop and the shop to be suspended (with a published phone number), each with a
    piece by the same designer in the same category."""

    def __init__(self):
        self.designer = DesignerFactory(name="Maison Aubert")
        self.category = CategoryFactory(name="Bags")
        self.open_shop = ShopPageFactory(vendor__name="Maison Lune")
        # Onboarded as in the admin: suspension also takes its staff's admin group's rights.
        self.vendor = services.vendor_onboard(
            name="Atelier Noir",
            contact_email="hello@atelier-noir.example",
            staff_email="staff@atelier-noir.example",
        )
        self.shop = self.vendor.shop
        self.shop.phone_number = PHONE_E164
        self.shop.phone_orders = True
        self.shop.intro = "Paris ateliers, one piece at a time."
        self.shop.save_revision().publish()
        self.open_item = ItemPageFactory(
            parent=self.open_shop,
            title="Cognac leather tote",
            designer=self.designer,
            category=self.category,
        )
        self.item = ItemPageFactory(
            parent=self.shop, title="Kelly 28 bag", designer=self.designer, category=self.category
        )

    def set_status(self, status):
        services.vendor_update(vendor=self.vendor, status=status)


@pytest.fixture
def world(site_tree):
    return World()


@pytest.fixture
def page_cache_on(settings):
    settings.VITRINE_PAGE_CACHE_SECONDS = 300


def html(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def anonymous_get(client, url):
    """A first-time visitor's request: no cookies, so the page cache may answer it."""
    client.cookies.clear()
    return client.get(url)


def titles(cards) -> set[str]:
    return {item.title for item in cards}


def listed_everywhere(client, world) -> dict[str, object]:
    """Where a shopper browses, what they are shown of the catalogue."""
    home = client.get("/")
    designer_page = client.get(f"/designers/{world.designer.slug}/")
    designers = client.get("/designers/")
    search_all = client.get("/search/")
    search_text = client.get("/search/", {"q": "Kelly"})
    search_shop = client.get("/search/", {"shop": world.shop.slug})
    result = search_all.context["result"]
    return {
        "home latest": titles(home.context["latest_items"]),
        "home shops": {shop.title for shop in home.context["featured_shops"]},
        "shops": {shop.title for shop in client.get("/shops/").context["shops"]},
        "designer page": titles(designer_page.context["items_page"].object_list),
        "designer count": designer_page.context["items_page"].paginator.count,
        "designers count": {d.name: d.item_count for d in designers.context["designers"]}[
            "Maison Aubert"
        ],
        "search": titles(result.page.object_list),
        "search total": result.page.paginator.count,
        "search shop facet": {row["label"]: row["count"] for row in result.facets["shop"]},
        "search designer facet": {row["label"]: row["count"] for row in result.facets["designer"]},
        "search for Kelly": titles(search_text.context["result"].page.object_list),
        "search in the shop": search_shop.context["result"].page.paginator.count,
    }


LISTED_WHEN_OPEN = {
    "home latest": {"Cognac leather tote", "Kelly 28 bag"},
    "home shops": {"Maison Lune", "Atelier Noir"},
    "shops": {"Maison Lune", "Atelier Noir"},
    "designer page": {"Cognac leather tote", "Kelly 28 bag"},
    "designer count": 2,
    "designers count": 2,
    "search": {"Cognac leather tote", "Kelly 28 bag"},
    "search total": 2,
    "search shop facet": {"Maison Lune": 1, "Atelier Noir": 1},
    "search designer facet": {"Maison Aubert": 2},
    "search for Kelly": {"Kelly 28 bag"},
    "search in the shop": 1,
}

LISTED_WHEN_SUSPENDED = {
    "home latest": {"Cognac leather tote"},
    "home shops": {"Maison Lune"},
    "shops": {"Maison Lune"},
    "designer page": {"Cognac leather tote"},
    "designer count": 1,
    "designers count": 1,
    "search": {"Cognac leather tote"},
    "search total": 1,
    "search shop facet": {"Maison Lune": 1},
    "search designer facet": {"Maison Aubert": 1},
    "search for Kelly": set(),
    "search in the shop": 0,
}


def test_a_suspended_shops_pieces_are_listed_nowhere_and_come_back_on_reinstatement(client, world):
    assert listed_everywhere(client, world) == LISTED_WHEN_OPEN
    world.set_status(Vendor.Status.SUSPENDED)
    assert listed_everywhere(client, world) == LISTED_WHEN_SUSPENDED
    world.set_status(Vendor.Status.ACTIVE)
    assert listed_everywhere(client, world) == LISTED_WHEN_OPEN


def json_ld(page: str) -> dict:
    found = re.search(r'<script type="application/ld\+json"[^>]*>(.*?)</script>', page, re.S)
    return json.loads(found.group(1))


@pytest.mark.parametrize("status", [Vendor.Status.SUSPENDED, Vendor.Status.PENDING])
def test_item_page_stays_reachable_and_says_the_shop_is_not_taking_orders(client, world, status):
    page = html(client.get(world.item.url))
    assert CART_FORM in page and PHONE_DISPLAY in page and NOTE not in page
    assert json_ld(page)["offers"]["availability"] == "https://schema.org/InStock"

    world.set_status(status)
    page = html(client.get(world.item.url))
    assert NOTE in page
    assert world.item.title in page and "£495" in page  # still the piece's own page
    assert CART_FORM not in page and "Add to cart" not in page
    assert "Order by phone" not in page and PHONE_DISPLAY not in page and "tel:" not in page
    assert "/saved/add/" not in page  # saving it would be refused: no dead heart either
    assert json_ld(page)["offers"]["availability"] == "https://schema.org/OutOfStock"
    # The open shop's piece is untouched.
    assert CART_FORM in html(client.get(world.open_item.url))


def test_shop_page_stays_reachable_and_says_it_is_not_taking_orders(client, world):
    page = html(client.get(world.shop.url))
    assert NOTE not in page and "Order by phone" in page and world.item.title in page

    world.set_status(Vendor.Status.SUSPENDED)
    response = client.get(world.shop.url)
    page = html(response)
    assert NOTE in page
    assert world.shop.intro in page  # the shop's own words stay
    assert "Order by phone" not in page and PHONE_DISPLAY not in page and "tel:" not in page
    assert world.item.title not in page and CART_FORM not in page
    assert list(response.context["items_page"].object_list) == []
    assert NOTE not in html(client.get(world.open_shop.url))


def test_adding_a_suspended_shops_piece_to_the_cart_is_refused(client, world):
    world.set_status(Vendor.Status.SUSPENDED)
    response = client.post("/cart/add/", {"item": world.item.pk}, follow=True)
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        f"“{world.item.title}”: this shop is not taking orders at the moment."
    ]
    assert response.context["cart"].count == 0


def _api_ids(client, endpoint) -> set[int]:
    data = client.get(f"/api/v2/{endpoint}/", {"limit": 50}).json()
    return {row["id"] for row in data["items"]}


def test_the_api_follows_the_same_rule(client, world):
    assert _api_ids(client, "items") == {world.open_item.pk, world.item.pk}
    assert _api_ids(client, "shops") == {world.open_shop.pk, world.shop.pk}

    world.set_status(Vendor.Status.SUSPENDED)
    assert _api_ids(client, "items") == {world.open_item.pk}
    assert _api_ids(client, "shops") == {world.open_shop.pk}
    assert client.get(f"/api/v2/items/{world.item.pk}/").status_code == 404
    assert client.get(f"/api/v2/shops/{world.shop.pk}/").status_code == 404
    designers = client.get("/api/v2/designers/").json()["items"]
    assert {row["name"]: row["item_count"] for row in designers} == {"Maison Aubert": 1}

    world.set_status(Vendor.Status.ACTIVE)
    assert _api_ids(client, "items") == {world.open_item.pk, world.item.pk}
    assert client.get(f"/api/v2/shops/{world.shop.pk}/").json()["item_count"] == 1


def test_saved_list_shows_a_suspended_shops_piece_as_withdrawn(client, world):
    client.post("/saved/add/", {"item": world.item.pk})
    page = html(client.get("/saved/"))
    assert f'href="{world.item.url}"' in page and CART_FORM in page

    world.set_status(Vendor.Status.SUSPENDED)
    response = client.get("/saved/")
    page = html(response)
    assert titles(response.context["saved"].items_page.object_list) == {world.item.title}
    # Still on the list, but as withdrawn: no link to a page that cannot sell it, no cart.
    assert world.item.title in page and f'href="{world.item.url}"' not in page
    assert CART_FORM not in page and ">Unavailable</span>" in page and ">Sold</span>" not in page

    world.set_status(Vendor.Status.ACTIVE)
    page = html(client.get("/saved/"))
    assert f'href="{world.item.url}"' in page and CART_FORM in page


@pytest.fixture
def staff(db):
    """A Vitrine staff member signed in to the admin, in a browser of their own."""
    browser = Client()
    browser.force_login(
        get_user_model().objects.create_superuser(
            username="staff", email="staff@vitrine.example", password="a-long-passphrase-1"
        )
    )
    return browser


def admin_set_status(staff, vendor, status, capture_on_commit):
    """Change the vendor's status in the admin, as staff do (vendors:edit)."""
    vendor.refresh_from_db()
    form = {
        "contact_email": vendor.contact_email,
        "commission_rate": str(vendor.commission_rate),
        "requires_moderation": "",
        "status": status,
        "stripe_account_id": "",
    }
    with capture_on_commit(execute=True):
        response = staff.post(reverse("vendors:edit", args=[vendor.pk]), form)
    assert response.status_code == 302
    vendor.refresh_from_db()
    assert vendor.status == status


def test_suspension_and_reinstatement_show_at_once_through_the_anonymous_page_cache(
    client, world, staff, page_cache_on, django_capture_on_commit_callbacks
):
    # Each cached page and what it shows of the shop while the shop is open.
    shows_the_shop = {
        "/": world.item.title,
        "/shops/": world.shop.title,
        f"/designers/{world.designer.slug}/": world.item.title,
        world.shop.url: world.item.title,
    }
    for url, text in shows_the_shop.items():
        assert anonymous_get(client, url)["X-Page-Cache"] == "miss"
        response = anonymous_get(client, url)
        assert response["X-Page-Cache"] == "hit" and text in html(response)
    assert CART_FORM in html(anonymous_get(client, world.item.url))

    admin_set_status(staff, world.vendor, "suspended", django_capture_on_commit_callbacks)

    for url, text in shows_the_shop.items():
        response = anonymous_get(client, url)
        assert response["X-Page-Cache"] == "miss", url
        assert text not in html(response), url
    assert NOTE in html(anonymous_get(client, world.shop.url))
    # Without its form (and so without a CSRF cookie) the item page is cached now: the copy
    # served is the one with the note, never the old one with the button.
    for expected in ("miss", "hit"):
        response = anonymous_get(client, world.item.url)
        assert response.get("X-Page-Cache") == expected
        assert NOTE in html(response) and CART_FORM not in html(response)

    admin_set_status(staff, world.vendor, "active", django_capture_on_commit_callbacks)

    response = anonymous_get(client, world.item.url)
    assert response.get("X-Page-Cache") != "hit"
    assert CART_FORM in html(response) and PHONE_DISPLAY in html(response)
    assert NOTE not in html(response)
    for url, text in shows_the_shop.items():
        response = anonymous_get(client, url)
        assert response["X-Page-Cache"] == "miss", url
        assert text in html(response) and NOTE not in html(response), url
