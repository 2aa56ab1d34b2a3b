"""Policy pages: under the HomePage only, rendered with their body, linked from the footer."""

from wagtail.models import Page
from wagtail.test.utils import WagtailPageTestCase

import pytest

from home.models import HomePage
from home.services import site_ensure_structure
from policies.factories import PolicyPageFactory
from policies.models import PolicyPage
from products.models import DesignerIndexPage, ItemPage
from vendors.models import ShopIndexPage, ShopPage


class PolicyTreeTests(WagtailPageTestCase):
    @classmethod
    def setUpTestData(cls):
        site_ensure_structure()
        cls.policy = PolicyPageFactory(title="Privacy policy", slug="privacy")

    def test_policy_lives_under_home_only(self):
        self.assertAllowedParentPageTypes(PolicyPage, {HomePage})
        self.assertCanCreateAt(HomePage, PolicyPage)
        for parent in (Page, PolicyPage, ShopIndexPage, ShopPage, ItemPage, DesignerIndexPage):
            self.assertCanNotCreateAt(parent, PolicyPage)

    def test_policy_has_no_children(self):
        self.assertAllowedSubpageTypes(PolicyPage, set())

    def test_several_policies_allowed(self):
        self.assertTrue(PolicyPage.can_create_at(HomePage.objects.get()))

    def test_policy_routes_and_renders(self):
        self.assertEqual(self.policy.url, "/privacy/")
        self.assertPageIsRoutable(self.policy)
        self.assertPageIsRenderable(self.policy)


@pytest.mark.django_db
def test_policy_page_shows_its_body(client, site_tree):
    policy = PolicyPageFactory(title="Privacy policy", slug="privacy")
    html = client.get("/privacy/").content.decode()
    assert policy.summary in html
    assert "Cookies" in html
    assert "Our cookies hold no personal data." in html
    assert "You can delete your account." in html


@pytest.mark.django_db
def test_footer_links_to_live_policies(client, site_tree):
    PolicyPageFactory(title="Privacy policy", slug="privacy")
    PolicyPageFactory(title="Terms of sale", slug="terms")
    draft = PolicyPageFactory(title="Draft policy", slug="draft")
    draft.unpublish()
    html = client.get("/").content.decode()
    assert 'href="/privacy/"' in html and 'href="/terms/"' in html
    assert "/draft/" not in html


@pytest.mark.django_db
def test_policy_body_escapes_script(client, site_tree):
    PolicyPageFactory(
        slug="security",
        body=[("heading", "<script>alert(1)</script>"), ("list", ["<img src=x onerror=alert(2)>"])],
    )
    html = client.get("/security/").content.decode()
    assert "<script>alert(1)" not in html
    assert "<img src=x" not in html
