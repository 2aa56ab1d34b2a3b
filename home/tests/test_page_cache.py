"""Anonymous whole-page cache: hits for cookie-less visitors, never personal, fresh on publish."""

import pytest

from home import page_cache
from products.factories import ItemPageFactory
from vendors.factories import ShopPageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def cached(settings, clear_cache):
    settings.VITRINE_PAGE_CACHE_SECONDS = 300
    return settings


def test_second_anonymous_visit_is_a_cache_hit_with_no_queries(
    client, site_tree, cached, django_assert_num_queries
):
    shop = ShopPageFactory(title="Maison Lune")
    ItemPageFactory(parent=shop)
    first = client.get(shop.url)
    assert first["X-Page-Cache"] == "miss"
    client.cookies.clear()
    with django_assert_num_queries(0):
        second = client.get(shop.url)
    assert second["X-Page-Cache"] == "hit"
    assert second.content == first.content


def test_publishing_an_edit_shows_at_once(client, site_tree, cached):
    shop = ShopPageFactory(title="Maison Lune", intro="Old words")
    client.get(shop.url)
    shop.intro = "New words"
    shop.save_revision().publish()
    client.cookies.clear()
    response = client.get(shop.url)
    assert response["X-Page-Cache"] == "miss"
    assert "New words" in response.content.decode()


def test_selling_a_piece_refreshes_cached_pages(client, site_tree, cached):
    shop = ShopPageFactory()
    client.get(shop.url)
    page_cache.bump()  # what order_mark_paid and refunds do after commit
    client.cookies.clear()
    assert client.get(shop.url)["X-Page-Cache"] == "miss"


def test_visitors_with_cookies_and_personal_pages_are_never_cached(client, site_tree, cached):
    shop = ShopPageFactory()
    item = ItemPageFactory(parent=shop)
    client.cookies["sessionid"] = "anything"
    client.get(shop.url)
    assert "X-Page-Cache" not in client.get(shop.url)
    client.cookies.clear()
    for url in (item.url, "/cart/", "/search/?q=bag", shop.url + "?utm=1"):
        client.get(url)
        client.cookies.clear()
        assert "X-Page-Cache" not in client.get(url), url


def test_a_count_memoised_before_the_commit_is_not_kept(
    clear_cache, django_capture_on_commit_callbacks
):
    """Publishing bumps the generation inside its transaction; another request may memoise the
    old rows under the new generation before the commit, so the commit bumps it again."""
    from products.selectors import memoised

    with django_capture_on_commit_callbacks(execute=True):
        page_cache.bump()
        assert memoised("probe", lambda: "before the commit") == "before the commit"
    assert memoised("probe", lambda: "after the commit") == "after the commit"


def test_restricting_a_page_starts_a_new_generation(site_tree):
    from wagtail.models import PageViewRestriction

    shop = ShopPageFactory()
    before = page_cache.generation()
    restriction = PageViewRestriction.objects.create(
        page=shop, restriction_type=PageViewRestriction.LOGIN
    )
    assert page_cache.generation() > before
    before = page_cache.generation()
    restriction.delete()
    assert page_cache.generation() > before
