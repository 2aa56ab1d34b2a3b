"""Journey 6: a registered shopper signs up, saves an address, checks out with it, opts into
promotions, unsubscribes from the email link in a browser without cookies, exports their data
and deletes the account."""

import json
import re

from django.contrib.auth import get_user_model

import pytest

from accounts.tokens import unsubscribe_url
from orders.models import Order

from .steps import add_to_cart, pay

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PASSWORD = "correct horse battery staple"


def test_registered_shopper_from_signup_to_erasure(browser, page, live_server, marketplace,
                                                    stripe_live):  # fmt: skip
    base = live_server.url
    page.goto(base + "/account/signup/")
    page.get_by_label("First name").fill("Ada")
    page.get_by_label("Last name").fill("Lovelace")
    page.get_by_label("Email address").fill("ada@example.com")
    page.get_by_label("Username").fill("ada")
    page.locator("#id_password1").fill(PASSWORD)
    page.locator("#id_password2").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    # Sign-up does not sign in (the page is the same for a taken address): sign in next.
    page.wait_for_url(re.compile(r"/account/signup/sent/"))
    user = get_user_model().objects.get(username="ada")
    page.goto(base + "/account/login/")
    page.get_by_label("Email or username").fill("ada")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/account/$"))

    page.goto(base + "/account/addresses/add/")
    page.locator("#id_name").fill("Ada Lovelace")
    page.locator("#id_line1").fill("12 St James's Square")
    page.locator("#id_city").fill("London")
    page.locator("#id_postcode").fill("SW1Y 4JH")
    page.locator("#id_is_default_shipping").check()
    page.get_by_role("button", name="Save address").click()
    page.wait_for_url(re.compile(r"/account/addresses/$"))
    assert page.get_by_text("12 St James's Square").first.is_visible()

    add_to_cart(page, base, marketplace["tote"])
    page.get_by_role("link", name="Checkout").click()
    page.get_by_role("button", name="Continue to payment").click()
    page.wait_for_url(re.compile(r"/checkout/pay/VT-"))
    pay(page, "4242424242424242")
    page.wait_for_url(re.compile(r"/checkout/done/VT-"))
    order = Order.objects.get()
    assert order.customer == user and order.shipping_postcode == "SW1Y 4JH"
    page.goto(base + "/account/orders/")
    assert page.get_by_text(order.reference).first.is_visible()

    page.goto(base + "/account/preferences/")
    page.get_by_label("New arrivals and offers").check()
    page.get_by_role("button", name="Save preferences").click()
    user.refresh_from_db()
    assert user_opted_in(user)

    # The email's unsubscribe link, opened where no cookie of ours exists.
    stranger = browser.new_context()
    link_page = stranger.new_page()
    link_page.goto(unsubscribe_url(user=user).replace("http://testserver", base))
    link_page.get_by_role("button", name="Unsubscribe").click()
    link_page.wait_for_load_state()
    assert not user_opted_in(get_user_model().objects.get(pk=user.pk))
    stranger.close()

    export = page.request.get(base + "/account/export/")
    assert export.ok and "attachment" in export.headers["content-disposition"]
    data = json.loads(export.body())
    assert "ada@example.com" in json.dumps(data) and order.reference in json.dumps(data)

    # The paid order has not been sent yet: the page says its delivery details stay until then.
    page.goto(base + "/account/delete/")
    notice = page.locator("#kept-for-delivery")
    assert notice.is_visible() and order.reference in notice.inner_text()
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_label(re.compile("I understand")).check()
    page.get_by_role("button", name="Erase my account").click()
    page.wait_for_load_state()
    assert page.get_by_text("Your account and personal data have been erased").is_visible()
    user.refresh_from_db()
    assert "ada@example.com" not in (user.email or "") and not user.is_active
    order.refresh_from_db()
    assert order.total and order.customer_id is None and order.erase_when_fulfilled_at
    assert order.shipping_name  # kept for the shop to send it, erased once delivered


def user_opted_in(user) -> bool:
    user.refresh_from_db()
    return user.promotional_emails
