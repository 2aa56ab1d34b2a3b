"""Browser-test infrastructure: Playwright (sync API) driving the system Chromium.

Fixtures:
- ``browser`` (session): headless Chromium from ``$CHROMIUM_PATH`` or /usr/bin/chromium.
  Missing Chromium skips the test, unless ``E2E_REQUIRED=1`` (as in CI), where it fails.
- ``page``: a fresh browser context and page per test. On failure a screenshot is saved to
  e2e/screenshots/<test name>.png; with ``--screenshots`` or ``E2E_SCREENSHOTS=1`` always.
- Use ``live_server`` for the site (pytest-django's, serving one request at a time on SQLite's
  shared in-memory connection: tests/fixtures/live_server.py) and the shared ``localstripe``
  fixture for payments.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest

from .steps import PASSWORD, SCREENSHOT_DIR, screenshots_asked

# Playwright's sync API runs an event loop in the test thread; Django's async-safety check
# would then refuse ORM calls made by the test itself (fixtures, assertions).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEFAULT_TIMEOUT_MS = 15_000  # Playwright's 30 s default makes a broken journey slow to fail
# Every Content-Security-Policy violation, in any frame of the page, is reported to the test.
CSP_WATCH = """document.addEventListener('securitypolicyviolation', (e) => {
  window.__e2eCspViolation && window.__e2eCspViolation(
    `${e.effectiveDirective} blocked ${e.blockedURI || 'inline'} on ${e.documentURI}`);
}, true);"""


def _e2e_required() -> bool:
    return os.environ.get("E2E_REQUIRED") == "1"


def _unavailable(reason: str) -> None:
    if _e2e_required():
        pytest.fail(f"{reason} (E2E_REQUIRED=1, so browser tests may not be skipped)")
    pytest.skip(f"{reason}; install Debian's chromium or set CHROMIUM_PATH")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    # Keep each phase's report on the item so the ``page`` fixture can see if the test failed.
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def browser():
    path = os.environ.get("CHROMIUM_PATH") or DEFAULT_CHROMIUM
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        _unavailable(f"Chromium not found at {path}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _screenshot_name(node: pytest.Item) -> str:
    return re.sub(r"[^\w.-]+", "_", node.name).strip("_") + ".png"


@pytest.fixture
def page(browser, request: pytest.FixtureRequest) -> Iterator:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    csp_violations: list[str] = []
    context.expose_binding("__e2eCspViolation", lambda _source, text: csp_violations.append(text))
    context.add_init_script(CSP_WATCH)
    page = context.new_page()
    try:
        yield page
    finally:
        report = getattr(request.node, "rep_call", None)
        failed = report is not None and report.failed
        if failed or screenshots_asked(request):
            SCREENSHOT_DIR.mkdir(exist_ok=True)
            target = SCREENSHOT_DIR / _screenshot_name(request.node)
            try:
                page.screenshot(path=str(target), full_page=True)
            except Exception as exc:  # a crashed page must not hide the test's own failure
                print(f"could not save screenshot {target}: {exc}")
        context.close()
        if csp_violations and not failed:
            pytest.fail(f"Content-Security-Policy violations: {csp_violations}")


# --- Shared journey data ------------------------------------------------------------------------


@pytest.fixture
def stripe_live(settings, localstripe):
    settings.STRIPE_API_BASE = localstripe
    settings.STRIPE_SECRET_KEY = "sk_test_e2e"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_e2e"
    settings.STRIPE_JS_URL = f"{localstripe}/js.stripe.com/v3/"
    return settings


@pytest.fixture
def marketplace(site_tree):
    from products.factories import CategoryFactory, DesignerFactory, ItemPageFactory
    from vendors.services import vendor_onboard

    aubert = DesignerFactory(name="Maison Aubert", slug="maison-aubert")
    bags, watches = CategoryFactory(name="Bags", slug="bags"), CategoryFactory(name="Watches")
    lune = vendor_onboard(name="Maison Lune", contact_email="hello@lune.example",
                          staff_email="staff@lune.example", staff_username="lune",
                          staff_password=PASSWORD)  # fmt: skip
    salon = vendor_onboard(name="Second Salon", contact_email="hello@salon.example",
                           staff_email="staff@salon.example", staff_username="salon",
                           staff_password=PASSWORD)  # fmt: skip
    lune.shop.phone_number, lune.shop.phone_orders = "+442079460958", True
    lune.shop.phone_hours = "Tue–Sat 10:00–18:00"
    lune.shop.save_revision().publish()
    # Salon stores a number but does not publish it: it must never appear.
    salon.shop.phone_number, salon.shop.phone_orders = "+441615550123", False
    salon.shop.save_revision().publish()
    tote = ItemPageFactory(parent=lune.shop, title="Cognac leather tote", designer=aubert,
                           category=bags, price="1250.00", with_image=True)  # fmt: skip
    clutch = ItemPageFactory(parent=salon.shop, title="Ivory silk clutch", designer=aubert,
                             category=bags, price="640.00", with_image=True)  # fmt: skip
    ItemPageFactory(parent=salon.shop, title="Steel dress watch", designer=aubert,
                    category=watches, price="900.00")  # fmt: skip
    return {"tote": tote, "clutch": clutch, "lune": lune, "salon": salon}
