"""Guest orders and the shopper's account. Anyone can type an address at checkout (and a shop can
take a phone order for any address), so a guest order joins an account (order history, export,
erasure) only when the account's holder proves and confirms it is theirs: with the link in the
order's own email, or by ticking it on /account/guest-orders/, which lists the guest orders placed
with the account's verified address. Never on the address alone."""

import json
import re

from django.core import mail
from django.test import Client

import pytest

from accounts import selectors, services, tokens
from accounts.factories import UserFactory
from accounts.models import User
from orders.emails import send_order_email
from orders.factories import OrderFactory, Piece, paid_order
from orders.models import Order
from products.factories import ItemPageFactory
from tests.localstripe import card_token, customer_exists
from vendors.factories import ShopPageFactory, VendorFactory

from .helpers import PASSWORD

pytestmark = pytest.mark.django_db

CHECKOUT = {
    "name": "Mallory Fake",
    "line1": "1 Attacker Road",
    "city": "London",
    "postcode": "E1 1AA",
    "country": "GB",
    "phone": "020 7946 0999",
}


def guest_order(email: str, **fields) -> Order:
    """A paid order placed without signing in, with `email` typed at checkout."""
    return paid_order(
        items=[Piece(VendorFactory(), "100.00")], customer=None, email=email, **fields
    )


def verify(client, user: User):
    """Open the emailed verification link for the user's current address."""
    return client.get(f"/account/verify-email/{tokens.verification_token(user=user)}/", follow=True)


def references(client, path: str = "/account/orders/") -> set[str]:
    html = client.get(path).content.decode()
    return set(re.findall(r"/account/orders/(VT-[A-Z0-9]{8})/", html))


def exported(client) -> dict:
    response = client.get("/account/export/")
    assert response.status_code == 200
    return {order["reference"]: order for order in json.loads(response.content)["orders"]}


def confirm(client, *orders):
    return client.post("/account/guest-orders/", {"reference": [o.reference for o in orders]})


def claim_path(order) -> str:
    return f"/account/guest-orders/{tokens.order_claim_token(order=order)}/"


