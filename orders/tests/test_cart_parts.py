"""The cart page's own parts are kept for the cart's lines (marketplace.fragments) until a piece
in it or its shop changes: a sold, held or withdrawn piece is pruned at the very next view."""

import re

from django.test import Client

import pytest

from orders.models import CartItem
from products.factories import ItemPageFactory
from products.models import ItemPage
from products.services import stock_set
from vendors.factories import ShopPageFactory
from vendors.models import Vendor

from .helpers import ADDRESS

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture(autouse=True)
def kept(settings):
    settings.VITRINE_FRAGMENT_SECONDS = 3600


@pytest.fixture
def pieces(site_tree):
    lune, nord = ShopPageFactory(title="Maison Lune"), ShopPageFactory(title="Atelier Nord")
    return {
        "bag": ItemPageFactory(parent=lune, title="Kelly bag"),
        "scarf": ItemPageFactory(parent=lune, title="Silk scarf"),
        "tote": ItemPageFactory(parent=nord, title="Luggage tote"),
    }


def holding(*items) -> Client:
    client = Client(enforce_csrf_checks=True)
    token = TOKEN.search(client.get(items[0].url).content.decode()).group(1)
    for item in items:
        assert (
            client.post("/cart/add/", {"item": item.pk, "csrfmiddlewaretoken": token}).status_code
            == 302
        )
    return client


def cart(client):
    response = client.get("/cart/")
    assert response.status_code == 200
    return response


def test_the_cart_is_rendered_once_for_its_lines_and_each_shopper_removes_with_their_token(
    pieces,
):
    ada = holding(pieces["bag"], pieces["tote"])
    assert cart(ada)["X-Shared-Parts"] == "miss"
    again = cart(ada)
    assert again["X-Shared-Parts"] == "hit"
    assert "Kelly bag" in again.content.decode() and "Luggage tote" in again.content.decode()
    grace = holding(pieces["scarf"])  # another cart: parts of its own
    assert cart(grace)["X-Shared-Parts"] == "miss"
    assert "Kelly bag" not in cart(grace).content.decode()

    token = TOKEN.search(again.content.decode()).group(1)
    ada.post("/cart/remove/", {"item": pieces["bag"].pk, "csrfmiddlewaretoken": token})
    after = cart(ada)
    assert after["X-Shared-Parts"] == "miss", "other lines: other parts"
    assert "Kelly bag" not in after.content.decode()


def test_a_piece_sold_meanwhile_is_pruned_at_the_next_view(pieces):
    ada = holding(pieces["bag"], pieces["tote"])
    cart(ada)
    stock_set(item=pieces["bag"], quantity=0, by=None)
    html = cart(ada).content.decode()
    assert "“Kelly bag” has sold and was removed from your cart." in html
    assert f'value="{pieces["bag"].pk}"' not in html, "its line is gone"
    assert "Luggage tote" in html


def _sold(bag):
    stock_set(item=bag, quantity=0, by=None)


def _held(bag):
    shopper = Client()
    shopper.post("/cart/add/", {"item": bag.pk})
    assert shopper.post("/checkout/", {**ADDRESS, "email": "grace@example.com"}).status_code == 302


def _withdrawn(bag):
    bag.unpublish()


def _shop_suspended(bag):
    vendor = bag.get_parent().specific.vendor
    vendor.status = Vendor.Status.SUSPENDED
    vendor.save()  # as vendors.services.vendor_update saves it (a factory's vendor has no group)


