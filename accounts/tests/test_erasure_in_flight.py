"""Erasing an account never stops a paid order from being delivered: an order still on its way
keeps only its delivery details, unlinked from the account, until its last shop's part is
delivered, refunded or cancelled (or shipped long ago), then those go too."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

from django.contrib.messages import get_messages
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

import pytest

from accounts import services
from accounts.factories import UserFactory
from orders import services as order_services
from orders import stripe_api
from orders.factories import OrderFactory
from orders.models import Order, VendorOrder
from vendors.services import vendor_onboard

from .helpers import PASSWORD, make_order

pytestmark = pytest.mark.django_db

KEPT = ("ada@example.com", "Ada Lovelace", "12 St James's Square", "London", "SW1Y 4JH")


def kept_fields(order: Order) -> tuple[str, ...]:
    order.refresh_from_db()
    return (
        order.email,
        order.shipping_name,
        order.shipping_line1,
        order.shipping_city,
        order.shipping_postcode,
    )


def assert_blanked(order: Order) -> None:
    order.refresh_from_db()
    assert (
        order.customer_id, order.email, order.shipping_name, order.shipping_line1,
        order.shipping_city, order.shipping_postcode, str(order.shipping_phone),
        order.call_note, order.erase_when_fulfilled_at,
    ) == (None, "", "", "", "", "", "", "", None)  # fmt: skip
    assert order.total == Decimal("100.00") * order.vendor_orders.count()
    assert order.shipping_country == "GB"


def shop(name: str):
    """A shop with its staff user, who fulfils orders from the admin's order desk."""
    slug = name.lower().replace(" ", "")
    vendor = vendor_onboard(
        name=name, contact_email=f"shop@{slug}.example", staff_email=f"staff@{slug}.example"
    )
    desk = Client()
    desk.force_login(vendor.group.user_set.get())
    return vendor, desk


def desk_url(action: str, part: VendorOrder) -> str:
    return f"/admin/orders/vendororder/{action}/{part.pk}/"


def erase(client) -> None:
    response = client.post("/account/delete/", {"password": PASSWORD, "confirm": "on"})
    assert response.status_code == 302 and response["Location"] == "/"


def sent(subject_part: str) -> list:
    return [message for message in mail.outbox if subject_part in message.subject]


@pytest.fixture
def lune(site_tree):
    return shop("Maison Lune")


@pytest.fixture
def no_stripe_refunds(monkeypatch):
    """Refunds against a fake of the Stripe boundary: the order's payment id is made up."""
    made = []

    def refund_create(**kwargs):
        made.append(kwargs)
        return f"re_test_{len(made)}"

    monkeypatch.setattr(stripe_api, "refund_create", refund_create)
    return made


# --- At erasure ----------------------------------------------------------------------------------


def test_a_paid_unshipped_order_keeps_only_its_delivery_details_unlinked(signed_in, shopper, lune):
    vendor, desk = lune
    order = make_order(customer=shopper, vendors=[vendor], call_note="leave with the porter")

    erase(signed_in)

    order.refresh_from_db()
    assert kept_fields(order) == KEPT and str(order.shipping_phone) == "+442079460123"
    assert order.customer is None and order.cart is None and order.call_note == ""
    assert order.erase_when_fulfilled_at is not None
    assert not Order.objects.filter(customer=shopper).exists()
    # The rest of the account went as before.
    shopper.refresh_from_db()
    assert shopper.erased_at and shopper.email == "" and not shopper.is_active

    page = desk.get(desk_url("inspect", order.vendor_orders.get())).content.decode()
    assert "Ada Lovelace" in page and "12 St James" in page and "SW1Y 4JH" in page
    assert shopper.username not in page and "/admin/customers/" not in page
    assert order.reference in desk.get("/admin/orders/vendororder/").content.decode()


def test_a_new_account_with_that_address_does_not_take_the_kept_order(signed_in, shopper):
    order = make_order(customer=shopper)
    erase(signed_in)
    again = UserFactory(username="ada2", email="ada@example.com", verified=True)
    assert services.guest_orders_confirm(user=again, references=[order.reference]) == 0
    order.refresh_from_db()
    assert order.customer is None and order.erase_when_fulfilled_at is not None


def test_closed_and_unpaid_orders_are_blanked_at_once_as_before(signed_in, shopper, site_tree):
    delivered = make_order(customer=shopper, vendor_status=VendorOrder.Status.DELIVERED)
    refunded = make_order(
        customer=shopper, vendor_status=VendorOrder.Status.REFUNDED, status=Order.Status.REFUNDED
    )
    cancelled = make_order(customer=shopper, vendor_status=VendorOrder.Status.CANCELLED)
    unpaid = OrderFactory(customer=shopper, subtotal=Decimal("100.00"))
    unpaid.vendor_orders.create(
        vendor=delivered.vendor_orders.get().vendor,
        subtotal=Decimal("100.00"),
        commission_rate=Decimal("0.15"),
        commission=Decimal("15.00"),
    )

    erase(signed_in)

    for order in (delivered, refunded, cancelled, unpaid):
        assert_blanked(order)


