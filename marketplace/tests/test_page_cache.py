"""Anonymous whole-page cache: hits for cookie-less visitors, never personal, fresh on publish."""

import pytest

from marketplace import page_cache
from marketplace.tests.helpers import CacheAdds, CacheReads
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


def test_a_change_everywhere_refreshes_every_cached_page(client, site_tree, cached):
    shop = ShopPageFactory()
    client.get(shop.url)
    page_cache.invalidate(page_cache.SITE)  # what a suspended vendor or a footer edit does
    client.cookies.clear()
    assert client.get(shop.url)["X-Page-Cache"] == "miss"


def test_a_change_elsewhere_keeps_the_cached_page(client, site_tree, cached):
    """orders/tests/test_page_cache_invalidation.py has the whole story of a sale."""
    shop, other = ShopPageFactory(), ShopPageFactory()
    piece = ItemPageFactory(parent=other)
    client.get(shop.url)
    piece.save_revision().publish()  # another shop's piece
    client.cookies.clear()
    assert client.get(shop.url)["X-Page-Cache"] == "hit"


def test_a_version_lost_from_the_cache_makes_what_was_stored_under_it_stale(
    client, site_tree, cached
):
    from django.core.cache import cache

    shop = ShopPageFactory()
    client.get(shop.url)
    cache.delete(page_cache.VERSION_PREFIX + f"shop-items:{shop.path}")  # evicted
    client.cookies.clear()
    assert client.get(shop.url)["X-Page-Cache"] == "miss"


def test_a_page_changed_while_it_was_rendered_is_not_stored(client, site_tree, cached, monkeypatch):
    from products import selectors

    shop = ShopPageFactory()
    ItemPageFactory(parent=shop)
    real = selectors.shops_page

    def publish_meanwhile(*args, **kwargs):
        shops = real(*args, **kwargs)
        page_cache.invalidate(f"shop-items:{shop.path}")  # a sale commits during rendering
        return shops

    monkeypatch.setattr(selectors, "shops_page", publish_meanwhile)
    client.get("/shops/")
    assert "X-Page-Cache" not in client.get("/shops/")
    monkeypatch.setattr(selectors, "shops_page", real)
    client.cookies.clear()
    assert client.get("/shops/")["X-Page-Cache"] == "miss"


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
    """A change invalidates inside its transaction; another request may memoise the old rows
    under the new version before the commit, so the commit invalidates again."""
    with django_capture_on_commit_callbacks(execute=True):
        page_cache.invalidate("probe-tag")
        assert page_cache.memoised("probe", lambda: "before", tags=["probe-tag"]) == "before"
    assert page_cache.memoised("probe", lambda: "after", tags=["probe-tag"]) == "after"


def test_a_memoised_value_is_kept_until_one_of_its_tags_changes(clear_cache):
    calls = []

    def compute():
        calls.append(1)
        return len(calls)

    assert page_cache.memoised("probe", compute, tags=["a"]) == 1
    page_cache.invalidate("b")
    assert page_cache.memoised("probe", compute, tags=["a"]) == 1
    page_cache.invalidate("a")
    assert page_cache.memoised("probe", compute, tags=["a"]) == 2


def test_a_memoised_value_catches_up_when_only_the_tags_it_can_catch_up_on_moved(clear_cache):
    """`catch_up` brings the kept value up to date after a change of a tag in `catch_up_on`
    (None from it: computed again); a change of any other tag computes it again."""
    computed, caught = [], []

    def compute():
        computed.append(1)
        return f"computed {len(computed)}"

    def catch_up(value):
        caught.append(value)
        return None if value == "give up" else f"{value}, caught up"

    def memo():
        return page_cache.memoised(
            "probe", compute, tags=["rows", "shops"], catch_up=catch_up, catch_up_on=["rows"]
        )

    assert memo() == "computed 1"
    page_cache.invalidate("rows")
    assert memo() == "computed 1, caught up" and caught == ["computed 1"]
    assert memo() == "computed 1, caught up"  # kept as caught up
    page_cache.invalidate("rows", "shops")
    assert memo() == "computed 2" and len(caught) == 1
    page_cache.invalidate(page_cache.SITE)
    assert memo() == "computed 3"
    page_cache.invalidate("shops")
    assert page_cache.memoised("probe", lambda: "give up", tags=["rows", "shops"]) == "give up"
    page_cache.invalidate("rows")
    assert memo() == "computed 4" and caught[-1] == "give up"