def message_texts(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def newcomer(db):
    """Ada signed up but has not yet clicked the link in her confirmation email."""
    return UserFactory(username="ada", email="ada@example.com", first_name="Ada")


@pytest.fixture
def newcomer_client(client, newcomer):
    client.force_login(newcomer)
    return client


# --- An address alone joins nothing ---------------------------------------------------------------


def test_a_guest_checkout_with_a_verified_customers_address_stays_out_of_their_account(
    client, site_tree, shopper, other
):
    """The reported hole: Mallory checks out as a guest with Ada's (verified) address and a
    fake delivery address. The order must not show up in Ada's account, export or erasure."""
    piece = ItemPageFactory(title="Cognac tote", price="1250.00")
    client.post("/cart/add/", {"item": piece.pk})
    response = client.post("/checkout/", {"email": "ADA@example.com", **CHECKOUT})
    assert response.status_code == 302
    order = Order.objects.get()
    assert order.customer is None
    assert client.get(f"/checkout/pay/{order.reference}/").status_code == 200  # still the guest's

    ada = Client()
    ada.force_login(shopper)
    assert order.reference not in references(ada)
    assert ada.get(f"/account/orders/{order.reference}/").status_code == 404
    assert order.reference not in exported(ada)
    assert "Attacker Road" not in ada.get("/account/export/").content.decode()
    # Ada is offered it to confirm, without its delivery details.
    listing = ada.get("/account/guest-orders/").content.decode()
    assert order.reference in listing and "£1,250.00" in listing
    assert "Attacker Road" not in listing and "Mallory" not in listing
    assert (
        "placed as a guest with your email address" in ada.get("/account/orders/").content.decode()
    )

    ada.post("/account/delete/", {"password": PASSWORD, "confirm": "on"})
    order.refresh_from_db()
    assert (order.customer, order.email, order.shipping_line1) == (
        None, "ADA@example.com", "1 Attacker Road",
    )  # fmt: skip


def test_verifying_an_address_links_nothing_and_points_to_the_guest_orders(
    newcomer_client, newcomer
):
    order = guest_order("ADA@Example.COM")
    response = verify(newcomer_client, newcomer)
    assert response.redirect_chain[-1][0] == "/account/guest-orders/"
    assert message_texts(response) == [
        "Thank you: your email address is confirmed. We found an earlier order placed as a guest "
        "with this address: if it is yours, add it to your account under Guest orders."
    ]
    order.refresh_from_db()
    assert order.customer is None
    assert order.reference not in references(newcomer_client)
    assert order.reference in response.content.decode()


def test_an_unverified_account_is_offered_nothing_and_can_confirm_nothing(
    newcomer_client, newcomer
):
    order = guest_order("ada@example.com")
    assert not selectors.guest_orders_to_confirm(user=newcomer).exists()
    response = newcomer_client.get("/account/guest-orders/")
    assert order.reference not in response.content.decode()
    assert "Confirm your email address first" in response.content.decode()
    confirm(newcomer_client, order)
    order.refresh_from_db()
    assert order.customer is None
    assert newcomer_client.get(claim_path(order)).status_code == 403
    order.refresh_from_db()
    assert order.customer is None


def test_changing_to_someones_address_without_verifying_it_claims_nothing(signed_in, shopper):
    theirs = guest_order("victim@example.com", shipping_line1="1 Secret Lane")
    response = signed_in.post(
        "/account/email/", {"email": "victim@example.com", "current_password": PASSWORD}
    )
    assert response.status_code == 302
    confirm(signed_in, theirs)
    assert signed_in.get(claim_path(theirs)).status_code == 403
    theirs.refresh_from_db()
    assert theirs.customer is None
    assert "Secret Lane" not in signed_in.get("/account/export/").content.decode()


# --- (b) The account holder confirms on /account/guest-orders/ -----------------------------------


def test_the_holder_adds_the_orders_they_tick(signed_in, shopper):
    shouted = guest_order("ADA@Example.COM", shipping_line1="7 Guest Street")
    unpaid = OrderFactory(email="ada@example.com")  # pending: offered all the same
    not_mine = guest_order("ada@example.com")
    others = [
        guest_order("grace@example.com"),
        guest_order("ada@example.co"),
        guest_order("xada@example.com"),
    ]
    erased = guest_order("ada@example.com")
    Order.objects.filter(pk=erased.pk).update(email="", shipping_name="", shipping_line1="")

    listing = signed_in.get("/account/guest-orders/").content.decode()
    offered = set(re.findall(r'name="reference" value="(VT-[A-Z0-9]{8})"', listing))
    assert offered == {shouted.reference, unpaid.reference, not_mine.reference}
    assert "7 Guest Street" not in listing

    response = confirm(signed_in, shouted, unpaid)
    assert response.status_code == 302 and response["Location"] == "/account/orders/"
    assert references(signed_in) == {shouted.reference, unpaid.reference}
    detail = signed_in.get(f"/account/orders/{shouted.reference}/")
    assert detail.status_code == 200
    assert exported(signed_in)[shouted.reference]["shipping_address"]["line1"] == "7 Guest Street"
    for order in [not_mine, *others, erased]:
        order.refresh_from_db()
        assert order.customer is None


def test_like_wildcards_in_an_address_match_only_themselves(client):
    user = UserFactory(email="a_b@example.com", verified=True)
    lookalike = guest_order("axb@example.com")
    own = guest_order("A_B@example.com")
    client.force_login(user)
    confirm(client, own, lookalike)
    assert references(client) == {own.reference}
    lookalike.refresh_from_db()
    assert lookalike.customer is None


def test_another_customer_cannot_claim_it(client, shopper, other):
    adas = guest_order("ada@example.com")
    client.force_login(other)
    assert adas.reference not in client.get("/account/guest-orders/").content.decode()
    response = confirm(client, adas)
    assert response["Location"] == "/account/guest-orders/"
    assert (
        "Tick the orders that are yours" in message_texts(client.get("/account/guest-orders/"))[0]
    )
    assert client.get(claim_path(adas)).status_code == 403  # even with Ada's emailed link
    adas.refresh_from_db()
    assert adas.customer is None
    assert adas.reference not in exported(client)


def test_an_order_that_belongs_to_an_account_is_never_moved(signed_in, shopper, other):
    # Grace checked out signed in and typed Ada's address for the receipt.
    graces = paid_order(
        items=[Piece(VendorFactory(), "100.00")], customer=other, email="ada@example.com"
    )
    assert services.guest_orders_confirm(user=shopper, references=[graces.reference]) == 0
    response = signed_in.get(claim_path(graces))
    assert response.status_code == 403
    assert "already in another account" in response.content.decode()
    graces.refresh_from_db()
    assert graces.customer_id == other.pk


@pytest.mark.parametrize(
    "posted", [[], [""], ["x" * 10_000], ["VT-NOPE0000"], ["'; DROP TABLE orders; --"]]
)
def test_odd_posts_add_nothing_and_never_fail(signed_in, shopper, posted):
    order = guest_order("ada@example.com")
    response = signed_in.post("/account/guest-orders/", {"reference": posted})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.customer is None


def test_an_order_kept_for_delivery_after_an_erasure_is_not_offered(signed_in, shopper):
    order = guest_order("ada@example.com")
    Order.objects.filter(pk=order.pk).update(erase_when_fulfilled_at="2025-01-01T00:00:00Z")
    assert not selectors.guest_orders_to_confirm(user=shopper).exists()
    assert signed_in.get(claim_path(order)).status_code == 403


# --- (a) The link in the order's own email --------------------------------------------------------


def test_the_order_email_carries_a_link_that_adds_the_order(client, shopper):
    order = guest_order("Ada@Example.com", shipping_line1="7 Guest Street")
    mail.outbox.clear()
    send_order_email.call(kind="paid", order_id=order.pk)  # the shop's receipt goes too
    (message,) = [m for m in mail.outbox if m.to == ["Ada@Example.com"]]
    path = re.search(r"https?://[^/\s]+(/account/guest-orders/[^\s\"<]+)", message.body).group(1)
    assert path in message.alternatives[0][0]

    # Not signed in: sign in first, then back to the link.
    response = client.get(path)
    assert response.status_code == 302 and response["Location"].startswith("/account/login/")
    client.force_login(shopper)
    page = client.get(path)
    assert page.status_code == 200 and order.reference in page.content.decode()
    assert "7 Guest Street" not in page.content.decode()
    order.refresh_from_db()
    assert order.customer is None, "a GET (a mail scanner) adds nothing"

    response = client.post(path)
    assert response.status_code == 302
    assert response["Location"] == f"/account/orders/{order.reference}/"
    order.refresh_from_db()
    assert order.customer == shopper
    assert exported(client)[order.reference]["shipping_address"]["line1"] == "7 Guest Street"
    # Opening it again only says so.
    response = client.post(path)
    assert response["Location"] == f"/account/orders/{order.reference}/"


def test_a_customers_order_email_has_no_such_link(shopper):
    order = paid_order(
        items=[Piece(VendorFactory(), "100.00")], customer=shopper, email="ada@example.com"
    )
    mail.outbox.clear()
    send_order_email.call(kind="paid", order_id=order.pk)
    assert mail.outbox
    assert not any("/account/guest-orders/" in m.body for m in mail.outbox)


def test_a_forged_or_other_mailbox_link_adds_nothing(client, shopper, other):
    adas = guest_order("ada@example.com")
    graces = guest_order("grace@example.com")
    client.force_login(shopper)

    forged = claim_path(adas)[:-5] + "xxxx/"
    response = client.post(forged)
    assert response.status_code == 400
    # Another mailbox's link: Grace's order, opened by Ada.
    response = client.post(claim_path(graces))
    assert response.status_code == 403
    assert "another email address" in response.content.decode()
    # A link from the old address of an order whose address has since changed.
    stale = claim_path(adas)
    Order.objects.filter(pk=adas.pk).update(email="ada.new@example.com")
    assert client.post(stale).status_code == 400
    # A token made for something else (the verification link) is no claim link.
    assert (
        client.post(f"/account/guest-orders/{tokens.verification_token(user=shopper)}/").status_code
        == 400
    )
    for order in (adas, graces):
        order.refresh_from_db()
        assert order.customer is None


# --- The whole path, and erasure --------------------------------------------------------------------


def test_guest_checkout_then_sign_up_verify_and_confirm_through_the_site(
    client, site_tree, stripe_settings, localstripe, django_capture_on_commit_callbacks
):
    """The whole path as a shopper takes it: buy as a guest, pay, sign up later, click the
    emailed link, confirm the order is theirs, find it in the account and the export."""
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
    (message,) = mail.outbox
    link = re.search(r"https?://[^/\s]+(/account/verify-email/[^\s\"<]+)", message.body).group(1)
    response = client.get(link, follow=True)
    assert "We found an earlier order placed as a guest" in response.content.decode()
    assert references(client) == set()

    # Sign-up does not sign in: the link confirms the address, then the shopper signs in
    # and says which guest orders are theirs.
    client.post("/account/login/", {"username": "ada", "password": "analytical engine notes"})
    assert references(client) == set()
    response = confirm(client, order)
    assert references(client) == {order.reference}
    assert "Cognac tote" in client.get(f"/account/orders/{order.reference}/").content.decode()
    (data,) = exported(client).values()
    assert data["reference"] == order.reference and data["total"] == "1250.00"
    assert data["shipping_address"]["line1"] == "12 St James's Square"


def test_confirmed_guest_orders_are_erased_with_their_stripe_customer(
    signed_in, shopper, stripe_settings, localstripe
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
    unconfirmed = guest_order("ada@example.com", shipping_line1="1 Someone Else's Street")
    confirm(signed_in, order)
    delete_page = signed_in.get("/account/delete/").content.decode()
    assert 'id="guest-orders-not-added"' in delete_page

    response = signed_in.post("/account/delete/", {"password": PASSWORD, "confirm": "on"})
    assert response.status_code == 302 and response["Location"] == "/"

    order.refresh_from_db()
    assert order.customer is None and order.total == 100 and order.shipping_country == "GB"
    assert (order.email, order.shipping_name, order.shipping_line1, order.shipping_city,
            order.shipping_postcode, str(order.shipping_phone),
            order.stripe_customer_id) == ("", "", "", "", "", "", "")  # fmt: skip
    assert not customer_exists(localstripe, customer_id)
    unconfirmed.refresh_from_db()
    assert unconfirmed.email == "ada@example.com"
    assert unconfirmed.shipping_line1 == "1 Someone Else's Street"


def test_orders_confirmed_before_an_address_change_stay_with_their_account(signed_in, shopper):
    """Ada confirms an order, then moves to a new address; whoever verifies her old address
    next (a new account) is offered only guest orders not added yet."""
    claimed = guest_order("ada@example.com")
    confirm(signed_in, claimed)
    signed_in.post("/account/email/", {"email": "ada@new.example", "current_password": PASSWORD})
    unclaimed = guest_order("ada@example.com")

    successor = UserFactory(username="ada2", email="ada@example.com", verified=True)
    assert list(selectors.guest_orders_to_confirm(user=successor)) == [unclaimed]
    client = Client()
    client.force_login(successor)
    confirm(client, claimed, unclaimed)
    claimed.refresh_from_db()
    unclaimed.refresh_from_db()
    assert claimed.customer_id == shopper.pk and unclaimed.customer_id == successor.pk
