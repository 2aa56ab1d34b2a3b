"""Journey 1: a guest shopper buys from two shops in one payment, in a real browser.

Home → designer → filter → item page (phone number shown only for the shop that publishes it)
→ cart → a piece from another shop → checkout as guest → card 4242 in the Stripe card field
→ confirmation with one order reference; both shops see their part in their order desks.
"""

import re

import pytest

from orders.models import Order

from .steps import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def assert_accessible(page):
    """Smoke checks on every page of the journey: lang, one h1, labels, alt text."""
    problems = page.evaluate(
        """() => {
        const out = [];
        if (!document.documentElement.lang) out.push('no lang attribute');
        const h1s = document.querySelectorAll('h1').length;
        if (h1s !== 1) out.push(`${h1s} h1 elements`);
        for (const img of document.querySelectorAll('img')) {
          if (!img.hasAttribute('alt')) out.push(`img without alt: ${img.src}`);
        }
        for (const el of document.querySelectorAll('input, select, textarea')) {
          if (['hidden', 'submit', 'button'].includes(el.type)) continue;
          if (el.closest('#card-element')) continue;  // Stripe's own field
          const labelled = (el.id && document.querySelector(`label[for="${el.id}"]`))
            || el.closest('label') || el.getAttribute('aria-label')
            || el.getAttribute('aria-labelledby');
          if (!labelled) out.push(`unlabelled ${el.tagName} ${el.name}`);
        }
        return out;
      }"""
    )
    assert problems == [], f"{page.url}: {problems}"


def test_guest_buys_from_two_shops_with_one_payment(page, live_server, marketplace, stripe_live):
    base = live_server.url
    page.goto(base + "/")
    assert_accessible(page)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Designers").click()
    assert_accessible(page)
    page.get_by_role("link", name=re.compile("Maison Aubert")).first.click()
    page.wait_for_url(re.compile(r"/designers/maison-aubert/$"))
    assert_accessible(page)
    assert page.get_by_text("Steel dress watch").count() == 1

    page.goto(base + "/search/?designer=maison-aubert")
    page.get_by_label("Category").select_option("bags")
    page.wait_for_url(re.compile(r"category=bags"))
    assert_accessible(page)
    assert page.get_by_text("Steel dress watch").count() == 0

    page.get_by_role("link", name="Cognac leather tote").first.click()
    page.wait_for_url(re.compile(r"/shops/maison-lune/"))
    assert_accessible(page)
    phone = page.locator('a[href="tel:+442079460958"]')
    assert phone.count() == 1 and "+44 20 7946 0958" in phone.inner_text()
    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_url(re.compile(r"/cart/$"))

    page.goto(base + marketplace["clutch"].url)
    assert_accessible(page)
    html = page.content()
    assert "Order by phone" not in html and "1615550123" not in html and "161 555" not in html
    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_url(re.compile(r"/cart/$"))
    assert_accessible(page)
    assert page.get_by_text("£1,890.00").count() >= 1

    page.get_by_role("link", name="Checkout").click()
    assert_accessible(page)
    page.get_by_label("Email", exact=True).fill("ada@example.com")
    page.get_by_label("Full name").fill("Ada Lovelace")
    page.get_by_label("Address", exact=True).fill("12 St James's Square")
    page.get_by_label("Town or city").fill("London")
    page.get_by_label("Postcode").fill("SW1Y 4JH")
    page.get_by_role("button", name="Continue to payment").click()
    page.wait_for_url(re.compile(r"/checkout/pay/VT-"))
    assert_accessible(page)

    card = page.locator("#card-element")
    card.get_by_placeholder("number").fill("4242424242424242")
    card.get_by_placeholder("exp_month").fill("12")
    card.get_by_placeholder("exp_year").fill("30")
    card.get_by_placeholder("cvc").fill("123")
    page.get_by_role("button", name=re.compile("Pay £1,890.00")).click()
    page.wait_for_url(re.compile(r"/checkout/done/VT-"))
    assert_accessible(page)
    assert page.get_by_role("heading", name=re.compile("your order is confirmed")).is_visible()

    order = Order.objects.get()
    assert order.status == Order.Status.PAID
    assert order.reference in page.content()

    for username in ("lune", "salon"):
        vendor_context = page.context.browser.new_context()  # another person, another browser
        vendor_page = vendor_context.new_page()
        vendor_page.goto(base + "/admin/login/")
        vendor_page.get_by_label("Username").fill(username)
        vendor_page.get_by_label("Password").fill(PASSWORD)
        vendor_page.get_by_role("button", name="Sign in").click()
        vendor_page.wait_for_url(re.compile(r"/admin/$"))
        vendor_page.goto(base + "/admin/orders/vendororder/")
        assert order.reference in vendor_page.content()
        vendor_context.close()
