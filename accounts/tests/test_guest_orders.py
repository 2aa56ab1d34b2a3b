"""Guest orders and the shopper's account: orders placed without signing in, with an address the
account later verifies, join that account (order history, export, erasure). Only a verified
address claims orders, and an order that belongs to an account is never moved."""

import json
import re

from django.core import mail
from django.test import Client

import pytest

from accounts import services, tokens
from accounts.factories import UserFactory
from accounts.models import User
from orders.factories import OrderFactory, Piece, paid_order
from orders.models import Order
from orders.tests.localstripe import card_token, customer_exists
from products.factories import ItemPageFactory
from vendors.factories import ShopPageFactory, VendorFactory

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db


def guest_order(email: str, **fields) -> Order:
    """A paid order placed without signing in, with `email` typed at checkout."""
    return paid_order(
        items=[Piece(VendorFactory(), "100.00")], customer=None, email=email, **fields
    )


def verify(client, user: User):
    """Open the emailed verification link for the user's current address."""
    return client.get(f"/account/verify-email/{tokens.verification_token(user=user)}/", follow=True)


def references(client, path: str = "/account/orders/") -> set[str]:
    return set(re.findall(r"VT-[A-Z0-9]{8}", client.get(path).content.decode()))


def exported(client) -> dict:
    response = client.get("/account/export/")
    assert response.status_code == 200
    return {order["reference"]: order for order in json.loads(response.content)["orders"]}


@pytest.fixture
def newcomer(db):
    """Ada signed up but has not yet clicked the link in her confirmation email."""
    return UserFactory(username="ada", email="ada@example.com", first_name="Ada")


@pytest.fixture
def newcomer_client(client, newcomer):
    client.force_login(newcomer)
    return client


# --- Only a verified address claims orders -------------------------------------------------------


def test_an_unverified_account_does_not_see_guest_orders_with_its_address(
    newcomer_client, newcomer
):
    order = guest_order("ada@example.com")

    assert order.reference not in references(newcomer_client)
    assert newcomer_client.get(f"/account/orders/{order.reference}/").status_code == 404
    assert order.reference not in exported(newcomer_client)
    assert services.guest_orders_claim(user=newcomer) == 0
    order.refresh_from_db()
    assert order.customer is None


def test_changing_to_someones_address_without_verifying_it_claims_nothing(signed_in, shopper):
    theirs = guest_order("victim@example.com", shipping_line1="1 Secret Lane")
    response = signed_in.post(
        "/account/email/", {"email": "victim@example.com", "current_password": PASSWORD}
    )
    assert response.status_code == 302
    shopper.refresh_from_db()
    assert not shopper.email_verified

    assert theirs.reference not in references(signed_in)
    assert "Secret Lane" not in signed_in.get("/account/export/").content.decode()
    theirs.refresh_from_db()
    assert theirs.customer is None


def test_erasing_an_unverified_account_leaves_guest_orders_with_its_address_alone(
    newcomer_client, newcomer
):
    order = guest_order("ada@example.com")
    response = newcomer_client.post("/account/delete/", {"password": PASSWORD, "confirm": "on"})
    assert response.status_code == 302
    order.refresh_from_db()
    assert (order.customer, order.email, order.shipping_line1) == (
        None, "ada@example.com", "12 St James's Square",
    )  # fmt: skip


# --- Verification links them ---------------------------------------------------------------------


