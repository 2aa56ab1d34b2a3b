"""Steps a person takes, shared by the browser journeys."""

import os
import re
from pathlib import Path

# Where browser tests save screenshots (on failure, or all with --screenshots).
SCREENSHOT_DIR = Path(__file__).resolve().parent / "screenshots"
# The staff of the `marketplace` fixture's shops sign in with it.
PASSWORD = "a-long-vendor-passphrase"


def add_to_cart(page, base: str, item) -> None:
    page.goto(base + item.url)
    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_url(re.compile(r"/cart/$"))


def fill_checkout(page, email: str = "ada@example.com") -> None:
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Full name").fill("Ada Lovelace")
    page.get_by_label("Address", exact=True).fill("12 St James's Square")
    page.get_by_label("Town or city").fill("London")
    page.get_by_label("Postcode").fill("SW1Y 4JH")
    page.get_by_role("button", name="Continue to payment").click()


def pay(page, number: str) -> None:
    card = page.locator("#card-element")
    card.get_by_placeholder("number").fill(number)
    card.get_by_placeholder("exp_month").fill("12")
    card.get_by_placeholder("exp_year").fill("30")
    card.get_by_placeholder("cvc").fill("123")
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()


def admin_login(browser, base: str, username: str, password: str = PASSWORD):
    """A separate person in a separate browser, signed in to the admin."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(base + "/admin/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/admin/$"))
    return context, page


def screenshots_asked(request) -> bool:
    """Whether the run asked for every browser test's screenshots (--screenshots or
    E2E_SCREENSHOTS=1), not only failing ones'."""
    return request.config.getoption("--screenshots") or os.environ.get("E2E_SCREENSHOTS") == "1"


def keep_screenshot(request, shown, name: str, **options) -> None:
    """When screenshots are asked for, save a picture of `shown` (a page or a part of it) as
    `name`, for a person to look at; failing tests save theirs anyway (conftest)."""
    if screenshots_asked(request):
        SCREENSHOT_DIR.mkdir(exist_ok=True)
        shown.screenshot(path=str(SCREENSHOT_DIR / name), **options)