def test_a_large_memoised_value_is_read_from_the_cache_once_per_version_in_each_worker(
    clear_cache, monkeypatch
):
    """`in_process`: the value is read from the cache by a worker that has not got it (its
    first time, or after another worker computed it again), not by every request; gone from
    the cache, it is computed again."""
    from django.core.cache import cache

    read = []
    real_get = cache.get

    def get(key, *args, **kwargs):
        if key.startswith("memo-value:"):
            read.append(key)
        return real_get(key, *args, **kwargs)

    monkeypatch.setattr(cache, "get", get)
    computed = []

    def memo():
        return page_cache.memoised(
            "big", lambda: computed.append(1) or ["big"] * 3, tags=["t"], in_process=True
        )

    assert memo() == ["big"] * 3
    assert memo() is memo() and not read  # kept in this worker
    monkeypatch.setattr(page_cache, "_IN_PROCESS", page_cache._Values(size=16))  # another worker
    assert memo() == ["big"] * 3 and len(read) == 1
    assert memo() == ["big"] * 3 and len(read) == 1 and len(computed) == 1
    page_cache.invalidate("t")
    assert memo() == ["big"] * 3 and len(computed) == 2
    monkeypatch.setattr(page_cache, "_IN_PROCESS", page_cache._Values(size=16))
    cache.delete(f"memo-value:{real_get('memo:big')[1]}")  # evicted
    assert memo() == ["big"] * 3 and len(computed) == 3


def test_a_large_value_caught_up_stays_in_the_worker_and_reaches_the_cache_once_a_minute(
    clear_cache, monkeypatch
):
    """`in_process` with `catch_up`: after a change, each worker catches its own value up (a
    few rows read), rather than one writing megabytes to the cache and every other reading
    them back; the cache gets a caught-up value again only after RESTORE_SECONDS, for a
    worker that has none to start from."""
    from django.core.cache import cache

    written, read, caught = [], [], []
    real_set_many, real_get = cache.set_many, cache.get

    def set_many(data, *args, **kwargs):
        written.extend(key for key in data if key.startswith("memo-value:"))
        return real_set_many(data, *args, **kwargs)

    def get(key, *args, **kwargs):
        if key.startswith("memo-value:"):
            read.append(key)
        return real_get(key, *args, **kwargs)

    monkeypatch.setattr(cache, "set_many", set_many)
    monkeypatch.setattr(cache, "get", get)
    clock = [1000.0]
    monkeypatch.setattr(page_cache.time, "time", lambda: clock[0])

    def worker():
        monkeypatch.setattr(page_cache, "_IN_PROCESS", page_cache._Values(size=16))

    def memo():
        return page_cache.memoised(
            "big",
            lambda: 0,
            tags=["rows", "shops"],
            catch_up=lambda value: caught.append(value) or value + 1,
            catch_up_on=["rows"],
            in_process=True,
        )

    assert memo() == 0 and len(written) == 1  # computed: the cache has it
    page_cache.invalidate("rows")
    assert memo() == 1 and caught == [0] and len(written) == 1  # caught up here alone
    assert memo() == 1 and caught == [0]
    worker()  # another worker starts from the cache's value, and catches its own up
    assert memo() == 1 and caught == [0, 0] and len(written) == 1 and len(read) == 1
    page_cache.invalidate("rows")
    assert memo() == 2 and caught == [0, 0, 1] and len(written) == 1 and len(read) == 1
    clock[0] += page_cache.RESTORE_SECONDS
    page_cache.invalidate("rows")
    assert memo() == 3 and len(written) == 2  # a minute on: written for newcomers
    worker()
    assert memo() == 3 and caught == [0, 0, 1, 2]  # read as it is: current
    page_cache.invalidate("shops")  # not one to catch up on: computed again
    assert memo() == 0 and len(written) == 3


def test_a_worker_keeps_only_the_large_values_it_used_last_until_they_expire():
    values = page_cache._Values(size=2)
    for name in "abc":
        values.keep(name, page_cache._Own({}, name.upper(), "", expires=100.0))
        if name == "b":
            assert values.get("a", 0.0).value == "A"  # used: "b" is now the oldest
    assert values.get("b", 0.0) is None
    assert [values.get(name, 0.0).value for name in "ac"] == ["A", "C"]
    assert values.get("c", 100.0) is None  # expired, as the cache's entry would be


