"""Order history per shop, preferences with the consent ledger, and no-store on personal pages."""

from django.core import mail

import pytest

from accounts.models import ConsentRecord
from orders import services as order_services
from orders.models import Order, VendorOrder
from vendors.factories import VendorFactory

from .helpers import make_order

pytestmark = pytest.mark.django_db


def test_order_history_shows_each_shops_status_and_tracking_link(signed_in, shopper):
    order = make_order(
        customer=shopper,
        vendors=[VendorFactory(name="Maison Lune"), VendorFactory(name="Second Salon")],
    )
    VendorOrder.objects.filter(order=order, vendor__name="Maison Lune").update(
        status=VendorOrder.Status.SHIPPED, carrier="Royal Mail", tracking_number="AB123456789GB"
    )
    html = signed_in.get("/account/orders/").content.decode()
    assert order.reference in html
    assert "Maison Lune" in html and "Shipped" in html
    assert "Second Salon" in html and "Being prepared" in html
    assert "https://www.royalmail.com/track-your-item#/tracking-results/AB123456789GB" in html
    detail = signed_in.get(f"/account/orders/{order.reference}/")
    assert detail.status_code == 200
    body = detail.content.decode()
    assert "Piece from Maison Lune" in body and "AB123456789GB" in body
    assert body.count("<h1") == 1


def test_another_shoppers_order_is_not_found(signed_in, other):
    theirs = make_order(customer=other)
    guest = make_order(customer=None)
    assert signed_in.get(f"/account/orders/{theirs.reference}/").status_code == 404
    assert signed_in.get(f"/account/orders/{guest.reference}/").status_code == 404
    assert theirs.reference not in signed_in.get("/account/orders/").content.decode()


@pytest.mark.parametrize(
    "path",
    [
        "/account/",
        "/account/orders/",
        "/account/addresses/",
        "/account/addresses/add/",
        "/account/preferences/",
        "/account/export/",
        "/account/delete/",
        "/account/access-log/",
        "/account/email/",
        "/account/password/",
        "/cart/",
    ],
)
def test_personal_pages_are_never_stored(signed_in, path):
    response = signed_in.get(path)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


def test_auth_pages_are_never_stored(client):
    for path in ["/account/login/", "/account/signup/", "/account/password-reset/"]:
        assert "no-store" in client.get(path)["Cache-Control"], path


def test_order_page_and_checkout_are_never_stored(signed_in, shopper):
    order = make_order(customer=shopper)
    assert "no-store" in signed_in.get(f"/account/orders/{order.reference}/")["Cache-Control"]
    assert "no-store" in signed_in.get("/checkout/")["Cache-Control"]  # redirects: empty cart


# --- Preferences ---------------------------------------------------------------------------------


def test_preferences_default_to_order_updates_only(signed_in, shopper):
    form = signed_in.get("/account/preferences/").context["form"]
    assert form.initial == {
        "order_status_emails": True,
        "promotional_emails": False,
        "catalogue_mailings": False,
    }


def test_every_change_is_recorded_in_the_ledger(signed_in, shopper):
    signed_in.post(
        "/account/preferences/", {"order_status_emails": "on", "promotional_emails": "on"}
    )
    signed_in.post(
        "/account/preferences/", {"promotional_emails": "on", "catalogue_mailings": "on"}
    )
    shopper.refresh_from_db()
    assert (shopper.order_status_emails, shopper.promotional_emails, shopper.catalogue_mailings) == (
        False, True, True,
    )  # fmt: skip
    changes = [
        (r.topic, r.old_value, r.new_value, r.source)
        for r in ConsentRecord.objects.filter(user=shopper).order_by("pk")
    ]
    assert changes == [
        ("promotional_emails", False, True, "form"),
        ("order_status_emails", True, False, "form"),
        ("catalogue_mailings", False, True, "form"),
    ]
    assert all(r.created_at for r in ConsentRecord.objects.all())
    html = signed_in.get("/account/preferences/").content.decode()
    assert "Preferences form" in html


def test_posting_the_same_choices_records_nothing(signed_in, shopper):
    signed_in.post("/account/preferences/", {"order_status_emails": "on"})
    assert not ConsentRecord.objects.exists()


def _ship(order):
    part = order.vendor_orders.get()
    return order_services.vendor_order_ship(vendor_order=part, carrier="DPD", tracking_number="123")


def test_shipping_emails_respect_the_preference_but_receipts_always_go(
    shopper, django_capture_on_commit_callbacks
):
    shopper.order_status_emails = False
    shopper.save()
    order = make_order(customer=shopper)
    with django_capture_on_commit_callbacks(execute=True):
        _ship(order)
    assert mail.outbox == []
    from orders import emails

    with django_capture_on_commit_callbacks(execute=True):  # queued after commit
        emails.send(kind="paid", order_id=order.pk)
        emails.send(kind="refunded", order_id=order.pk)
    assert [m.subject for m in mail.outbox if m.to == [shopper.email]] == [
        f"Order {order.reference} is confirmed",
        f"Order {order.reference} was refunded",
    ]


def test_shipping_emails_go_by_default_and_to_guests(shopper, django_capture_on_commit_callbacks):
    mine, guest = make_order(customer=shopper), make_order(customer=None)
    with django_capture_on_commit_callbacks(execute=True):
        _ship(mine)
        _ship(guest)
    assert sorted(m.to[0] for m in mail.outbox) == ["ada@example.com", "guest@example.com"]
    assert Order.objects.count() == 2
