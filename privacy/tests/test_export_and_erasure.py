"""Export, erasure, and no personal data in cookies."""

import json

from django.contrib.sessions.models import Session
from django.test import Client

import pytest

from accounts import services as account_services
from accounts.factories import AddressFactory, UserFactory
from accounts.models import Address, ConsentRecord, User, UserSession
from accounts.tests.helpers import PASSWORD, make_order
from orders import stripe_api
from orders.models import Order
from privacy import services
from products.factories import ItemPageFactory
from tests.localstripe import customer_exists
from vendors.factories import ShopPageFactory

pytestmark = pytest.mark.django_db


# --- Export --------------------------------------------------------------------------------------


def test_export_is_a_json_download_of_everything_we_hold(signed_in, shopper):
    AddressFactory(user=shopper, line1="7 Own Street")
    order = make_order(customer=shopper)
    account_services.preferences_update(
        user=shopper, changes={"promotional_emails": True}, source="form"
    )
    account_services.pii_access_record(
        customer=shopper,
        viewer=UserFactory(first_name="Cas", last_name="Agent"),
        what="customer record",
        path="/admin/customers/1/",
    )
    response = signed_in.get("/account/export/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"].startswith('attachment; filename="vitrine-account-')
    data = json.loads(response.content)
    assert data["profile"]["email"] == "ada@example.com" and data["profile"]["username"] == "ada"
    assert data["addresses"][0]["line1"] == "7 Own Street"
    (exported,) = data["orders"]
    assert exported["reference"] == order.reference and exported["total"] == "100.00"
    assert exported["shops"][0]["lines"][0]["title"].startswith("Piece from")
    assert {"what": "promotional_emails", "old": False, "new": True, "how": "form"}.items() <= data[
        "consents"
    ][0].items()
    assert data["access_log"][0]["who"] == "Cas Agent"
    assert data["preferences"]["promotional_emails"] is True


def test_export_holds_nobody_elses_data(signed_in, other):
    AddressFactory(user=other, line1="1 Secret Lane")
    make_order(customer=other)
    body = signed_in.get("/account/export/").content.decode()
    assert "Secret Lane" not in body and "grace" not in body


# --- Erasure -------------------------------------------------------------------------------------


def test_erasure_needs_the_password(signed_in, shopper):
    response = signed_in.post("/account/delete/", {"password": "wrong", "confirm": "on"})
    assert response.status_code == 200 and "not your password" in response.content.decode()
    shopper.refresh_from_db()
    assert shopper.email == "ada@example.com" and shopper.is_active


def test_erasure_removes_personal_data_keeps_accounts_and_deletes_stripe_customer(
    shopper, stripe_settings, localstripe
):
    customer_id = stripe_api.customer_create(
        email=shopper.email, idempotency_key=f"erase-{shopper.pk}"
    )
    User.objects.filter(pk=shopper.pk).update(stripe_customer_id=customer_id, phone="+447911123456")
    assert customer_exists(localstripe, customer_id)
    AddressFactory(user=shopper)
    # Delivered: nothing left to send (an order on its way: test_erasure_in_flight.py).
    order = make_order(
        customer=shopper, stripe_customer_id=customer_id, call_note="rang at 3",
        vendor_status="delivered",
    )  # fmt: skip
    account_services.preferences_update(
        user=shopper, changes={"promotional_emails": True}, source="form"
    )
    here, laptop = Client(), Client()
    for client in (here, laptop):
        assert (
            client.post("/account/login/", {"username": "ada", "password": PASSWORD}).status_code
            == 302
        )
    assert UserSession.objects.filter(user=shopper).count() == 2

    response = here.post("/account/delete/", {"password": PASSWORD, "confirm": "on"})
    assert response.status_code == 302 and response["Location"] == "/"

    user = User.objects.get(pk=shopper.pk)
    assert user.erased_at and not user.is_active and not user.has_usable_password()
    assert (
        user.first_name,
        user.last_name,
        user.email,
        str(user.phone),
        user.stripe_customer_id,
    ) == ("", "", "", "", "")
    assert user.username.startswith("erased-") and "ada" not in user.username
    assert not Address.objects.filter(user=user).exists()
    assert not UserSession.objects.exists()
    assert not any("_auth_user_id" in session.get_decoded() for session in Session.objects.all())
    assert laptop.get("/account/").status_code == 302

    order.refresh_from_db()
    assert order.total == 100 and order.vendor_orders.get().lines.count() == 1
    assert order.customer is None and order.shipping_country == "GB"
    assert (order.email, order.shipping_name, order.shipping_line1, order.shipping_city,
            order.shipping_postcode, str(order.shipping_phone), order.call_note,
            order.stripe_customer_id) == ("", "", "", "", "", "", "", "")  # fmt: skip
    assert not customer_exists(localstripe, customer_id)

    # Consent history kept, anonymous: the account row it points to holds no personal data.
    assert ConsentRecord.objects.filter(user=user, source="erasure", new_value=False).count() == 2
    assert not user.promotional_emails and not user.order_status_emails
    assert (
        Client().post("/account/login/", {"username": "ada", "password": PASSWORD}).status_code
        == 200
    )

    # Safe to run again: nothing changes, Stripe's "already gone" is fine.
    again = services.account_erase(user=user)
    assert again.username == user.username and again.erased_at == user.erased_at
    assert ConsentRecord.objects.filter(user=user, source="erasure").count() == 2


