"""Which page serves a path is remembered (HomePage.route): a request reads only that page,
and whatever changes what the path serves (unpublishing the page or its shop, a move, a new
slug, a deleted page) is seen by the very next request."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

import pytest

from products.factories import DesignerFactory, ItemPageFactory
from vendors.factories import ShopPageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _memo(settings, clear_cache):
    settings.VITRINE_SITE_MEMO = True


@pytest.fixture
def shop(site_tree):
    return ShopPageFactory(title="Maison Lune", slug="maison-lune")


def page_rows_read(client, url) -> tuple[int, list[str]]:
    """The response's status and the queries that read several page rows by URL path."""
    with CaptureQueriesContext(connection) as queries:
        status = client.get(url).status_code
    return status, [q["sql"] for q in queries if '"url_path" IN' in q["sql"]]


def test_a_path_is_routed_once_then_served_from_the_memo(client, shop):
    item = ItemPageFactory(parent=shop)
    for url in (item.url, shop.url, "/designers/", f"/designers/{item.designer.slug}/"):
        status, routing = page_rows_read(client, url)
        assert (status, len(routing)) == (200, 1), url
        status, routing = page_rows_read(client, url)
        assert (status, routing) == (200, []), url


def test_an_unpublished_piece_or_shop_is_gone_at_once(client, shop):
    item = ItemPageFactory(parent=shop)
    other = ItemPageFactory(parent=shop)
    for url in (item.url, other.url, shop.url):
        client.get(url)
    item.unpublish()
    assert client.get(item.url).status_code == 404
    assert client.get(other.url).status_code == 200
    shop.unpublish()
    assert client.get(other.url).status_code == 404
    assert client.get(shop.url).status_code == 404


def test_a_new_slug_a_move_and_a_deletion_are_seen_at_once(client, site_tree, shop):
    item = ItemPageFactory(parent=shop, slug="silk-scarf")
    old_url = item.url
    assert client.get(old_url).status_code == 200
    item.slug = "hermes-silk-scarf"
    item.save_revision().publish()
    assert client.get(old_url).status_code == 404
    assert client.get(f"{shop.url}hermes-silk-scarf/").status_code == 200

    atelier = ShopPageFactory(title="Atelier Nord", slug="atelier-nord")
    moved_from = f"{shop.url}hermes-silk-scarf/"
    item.move(atelier, pos="last-child")
    moved = client.get(moved_from)  # not the memo's page: Wagtail's redirect to where it went
    assert (moved.status_code, moved["Location"]) == (301, f"{atelier.url}hermes-silk-scarf/")
    assert client.get(f"{atelier.url}hermes-silk-scarf/").status_code == 200

    assert client.get(atelier.url).status_code == 200
    atelier.delete()
    assert client.get(atelier.url).status_code == 404
    assert client.get(f"{atelier.url}hermes-silk-scarf/").status_code == 404


def test_a_path_that_was_not_found_is_found_once_published(client, shop):
    designer = DesignerFactory()
    assert client.get(f"{shop.url}new-piece/").status_code == 404
    ItemPageFactory(parent=shop, slug="new-piece", designer=designer)
    assert client.get(f"{shop.url}new-piece/").status_code == 200


def test_a_kept_page_with_its_parts_kept_reads_no_row_at_all(client, shop, settings):
    settings.VITRINE_FRAGMENT_SECONDS = 3600  # its shared parts (marketplace.fragments)
    item = ItemPageFactory(parent=shop, gallery=2)
    client.cookies["seen"] = "1"  # not a first-time visitor: rendered, not the page cache
    for url in (item.url, shop.url):
        client.get(url)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200
        assert response["X-Shared-Parts"] == "hit"
        assert [q["sql"] for q in queries] == [], url