def test_verification_links_guest_orders_with_the_address_in_any_letter_case(
    newcomer_client, newcomer
):
    shouted = guest_order("ADA@Example.COM")
    unpaid = OrderFactory(email="ada@example.com")  # pending: it holds her address all the same
    others = [
        guest_order("grace@example.com"),
        guest_order("ada@example.co"),
        guest_order("ada.lovelace@example.com"),
        guest_order("xada@example.com"),
    ]
    erased = guest_order("ada@example.com")
    Order.objects.filter(pk=erased.pk).update(email="", shipping_name="", shipping_line1="")

    response = verify(newcomer_client, newcomer)

    assert response.status_code == 200
    assert (
        "Thank you: your email address is confirmed. We found 2 earlier orders placed with this "
        "address and added them to Your orders."
    ) in [str(message) for message in response.context["messages"]]
    newcomer.refresh_from_db()
    assert newcomer.email_verified
    assert references(newcomer_client) == {shouted.reference, unpaid.reference}
    detail = newcomer_client.get(f"/account/orders/{shouted.reference}/")
    assert detail.status_code == 200 and "12 St James" in detail.content.decode()
    for order in [*others, erased]:
        order.refresh_from_db()
        assert order.customer is None


def test_like_wildcards_in_an_address_match_only_themselves(client):
    user = UserFactory(email="a_b@example.com")
    lookalike = guest_order("axb@example.com")
    own = guest_order("A_B@example.com")
    client.force_login(user)
    verify(client, user)
    assert references(client) == {own.reference}
    lookalike.refresh_from_db()
    assert lookalike.customer is None


def test_a_single_order_is_announced_in_the_singular(newcomer_client, newcomer):
    guest_order("ada@example.com")
    response = verify(newcomer_client, newcomer)
    messages = [str(message) for message in response.context["messages"]]
    assert any(
        "We found an earlier order placed with this address and added it" in m for m in messages
    )


def test_someone_else_signed_in_is_not_told_about_the_orders(client, newcomer, other):
    order = guest_order("ada@example.com")
    client.force_login(other)
    response = verify(client, newcomer)
    messages = [str(message) for message in response.context["messages"]]
    assert messages == ["Thank you: your email address is confirmed."]
    order.refresh_from_db()
    assert order.customer_id == newcomer.pk  # the link holder verified Ada's address, not Grace's
    assert order.reference not in references(client)


def test_guest_checkout_then_sign_up_and_verify_through_the_site(
    client, site_tree, stripe_settings, localstripe, django_capture_on_commit_callbacks
):
    """The whole path as a shopper takes it: buy as a guest, pay, sign up later, click the
    emailed link, find the order in the account, and the export holds it."""
    shop = ShopPageFactory(title="Maison Lune", vendor__name="Maison Lune")
    piece = ItemPageFactory(parent=shop, title="Cognac tote", price="1250.00")
    client.post("/cart/add/", {"item": piece.pk})
    response = client.post(
        "/checkout/",
        {
            "email": "Ada@Example.com",
            "name": "Ada Lovelace",
            "line1": "12 St James's Square",
            "city": "London",
            "postcode": "SW1Y 4JH",
            "country": "GB",
            "phone": "020 7946 0123",
        },
    )
    assert response.status_code == 302
    order = Order.objects.get()
    assert order.customer is None
    response = client.post(
        f"/checkout/pay/{order.reference}/", {"card_token": card_token(localstripe)}
    )
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == Order.Status.PAID and order.customer is None

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/account/signup/",
            {
                "first_name": "Ada",
                "last_name": "Lovelace",
                "email": "ada@example.com",
                "username": "ada",
                "password1": "analytical engine notes",
                "password2": "analytical engine notes",
            },
        )
    assert order.reference not in references(client)  # not until the address is confirmed
    (message,) = mail.outbox
    link = re.search(r"https?://[^/\s]+(/account/verify-email/[^\s\"<]+)", message.body).group(1)

    response = client.get(link, follow=True)

    # Sign-up does not sign in: the link confirms, then the shopper signs in.
    assert "We found an earlier order placed with this address" in response.content.decode()
    client.post("/account/login/", {"username": "ada", "password": "analytical engine notes"})
    assert references(client) == {order.reference}
    assert "Cognac tote" in client.get(f"/account/orders/{order.reference}/").content.decode()
    (data,) = exported(client).values()
    assert data["reference"] == order.reference and data["total"] == "1250.00"
    assert data["shipping_address"]["line1"] == "12 St James's Square"
    assert data["shops"][0]["lines"][0]["title"] == "Cognac tote"


