"""A page's cache reads come in two round trips once its URL has been seen
(page_cache.ReadAheadMiddleware, marketplace.cache.ReadAhead), and reading ahead never hands
out a value the request should not see: each copy read ahead is handed out once, a write in
the request drops it, and one shopper's reads are never read ahead for another."""

import re

from django.core.cache import cache, caches
from django.core.cache.backends.locmem import LocMemCache
from django.test import Client, RequestFactory

import pytest

from marketplace import page_cache
from marketplace.cache import ReadAhead, ReadAheadMixin
from marketplace.tests.helpers import CacheReads as Reads
from products.factories import DesignerFactory, ItemPageFactory
from vendors.factories import ShopPageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _memo(settings, clear_cache):
    settings.VITRINE_SITE_MEMO = True


def cache_reads(monkeypatch) -> Reads:
    """Counts the reads that reach the cache itself (each a round trip to Redis in
    production), whether or not a value read ahead answered the caller."""
    return Reads(monkeypatch, LocMemCache)


@pytest.fixture
def pages(site_tree):
    shop = ShopPageFactory(title="Maison Lune")
    designer = DesignerFactory(name="Ines Vidal")
    items = [ItemPageFactory(parent=shop, designer=designer) for _ in range(3)]
    return [items[0].url, shop.url, f"/designers/{designer.slug}/", "/"]


def test_a_seen_page_reads_the_cache_in_two_round_trips(client, pages, monkeypatch):
    first = {url: client.get(url) for url in pages}
    client.get(pages[0])  # an item page's parts are kept at the second view
    for url in pages:
        reads = cache_reads(monkeypatch)
        again = client.get(url)
        assert again.status_code == 200
        assert _without_nonces(again) == _without_nonces(first[url])
        assert reads.reads <= 2, url
        monkeypatch.undo()


def test_without_reading_ahead_the_same_pages_take_many_round_trips(
    client, pages, monkeypatch, settings
):
    """What the layer saves: the same pages, read one thing at a time."""
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "ReadAhead" not in m]
    for url in pages:
        client.get(url)
        client.get(url)
        reads = cache_reads(monkeypatch)
        client.get(url)
        assert reads.reads >= 4, url
        monkeypatch.undo()


def test_a_page_whose_parts_are_kept_reads_ahead_only_them(client, site_tree, settings):
    """Not the cards its parts were made of: each entry read ahead costs its unpickling."""
    settings.VITRINE_FRAGMENT_SECONDS = 3600
    shop = ShopPageFactory()
    ItemPageFactory(parent=shop)
    client.get(shop.url)
    assert any(key.startswith("memo:card-row:") for key in _learned(client, shop.url))
    assert client.get(shop.url)["X-Shared-Parts"] == "hit"
    assert not any(key.startswith("memo:card-row:") for key in _learned(client, shop.url))


def test_a_value_read_ahead_is_handed_out_once(clear_cache):
    """A second read sees what another process wrote meanwhile (a version moved on by a
    sale): the check before a page's parts are stored is such a read."""
    cache.set("list", ["a"])
    cache.set("a", "old")
    with cache.read_ahead("list"):
        assert cache.get("other") is None  # the first read brings the list and "a"
        LocMemCache.set(cache, "a", "new")  # another worker, behind this request's back
        assert cache.get("a") == "old"  # as read ahead
        assert cache.get("a") == "new"
        assert cache.get_many(["a"]) == {"a": "new"}


def test_a_write_in_the_request_drops_its_copy_read_ahead(clear_cache):
    cache.set("list", ["a", "b", "c", "d"])
    cache.set_many({"a": 1, "b": 2, "c": 3, "d": 4})
    with cache.read_ahead("list"):
        cache.get("a")
        cache.set("b", 20)
        cache.delete("c")
        cache.set_many({"d": 40})
        assert cache.get_many(["b", "c", "d"]) == {"b": 20, "d": 40}


def test_a_key_missing_when_read_ahead_is_missing_then_found_once_written(clear_cache):
    cache.set("list", ["a"])
    with cache.read_ahead("list"):
        assert cache.get("a", "default") == "default"
        cache.add("a", 1)
        assert cache.get("a") == 1


def test_a_sale_while_a_page_renders_shows_on_the_next_view_read_ahead_or_not(
    client, site_tree, monkeypatch, settings
):
    """Reading ahead reads a version earlier, never later, than what it covers: parts built
    while a sale commits elsewhere are never kept as current."""
    from products import selectors

    settings.VITRINE_FRAGMENT_SECONDS = 3600
    shop = ShopPageFactory()
    ItemPageFactory(parent=shop)
    for _ in range(2):
        client.get(shop.url)  # learned, then read ahead
    page_cache.invalidate(f"shop-items:{shop.path}")
    real = selectors.items_for_shop

    def sold_meanwhile(*args, **kwargs):
        # A sale commits in another worker while this one renders: its version moves on
        # behind this request's back (the cache as that worker writes it).
        LocMemCache.set(cache, page_cache.VERSION_PREFIX + f"shop-items:{shop.path}", "sold", None)
        return real(*args, **kwargs)

    monkeypatch.setattr(selectors, "items_for_shop", sold_meanwhile)
    assert client.get(shop.url)["X-Shared-Parts"] == "miss"
    monkeypatch.setattr(selectors, "items_for_shop", real)
    assert client.get(shop.url)["X-Shared-Parts"] == "miss", "parts kept under a stale version"
    assert client.get(shop.url)["X-Shared-Parts"] == "hit"


@pytest.fixture
def searched(site_tree):
    shop = ShopPageFactory(title="Maison Lune")
    for word in ("silk", "wool", "linen"):
        ItemPageFactory(parent=shop, title=f"A {word} scarf")
    return shop


