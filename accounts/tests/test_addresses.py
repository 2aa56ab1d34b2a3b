"""The address book, and that nobody can see, change or use another shopper's address —
including by forging an id at checkout."""

from django.db import IntegrityError, transaction

import pytest

from accounts.factories import AddressFactory
from accounts.models import Address
from orders.models import Order
from products.factories import ItemPageFactory
from vendors.factories import ShopPageFactory

pytestmark = pytest.mark.django_db

NEW = {
    "label": "Home",
    "name": "Ada Lovelace",
    "line1": "12 St James's Square",
    "line2": "",
    "city": "London",
    "postcode": "sw1y 4jh",
    "country": "GB",
    "phone": "020 7946 0123",
}


def test_add_an_address_normalised_and_first_one_is_default(signed_in, shopper):
    response = signed_in.post("/account/addresses/add/", NEW)
    assert response.status_code == 302 and response["Location"] == "/account/addresses/"
    address = Address.objects.get(user=shopper)
    assert address.postcode == "SW1Y 4JH"
    assert str(address.phone) == "+442079460123"
    assert address.is_default_shipping and address.is_default_billing
    page = signed_in.get("/account/addresses/").content.decode()
    assert "12 St James&#x27;s Square" in page and "Default delivery" in page


@pytest.mark.parametrize(
    "country, postcode, ok",
    [
        ("GB", "SW1A 1AA", True),
        ("GB", "12345", False),
        ("US", "10001", True),
        ("US", "SW1A 1AA", False),
        ("NL", "1012 AB", True),
        ("FR", "7500", False),
    ],
)
def test_postcode_is_checked_for_the_country(signed_in, country, postcode, ok):
    phone = "" if country != "GB" else NEW["phone"]
    response = signed_in.post(
        "/account/addresses/add/", {**NEW, "country": country, "postcode": postcode, "phone": phone}
    )
    assert (response.status_code == 302) is ok
    if not ok:
        assert "Please enter" in response.content.decode()


def test_phone_is_read_in_the_address_country(signed_in, shopper):
    response = signed_in.post(
        "/account/addresses/add/",
        {**NEW, "country": "FR", "postcode": "75001", "phone": "01 42 68 53 00"},
    )
    assert response.status_code == 302
    assert str(Address.objects.get(user=shopper).phone) == "+33142685300"
    bad = signed_in.post("/account/addresses/add/", {**NEW, "phone": "123"})
    assert "valid phone number" in bad.content.decode()


def test_edit_and_delete_own_address(signed_in, shopper):
    address = AddressFactory(user=shopper)
    response = signed_in.post(
        f"/account/addresses/{address.pk}/edit/", {**NEW, "city": "Bath", "postcode": "BA1 1LT"}
    )
    assert response.status_code == 302
    address.refresh_from_db()
    assert address.city == "Bath"
    assert signed_in.post(f"/account/addresses/{address.pk}/delete/").status_code == 302
    assert not Address.objects.filter(pk=address.pk).exists()


def test_one_default_of_each_kind_per_shopper(signed_in, shopper):
    first = AddressFactory(user=shopper, is_default_shipping=True, is_default_billing=True)
    second = AddressFactory(user=shopper)
    signed_in.post(f"/account/addresses/{second.pk}/default/shipping/")
    first.refresh_from_db()
    second.refresh_from_db()
    assert second.is_default_shipping and not first.is_default_shipping
    assert first.is_default_billing and not second.is_default_billing
    signed_in.post(f"/account/addresses/{second.pk}/edit/", {**NEW, "is_default_billing": "on"})
    assert list(Address.objects.filter(user=shopper, is_default_billing=True)) == [second]


def test_the_database_refuses_two_defaults():
    address = AddressFactory(is_default_shipping=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        AddressFactory(user=address.user, is_default_shipping=True)


def test_another_shoppers_address_is_invisible_and_untouchable(signed_in, other):
    theirs = AddressFactory(user=other, line1="1 Secret Lane")
    assert "Secret Lane" not in signed_in.get("/account/addresses/").content.decode()
    assert signed_in.get(f"/account/addresses/{theirs.pk}/edit/").status_code == 404
    assert signed_in.post(f"/account/addresses/{theirs.pk}/edit/", NEW).status_code == 404
    assert signed_in.post(f"/account/addresses/{theirs.pk}/delete/").status_code == 404
    assert signed_in.post(f"/account/addresses/{theirs.pk}/default/shipping/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.line1 == "1 Secret Lane" and not theirs.is_default_shipping


def test_forged_user_field_is_ignored(signed_in, shopper, other):
    signed_in.post("/account/addresses/add/", {**NEW, "user": other.pk})
    assert Address.objects.get().user == shopper


# --- Checkout ------------------------------------------------------------------------------------


@pytest.fixture
def piece(site_tree):
    shop = ShopPageFactory(title="Maison Lune", vendor__name="Maison Lune")
    return ItemPageFactory(parent=shop, title="Cognac tote", price="1250.00")


def test_checkout_offers_own_saved_addresses_and_uses_the_chosen_one(
    signed_in, shopper, other, piece
):
    mine = AddressFactory(user=shopper, line1="7 Own Street", is_default_shipping=True)
    AddressFactory(user=other, line1="1 Secret Lane")
    signed_in.post("/cart/add/", {"item": piece.pk})
    page = signed_in.get("/checkout/")
    html = page.content.decode()
    assert "7 Own Street" in html and "Secret Lane" not in html
    assert page.context["form"]["saved_address"].value() == mine.pk
    response = signed_in.post("/checkout/", {"email": shopper.email, "saved_address": mine.pk})
    assert response.status_code == 302
    order = Order.objects.get()
    assert (order.shipping_line1, order.shipping_postcode, order.customer) == (
        "7 Own Street",
        "SW1Y 4JH",
        shopper,
    )
    assert order.shipping_phone.as_e164 == "+442079460123"


def test_checkout_refuses_a_forged_address_id(signed_in, shopper, other, piece):
    theirs = AddressFactory(user=other, line1="1 Secret Lane")
    signed_in.post("/cart/add/", {"item": piece.pk})
    response = signed_in.post("/checkout/", {"email": shopper.email, "saved_address": theirs.pk})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert "Secret Lane" not in response.content.decode()
    assert not Order.objects.exists()


def test_guest_checkout_cannot_use_any_saved_address(client, other, piece):
    theirs = AddressFactory(user=other)
    client.post("/cart/add/", {"item": piece.pk})
    response = client.post("/checkout/", {"email": "guest@example.com", "saved_address": theirs.pk})
    assert response.status_code == 200  # the address fields are still required
    assert not Order.objects.exists()


def test_checkout_with_a_new_address_still_works_when_signed_in(signed_in, shopper, piece):
    AddressFactory(user=shopper)
    signed_in.post("/cart/add/", {"item": piece.pk})
    response = signed_in.post("/checkout/", {**NEW, "email": shopper.email, "saved_address": ""})
    assert response.status_code == 302
    assert Order.objects.get().shipping_postcode == "SW1Y 4JH"
