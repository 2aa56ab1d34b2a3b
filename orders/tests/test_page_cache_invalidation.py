"""A sale invalidates only what shows the piece (marketplace.page_cache tags).

Both sides: after a piece is reserved, sold or refunded, every cached page that shows it (its
shop's page, its designer's page, the home page, and for a sale or refund the indexes that
count it) is fresh at once, and a cached page that does not show it (another shop, another
designer; the indexes after a hold, which counts nothing) is still served from the cache.
"""

import pytest

from orders import stripe_api
from orders.models import Order
from orders.services import vendor_order_refund
from products.factories import DesignerFactory, ItemPageFactory
from vendors.factories import ShopPageFactory

from .helpers import ADDRESS, event_body, intent_object, post_webhook

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(site_tree, settings, stripe_settings):
    settings.VITRINE_PAGE_CACHE_SECONDS = 300
    lune = ShopPageFactory(title="Maison Lune", vendor__name="Maison Lune")
    atelier = ShopPageFactory(title="Atelier Nord", vendor__name="Atelier Nord")
    hermes = DesignerFactory(name="Hermès", slug="hermes")
    celine = DesignerFactory(name="Celine", slug="celine")
    bag = ItemPageFactory(parent=lune, title="Kelly bag", designer=hermes, price="3000.00")
    ItemPageFactory(parent=lune, title="Silk scarf", designer=hermes, price="300.00")
    ItemPageFactory(parent=atelier, title="Luggage tote", designer=celine, price="900.00")
    return {
        "bag": bag,
        "shows the bag": {
            "its shop": lune.url,
            "its designer": "/designers/hermes/",
            "home": "/",
            "shop index": "/shops/",
            "designer index": "/designers/",
        },
        "does not show it": {"another shop": atelier.url, "another designer": "/designers/celine/"},
    }


def visit(client, url: str):
    client.cookies.clear()  # a first-time visitor: the only kind the page cache serves
    response = client.get(url)
    assert response.status_code == 200, url
    return response


def warm(client, world) -> None:
    for url in (*world["shows the bag"].values(), *world["does not show it"].values()):
        visit(client, url)
        assert visit(client, url)["X-Page-Cache"] == "hit", url


COUNTS_ONLY = ("shop index", "designer index")  # they count pieces for sale, not holds


def assert_fresh_and_kept(client, world, unchanged=(), **expected: str) -> None:
    """Every page that shows the bag is rendered again (and says `expected[page]`, where
    given), but for the `unchanged` ones; every other page stays cached."""
    kept = {**world["does not show it"]}
    for name, url in world["shows the bag"].items():
        if name in unchanged:
            kept[name] = url
            continue
        response = visit(client, url)
        assert response["X-Page-Cache"] == "miss", name
        if name.replace(" ", "_") in expected:
            assert expected[name.replace(" ", "_")] in response.content.decode(), name
    for name, url in kept.items():
        assert visit(client, url)["X-Page-Cache"] == "hit", name