def test_an_unpaid_order_is_cancelled_and_a_payment_completing_later_refunded(
    signed_in, shopper, lune, no_stripe_refunds, django_capture_on_commit_callbacks
):
    """Ada erases her account while a payment for an order is still in the air (her bank's
    check in another tab). The order is cancelled with its address gone, its piece back on
    sale; when the payment then succeeds it is refunded, never turned into a paid order that
    nobody can deliver."""
    from orders.models import Reservation
    from products.factories import ItemPageFactory

    vendor, desk = lune
    piece = ItemPageFactory(parent=vendor.shop, title="Cognac tote", price="1250.00")
    # Placed and unpaid (its piece held), with a PaymentIntent at Stripe.
    order = make_order(customer=shopper, vendor_status=VendorOrder.Status.PENDING,
                       payment_intent_id="pi_in_the_air")  # fmt: skip
    order.reservations.create(
        item=piece, quantity=1, expires_at=timezone.now() + timedelta(minutes=10)
    )

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        erase(signed_in)

    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert_blanked(order)
    assert not order.reservations.filter(status=Reservation.Status.ACTIVE).exists()
    assert order.vendor_orders.get().status == VendorOrder.Status.CANCELLED

    with django_capture_on_commit_callbacks(execute=True):
        order_services.order_mark_paid(
            payment_intent=stripe_api.PaymentIntentInfo(
                id=order.payment_intent_id,
                status="succeeded",
                amount=order.total,
                currency=order.currency,
                order_reference=order.reference,
            )  # fmt: skip
        )
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED  # it stays cancelled; the payment went back
    assert order.attempts.get(payment_intent_id=order.payment_intent_id).status == "refunded"
    # Nobody is left to tell about the cancellation or the refund: no mail to a blank address.
    assert [message.to for message in mail.outbox] == []
    assert [(refund["amount"], refund["payment_intent_id"]) for refund in no_stripe_refunds] == [
        (order.total, order.payment_intent_id)
    ]
    assert_blanked(order)


def test_erasure_runs_twice_safely(signed_in, shopper):
    on_its_way = make_order(customer=shopper)
    done = make_order(customer=shopper, vendor_status=VendorOrder.Status.DELIVERED)
    erase(signed_in)
    on_its_way.refresh_from_db()
    marked_at = on_its_way.erase_when_fulfilled_at

    user = services.account_erase(user=shopper)

    assert user.erased_at and not user.is_active
    on_its_way.refresh_from_db()
    assert kept_fields(on_its_way) == KEPT and on_its_way.erase_when_fulfilled_at == marked_at
    assert_blanked(done)


# --- Fulfilment after erasure --------------------------------------------------------------------


def test_shipped_then_delivered_emails_reach_the_shopper_then_the_details_go(
    signed_in, shopper, lune, django_capture_on_commit_callbacks
):
    vendor, desk = lune
    order = make_order(customer=shopper, vendors=[vendor])
    part = order.vendor_orders.get()
    erase(signed_in)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = desk.post(
            desk_url("ship", part), {"carrier": "Royal Mail", "tracking_number": "RM123GB"}
        )
    assert response.status_code == 302
    (shipped,) = sent("has shipped")
    assert shipped.to == ["ada@example.com"] and "RM123GB" in shipped.body
    assert kept_fields(order) == KEPT  # still on its way

    with django_capture_on_commit_callbacks(execute=True):
        desk.post(desk_url("deliver", part))
    part.refresh_from_db()
    assert part.status == VendorOrder.Status.DELIVERED
    (delivered,) = sent("was delivered")
    assert delivered.to == ["ada@example.com"] and order.reference in delivered.subject
    assert not sent("How was your order")  # no testimonial invitation to an erased shopper
    assert_blanked(order)
    # The desk keeps the order, without the address.
    page = desk.get(desk_url("inspect", part)).content.decode()
    assert order.reference in page and "SW1Y 4JH" not in page


def test_refunding_the_last_part_blanks_the_order_after_its_email(
    signed_in, shopper, lune, no_stripe_refunds, django_capture_on_commit_callbacks
):
    vendor, desk = lune
    order = make_order(customer=shopper, vendors=[vendor])
    part = order.vendor_orders.get()
    erase(signed_in)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        desk.post(desk_url("refund", part))

    assert len(no_stripe_refunds) == 1
    (refunded,) = sent("was refunded")
    assert refunded.to == ["ada@example.com"]
    assert_blanked(order)
    assert order.status == Order.Status.REFUNDED


def test_a_full_refund_at_stripe_blanks_the_order_after_its_email(
    signed_in, shopper, django_capture_on_commit_callbacks
):
    order = make_order(customer=shopper)
    erase(signed_in)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        order_services.order_refunded_at_stripe(
            payment_intent_id=order.payment_intent_id, amount_refunded=order.total
        )

    (refunded,) = sent("was refunded")
    assert refunded.to == ["ada@example.com"]
    assert_blanked(order)


