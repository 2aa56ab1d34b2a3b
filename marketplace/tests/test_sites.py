"""The request's Site is memoised (marketplace.sites): no Site query once known, and a saved or
deleted Site is seen by the very next request."""

import json
import re

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from wagtail.models import Site

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _site_memo(settings, clear_cache):
    settings.VITRINE_SITE_MEMO = True


def _site_queries(client, url, **extra):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **extra)
    assert response.status_code == 200
    return response, [q["sql"] for q in queries if 'FROM "wagtailcore_site"' in q["sql"]]


def test_the_site_is_looked_up_once_then_reused(site_tree):
    client = Client()
    client.cookies["seen"] = "1"  # past the page cache
    _, first = _site_queries(client, "/")
    _, second = _site_queries(client, "/shops/")
    assert len(first) == 1  # the site, every site's root path and the footer's settings
    assert second == []


def test_a_new_site_for_a_host_answers_the_next_request(site_tree):
    client = Client()
    client.cookies["seen"] = "1"
    home, _ = _site_queries(client, "/", HTTP_HOST="127.0.0.1")
    assert site_tree.home.hero_heading in home.content.decode()

    Site.objects.create(hostname="127.0.0.1", port=80, root_page=site_tree.shop_index)
    shops, queries = _site_queries(client, "/", HTTP_HOST="127.0.0.1")
    assert queries  # looked up again
    assert site_tree.home.hero_heading not in shops.content.decode()

    Site.objects.get(hostname="127.0.0.1").delete()
    home_again, _ = _site_queries(client, "/", HTTP_HOST="127.0.0.1")
    assert site_tree.home.hero_heading in home_again.content.decode()


def test_pages_below_home_are_routed_without_reading_the_home_page(site_tree):
    client = Client()
    client.cookies["seen"] = "1"
    client.get("/shops/")  # memoised
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/shops/").status_code == 200
    assert not [q for q in queries if 'FROM "home_homepage"' in q["sql"]]


@pytest.mark.parametrize("parts_kept", [0, 3600], ids=["parts rendered", "parts kept"])
def test_the_home_page_itself_is_read_afresh_after_each_save(site_tree, settings, parts_kept):
    settings.VITRINE_FRAGMENT_SECONDS = parts_kept  # its hero is in its shared parts
    client = Client()
    client.cookies["seen"] = "1"
    assert site_tree.home.hero_heading in client.get("/").content.decode()
    site_tree.home.hero_heading = "Fresh heading"
    site_tree.home.save()  # no publish signal: saved all the same
    with CaptureQueriesContext(connection) as queries:
        assert "Fresh heading" in client.get("/").content.decode()
    # Read whole, once (not a query per field of the memoised copy), then kept.
    assert len([q for q in queries if 'FROM "home_homepage"' in q["sql"]]) == 1
    with CaptureQueriesContext(connection) as queries:
        assert "Fresh heading" in client.get("/").content.decode()
    assert not [q for q in queries if 'FROM "home_homepage"' in q["sql"]]


def test_page_urls_are_worked_out_from_root_paths_memoised_with_the_site(
    site_tree, settings, monkeypatch
):
    from products.factories import ItemPageFactory

    settings.VITRINE_FRAGMENT_SECONDS = 0  # its parts drawn each time: {% pageurl %}, JSON-LD
    item = ItemPageFactory(title="Cognac tote")
    item_url, shop_url = item.url, item.get_parent().url
    client = Client()
    client.cookies["seen"] = "1"
    assert "Cognac tote" in client.get(item_url).content.decode()  # memoised
    asked = []
    original = Site.get_site_root_paths
    monkeypatch.setattr(Site, "get_site_root_paths", lambda: asked.append(1) or original())
    page = client.get(item_url).content.decode()
    data = json.loads(re.search(r'application/ld\+json">(.*?)</script>', page, re.S).group(1))
    assert data["url"] == f"http://testserver{item_url}" and f'href="{shop_url}"' in page
    assert asked == []  # not from Wagtail's cache entry (a round trip a page), nor the database


def test_the_root_paths_follow_a_new_site(site_tree, rf):
    from marketplace.sites import SiteMiddleware

    middleware = SiteMiddleware(lambda request: request)
    before = middleware(rf.get("/", HTTP_HOST="127.0.0.1"))._wagtail_cached_site_root_paths
    assert before == Site.get_site_root_paths()
    new = Site.objects.create(hostname="127.0.0.1", port=80, root_page=site_tree.shop_index)
    after = middleware(rf.get("/", HTTP_HOST="127.0.0.1"))._wagtail_cached_site_root_paths
    assert new.pk in {path.site_id for path in after} and after == Site.get_site_root_paths()


_HOSTS = ["shop.test", "www.shop.test", "localhost"]


@hypothesis_settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    sites=st.lists(
        st.tuples(st.sampled_from(_HOSTS), st.sampled_from([80, 443, 8000]), st.booleans()),
        max_size=4,
        unique_by=lambda site: site[:2],
    ),
    hostname=st.sampled_from([*_HOSTS, "elsewhere.test"]),
    port=st.sampled_from([80, 443, 8000]),
)
def test_the_site_is_chosen_and_the_root_paths_listed_as_wagtail_does(
    site_tree, sites, hostname, port
):
    """A first view reads every site in one query (marketplace.sites): which answers a host and
    port, and the root paths in their order, are Wagtail's own answers."""
    from wagtail.models.sites import get_site_for_hostname

    from marketplace.sites import _choose, _root_paths

    Site.objects.all().delete()
    roots = [site_tree.home, site_tree.shop_index]
    default_taken = False
    for n, (host, site_port, default) in enumerate(sites):
        Site.objects.create(
            hostname=host,
            port=site_port,
            root_page=roots[n % 2],
            is_default_site=default and not default_taken,
        )
        default_taken = default_taken or default
    Site.clear_site_root_paths_cache()
    read = list(Site.objects.select_related("root_page__locale"))
    try:
        wagtails = get_site_for_hostname(hostname, port).pk
    except Site.DoesNotExist:
        wagtails = None
    chosen = _choose(read, hostname, port)
    assert (chosen.pk if chosen else None) == wagtails
    assert _root_paths(read) == Site.get_site_root_paths()