@pytest.mark.parametrize(
    "change, notice",
    [
        (_sold, "“Kelly bag” has sold and was removed from your cart."),
        (_held, "“Kelly bag” is being bought by someone else right now"),
        (_withdrawn, "“Kelly bag” is no longer for sale and was removed from your cart."),
        (_shop_suspended, "“Kelly bag”"),
    ],
    ids=["sold", "held", "withdrawn", "shop-suspended"],
)
@pytest.mark.parametrize("parts_kept", [True, False], ids=["parts-kept", "parts-rendered"])
def test_a_cart_seen_before_a_change_prunes_the_piece_at_the_next_view(
    pieces, settings, change, notice, parts_kept
):
    """The cart decides from the pieces' cards, kept under their tags: each change that makes
    a piece unbuyable moves its piece's or shop's tag on, and the next view drops it."""
    if not parts_kept:
        settings.VITRINE_FRAGMENT_SECONDS = 0
    bag, tote = pieces["bag"], pieces["tote"]
    ada = holding(bag, tote)
    assert "Kelly bag" in cart(ada).content.decode()  # its card kept, and the parts
    change(ItemPage.objects.get(pk=bag.pk))
    html = cart(ada).content.decode()
    assert notice in html
    assert f'value="{bag.pk}"' not in html and f'value="{tote.pk}"' in html
    lines = CartItem.objects.filter(cart_id=ada.session["cart_id"])
    assert list(lines.values_list("item_id", flat=True)) == [tote.pk]


def test_a_piece_pruned_then_added_again_shows_again(pieces):
    bag, tote = pieces["bag"], pieces["tote"]
    ada = holding(bag, tote)
    cart(ada)
    shop = bag.get_parent().specific
    shop.unpublish()  # closed: its pieces leave every cart
    assert f'value="{bag.pk}"' not in cart(ada).content.decode()
    shop.save_revision().publish()
    token = TOKEN.search(cart(ada).content.decode()).group(1)
    ada.post("/cart/add/", {"item": bag.pk, "csrfmiddlewaretoken": token})
    html = cart(ada).content.decode()
    assert f'value="{bag.pk}"' in html and f'value="{tote.pk}"' in html


def test_a_cart_rendered_again_reads_no_row(pieces, settings):
    """Its lines are kept until one of them or the cart changes (orders.selectors.cart_lines),
    and what decides whether each piece can still be bought (its stock, holds and shop)
    comes with its card: rows, shops and pictures kept under their own tags."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.VITRINE_FRAGMENT_SECONDS = 0  # the parts rendered each time
    client = holding(pieces["bag"], pieces["tote"])
    cart(client)
    with CaptureQueriesContext(connection) as queries:
        assert "Luggage tote" in cart(client).content.decode()
    sql = [q["sql"] for q in queries]
    site = "wagtailcore_site"  # the request's Site: not memoised in tests (VITRINE_SITE_MEMO)
    assert [q for q in sql if site not in q and "django_session" not in q] == []


def lines_shown(client) -> set[int]:
    html = cart(client).content.decode()
    return {int(pk) for pk in re.findall(r'name="item" value="([0-9]+)"', html)}


def test_kept_lines_change_with_every_way_a_line_comes_or_goes(pieces, django_user_model):
    bag, scarf, tote = pieces["bag"], pieces["scarf"], pieces["tote"]
    ada = holding(bag, tote)
    assert lines_shown(ada) == {bag.pk, tote.pk}
    CartItem.objects.filter(item=tote).delete()  # sold to someone else (orders.services.payments)
    assert lines_shown(ada) == {bag.pk}
    token = TOKEN.search(cart(ada).content.decode()).group(1)
    ada.post("/cart/add/", {"item": scarf.pk, "csrfmiddlewaretoken": token})
    assert lines_shown(ada) == {bag.pk, scarf.pk}

    # Signed in, the account's cart: merged at login, then changed from another device.
    user = django_user_model.objects.create_user("ada", "ada@example.com", "pw-long-enough-1")
    ada.force_login(user)
    assert lines_shown(ada) == {bag.pk, scarf.pk}
    CartItem.objects.create(cart=user.cart, item=tote)  # the same account, elsewhere
    assert lines_shown(ada) == {bag.pk, scarf.pk, tote.pk}
    user.cart.delete()  # emptied, as an erased account's
    assert lines_shown(ada) == set()