def test_an_order_from_two_shops_is_blanked_only_when_both_are_closed(
    signed_in, shopper, lune, site_tree, no_stripe_refunds, django_capture_on_commit_callbacks
):
    (lune_vendor, lune_desk), (salon_vendor, salon_desk) = lune, shop("Second Salon")
    order = make_order(customer=shopper, vendors=[lune_vendor, salon_vendor])
    lune_part = order.vendor_orders.get(vendor=lune_vendor)
    salon_part = order.vendor_orders.get(vendor=salon_vendor)
    erase(signed_in)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        lune_desk.post(desk_url("ship", lune_part), {"carrier": "DPD", "tracking_number": "D1"})
    with django_capture_on_commit_callbacks(execute=True):
        lune_desk.post(desk_url("deliver", lune_part))
    assert [m.to for m in sent("was delivered")] == [["ada@example.com"]]
    assert kept_fields(order) == KEPT  # Second Salon has not sent its part yet
    assert "SW1Y 4JH" in salon_desk.get(desk_url("inspect", salon_part)).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        salon_desk.post(desk_url("refund", salon_part))
    (refunded,) = sent("was refunded")
    assert refunded.to == ["ada@example.com"]
    assert_blanked(order)


# --- The safety net ------------------------------------------------------------------------------


def test_the_overdue_job_blanks_an_order_shipped_long_ago_and_leaves_a_recent_one(
    signed_in, shopper, settings
):
    settings.VITRINE_ERASE_SHIPPED_ORDERS_AFTER_DAYS = 60
    long_ago = make_order(customer=shopper)
    recent = make_order(customer=shopper)
    never_sent = make_order(customer=shopper)  # the shop still has to send it
    erase(signed_in)
    now = timezone.now()
    long_ago.vendor_orders.update(
        status=VendorOrder.Status.SHIPPED, shipped_at=now - timedelta(days=61)
    )
    recent.vendor_orders.update(
        status=VendorOrder.Status.SHIPPED, shipped_at=now - timedelta(days=10)
    )
    VendorOrder.objects.filter(order=never_sent).update(
        status=VendorOrder.Status.PAID, shipped_at=None
    )
    Order.objects.filter(pk=never_sent.pk).update(created_at=now - timedelta(days=365))

    dry = StringIO()
    call_command("erase_overdue_orders", "--dry-run", stdout=dry)
    assert long_ago.reference in dry.getvalue() and kept_fields(long_ago) == KEPT

    out = StringIO()
    call_command("erase_overdue_orders", stdout=out)
    assert long_ago.reference in out.getvalue() and "1 order(s) erased" in out.getvalue()
    assert_blanked(long_ago)
    assert kept_fields(recent) == KEPT and kept_fields(never_sent) == KEPT

    again = StringIO()
    call_command("erase_overdue_orders", stdout=again)
    assert "0 order(s) erased" in again.getvalue()


def test_the_overdue_job_catches_a_closed_order_whose_erasure_never_ran(signed_in, shopper):
    order = make_order(customer=shopper)
    erase(signed_in)
    # Delivered, but the email task that erases afterwards was lost.
    order.vendor_orders.update(status=VendorOrder.Status.DELIVERED, delivered_at=timezone.now())
    call_command("erase_overdue_orders", stdout=StringIO())
    assert_blanked(order)


# --- The delete page -----------------------------------------------------------------------------


def test_the_delete_page_names_the_orders_on_their_way_and_until_when(signed_in, shopper):
    preparing = make_order(customer=shopper)
    shipped = make_order(customer=shopper)
    shipped_at = timezone.now() - timedelta(days=5)
    shipped.vendor_orders.update(status=VendorOrder.Status.SHIPPED, shipped_at=shipped_at)
    delivered = make_order(customer=shopper, vendor_status=VendorOrder.Status.DELIVERED)

    page = signed_in.get("/account/delete/").content.decode()

    assert "Orders still on their way" in page
    assert preparing.reference in page and shipped.reference in page
    assert delivered.reference not in page
    assert "Being prepared" in page and "Shipped" in page
    latest = timezone.localtime(shipped_at + timedelta(days=60)).strftime("%-d %B %Y")
    assert f"{latest} at the latest" in page
    assert "at the latest 60 days after it ships" in page

    response = signed_in.post("/account/delete/", {"password": PASSWORD, "confirm": "on"})
    said = " ".join(str(message) for message in get_messages(response.wsgi_request))
    assert "erased" in said and preparing.reference in said and shipped.reference in said
    assert delivered.reference not in said


def test_the_delete_page_has_no_notice_without_orders_on_their_way(signed_in, shopper):
    make_order(customer=shopper, vendor_status=VendorOrder.Status.DELIVERED)
    page = signed_in.get("/account/delete/").content.decode()
    assert "Orders still on their way" not in page and "Erase my account" in page