# --- Export and erasure cover them ---------------------------------------------------------------


def test_linked_guest_orders_are_exported_and_erased_with_their_stripe_customer(
    newcomer_client, newcomer, stripe_settings, localstripe
):
    from orders import stripe_api

    order = guest_order(
        "Ada@Example.com", shipping_line1="7 Guest Street", vendor_status="delivered"
    )
    # A guest's payment made a Stripe Customer for the order (orders.services._stripe_customer_for).
    customer_id = stripe_api.customer_create(
        email=order.email, idempotency_key=f"{order.reference}-customer"
    )
    Order.objects.filter(pk=order.pk).update(stripe_customer_id=customer_id)
    stranger = guest_order("grace@example.com", shipping_line1="1 Secret Lane")
    verify(newcomer_client, newcomer)

    export = exported(newcomer_client)
    assert set(export) == {order.reference}
    assert export[order.reference]["email"] == "Ada@Example.com"
    assert export[order.reference]["shipping_address"]["line1"] == "7 Guest Street"
    assert export[order.reference]["shipping_address"]["phone"] == "+442079460123"

    response = newcomer_client.post("/account/delete/", {"password": PASSWORD, "confirm": "on"})
    assert response.status_code == 302 and response["Location"] == "/"

    order.refresh_from_db()
    assert order.customer is None and order.total == 100 and order.shipping_country == "GB"
    assert (order.email, order.shipping_name, order.shipping_line1, order.shipping_city,
            order.shipping_postcode, str(order.shipping_phone),
            order.stripe_customer_id) == ("", "", "", "", "", "", "")  # fmt: skip
    assert not customer_exists(localstripe, customer_id)
    stranger.refresh_from_db()
    assert stranger.email == "grace@example.com" and stranger.shipping_line1 == "1 Secret Lane"


def test_erasure_also_covers_guest_orders_placed_after_verification(signed_in, shopper):
    """Ada (verified) forgot to sign in at checkout: her erasure must not leave that order's
    address behind."""
    later = guest_order("ADA@example.com", shipping_line1="9 Later Road", vendor_status="delivered")
    response = signed_in.post("/account/delete/", {"password": PASSWORD, "confirm": "on"})
    assert response.status_code == 302
    later.refresh_from_db()
    assert (later.customer, later.email, later.shipping_line1, later.shipping_name) == (
        None, "", "", "",
    )  # fmt: skip


# --- Idempotent, and never moves an order ---------------------------------------------------------


def test_verifying_again_and_changing_the_address_back_links_nothing_twice(
    newcomer_client, newcomer
):
    first = guest_order("ada@example.com")
    verify(newcomer_client, newcomer)
    again = verify(newcomer_client, newcomer)  # the same link opened twice
    assert [str(m) for m in again.context["messages"]] == [
        "Thank you: your email address is confirmed."
    ]

    newcomer_client.post(
        "/account/email/", {"email": "ada@new.example", "current_password": PASSWORD}
    )
    newcomer.refresh_from_db()
    assert newcomer.email == "ada@new.example" and not newcomer.email_verified
    at_new = guest_order("ada@new.example")
    assert references(newcomer_client) == {first.reference}  # the new address is not verified yet
    verify(newcomer_client, newcomer)
    assert references(newcomer_client) == {first.reference, at_new.reference}

    newcomer_client.post(
        "/account/email/", {"email": "ada@example.com", "current_password": PASSWORD}
    )
    newcomer.refresh_from_db()
    back = [str(m) for m in verify(newcomer_client, newcomer).context["messages"]]
    assert "Thank you: your email address is confirmed." in back
    assert not any("earlier order" in message for message in back)
    assert references(newcomer_client) == {first.reference, at_new.reference}
    assert Order.objects.filter(customer=newcomer).count() == 2
    assert services.guest_orders_claim(user=newcomer) == 0