def test_reserving_selling_and_refunding_a_piece_renews_only_the_pages_that_show_it(
    client, world, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(stripe_api, "refund_create", lambda **kwargs: None)  # Stripe agrees
    warm(client, world)
    shopper = client.__class__()
    with django_capture_on_commit_callbacks(execute=True):
        shopper.post("/cart/add/", {"item": world["bag"].pk})
        shopper.post("/checkout/", ADDRESS)
    # A hold shows on the piece's cards, and changes no count.
    assert_fresh_and_kept(
        client, world, COUNTS_ONLY, its_shop="Reserved", its_designer="Reserved", home="Reserved"
    )

    warm(client, world)
    order = Order.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(shopper, event_body("payment_intent.succeeded", intent_object(order)))
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert_fresh_and_kept(client, world, its_shop="Sold", its_designer="Sold")
    assert "Kelly bag" not in visit(client, "/").content.decode()  # only pieces for sale

    warm(client, world)
    with django_capture_on_commit_callbacks(execute=True):
        vendor_order_refund(vendor_order=order.vendor_orders.get())
    # Back on sale: the shop page offers it again, and no "Sold" badge is left for it.
    assert_fresh_and_kept(client, world, home="Kelly bag")
    assert "Sold" not in visit(client, world["shows the bag"]["its shop"]).content.decode()


def test_a_designer_count_is_counted_again_only_for_the_designer_whose_piece_changed(
    world, django_assert_num_queries
):
    from products import selectors
    from products.cache import items_changed

    ids = list(selectors.designer_counts())
    selectors.designer_counts(ids)
    with django_assert_num_queries(0):
        before = selectors.designer_counts(ids)
    items_changed([world["bag"].pk])
    # One grouped count, for Hermès alone.
    with django_assert_num_queries(1) as captured:
        after = selectors.designer_counts(ids)
    assert str(world["bag"].designer_id) in captured.captured_queries[0]["sql"]
    assert after == before


@pytest.fixture
def busy_world(world, settings):
    """Eight newer pieces in the other shop, so the bag is not among the home page's new
    arrivals; six shops before the bag's by title, so the home page does not show its shop,
    and `/shops/` lists it on page 2."""
    for n in range(6):
        ShopPageFactory(title=f"Atelier {n}")
    settings.VITRINE_SHOPS_PER_PAGE = 7
    atelier = world["does not show it"]["another shop"]
    shop = ShopPageFactory._meta.model.objects.get(url_path__endswith=atelier.strip("/") + "/")
    for n in range(8):
        ItemPageFactory(parent=shop, title=f"New arrival {n}", designer=DesignerFactory())
    return world


def test_a_sale_keeps_the_home_page_and_shop_index_pages_that_do_not_show_the_piece(
    client, busy_world, django_capture_on_commit_callbacks
):
    home, first, second = "/", "/shops/", "/shops/?page=2"
    for url in (home, first, second):
        visit(client, url)
        assert visit(client, url)["X-Page-Cache"] == "hit", url
    assert "Kelly bag" not in visit(client, home).content.decode()
    assert "Maison Lune" in visit(client, second).content.decode()

    shopper = client.__class__()
    with django_capture_on_commit_callbacks(execute=True):
        shopper.post("/cart/add/", {"item": busy_world["bag"].pk})
        shopper.post("/checkout/", ADDRESS)
        order = Order.objects.get()
        post_webhook(shopper, event_body("payment_intent.succeeded", intent_object(order)))

    assert visit(client, home)["X-Page-Cache"] == "hit"
    assert visit(client, first)["X-Page-Cache"] == "hit"
    assert visit(client, second)["X-Page-Cache"] == "miss"  # its count changed


def test_a_new_piece_renews_the_home_page_at_once(client, busy_world):
    visit(client, "/")
    assert visit(client, "/")["X-Page-Cache"] == "hit"
    bag = busy_world["bag"]
    new = ItemPageFactory(
        parent=bag.get_parent(), title="Birkin just in", designer=bag.designer,
        category=bag.category, live=False, first_published_at=None,
    )  # fmt: skip
    assert visit(client, "/")["X-Page-Cache"] == "hit"  # a draft shows nowhere
    new.save_revision().publish()
    response = visit(client, "/")
    assert response["X-Page-Cache"] == "miss"
    assert "Birkin just in" in response.content.decode()


def test_a_new_arrival_sold_while_the_home_page_reads_it_keeps_the_page_out_of_the_cache(
    client, busy_world, monkeypatch
):
    """The arrivals' ids are read, then each piece's tag, then the rows: a piece sold between
    the first two reads (its tag read after the sale) leaves the page unkept, not stored
    without it for good."""
    from products import selectors
    from products.models import ItemPage

    newest = ItemPage.objects.order_by("-listed_at", "-pk").first()
    real = selectors.item_tag

    def sold_meanwhile(item_id):
        if item_id == newest.pk:
            ItemPage.objects.filter(pk=item_id).update(quantity=0)  # committed, tags moved on
        return real(item_id)

    monkeypatch.setattr(selectors, "item_tag", sold_meanwhile)
    first = visit(client, "/")
    assert newest.title not in first.content.decode()
    assert visit(client, "/").get("X-Page-Cache") != "hit"


def test_a_new_arrival_back_on_sale_after_a_refund_is_on_the_home_page_again(
    client, busy_world, django_capture_on_commit_callbacks, monkeypatch
):
    from products.models import ItemPage

    monkeypatch.setattr(stripe_api, "refund_create", lambda **kwargs: None)  # Stripe agrees
    newest = ItemPage.objects.order_by("-listed_at", "-pk").first()
    shopper = client.__class__()
    with django_capture_on_commit_callbacks(execute=True):
        shopper.post("/cart/add/", {"item": newest.pk})
        shopper.post("/checkout/", ADDRESS)
        order = Order.objects.get()
        post_webhook(shopper, event_body("payment_intent.succeeded", intent_object(order)))
    visit(client, "/")
    assert newest.title not in visit(client, "/").content.decode()  # sold, and kept so

    with django_capture_on_commit_callbacks(execute=True):
        vendor_order_refund(vendor_order=Order.objects.get().vendor_orders.get())
    response = visit(client, "/")
    assert response["X-Page-Cache"] == "miss"
    assert newest.title in response.content.decode()


def test_a_new_arrival_restocked_by_its_shop_is_on_the_home_page_again(
    client, busy_world, django_capture_on_commit_callbacks
):
    from products.models import ItemPage
    from products.services import stock_set

    newest = ItemPage.objects.order_by("-listed_at", "-pk").first()
    with django_capture_on_commit_callbacks(execute=True):
        stock_set(item=newest, quantity=0, by=None)
    visit(client, "/")
    assert newest.title not in visit(client, "/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        stock_set(item=newest, quantity=1, by=None)
    assert newest.title in visit(client, "/").content.decode()


def test_a_hold_while_a_listing_reads_its_cards_is_shown_on_the_kept_page(client, world):
    """A listing reads each card's tag before the card's row: a hold that lands between the
    page's ids and its rows shows on the page that is kept, never a stale 'for sale'."""
    from datetime import timedelta

    from django.utils import timezone

    from products import selectors
    from products.cache import holds_changed
    from products.models import ItemPage

    bag = world["bag"]
    real = selectors.item_tag

    def held_meanwhile(item_id):
        tag = real(item_id)
        if item_id == bag.pk and not ItemPage.objects.filter(pk=bag.pk, held_until__isnull=False):
            until = timezone.now() + timedelta(minutes=10)
            ItemPage.objects.filter(pk=bag.pk).update(held_until=until)
            holds_changed([bag.pk])
        return tag

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(selectors, "item_tag", held_meanwhile)
        visit(client, world["shows the bag"]["its shop"])
    kept = visit(client, world["shows the bag"]["its shop"])
    assert kept["X-Page-Cache"] == "hit"
    assert "Reserved" in kept.content.decode()