def test_the_shoppers_testimonials_are_exported_and_go_with_the_account(
    signed_in, shopper, other, site_tree
):
    """A testimonial holds the shopper's words, the name and place they chose to show; a
    policy acknowledgement says when they read a notice. Both are theirs to take and erase."""
    from orders.factories import Piece, paid_order
    from policies import services as policy_services
    from policies.factories import PolicyPageFactory, policy_publish
    from policies.models import PolicyAcknowledgement, Testimonial
    from vendors.factories import VendorFactory

    def testimonial(customer, quote):
        order = paid_order(items=[Piece(VendorFactory(name=f"Shop of {quote}"), "100.00")],
                           customer=customer, vendor_status="delivered")  # fmt: skip
        token = policy_services.testimonial_link_token(vendor_order=order.vendor_orders.get())
        return policy_services.testimonial_submit(
            token=token, quote=quote, display_name="Ada L.", location="Bath", consent=True
        )

    mine, theirs = testimonial(shopper, "Beautifully packed."), testimonial(other, "Lovely.")
    mine.save_revision().publish()
    change = policy_publish(PolicyPageFactory(title="Privacy policy", slug="privacy"), note="New.")
    for user in (shopper, other):
        policy_services.policy_acknowledge(user=user, change=change)

    (exported,) = json.loads(signed_in.get("/account/export/").content)["testimonials"]
    assert exported["quote"] == "Beautifully packed." and exported["name_shown"] == "Ada L."
    assert exported["location"] == "Bath" and exported["published"] is True
    assert exported["shop"] == "Shop of Beautifully packed." and exported["consent_given_at"]

    response = signed_in.post("/account/delete/", {"password": PASSWORD, "confirm": "on"})
    assert response.status_code == 302
    assert list(Testimonial.objects.all()) == [theirs]
    assert list(PolicyAcknowledgement.objects.values_list("user", flat=True)) == [other.pk]


def test_erasure_stops_before_touching_data_when_stripe_is_unreachable(
    signed_in, shopper, settings
):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens
    settings.STRIPE_SECRET_KEY = "sk_test_vitrine"
    User.objects.filter(pk=shopper.pk).update(stripe_customer_id="cus_unreachable")
    response = signed_in.post("/account/delete/", {"password": PASSWORD, "confirm": "on"})
    assert response.status_code == 302 and response["Location"] == "/account/delete/"
    shopper.refresh_from_db()
    assert shopper.email == "ada@example.com" and shopper.erased_at is None


# --- Cookies -------------------------------------------------------------------------------------


def test_no_cookie_ever_carries_personal_data(site_tree):
    shop = ShopPageFactory(title="Maison Lune", vendor__name="Maison Lune")
    item = ItemPageFactory(parent=shop, title="Cognac tote", price="1250.00")
    client = Client()
    # Each at least four characters: a random session key contains a given three-letter word
    # about once in 1,500 keys (the test once failed on "ada" inside one).
    personal = [
        "augusta",
        "lovelace",
        "ada@example.com",
        "st james",
        "sw1y",
        "7911",
        "447911123456",
        "london",
    ]
    seen = []

    def collect(response):
        for morsel in response.cookies.values():
            seen.append((morsel.key, morsel.value))
            if morsel.value and morsel.key != "csrftoken":
                assert morsel["httponly"], morsel.key

    collect(client.get("/account/signup/"))
    collect(
        client.post(
            "/account/signup/",
            {
                "first_name": "Augusta", "last_name": "Lovelace", "email": "ada@example.com",
                "username": "augusta", "phone": "07911 123456",
                "password1": "analytical engine notes", "password2": "analytical engine notes",
            },
        )
    )  # fmt: skip
    collect(client.post("/account/logout/"))
    collect(client.get("/account/login/"))
    collect(
        client.post(
            "/account/login/",
            {"username": "ada@example.com", "password": "analytical engine notes"},
        )
    )
    collect(client.post("/cart/add/", {"item": item.pk}))
    collect(client.get("/checkout/"))
    collect(
        client.post(
            "/checkout/",
            {
                "email": "ada@example.com", "name": "Augusta Lovelace", "line1": "12 St James's Square",
                "line2": "", "city": "London", "postcode": "SW1Y 4JH", "country": "GB",
                "phone": "07911 123456",
            },
        )
    )  # fmt: skip
    assert Order.objects.count() == 1
    assert {key for key, _ in seen} <= {"sessionid", "csrftoken", "messages"} and "sessionid" in {
        k for k, _ in seen
    }
    for key, value in seen:
        lowered = value.lower()
        for word in personal:
            assert word not in lowered, (key, word)
        if key == "sessionid" and value:  # empty when logout deletes the cookie
            assert (
                len(value) == 32 and value.isalnum()
            )  # an opaque key, the data stays on the server
    assert "messages" not in {key for key, _ in seen}  # messages are stored server-side too