def test_a_worker_keeps_large_values_up_to_a_number_of_bytes():
    class Sized:
        def __init__(self, nbytes):
            self.nbytes = nbytes

    values = page_cache._Values(size=16, max_bytes=100)
    for name, nbytes in [("a", 40), ("b", 40), ("c", 40), ("d", 500)]:
        values.keep(name, page_cache._Own({}, Sized(nbytes), "", expires=100.0))
        if name == "c":
            assert [n for n in "abc" if values.get(n, 0.0)] == ["b", "c"]
    assert [n for n in "abcd" if values.get(n, 0.0)] == ["d"]  # the newest, whatever its size
    values = page_cache._Values(size=16, max_bytes=100)
    values.keep("a", page_cache._Own({}, growing := Sized(40), "", expires=100.0))
    values.keep("b", page_cache._Own({}, Sized(40), "", expires=100.0))
    growing.nbytes = 70  # grown as it was used
    values.get("a", 0.0)
    values.keep("c", page_cache._Own({}, Sized(10), "", expires=100.0))
    assert [n for n in "abc" if values.get(n, 0.0)] == ["a", "c"]  # 120 bytes: "b" went


def test_restricting_a_page_changes_every_page(site_tree, clear_cache):
    from wagtail.models import PageViewRestriction

    shop = ShopPageFactory()
    before = page_cache._versions([page_cache.SITE])
    restriction = PageViewRestriction.objects.create(
        page=shop, restriction_type=PageViewRestriction.LOGIN
    )
    after = page_cache._versions([page_cache.SITE])
    assert after != before
    restriction.delete()
    assert page_cache._versions([page_cache.SITE]) != after


# --- Only canonical URLs are cached: no flooding with ?page=junk1, junk2, ... ------------------


def cached_pages() -> list[str]:
    from django.core.cache import cache

    return [key for key in cache._cache if ":pagecache:" in key and ":pagecache:v:" not in key]


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


def round_trips(monkeypatch) -> CacheReads:
    """Counts the cache's reads as its callers make them (each a round trip to Redis)."""
    from django.core.cache import cache

    return CacheReads(monkeypatch, cache)


def test_a_memoised_value_is_read_with_its_tags_versions_in_one_round_trip(monkeypatch):
    assert page_cache.memoised("answer", lambda: 42, tags=["a", "b"]) == 42
    trips = round_trips(monkeypatch)
    assert page_cache.memoised("answer", lambda: 0, tags=["a", "b"]) == 42
    assert trips.reads == 1


def test_memoised_values_of_many_objects_are_read_with_their_versions_at_once(monkeypatch):
    def compute(ids):
        return {pk: pk * 2 for pk in ids}

    def tags_of(pk):
        return [f"thing:{pk}"]

    page_cache.memoised_each("double", [1, 2, 3], compute, tags_of=tags_of, default=0)
    trips = round_trips(monkeypatch)
    kept = page_cache.memoised_each("double", [1, 2, 3], dict, tags_of=tags_of, default=0)
    assert kept == {1: 2, 2: 4, 3: 6} and trips.reads == 1
    page_cache.invalidate("thing:2")
    again = page_cache.memoised_each("double", [1, 2, 3], compute, tags_of=tags_of, default=0)
    assert again == {1: 2, 2: 4, 3: 6}


def test_tags_never_seen_get_their_first_versions_in_one_round_trip(monkeypatch):
    """A page of two dozen pieces no page has shown yet gives their tags first versions in
    one write, not one each."""
    from django.core.cache import cache

    trips = CacheAdds(monkeypatch, cache)
    values = page_cache.memoised_each(
        "double", range(24), lambda ids: {pk: pk * 2 for pk in ids},
        tags_of=lambda pk: [f"thing:{pk}"], default=0,
    )  # fmt: skip
    assert values == {pk: pk * 2 for pk in range(24)} and trips.reads == 1


def test_a_campaign_link_gets_the_page_everyone_gets(client, site_tree, cached):
    """Campaign and ad-click parameters (utm_*, gclid, fbclid, ...) are read by analytics in
    the browser, never by a page: a campaign's visitors are served the cached page, their
    landing stores the page everyone gets, and its links do not carry them on."""
    shop = ShopPageFactory()
    ItemPageFactory(parent=shop)
    landing = client.get(f"{shop.url}?utm_source=newsletter&utm_campaign=spring&gclid=Cj0K")
    assert landing["X-Page-Cache"] == "miss"
    assert "utm_" not in landing.content.decode() and "Cj0K" not in landing.content.decode()
    client.cookies.clear()
    assert client.get(shop.url)["X-Page-Cache"] == "hit"
    client.cookies.clear()
    assert client.get(f"{shop.url}?fbclid=IwAR&utm_medium=email")["X-Page-Cache"] == "hit"
    client.cookies.clear()
    # Any other parameter is still a page of its own, never kept.
    assert "X-Page-Cache" not in client.get(f"{shop.url}?utm=1&gclid=Cj0K")


