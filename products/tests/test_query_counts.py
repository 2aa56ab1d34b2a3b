"""Public pages cost a fixed number of queries, whatever the number of items (QUALITY.md: ≤ 12).

Each page is requested once to warm up (renditions generated, caches filled), then measured; the
catalogue then grows from 10 to 100 items and the page is measured again. A first view, with
every cache emptied, is held to a fixed count too (FIRST_VIEW_QUERIES).
"""

from django.db import connection
from django.test.utils import CaptureQueriesContext

import pytest

from products.factories import CategoryFactory, DesignerFactory, ItemPageFactory
from tests.fixtures.cache import empty_caches
from vendors.factories import ShopPageFactory

MAX_QUERIES = 12


class Catalogue:
    """Shops with logos and banners, designers with logos, the home page with its hero and
    testimonials: every picture and link a page shows, as the demo has them."""

    def __init__(self, home=None):
        from marketplace.factories import ImageFactory
        from policies.factories import TestimonialFactory

        picture = ImageFactory
        self.shops = [
            ShopPageFactory(logo=picture(), banner=picture()),
            ShopPageFactory(phone=True, logo=picture(), banner=picture()),
        ]
        self.designers = [DesignerFactory(logo=picture()) for _ in range(4)]
        parent = CategoryFactory(name="Bags")
        self.categories = [parent, CategoryFactory(name="Clutches", parent=parent)]
        self.count = 0
        # The measured item: its gallery stays the same size while the catalogue grows.
        self.item = self.add(1, gallery=3)[0]
        if home is not None:
            home.hero_image = picture()
            home.save_revision().publish()
            for shop in self.shops:
                TestimonialFactory(vendor=shop.vendor, item=self.item)

    def add(self, n, **kwargs):
        items = []
        for _ in range(n):
            i = self.count
            self.count += 1
            items.append(
                ItemPageFactory(
                    parent=self.shops[i % 2],
                    designer=self.designers[i % 4],
                    category=self.categories[i % 2],
                    quantity=0 if i % 7 == 3 else 1,
                    **{"gallery": 1, **kwargs},
                )
            )
        return items

    def grow_to(self, total):
        self.add(total - self.count)


def _queries(client, url):
    client.get(url)  # warm-up: renditions, site root paths, footer cache
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return [q["sql"] for q in ctx.captured_queries]


def _report(label, queries):
    return f"{label}: {len(queries)} queries\n" + "\n".join(
        f"  {n}. {sql[:300]}" for n, sql in enumerate(queries, 1)
    )


def _urls(catalogue):
    designer = catalogue.designers[0]
    return {
        "home": "/",
        "shops": "/shops/",
        "shop": catalogue.shops[0].url,
        "item": catalogue.item.url,
        "designers": "/designers/",
        "designer": f"/designers/{designer.slug}/",
        "search": "/search/",
        "search_q": "/search/?q=Item&category=bags&sort=price_asc&min_price=10",
    }


@pytest.mark.django_db
def test_query_counts_constant_and_at_most_12(client, site_tree, capsys):
    catalogue = Catalogue(site_tree.home)
    catalogue.grow_to(10)
    small = {name: _queries(client, url) for name, url in _urls(catalogue).items()}
    catalogue.grow_to(100)
    large = {name: _queries(client, url) for name, url in _urls(catalogue).items()}
    _assert_same_and_within(small, large, sizes=("10", "100"), capsys=capsys)


def _assert_same_and_within(small, large, *, sizes, capsys, most=None):
    """Each page's queries the same with both catalogues, and at most 12 (or `most[page]`)."""
    most = most or dict.fromkeys(small, MAX_QUERIES)
    with capsys.disabled():
        print("\n" + "  ".join(f"{n}={len(small[n])}/{len(large[n])}" for n in small))
    problems = [
        f"{name}: {len(small[name])} queries with {sizes[0]} items, "
        f"{len(large[name])} with {sizes[1]}, at most {most[name]}"
        for name in small
        if len(small[name]) != len(large[name]) or len(large[name]) > most[name]
    ]
    report = "\n".join(_report(f"{name} ({sizes[1]} items)", large[name]) for name in large)
    assert problems == [], "\n".join(problems) + "\n\n" + report


def _bulk_items(catalogue, total, images):
    """Grow the catalogue to `total` items the way `load_demo --items` does (bulk rows, no
    signals), each with a cover picture; older than the measured items, so every page lists the
    same cards. They are not added to the text index: text matching runs on the index first,
    and filters, facets and sorts run over every item."""
    from datetime import timedelta

    from django.utils import timezone

    from marketplace.bulk import bulk_add_children
    from products.models import ItemImage, ItemPage

    start, listed = catalogue.count, timezone.now() - timedelta(days=400)
    by_shop = {shop.pk: [] for shop in catalogue.shops}
    for n in range(start, total):
        shop = catalogue.shops[n % 2]
        at = listed - timedelta(minutes=n)
        by_shop[shop.pk].append(
            ItemPage(
                title=f"Bulk piece {n}",
                slug=f"bulk-{n}",
                designer=catalogue.designers[n % 4],
                category=catalogue.categories[n % 2],
                condition="good",
                price=10 + n % 900,
                quantity=0 if n % 7 == 3 else 1,
                first_published_at=at,
                listed_at=at,
            )
        )
    for shop in catalogue.shops:
        pages = bulk_add_children(parent=shop, pages=by_shop[shop.pk])
        ItemImage.objects.bulk_create(
            (ItemImage(item_id=page.pk, image=images[page.pk % len(images)]) for page in pages),
            batch_size=2000,
        )
    catalogue.count = total
    from marketplace import page_cache

    page_cache.invalidate(page_cache.SITE)  # as a publish would: memoised counts start again


