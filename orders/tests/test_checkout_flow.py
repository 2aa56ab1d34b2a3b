"""A shopper's whole purchase through the views, paying localstripe over real HTTP."""

import re
from decimal import Decimal

from django.core import mail

import pytest

from orders.models import Order, PayoutEntry, Reservation, VendorOrder

from .helpers import ADDRESS

pytestmark = pytest.mark.django_db


def add(client, item):
    return client.post("/cart/add/", {"item": item.pk})


def test_cart_groups_items_by_shop_with_subtotals(client, two_shops):
    lune, salon, bag, watch = two_shops
    add(client, bag)
    add(client, watch)
    response = client.get("/cart/")
    assert response.status_code == 200
    cart = response.context["cart"]
    assert [group.shop.title for group in cart.groups] == ["Maison Lune", "Second Salon"]
    assert [group.subtotal for group in cart.groups] == [Decimal("1250.00"), Decimal("800.00")]
    assert cart.total == Decimal("2050.00")
    assert "£2,050.00" in response.content.decode()
    assert (
        response["Cache-Control"].startswith("max-age=0") or "no-cache" in response["Cache-Control"]
    )


def test_whole_purchase_two_shops_one_payment(client, two_shops, stripe_settings, token,
                                               django_capture_on_commit_callbacks):  # fmt: skip
    lune, salon, bag, watch = two_shops
    add(client, bag)
    add(client, watch)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/checkout/", ADDRESS)
    order = Order.objects.get()
    assert (
        response.status_code == 302 and response["Location"] == f"/checkout/pay/{order.reference}/"
    )
    assert order.total == Decimal("2050.00") and order.status == Order.Status.PENDING
    assert order.shipping_phone.as_e164 == "+442079460123"
    assert Reservation.objects.filter(order=order, status="active").count() == 2
    assert {vo.vendor.name for vo in order.vendor_orders.all()} == {"Maison Lune", "Second Salon"}

    page = client.get(f"/checkout/pay/{order.reference}/")
    assert page.status_code == 200
    assert f"{stripe_settings.STRIPE_API_BASE}/js.stripe.com/v3/" in page.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/checkout/pay/{order.reference}/", {"card_token": token()})
    assert response.status_code == 302
    assert response["Location"] == f"/checkout/done/{order.reference}/"
    order.refresh_from_db()
    assert order.status == Order.Status.PAID and order.payment_intent_id.startswith("pi_")
    bag.refresh_from_db()
    watch.refresh_from_db()
    assert bag.quantity == 0 and watch.quantity == 0
    assert set(order.vendor_orders.values_list("status", flat=True)) == {VendorOrder.Status.PAID}
    lune_part = order.vendor_orders.get(vendor__name="Maison Lune")
    assert lune_part.commission == Decimal("187.50")  # 15% of £1,250
    assert PayoutEntry.objects.get(vendor_order=lune_part).amount == Decimal("1062.50")

    done = client.get(f"/checkout/done/{order.reference}/")
    assert "your order is confirmed" in done.content.decode()
    assert client.get("/cart/").context["cart"].count == 0
    subjects = [message.subject for message in mail.outbox]
    assert f"Order {order.reference} is confirmed" in subjects
    assert sum(s.startswith(f"New order {order.reference}") for s in subjects) == 2


def test_declined_card_keeps_order_and_cart_and_a_new_card_pays(
    client, two_shops, stripe_settings, token
):
    _, _, bag, _ = two_shops
    add(client, bag)
    client.post("/checkout/", ADDRESS)
    order = Order.objects.get()
    response = client.post(
        f"/checkout/pay/{order.reference}/", {"card_token": token("4000000000000002")}
    )
    assert response.status_code == 402
    assert "declined" in response.content.decode().lower()
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    response = client.post(f"/checkout/pay/{order.reference}/", {"card_token": token()})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == Order.Status.PAID


