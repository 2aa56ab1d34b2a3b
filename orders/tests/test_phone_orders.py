"""A shop takes an order by phone; the shopper pays through an emailed, signed link."""

import re
import time

from django.core import mail, signing

import pytest

from orders.models import Order, Reservation
from orders.services import pay_link_token
from products.factories import ItemPageFactory
from vendors.services import vendor_onboard

from .helpers import ADDRESS

pytestmark = pytest.mark.django_db

FORM = {k: v for k, v in ADDRESS.items()} | {"note": "Called at 11:05, wants gift wrap"}


@pytest.fixture
def phone_shop(site_tree):
    vendor = vendor_onboard(
        name="Maison Lune", contact_email="shop@lune.example", staff_email="staff@lune.example"
    )
    shop = vendor.shop
    shop.phone_number, shop.phone_orders = "+442079460958", True
    shop.save_revision().publish()
    staff = vendor.group.user_set.get()
    item = ItemPageFactory(parent=shop, title="Cognac tote", price="1250.00")
    return vendor, staff, item


def record(client, staff, item, **extra):
    client.force_login(staff)
    return client.post("/admin/phone-orders/new/", {**FORM, "items": [item.pk], **extra})


def test_vendor_records_phone_order_item_held_and_link_emailed(
    client, phone_shop, django_capture_on_commit_callbacks
):
    vendor, staff, item = phone_shop
    with django_capture_on_commit_callbacks(execute=True):
        response = record(client, staff, item)
    assert response.status_code == 302
    order = Order.objects.get()
    assert order.channel == Order.Channel.PHONE
    assert order.recorded_by == staff and order.call_note.startswith("Called at")
    hold = Reservation.objects.get(order=order)
    assert (
        hold.status == "active" and (hold.expires_at - order.created_at).total_seconds() > 40 * 3600
    )
    message = mail.outbox[-1]
    assert message.to == ["ada@example.com"]
    link = re.search(r"http://testserver(/pay/[^/\s]+/)", message.body).group(1)

    shopper = client.__class__()
    response = shopper.get(link)
    assert (
        response.status_code == 302 and response["Location"] == f"/checkout/pay/{order.reference}/"
    )
    page = shopper.get(response["Location"])
    assert page.status_code == 200 and "Cognac tote" in page.content.decode()


def test_phone_order_refused_when_shop_does_not_publish_a_number(client, phone_shop):
    vendor, staff, item = phone_shop
    shop = vendor.shop
    shop.phone_orders = False
    shop.save_revision().publish()
    client.force_login(staff)
    page = client.get("/admin/phone-orders/new/")
    assert "does not take phone orders" in page.content.decode()
    record(client, staff, item)
    assert Order.objects.count() == 0


def test_vendor_cannot_put_another_shops_item_in_a_phone_order(client, phone_shop):
    vendor, staff, item = phone_shop
    other = ItemPageFactory(title="Someone else's watch")
    response = record(client, staff, other)
    assert response.status_code == 200  # the form refuses the choice
    assert Order.objects.count() == 0


def test_pay_link_tampered_expired_and_used(client, phone_shop, monkeypatch):
    vendor, staff, item = phone_shop
    record(client, staff, item)
    order = Order.objects.get()
    token = pay_link_token(order=order)

    assert client.get(f"/pay/{token[:-2]}xx/").status_code == 410
    forged = signing.dumps({"ref": order.reference}, salt="another-salt", compress=True)
    assert client.get(f"/pay/{forged}/").status_code == 410

    real_time = time.time
    monkeypatch.setattr(signing.time, "time", lambda: real_time() - 49 * 3600)
    old = pay_link_token(order=order)
    monkeypatch.setattr(signing.time, "time", real_time)
    response = client.get(f"/pay/{old}/")
    assert response.status_code == 410 and "expired" in response.content.decode()

    Order.objects.filter(pk=order.pk).update(status=Order.Status.CANCELLED)
    response = client.get(f"/pay/{token}/")
    assert response.status_code == 410 and "already been used" in response.content.decode()


def test_no_card_field_in_the_phone_order_form(client, phone_shop):
    vendor, staff, item = phone_shop
    client.force_login(staff)
    html = client.get("/admin/phone-orders/new/").content.decode()
    names = set(re.findall(r'<(?:input|select|textarea)[^>]*\bname="([^"]+)"', html))
    assert names - {"csrfmiddlewaretoken"} == {
        "items", "email", "name", "line1", "line2", "city", "postcode", "country", "phone", "note"
    }  # fmt: skip
