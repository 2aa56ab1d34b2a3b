"""The order desk: a shop sends, delivers or refunds its part (payouts: test_payouts.py)."""

from decimal import Decimal

from django.core import mail
from django.test import Client

import pytest

from orders.models import Order, PayoutEntry, VendorOrder
from products.factories import ItemPageFactory
from tests.localstripe import stripe_get
from vendors.services import vendor_onboard

from .helpers import ADDRESS

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(client, site_tree, stripe_settings, token, django_capture_on_commit_callbacks):
    """A paid order for one piece of Maison Lune, and Lune's staff signed in to the admin."""
    vendor = vendor_onboard(name="Maison Lune", contact_email="shop@lune.example",
                            staff_email="staff@lune.example")  # fmt: skip
    item = ItemPageFactory(parent=vendor.shop, title="Cognac tote", price="1000.00")
    shopper = Client()
    shopper.post("/cart/add/", {"item": item.pk})
    with django_capture_on_commit_callbacks(execute=True):
        shopper.post("/checkout/", ADDRESS)
        order = Order.objects.get()
        shopper.post(f"/checkout/pay/{order.reference}/", {"card_token": token()})
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    client.force_login(vendor.group.user_set.get())
    return vendor, item, order, order.vendor_orders.get()


def desk(action, vendor_order):
    return f"/admin/orders/vendororder/{action}/{vendor_order.pk}/"


def test_vendor_sees_the_order_and_where_to_send_it(client, paid):
    vendor, item, order, vendor_order = paid
    listing = client.get("/admin/orders/vendororder/").content.decode()
    assert order.reference in listing
    page = client.get(desk("inspect", vendor_order)).content.decode()
    assert "Ada Lovelace" in page and "SW1Y 4JH" in page and "Cognac tote" in page
    assert "£850.00" in page  # payout after 15% commission
    dashboard = client.get("/admin/").content.decode()
    assert "Recent orders" in dashboard and order.reference in dashboard


def test_ship_deliver_with_emails(client, paid, django_capture_on_commit_callbacks):
    vendor, item, order, vendor_order = paid
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            desk("ship", vendor_order), {"carrier": "Royal Mail", "tracking_number": "RM123GB"}
        )
    assert response.status_code == 302
    vendor_order.refresh_from_db()
    assert vendor_order.status == VendorOrder.Status.SHIPPED
    assert vendor_order.tracking_number == "RM123GB" and vendor_order.shipped_at
    shipped = [m for m in mail.outbox if "shipped" in m.subject]
    assert shipped and shipped[0].to == ["ada@example.com"] and "RM123GB" in shipped[0].body
    # No Connect account: nothing transferred, the ledger still shows what is owed.
    assert not PayoutEntry.objects.filter(kind=PayoutEntry.Kind.TRANSFERRED).exists()

    with django_capture_on_commit_callbacks(execute=True):
        client.post(desk("deliver", vendor_order))
    vendor_order.refresh_from_db()
    assert vendor_order.status == VendorOrder.Status.DELIVERED
    assert any("delivered" in m.subject for m in mail.outbox)


def test_steps_out_of_order_are_refused_with_a_message(client, paid):
    vendor, item, order, vendor_order = paid
    response = client.post(desk("deliver", vendor_order), follow=True)
    assert "Only shipped orders can be marked delivered" in response.content.decode()
    vendor_order.refresh_from_db()
    assert vendor_order.status == VendorOrder.Status.PAID
    response = client.post(desk("ship", vendor_order), {"carrier": "DHL"}, follow=True)
    assert "tracking number" in response.content.decode()


def test_refund_returns_the_money_and_puts_the_piece_back_on_sale(
    client, paid, localstripe, django_capture_on_commit_callbacks
):
    vendor, item, order, vendor_order = paid
    with django_capture_on_commit_callbacks(execute=True):
        client.post(desk("refund", vendor_order))
    vendor_order.refresh_from_db()
    order.refresh_from_db()
    item.refresh_from_db()
    assert vendor_order.status == VendorOrder.Status.REFUNDED
    assert order.status == Order.Status.REFUNDED
    assert item.quantity == 1
    reversed_entry = PayoutEntry.objects.get(kind=PayoutEntry.Kind.REVERSED)
    assert reversed_entry.amount == Decimal("-850.00")
    refunds = stripe_get(localstripe, f"/v1/refunds?payment_intent={order.payment_intent_id}")
    assert any(r["payment_intent"] == order.payment_intent_id for r in refunds["data"])
    # Refunding twice does nothing more.
    response = client.post(desk("refund", vendor_order), follow=True)
    assert "Only paid orders can be refunded" in response.content.decode()


def test_another_shop_cannot_see_or_act_on_the_order(paid):
    vendor, item, order, vendor_order = paid
    other = vendor_onboard(name="Second Salon", contact_email="s@salon.example",
                           staff_email="staff@salon.example")  # fmt: skip
    stranger = Client()
    stranger.force_login(other.group.user_set.get())
    assert order.reference not in stranger.get("/admin/orders/vendororder/").content.decode()
    for action in ("inspect", "ship", "deliver", "refund"):
        response = stranger.post(
            desk(action, vendor_order), {"carrier": "x", "tracking_number": "y"}
        )
        refused = response.status_code in (403, 404) or response.get("Location") == "/admin/"
        assert refused, action
    vendor_order.refresh_from_db()
    assert vendor_order.status == VendorOrder.Status.PAID