def test_a_worker_serves_its_own_copy_of_a_stored_page_after_one_read_of_its_versions(
    client, site_tree, cached, monkeypatch
):
    """A hit costs one round trip: this worker's copy of the page, checked against its tags'
    versions. Another worker reads the page too (two), then keeps its own copy."""
    shop = ShopPageFactory()
    ItemPageFactory(parent=shop)
    stored = client.get(shop.url)
    client.cookies.clear()
    trips = round_trips(monkeypatch)
    hit = client.get(shop.url)
    assert hit["X-Page-Cache"] == "hit" and hit.content == stored.content
    assert trips.reads == 1

    page_cache._PAGES.clear()  # another worker
    client.cookies.clear()
    trips.reads = 0
    assert client.get(shop.url)["X-Page-Cache"] == "hit" and trips.reads == 2
    client.cookies.clear()
    trips.reads = 0
    assert client.get(shop.url)["X-Page-Cache"] == "hit" and trips.reads == 1


def test_a_workers_copy_of_a_page_goes_stale_with_its_tags_and_expires_with_the_cache(
    client, site_tree, cached, monkeypatch
):
    shop = ShopPageFactory(title="Maison Lune", intro="Old words")
    client.get(shop.url)
    shop.intro = "New words"
    shop.save_revision().publish()
    client.cookies.clear()
    assert "New words" in client.get(shop.url).content.decode()  # the copy was not served

    stored_at = page_cache.time.time()
    client.cookies.clear()
    assert client.get(shop.url)["X-Page-Cache"] == "hit"
    later = stored_at + cached.VITRINE_PAGE_CACHE_SECONDS + 1
    monkeypatch.setattr(page_cache.time, "time", lambda: later)  # the cache's entry expires too
    client.cookies.clear()
    assert client.get(shop.url)["X-Page-Cache"] == "miss"


def test_every_hit_is_a_response_of_its_own(client, site_tree, cached):
    """What the middleware around the page cache adds to a hit (its request id) is that
    hit's own: the stored page is never handed out twice."""
    shop = ShopPageFactory()
    stored = client.get(shop.url)
    client.cookies.clear()
    first = client.get(shop.url)
    client.cookies.clear()
    second = client.get(shop.url)
    ids = {stored["X-Request-ID"], first["X-Request-ID"], second["X-Request-ID"]}
    assert len(ids) == 3
    assert first["X-Page-Cache"] == second["X-Page-Cache"] == "hit"
    assert first.content == second.content == stored.content


@pytest.mark.parametrize("in_process", [False, True], ids=["in the cache", "in each worker"])
def test_while_the_cache_fails_a_value_is_computed_once_a_request_and_never_kept_longer(
    monkeypatch, in_process
):
    """With no version to say when a value changes, none is kept from one request to the
    next; within one request, a value asked twice (every shop) is computed once."""
    from django.core.signals import request_finished, request_started

    monkeypatch.setattr(page_cache, "_versions_and", lambda tags, entries: (None, {}))
    computed = []

    def memo() -> int:
        return page_cache.memoised(
            "failing", lambda: computed.append(1) or len(computed), in_process=in_process
        )

    assert (memo(), memo()) == (1, 2)  # outside a request (a task): each use computes it
    request_started.send(sender=None)
    assert (memo(), memo()) == (3, 3)
    request_finished.send(sender=None)
    assert (memo(), memo()) == (4, 5)  # after it: each use again
    request_started.send(sender=None)
    assert memo() == 6  # the next request: computed again
    request_finished.send(sender=None)


def test_a_shop_renamed_while_the_cache_fails_shows_on_the_next_page(
    client, site_tree, monkeypatch
):
    monkeypatch.setattr(page_cache, "_versions_and", lambda tags, entries: (None, {}))
    shop = ShopPageFactory(title="Atelier Nord")
    ItemPageFactory(parent=shop, title="Silk scarf")
    assert "Atelier Nord" in client.get("/search/").content.decode()
    shop.title = "Atelier Sud"
    shop.save_revision().publish()
    html = client.get("/search/").content.decode()
    assert "Atelier Sud" in html and "Atelier Nord" not in html
