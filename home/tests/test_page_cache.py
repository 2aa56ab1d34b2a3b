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


# --- Only canonical URLs are cached: no flooding with ?page=junk1, junk2, ... ------------------


def cached_pages() -> list[str]:
    from django.core.cache import cache

    return [key for key in cache._cache if ":pagecache:" in key and "generation" not in key]


@pytest.fixture
def paged_shop(site_tree, cached):
    """A shop with three pages of pieces (two a page)."""
    cached.VITRINE_ITEMS_PER_PAGE = 2
    shop = ShopPageFactory(title="Maison Lune")
    for n in range(5):
        ItemPageFactory(parent=shop, title=f"Piece {n}", sold=True)
    return shop


def test_junk_page_numbers_leave_nothing_in_the_cache(client, paged_shop):
    junk = ["junk1", "junk2", "", "0", "-1", "02", "2.0", "1e3", "2&page=3", "%EF%BC%92", "1"]
    for value in junk:
        response = client.get(f"{paged_shop.url}?page={value}")
        assert response.status_code == 200, value  # a bad page number still shows a page
        client.cookies.clear()
    assert cached_pages() == []


def test_a_page_beyond_the_last_is_not_cached(client, paged_shop):
    for value in ("4", "99", "999999999999"):
        assert client.get(f"{paged_shop.url}?page={value}").status_code == 200
        client.cookies.clear()
    assert cached_pages() == []


def test_a_valid_second_page_is_cached_once(client, paged_shop):
    first = client.get(f"{paged_shop.url}?page=2")
    assert first["X-Page-Cache"] == "miss"
    assert "Piece 2" in first.content.decode() or "Piece 1" in first.content.decode()
    client.cookies.clear()
    assert client.get(f"{paged_shop.url}?page=2")["X-Page-Cache"] == "hit"
    assert len(cached_pages()) == 1


def test_a_page_number_on_a_page_without_pages_is_not_cached(client, site_tree, cached):
    for url in ("/?page=2", "/privacy/?page=2"):
        client.get(url)
        client.cookies.clear()
    assert cached_pages() == []
