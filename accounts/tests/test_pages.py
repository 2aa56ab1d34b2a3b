"""Every account page: one h1, every visible field labelled, and the logout/session records."""

import re

import pytest

from accounts.factories import AddressFactory
from accounts.models import UserSession

from .helpers import PASSWORD, make_order

pytestmark = pytest.mark.django_db


def assert_accessible(html: str, path: str) -> None:
    assert len(re.findall(r"<h1[\s>]", html)) == 1, path
    labels = set(re.findall(r'<label[^>]*for="([^"]+)"', html))
    for tag in re.findall(r"<(?:input|select|textarea)\b[^>]*>", html):
        if re.search(r'type="(hidden|submit)"', tag):
            continue
        field_id = re.search(r'id="([^"]+)"', tag)
        assert field_id, (path, tag)
        assert field_id.group(1) in labels, (path, tag)


def test_account_pages_have_one_heading_and_labelled_fields(signed_in, shopper):
    address = AddressFactory(user=shopper)
    order = make_order(customer=shopper)
    paths = [
        "/account/",
        "/account/orders/",
        f"/account/orders/{order.reference}/",
        "/account/addresses/",
        "/account/addresses/add/",
        f"/account/addresses/{address.pk}/edit/",
        "/account/preferences/",
        "/account/delete/",
        "/account/access-log/",
        "/account/email/",
        "/account/password/",
    ]
    for path in paths:
        response = signed_in.get(path)
        assert response.status_code == 200, path
        assert_accessible(response.content.decode(), path)


def test_public_account_pages_have_one_heading_and_labelled_fields(client):
    for path in ["/account/signup/", "/account/login/", "/account/password-reset/"]:
        assert_accessible(client.get(path).content.decode(), path)


def test_signing_out_forgets_the_session_record(client, shopper):
    client.post("/account/login/", {"username": "ada", "password": PASSWORD})
    assert UserSession.objects.filter(user=shopper).count() == 1
    client.post("/account/logout/")
    assert not UserSession.objects.exists()


def test_password_change_keeps_the_new_session_key_on_record(client, shopper):
    client.post("/account/login/", {"username": "ada", "password": PASSWORD})
    client.post(
        "/account/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "quiet river walk",
            "new_password2": "quiet river walk",
        },
    )
    assert UserSession.objects.filter(user=shopper, session_key=client.session.session_key).exists()