@pytest.mark.slow
@pytest.mark.django_db
def test_query_counts_same_for_1000_and_100000_items(client, site_tree, capsys):
    """The issue's bar, at full size: the same pages cost the same queries at 1,000 and at
    100,000 items."""
    from marketplace.factories import ImageFactory

    if connection.vendor == "postgresql":
        # Check foreign keys row by row as they go in: queued as deferred checks until the
        # test's end, 300,000 of them take PostgreSQL minutes.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    catalogue = Catalogue(site_tree.home)
    images = [ImageFactory() for _ in range(3)]
    _bulk_items(catalogue, 1_000, images)
    small = {name: _queries(client, url) for name, url in _urls(catalogue).items()}
    _bulk_items(catalogue, 100_000, images)
    large = {name: _queries(client, url) for name, url in _urls(catalogue).items()}
    _assert_same_and_within(small, large, sizes=("1,000", "100,000"), capsys=capsys)


@pytest.mark.django_db
def test_signed_in_shoppers_pages_stay_within_12_queries(client, site_tree, settings, capsys):
    """With production's session store (cached_db on Redis) a signed-in shopper adds only the
    user row: the session, the saved list's ids and the policy notices come from the cache."""
    from accounts.factories import UserFactory

    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    catalogue = Catalogue(site_tree.home)
    catalogue.grow_to(30)
    client.force_login(UserFactory(verified=True))
    client.post("/saved/add/", {"item": catalogue.item.pk})
    counts = {name: _queries(client, url) for name, url in _urls(catalogue).items()}
    with capsys.disabled():
        print("\nsigned in: " + "  ".join(f"{n}={len(q)}" for n, q in counts.items()))
    over = {name: len(q) for name, q in counts.items() if len(q) > MAX_QUERIES}
    report = "\n".join(_report(name, counts[name]) for name in over)
    assert over == {}, report


# A first view with every cache emptied (after a deploy or a flush, and every view while the
# cache is down) reads what later views find kept: the sites (with their root paths and the
# footer's settings), the page's route, every shop (which are hidden, listed and on cards),
# each memoised list and count, the cards' rows and pictures, the footer's policies. Each
# page's most, measured (`make bench`'s "first view's queries" too): within QUALITY.md's 12.
FIRST_VIEW_QUERIES = {"home": 12, "shops": 9, "shop": 11, "item": 9, "designers": 10,
                      "designer": 12, "search": 11, "search_q": 10, "cart": 7}  # fmt: skip
assert max(FIRST_VIEW_QUERIES.values()) <= MAX_QUERIES


def _first_view_queries(client, url):
    """The queries of a view that finds nothing kept, renditions already made (a file is
    written once, not at every view)."""
    client.get(url)
    empty_caches()
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return [q["sql"] for q in ctx.captured_queries]


@pytest.fixture
def shopper_with_a_cart(client, site_tree, settings):
    """A catalogue of 10 pieces, every public page's URL and the cart's, and a shopper with a
    piece in their cart: with production's site memo and session store."""
    settings.VITRINE_SITE_MEMO = True
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    catalogue = Catalogue(site_tree.home)
    catalogue.grow_to(10)
    client.post("/cart/add/", {"item": catalogue.item.pk})
    return catalogue, {**_urls(catalogue), "cart": "/cart/"}


@pytest.mark.django_db
def test_first_views_with_the_cache_emptied_read_a_fixed_number_of_queries(
    client, shopper_with_a_cart, capsys
):
    """A view that finds nothing kept reads the same queries whatever the catalogue's size,
    and no more than it does now."""
    catalogue, urls = shopper_with_a_cart
    small = {name: _first_view_queries(client, url) for name, url in urls.items()}
    catalogue.grow_to(100)
    large = {name: _first_view_queries(client, url) for name, url in urls.items()}
    _assert_same_and_within(
        small, large, sizes=("10", "100"), capsys=capsys, most=FIRST_VIEW_QUERIES
    )


@pytest.mark.django_db
def test_views_while_the_cache_fails_stay_within_12_queries(
    client, shopper_with_a_cart, capsys, monkeypatch
):
    """While the cache fails nothing is kept from one request to the next, and a value one
    request uses twice (every shop: which are hidden, which listed, each card's) is computed
    once in it (marketplace.page_cache.memoised). Search, with no matches kept, counts and
    sorts in the database."""
    from marketplace import page_cache

    _, urls = shopper_with_a_cart
    monkeypatch.setattr(page_cache, "_versions_and", lambda tags, entries: (None, {}))
    counts = {name: _queries(client, url) for name, url in urls.items()}
    with capsys.disabled():
        print("\ncache failing: " + "  ".join(f"{n}={len(q)}" for n, q in counts.items()))
    over = {name: len(queries) for name, queries in counts.items() if len(queries) > MAX_QUERIES}
    assert over == {}, "\n".join(_report(name, counts[name]) for name in over)


@pytest.mark.django_db
def test_a_first_view_reads_every_picture_of_the_page_in_one_query(client, site_tree):
    """The home page's hero, its shops' logos and banners and its new pieces' covers; a shop's
    or a designer's own pictures and their cards' covers: one read of pictures with their
    renditions, not one per kind (the issue counted three on the home page)."""
    catalogue = Catalogue(site_tree.home)
    catalogue.grow_to(10)
    urls = _urls(catalogue)
    for name in ("home", "shop", "designer"):
        queries = _first_view_queries(client, urls[name])
        pictures = [sql for sql in queries if 'FROM "marketplace_customrendition"' in sql]
        assert len(pictures) == 1, (name, pictures)