def _search_reads(client, monkeypatch, url: str) -> int:
    reads = cache_reads(monkeypatch)
    assert client.get(url).status_code == 200
    monkeypatch.undo()
    return reads.reads


def test_a_url_new_to_a_seen_path_reads_what_the_paths_views_share_ahead(
    client, searched, monkeypatch
):
    """A search never asked before reads the search page's own entries (the site, the
    filters' names, the footer...) ahead with its first read, as a seen URL does."""
    client.get("/search/?q=silk")
    with_path = _search_reads(client, monkeypatch, "/search/?q=wool")
    cache.clear()
    monkeypatch.setattr(page_cache, "_read_ahead_keys", _without_paths_list)
    client.get("/search/?q=silk")
    without = _search_reads(client, monkeypatch, "/search/?q=wool")
    assert with_path < without - 2, (with_path, without)


def _without_paths_list(request, keys=page_cache._read_ahead_keys):
    everyones, _paths, own = keys(request)
    return everyones, None, own


def test_a_paths_list_keeps_only_what_every_view_of_it_read(client, searched):
    """Not one search's own matches or counts: each entry read ahead costs its unpickling."""
    client.get("/search/?q=silk")
    first = _learned(client, "/search/?q=silk", path=True)
    assert any("search-matches" in key for key in first), first
    client.get("/search/?q=wool")
    shared = _learned(client, "/search/?q=linen", path=True)
    assert page_cache.VERSION_PREFIX + page_cache.SITE in shared
    assert not any("search-matches" in key for key in shared), shared
    assert set(shared) < set(first)
    assert _learned(client, "/search/?q=wool") != shared, "the URL's own list is whole"


def test_a_url_without_a_query_string_has_no_second_list(client, searched):
    client.get(searched.url)
    assert _learned(client, searched.url)
    assert page_cache._read_ahead_keys(RequestFactory().get(searched.url))[1] is None


def test_a_cart_is_read_ahead_for_its_shopper_only(client, site_tree, monkeypatch):
    """A cart's parts vary with its lines: what it reads is read ahead for the same shopper
    (by their session), never for the next visitor of /cart/."""
    shop = ShopPageFactory()
    mine, theirs = ItemPageFactory(parent=shop), ItemPageFactory(parent=shop)
    client.post("/cart/add/", {"item": mine.pk})
    client.get("/cart/")  # with the message that it was added
    first = client.get("/cart/")
    reads = cache_reads(monkeypatch)
    again = client.get("/cart/")
    assert reads.reads <= 2
    assert _without_nonces(again) == _without_nonces(first)
    monkeypatch.undo()
    assert _learned(client, "/cart/") is None, "no list for everyone"
    own = _learned(client, "/cart/", own=True)
    assert any(key == f"memo:card-row:{mine.pk}" for key in own)

    other = Client()
    other.post("/cart/add/", {"item": theirs.pk})
    read_ahead: list[str] = []
    keep = ReadAhead.keep
    monkeypatch.setattr(ReadAhead, "keep", lambda self, found, keys: (
        read_ahead.extend(keys), keep(self, found, keys)))  # fmt: skip
    other.get("/cart/")
    assert f"memo:card-row:{mine.pk}" not in read_ahead
    assert f"memo:card-row:{mine.pk}" not in _learned(other, "/cart/", own=True)


def test_a_signed_in_shoppers_session_is_never_in_a_list_for_everyone(
    client, site_tree, django_user_model, settings
):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"  # production's
    shop = ShopPageFactory()
    ItemPageFactory(parent=shop)
    user = django_user_model.objects.create_user("ada", "ada@example.com", "pw-long-enough-1")
    client.force_login(user)
    client.get(shop.url)
    learned = _learned(client, shop.url)
    assert learned, "a shop page is learned"
    assert all(key.startswith(page_cache.SHARED_KEY_PREFIXES) for key in learned)


def test_a_url_never_seen_costs_no_extra_round_trip(client, site_tree, monkeypatch, settings):
    """Its list is read with the request's first read; without a list, nothing more."""
    shop = ShopPageFactory()
    with_layer = {}
    for url in ("/healthz/", shop.url):
        reads = cache_reads(monkeypatch)
        client.get(url)
        with_layer[url] = reads.reads
        monkeypatch.undo()
    cache.clear()
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "ReadAhead" not in m]
    for url in ("/healthz/", shop.url):
        reads = cache_reads(monkeypatch)
        client.get(url)
        assert with_layer[url] <= reads.reads, url
        monkeypatch.undo()


def test_the_caches_read_ahead():
    assert isinstance(caches["default"], ReadAheadMixin)


def _without_nonces(response) -> str:
    """The page as any shopper sees it: without this response's CSP nonce and CSRF token."""
    html = re.sub(r'nonce="[^"]*"', "", response.content.decode())
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)


def _learned(client, url: str, *, own: bool = False, path: bool = False) -> list[str] | None:
    """The list kept for everyone who asks for `url`, or with `own` for this client only, or
    with `path` for every URL of its path."""
    request = RequestFactory().get(url)
    request.COOKIES = {name: morsel.value for name, morsel in client.cookies.items()}
    everyones, paths, own_key = page_cache._read_ahead_keys(request)
    return LocMemCache.get(cache, own_key if own else paths if path else everyones)


def test_clearing_the_cache_drops_every_copy_read_ahead(clear_cache):
    cache.set("list", ["a"])
    cache.set("a", 1)
    with cache.read_ahead("list"):
        cache.get("other")
        cache.clear()
        assert cache.get("a") is None