def test_an_order_that_belongs_to_another_account_is_never_moved(newcomer_client, newcomer, other):
    # Grace checked out signed in and typed Ada's address for the receipt.
    graces = paid_order(
        items=[Piece(VendorFactory(), "100.00")], customer=other, email="ada@example.com"
    )
    verify(newcomer_client, newcomer)
    graces.refresh_from_db()
    assert graces.customer_id == other.pk
    assert graces.reference not in references(newcomer_client)
    assert graces.reference not in exported(newcomer_client)


def test_orders_claimed_before_an_address_change_stay_with_their_account(newcomer_client, newcomer):
    """Ada claims her orders, then moves to a new address; whoever verifies her old address
    next (a new account) gets only guest orders not claimed yet."""
    claimed = guest_order("ada@example.com")
    verify(newcomer_client, newcomer)
    newcomer_client.post(
        "/account/email/", {"email": "ada@new.example", "current_password": PASSWORD}
    )
    unclaimed = guest_order("ada@example.com")

    successor = UserFactory(username="ada2", email="ada@example.com")
    client = Client()
    client.force_login(successor)
    verify(client, successor)

    claimed.refresh_from_db()
    unclaimed.refresh_from_db()
    assert claimed.customer_id == newcomer.pk and unclaimed.customer_id == successor.pk
    assert references(client) == {unclaimed.reference}
    assert claimed.reference in references(newcomer_client)


# --- Linking a new guest order at placement (orders.services._order_create) -----------------------


def test_checking_out_as_a_guest_with_a_verified_address_puts_the_order_in_that_account(
    client, site_tree, shopper, other
):
    piece = ItemPageFactory(title="Cognac tote", price="1250.00")
    client.post("/cart/add/", {"item": piece.pk})
    response = client.post(
        "/checkout/",
        {"email": "ADA@example.com", "name": "Ada Lovelace", "line1": "12 St James's Square",
         "city": "London", "postcode": "SW1Y 4JH", "country": "GB", "phone": "020 7946 0123"},
    )  # fmt: skip
    assert response.status_code == 302
    order = Order.objects.get()
    assert order.customer == shopper
    # The guest keeps paying as a guest (their session), and the account holder sees the order.
    assert client.get(f"/checkout/pay/{order.reference}/").status_code == 200
    owner = Client()
    owner.force_login(shopper)
    assert references(owner) == {order.reference}
    stranger = Client()
    stranger.force_login(other)
    assert stranger.get(f"/account/orders/{order.reference}/").status_code == 404


def test_a_new_guest_order_links_to_the_verified_account_with_its_address(shopper):
    order = OrderFactory(email="Ada@EXAMPLE.com")
    assert services.guest_order_link(order=order) == shopper
    order.refresh_from_db()
    assert order.customer == shopper


@pytest.mark.parametrize(
    "account",
    [
        {"verified": False},
        {"verified": True, "is_active": False},
        {"verified": True, "erased_at": "2025-01-01T00:00:00Z"},
    ],
    ids=["unverified", "inactive", "erased"],
)
def test_a_new_guest_order_does_not_link_to_an_account_that_cannot_claim(account):
    UserFactory(email="ada@example.com", **account)
    order = OrderFactory(email="ada@example.com")
    assert services.guest_order_link(order=order) is None
    order.refresh_from_db()
    assert order.customer is None


def test_linking_a_new_order_never_moves_one_that_has_an_account(shopper, other):
    order = OrderFactory(customer=other, email="ada@example.com")
    assert services.guest_order_link(order=order) is None
    stale = Order.objects.get(pk=order.pk)
    stale.customer = None  # a copy read before someone else linked it
    assert services.guest_order_link(order=stale) is None
    order.refresh_from_db()
    assert order.customer == other
