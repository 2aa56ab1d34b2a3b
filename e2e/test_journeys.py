"""Journeys 2–4: a declined card, a race for the last piece, a vendor editing their shop."""

import re

import pytest

from orders.models import Order

from .steps import add_to_cart, admin_login, fill_checkout, pay

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_declined_card_is_explained_and_paying_again_works(
    page, live_server, marketplace, stripe_live
):
    base = live_server.url
    add_to_cart(page, base, marketplace["tote"])
    page.get_by_role("link", name="Checkout").click()
    fill_checkout(page)
    page.wait_for_url(re.compile(r"/checkout/pay/VT-"))
    pay_url = page.url

    pay(page, "4000000000000002")
    alert = page.get_by_role("alert").filter(has_text=re.compile("declined", re.I))
    alert.first.wait_for()
    order = Order.objects.get()
    assert order.status == Order.Status.PENDING
    assert page.url == pay_url  # still on the payment page, order kept

    pay(page, "4242424242424242")
    page.wait_for_url(re.compile(r"/checkout/done/VT-"))
    assert page.get_by_role("heading", name=re.compile("your order is confirmed")).is_visible()
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert Order.objects.count() == 1


def test_two_shoppers_race_for_the_last_piece(browser, page, live_server, marketplace, stripe_live):
    base = live_server.url
    tote = marketplace["tote"]
    rival_context = browser.new_context()
    rival = rival_context.new_page()
    add_to_cart(page, base, tote)
    add_to_cart(rival, base, tote)

    page.get_by_role("link", name="Checkout").click()
    rival.get_by_role("link", name="Checkout").click()
    fill_checkout(page)
    page.wait_for_url(re.compile(r"/checkout/pay/VT-"))
    fill_checkout(rival, email="grace@example.com")
    rival.wait_for_url(re.compile(r"/cart/$"))
    assert rival.get_by_text(re.compile("just sold|being bought by someone else")).count() >= 1

    pay(page, "4242424242424242")
    page.wait_for_url(re.compile(r"/checkout/done/VT-"))
    rival.goto(base + tote.url)
    assert rival.get_by_text("Sold", exact=True).first.is_visible()
    assert rival.get_by_role("button", name="Add to cart").count() == 0
    tote.refresh_from_db()
    assert tote.quantity == 0 and Order.objects.filter(status="paid").count() == 1
    rival_context.close()


def test_vendor_publishes_phone_orders_and_cannot_open_another_shop(
    browser, live_server, marketplace
):
    base = live_server.url
    salon, lune = marketplace["salon"], marketplace["lune"]
    context, admin = admin_login(browser, base, "salon")

    admin.goto(f"{base}/admin/pages/{salon.shop.pk}/edit/")
    admin.get_by_label("Phone number", exact=True).fill("+44 161 555 0199")
    admin.get_by_label("Publish phone number").check()
    admin.get_by_label("Phone hours").fill("Mon–Fri 10:00–17:00")
    admin.get_by_role("button", name="More actions").click()
    admin.get_by_role("button", name="Publish").click()
    admin.wait_for_url(re.compile(r"/admin/pages/"))

    shopper = browser.new_context().new_page()
    shopper.goto(base + marketplace["clutch"].url)
    phone = shopper.locator('a[href="tel:+441615550199"]')
    assert phone.count() == 1 and "+44 161 555 0199" in phone.inner_text()
    assert shopper.get_by_text("Mon–Fri 10:00–17:00").is_visible()

    for path in (
        f"/admin/pages/{lune.shop.pk}/edit/",
        f"/admin/pages/{marketplace['tote'].pk}/edit/",
    ):
        response = admin.goto(base + path)
        assert response.status in (403, 404), path
    shopper.context.close()
    context.close()


def test_three_d_secure_declined_by_the_shopper_then_another_card_charges_once(
    page, live_server, marketplace, stripe_live
):
    """The bank asks for 3-D Secure; the shopper cancels at their bank, pays with another
    card, and is charged once: the first attempt is cancelled at Stripe."""
    base = live_server.url
    add_to_cart(page, base, marketplace["tote"])
    page.get_by_role("link", name="Checkout").click()
    fill_checkout(page)
    page.wait_for_url(re.compile(r"/checkout/pay/VT-"))

    pay(page, "4000002760003184")
    page.get_by_role("button", name="Fail authentication").click()  # the bank's own screen
    alert = page.get_by_role("alert").filter(has_text=re.compile("did not go through", re.I))
    alert.first.wait_for()  # told on the return page, with the way back to paying
    order = Order.objects.get()
    assert order.status == Order.Status.PENDING

    page.get_by_role("link", name="Go to payment").click()
    pay(page, "4242424242424242")
    page.wait_for_url(re.compile(r"/checkout/done/VT-"))
    assert page.get_by_role("heading", name=re.compile("your order is confirmed")).is_visible()
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    statuses = list(order.attempts.order_by("number").values_list("status", flat=True))
    assert statuses[-1] == "succeeded" and statuses.count("succeeded") == 1
