"""The footer's settings are memoised with the Site: read once, and an edit shows at once."""

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

import pytest

from home.models import SiteFooterSettings

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _site_memo(settings, clear_cache):
    settings.VITRINE_SITE_MEMO = True


def _get(client, url):
    with CaptureQueriesContext(connection) as queries:
        html = client.get(url).content.decode()
    return html, [q for q in queries if 'FROM "home_sitefootersettings"' in q["sql"]]


def test_the_footer_is_read_with_the_site_and_an_edit_shows_at_once(site_tree):
    footer = SiteFooterSettings.for_site(site_tree.site)  # made on first use
    client = Client()
    client.cookies["seen"] = "1"
    with CaptureQueriesContext(connection) as queries:
        html = client.get("/").content.decode()
    # Not a query of its own: in the sites' one query (marketplace.sites.read_with_site).
    footers = [q["sql"] for q in queries if '"home_sitefootersettings"' in q["sql"]]
    assert len(footers) == 1 and 'FROM "wagtailcore_site"' in footers[0]
    assert footer.tagline in html
    _, second = _get(client, "/shops/")
    assert second == []

    footer.tagline = "Pieces with a past"
    footer.save()
    html, _ = _get(client, "/shops/")
    assert "Pieces with a past" in html


def test_the_footer_is_rendered_once_and_a_policy_published_or_withdrawn_shows_at_once(
    site_tree,
):
    from policies.factories import PolicyPageFactory

    client = Client()
    client.cookies["seen"] = "1"
    client.get("/")
    with CaptureQueriesContext(connection) as queries:
        client.get("/shops/")
    assert not [q for q in queries if 'FROM "policies_policypage"' in q["sql"]], "kept"

    policy = PolicyPageFactory(title="Returns policy")
    assert "Returns policy</a>" in client.get("/shops/").content.decode()
    policy.unpublish()
    assert "Returns policy</a>" not in client.get("/shops/").content.decode()


def test_a_site_without_footer_settings_gets_them_made_with_their_defaults(site_tree):
    SiteFooterSettings.objects.filter(site=site_tree.site).delete()
    client = Client()
    client.cookies["seen"] = "1"
    html, _ = _get(client, "/")
    made = SiteFooterSettings.objects.get(site=site_tree.site)
    assert made.tagline and made.tagline in html