def test_card_declined_at_charge_then_paid_with_another(client, two_shops, stripe_settings, token):
    _, _, bag, _ = two_shops
    add(client, bag)
    client.post("/checkout/", ADDRESS)
    order = Order.objects.get()
    response = client.post(
        f"/checkout/pay/{order.reference}/", {"card_token": token("4000000000000341")}
    )
    assert response.status_code == 402
    response = client.post(f"/checkout/pay/{order.reference}/", {"card_token": token()})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert list(order.attempts.values_list("status", flat=True)) == ["failed", "succeeded"]


@pytest.mark.parametrize(
    "next_url", ["abc", "//evil.com", "https://evil.com/x", "/" + "a" * 9_999, "/shops/"]
)
def test_cart_buttons_go_back_only_to_a_path_on_this_site(client, two_shops, next_url):
    _, _, bag, _ = two_shops
    expected = "/shops/" if next_url == "/shops/" else "/cart/"
    for url in ("/cart/add/", "/cart/remove/"):
        response = client.post(url, {"item": bag.pk, "next": next_url})
        assert response.status_code == 302 and response["Location"] == expected


def test_client_price_and_quantity_are_ignored(client, two_shops):
    _, _, bag, _ = two_shops
    client.post("/cart/add/", {"item": bag.pk, "price": "1.00", "quantity": "5"})
    client.post("/checkout/", {**ADDRESS, "total": "1.00", "currency": "JPY", "price": "1"})
    order = Order.objects.get()
    assert order.total == Decimal("1250.00") and order.currency == "GBP"
    assert order.vendor_orders.get().lines.get().quantity == 1


def test_another_session_cannot_see_or_pay_my_order(client, client_factory, two_shops):
    _, _, bag, _ = two_shops
    add(client, bag)
    client.post("/checkout/", ADDRESS)
    order = Order.objects.get()
    stranger = client_factory()
    assert stranger.get(f"/checkout/pay/{order.reference}/").status_code == 404
    assert stranger.get(f"/checkout/done/{order.reference}/").status_code == 404


def test_sold_item_is_refused_at_checkout_and_cart_survives(client, client_factory, two_shops):
    _, _, bag, watch = two_shops
    add(client, bag)
    add(client, watch)
    other = client_factory()
    add(other, bag)
    other.post("/checkout/", ADDRESS)  # the other shopper now holds the bag
    response = client.post("/checkout/", ADDRESS, follow=True)
    assert Order.objects.count() == 1
    text = response.content.decode()
    assert "Cognac tote" in text and ("just sold" in text or "someone else" in text)
    # Still in the cart: the watch.
    assert response.context["cart"].count == 1


def test_checkout_form_errors_keep_input(client, two_shops):
    _, _, bag, _ = two_shops
    add(client, bag)
    response = client.post("/checkout/", {**ADDRESS, "postcode": "not a postcode", "phone": "12"})
    assert response.status_code == 200
    assert Order.objects.count() == 0
    text = response.content.decode()
    assert "Please enter a UK postcode" in text
    assert "valid phone number" in text
    assert 'value="Ada Lovelace"' in text


def test_testimonial_invitations_are_asked_for_unticked_and_stored_on_the_order(
    client, client_factory, two_shops
):
    _, _, bag, watch = two_shops
    add(client, bag)
    html = client.get("/checkout/").content.decode()
    box = re.search(r'<input[^>]*name="testimonial_opt_in"[^>]*>', html).group(0)
    assert 'type="checkbox"' in box and "checked" not in box
    client.post("/checkout/", ADDRESS)
    assert Order.objects.get().testimonial_opt_in is False

    other = client_factory()
    add(other, watch)
    other.post("/checkout/", {**ADDRESS, "testimonial_opt_in": "on"})
    assert Order.objects.get(vendor_orders__lines__item=watch).testimonial_opt_in is True


@pytest.fixture
def client_factory():
    from django.test import Client

    return Client
