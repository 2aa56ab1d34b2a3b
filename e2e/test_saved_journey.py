"""Journey 7: an anonymous shopper hearts pieces on a shop page (first with no cookie at all,
through the confirmation page; then with the heart's own form), finds them at /saved/, signs
in and finds them in the account at /account/saved/."""

import re

import pytest

from accounts.factories import UserFactory

from .steps import keep_screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PASSWORD = "correct horse battery staple"


def test_anonymous_saves_then_finds_them_in_the_account(page, live_server, marketplace, request):
    base = live_server.url
    UserFactory(username="ada", email="ada@example.com", password=PASSWORD, verified=True)
    tote, lune = marketplace["tote"], marketplace["lune"]
    clutch, salon = marketplace["clutch"], marketplace["salon"]

    # A first visit: no cookie, so the heart is a link to a confirmation page.
    page.goto(base + lune.shop.url)
    assert page.context.cookies() == []
    page.get_by_role("link", name="Save Cognac leather tote").click()
    page.wait_for_url(re.compile(r"/saved/add/\?item="))
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(re.compile(re.escape(lune.shop.url) + rf"#save-{tote.pk}$"))
    heart = page.get_by_role("button", name="Remove Cognac leather tote from saved")
    assert heart.get_attribute("aria-pressed") == "true"
    cookies = {cookie["name"] for cookie in page.context.cookies()}
    assert cookies <= {"sessionid", "csrftoken"}

    # Now with cookies: the heart is a form that saves at once.
    page.goto(base + salon.shop.url)
    page.get_by_role("button", name="Save Ivory silk clutch").click()
    page.wait_for_url(re.compile(rf"#save-{clutch.pk}$"))
    assert page.get_by_role("button", name="Remove Ivory silk clutch from saved").is_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Saved").click()
    page.wait_for_url(re.compile(r"/saved/$"))
    grid = page.locator(".saved-grid")
    assert grid.get_by_role("link", name="Cognac leather tote").is_visible()
    assert grid.get_by_role("link", name="Ivory silk clutch").is_visible()
    keep_screenshot(request, page, "saved_anonymous.png", full_page=True)

    page.get_by_role("main").get_by_role("link", name="Sign in").click()
    page.get_by_label("Email or username").fill("ada")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/account/saved/$"))
    grid = page.locator(".saved-grid")
    assert grid.get_by_role("link", name="Cognac leather tote").is_visible()
    assert grid.get_by_role("link", name="Ivory silk clutch").is_visible()
    page.get_by_role("button", name=re.compile(r"Email me if the price drops.*Cognac")).click()
    page.wait_for_url(re.compile(rf"/account/saved/#save-{tote.pk}$"))
    toggle = page.get_by_role("button", name=re.compile(r"Email me if the price drops.*Cognac"))
    assert toggle.get_attribute("aria-pressed") == "true"
    keep_screenshot(request, page, "saved_account.png", full_page=True)
