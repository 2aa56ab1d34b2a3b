"""The Content-Security-Policy in a real browser: no page the site serves breaks under it.

Every CSP violation (the ``securitypolicyviolation`` DOM event, in any frame) and every console
error is collected; the public journey (with localstripe's card field) and the Wagtail admin
(dashboard, page edit form, image chooser) must raise none.
"""

import re

import pytest

from .steps import add_to_cart, fill_checkout, pay

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

ADMIN_PASSWORD = "a-long-admin-passphrase"
WATCH_VIOLATIONS = """
document.addEventListener('securitypolicyviolation', (e) => {
  window.__vitrineCsp && window.__vitrineCsp(
    `${e.effectiveDirective} blocked ${e.blockedURI || 'inline'} on ${e.documentURI}` +
    (e.sample ? ` (${e.sample})` : ''));
}, true);
"""


class Watcher:
    def __init__(self, page):
        self.violations: list[str] = []
        self.console: list[str] = []
        page.context.expose_binding(
            "__vitrineCsp", lambda source, text: self.violations.append(text)
        )
        page.context.add_init_script(WATCH_VIOLATIONS)
        page.on(
            "console",
            lambda msg: (
                self.console.append(f"{msg.type}: {msg.text}") if msg.type == "error" else None
            ),
        )

    def assert_clean(self, where: str) -> None:
        problems = self.violations + [
            line
            for line in self.console
            if "Content Security Policy" in line or "Permissions-Policy" in line
        ]
        assert problems == [], f"{where}: {problems}"


def test_public_journey_raises_no_csp_violation(page, live_server, marketplace, stripe_live):
    watcher = Watcher(page)
    base = live_server.url
    for path in ("/", "/shops/", "/designers/", "/search/?q=tote"):
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
        watcher.assert_clean(path)
    add_to_cart(page, base, marketplace["tote"])
    watcher.assert_clean("item page and cart")
    page.get_by_role("link", name="Checkout").click()
    watcher.assert_clean("checkout")
    fill_checkout(page)
    page.wait_for_url(re.compile(r"/checkout/pay/VT-"))
    page.locator("#card-element input").first.wait_for()
    page.wait_for_load_state("networkidle")
    watcher.assert_clean("pay")
    pay(page, "4242424242424242")
    page.wait_for_url(re.compile(r"/checkout/done/VT-"))
    page.wait_for_load_state("networkidle")
    watcher.assert_clean("done")


def test_wagtail_admin_raises_no_csp_violation(page, live_server, marketplace, django_user_model):
    django_user_model.objects.create_superuser(
        username="boss", email="boss@vitrine.example", password=ADMIN_PASSWORD
    )
    watcher = Watcher(page)
    base = live_server.url
    page.goto(base + "/admin/login/")
    page.get_by_label("Username").fill("boss")
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/admin/$"))
    page.wait_for_load_state("networkidle")
    watcher.assert_clean("dashboard")

    tote = marketplace["tote"]
    page.goto(f"{base}/admin/pages/{tote.pk}/edit/")
    page.wait_for_load_state("networkidle")
    watcher.assert_clean("item edit form")
    page.goto(f"{base}/admin/stock/{tote.pk}/")
    page.wait_for_load_state("networkidle")
    watcher.assert_clean("stock control")
    page.goto(f"{base}/admin/pages/{tote.pk}/edit/")
    page.wait_for_load_state("networkidle")

    # The gallery's image chooser: a modal loaded over XHR, with its own scripts.
    page.locator("#id_gallery_images-ADD").click()
    page.locator("[data-chooser-action-choose]:visible").first.click()
    modal = page.locator(".modal-content")
    modal.get_by_role("heading", name=re.compile("Choose an image", re.I)).wait_for()
    modal.get_by_role("tab", name="Upload").click()  # the upload form has scripts of its own
    modal.get_by_label("Title").first.wait_for()
    modal.get_by_role("button", name="Close").click()
    page.wait_for_load_state("networkidle")
    watcher.assert_clean("image chooser")
