"""Holds are bounded: nobody can hold the catalogue.

Before this, an anonymous session could put 8 pieces in its cart and check out with any email:
all 8 were held for 15 minutes, again and again. Now a checkout holds at most
VITRINE_CHECKOUT_MAX_PIECES, a shopper (session, email or account) has at most
VITRINE_UNPAID_CHECKOUTS_MAX unpaid checkouts at once, and one network holds at most
VITRINE_HOLDS_PER_NETWORK_PER_HOUR pieces an hour; each refusal says why in plain words.
"""

from django.test import Client

import pytest

from orders.models import Order, Reservation
from orders.services import client_key
from products.factories import ItemPageFactory
from vendors.factories import ShopPageFactory

from .helpers import ADDRESS

pytestmark = pytest.mark.django_db


@pytest.fixture
def pieces(site_tree):
    shop = ShopPageFactory(title="Maison Lune", vendor__name="Maison Lune")
    return [ItemPageFactory(parent=shop, title=f"Piece {n}", price="100.00") for n in range(12)]


def shopper(ip="203.0.113.7") -> Client:
    return Client(REMOTE_ADDR=ip)


def check_out(client: Client, items, email=ADDRESS["email"]):
    for item in items:
        client.post("/cart/add/", {"item": item.pk})
    return client.post("/checkout/", {**ADDRESS, "email": email}, follow=True)


def held() -> int:
    return Reservation.objects.filter(status=Reservation.Status.ACTIVE).count()


def test_a_checkout_holds_at_most_five_pieces(pieces):
    page = check_out(shopper(), pieces[:6])
    assert "You can check out at most 5 pieces at once" in page.content.decode()
    assert page.redirect_chain[-1][0] == "/cart/"
    assert Order.objects.count() == 0 and held() == 0
    assert (
        check_out(shopper("203.0.113.8"), pieces[6:11])
        .redirect_chain[-1][0]
        .startswith("/checkout/pay/")
    )
    assert held() == 5


def test_an_email_has_at_most_two_unpaid_checkouts(pieces):
    for n, ip in enumerate(["198.51.100.1", "198.51.100.2"]):
        check_out(shopper(ip), [pieces[n]])
    refused = check_out(shopper("198.51.100.3"), [pieces[2]], email="ADA@example.com")
    assert "You already have 2 checkouts waiting for payment" in refused.content.decode()
    assert Order.objects.count() == 2 and held() == 2
    # Another shopper is not affected.
    check_out(shopper("198.51.100.4"), [pieces[3]], email="grace@example.com")
    assert held() == 3


def test_checking_the_same_cart_out_again_replaces_its_unpaid_checkout(pieces):
    client = shopper()
    check_out(client, pieces[:2])
    first = Order.objects.get()
    again = client.post("/checkout/", ADDRESS, follow=True)
    assert again.redirect_chain[-1][0].startswith("/checkout/pay/")
    first.refresh_from_db()
    assert first.status == Order.Status.CANCELLED
    second = Order.objects.exclude(pk=first.pk).get()
    assert set(second.reservations.values_list("status", flat=True)) == {"active"}
    assert held() == 2


def test_one_network_holds_at_most_ten_pieces_an_hour(pieces):
    for n in range(2):
        check_out(shopper(), pieces[n * 5 : n * 5 + 5], email=f"shopper{n}@example.com")
    assert held() == 10
    refused = check_out(shopper(), [pieces[10]], email="third@example.com")
    assert "reserved from your network" in refused.content.decode()
    assert held() == 10
    # Another network is not affected.
    check_out(shopper("192.0.2.1"), [pieces[10]], email="fourth@example.com")
    assert held() == 11


def test_an_ipv6_network_is_its_slash_64_and_no_address_is_stored():
    assert client_key("2001:db8:1:2::1") == client_key("2001:db8:1:2:ffff::9")
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("203.0.113.7") != client_key("203.0.113.8")
    assert "203.0.113.7" not in client_key("203.0.113.7") and len(client_key("::1")) == 32
    assert client_key("not an address") == client_key(None) == ""


def test_a_held_piece_shows_reserved_until_its_hold_ends(
    pieces, settings, django_capture_on_commit_callbacks
):
    """Checkout marks the piece reserved for pages and the API; the release job, a failed
    payment or a sale ends that, and a cached page is refreshed each time."""
    from datetime import timedelta

    from django.utils import timezone

    from orders import services

    settings.VITRINE_PAGE_CACHE_SECONDS = 300
    piece, pair = pieces[0], pieces[1]
    ItemPageFactory._meta.model.objects.filter(pk=pair.pk).update(quantity=2)
    client = shopper()
    assert "Reserved" not in client.get(piece.url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        check_out(client, [piece, pair])
    order = Order.objects.get()
    piece.refresh_from_db()
    pair.refresh_from_db()
    assert piece.is_reserved and piece.held_until == order.reservations.get(item=piece).expires_at
    assert not pair.is_reserved  # one of two held: still for sale
    assert "Reserved" in shopper("192.0.2.9").get(piece.url).content.decode()

    # The hold runs out: the job releases it and the page says so at once.
    Reservation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        services.reservation_release_expired()
    piece.refresh_from_db()
    assert piece.held_until is None and not piece.is_reserved
    assert "Add to cart" in shopper("192.0.2.9").get(piece.url).content.decode()


def test_a_shop_raising_its_stock_ends_the_reserved_state(pieces):
    from products.services import stock_set

    piece = pieces[0]
    check_out(shopper(), [piece])
    piece.refresh_from_db()
    assert piece.is_reserved
    stock_set(item=piece, quantity=2, by=None, held=1)
    piece.refresh_from_db()
    assert piece.quantity == 2 and piece.held_until is None
