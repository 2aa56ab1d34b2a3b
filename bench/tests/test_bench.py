"""The benchmark's tools at a tiny size, so that they cannot rot: the yardstick on its own
gunicorn and the CPU counters, the pages `make bench` finds and what they must answer, the
shoppers and the vendors of `make bench-load`, and both reports."""

import copy
import os

from django.http import HttpResponse

import pytest

from bench import changes, load, run
from bench.harness import UNCACHED, Config, Request, Result, Server, measure, send
from bench.queries import QueryCountMiddleware
from demo.catalogue import load_catalogue


def test_the_bare_app_renders_20_kb_on_its_own_gunicorn_and_its_cpu_is_counted():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.bare.settings"}
    config = Config(items=0, requests=100, seconds=0.5)
    with Server("bench.bare.wsgi:application", env) as bare:
        page = send(bare.port, Request("GET", "/"))
        result = measure(bare, config, "bare", [Request("GET", "/")])
    assert page.status == 200 and len(page.body) > 19_000 and b"Hello Ada, 69 pieces" in page.body
    assert result.requests >= 100 and result.errors == 0
    assert result.cpu > 0 and result.ms(95) >= result.ms(50) > 0


@pytest.fixture
def bench_site(live_server, settings):
    """The site as bench/settings.py changes it (its minimal views, the page cache on) over a
    tiny generated catalogue; returns the live server's port. Its test is transactional with
    a serialized rollback, as every test with a live server: a flush without one would leave
    the content types remade for the next such test to clash with."""
    settings.ROOT_URLCONF = "bench.urls"
    templates = copy.deepcopy(settings.TEMPLATES)
    templates[0]["DIRS"] = [*templates[0]["DIRS"], settings.BASE_DIR / "bench/bare/templates"]
    settings.TEMPLATES = templates
    settings.VITRINE_PAGE_CACHE_SECONDS = 300
    load_catalogue(items=120, shops=2)
    return int(live_server.url.rsplit(":", 1)[1])


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_make_bench_and_bench_load_find_their_pages_and_get_the_answers_they_expect(bench_site):
    """One test, one catalogue: building it is most of the time."""
    # make bench: every row, and what it answers
    rows = run.site_rows(bench_site, Config(items=120, requests=3))

    names = [row.name for row in rows]
    assert {"item", "home", "shop (24 pieces)", "designer", "cart (2 pieces)"} <= set(names)
    assert sum(name.startswith("search:") for name in names) >= 8
    for row in rows:
        check = row.ok or (lambda response: response.status == 200)
        for request in row.requests[:3]:
            assert check(send(bench_site, request)), (row.name, request.path)
    cached = next(row for row in rows if row.name == "home, cached").requests[0]
    assert send(bench_site, cached).headers["x-page-cache"] == "hit"

    # make bench-load: shoppers browse, search, look and buy; vendors publish and sell
    catalogue = load.catalogue()
    # One at a time: the test server shares one SQLite connection between its threads.
    assert load.warm(bench_site, catalogue, load.LoadConfig(users=1)) >= 0  # every page once
    for_sale = [
        path
        for path in run.generated_items(bench_site, 10)
        if load.CART_FORM.search(send(bench_site, Request("GET", path, cookies=UNCACHED)).body)
    ]
    catalogue.items = for_sale[:1]  # a piece for sale, so the purchase goes to the pay page
    tally = load.Tally()
    shopper = load.Shopper(bench_site, catalogue, tally, seed=1)

    shopper.buy()
    for _ in range(12):
        shopper.visit()
    # A piece sold by its vendor between the cart and the order: back to the cart, which says
    # so; the shopper's answer, not an error.
    real_get = shopper.get

    def sold_when(item_path, after_path):
        """Sells the piece at `item_path` once the shopper has been shown `after_path`."""

        def shown(response, path):
            if path == after_path:
                from products.models import ItemPage
                from products.services import stock_set

                piece = ItemPage.objects.get(slug=item_path.rstrip("/").rsplit("/", 1)[-1])
                stock_set(item=piece, quantity=0, by=None)
            return response

        return shown

    sold_from_checkout = sold_when(for_sale[1], "/checkout/")
    shopper.get = lambda kind, path, cookies=None, **kwargs: sold_from_checkout(
        real_get(kind, path, cookies, **kwargs), path
    )
    catalogue.items = for_sale[1:2]
    shopper.buy()
    assert tally.sent_back == 1 and not tally.errors
    # Sold between the cart and the order form: back to the cart at once, which says so.
    catalogue.items = for_sale[2:3]
    sold_from_cart = sold_when(for_sale[2], "/cart/")
    shopper.get = lambda kind, path, cookies=None, **kwargs: sold_from_cart(
        real_get(kind, path, cookies, **kwargs), path
    )
    shopper.buy()
    assert tally.sent_back == 2 and not tally.errors
    shopper.get = real_get
    # Sold between adding it and the cart: the cart says so, and the shopper leaves.
    catalogue.items = for_sale[3:4]
    sold_from_add = sold_when(for_sale[3], "/cart/add/")
    real_post = shopper.post
    shopper.post = lambda kind, path, form, cookies, location: sold_from_add(
        real_post(kind, path, form, cookies, location), path
    )
    shopper.buy()
    assert tally.sent_back == 3 and not tally.errors
    shopper.post = real_post
    done = changes.main(seconds=1, rate=6, shops=2)

    assert len(tally.latencies["buy"]) >= 6  # item, add, cart, checkout, place order, pay page
    assert sum(len(v) for v in tally.latencies.values()) >= 18 and not tally.errors
    assert done["publish"] + done["sale"] + done["refused"] >= 5 and done["errors"] == 0
    table = load.report(Config(items=120), load.LoadConfig(seconds=1), tally, 1.0, 0.5, done)
    assert "| browse |" in table and "errors: 0 (target 0 ✓)" in table
    browsed = sum(tally.browsed.values())
    assert browsed == len(tally.latencies["browse"]) and "per kind of page: " in table
    # A page answered but not showing what it must (the cart without its reason) is an error.
    strict = load.Shopper(bench_site, catalogue, load.Tally(), seed=2)
    strict.get("buy", "/cart/", {}, showing=b'class="message message--error"')
    assert strict.tally.errors == {"buy": 1}


def test_a_first_view_empties_the_cache_but_keeps_the_workers_epoch():
    """Emptied with its epoch, the cache would be emptied again by the first worker to look,
    up to a second later: maybe within the first view measured, which would then miss what it
    had cached itself and count the queries twice."""
    import shutil

    import redis

    from bench.harness import PrivateRedis
    from marketplace.cache import EPOCH_KEY

    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed")
    with PrivateRedis() as private:
        client = redis.Redis.from_url(private.url)
        client.set(f"bench-1:1:{EPOCH_KEY}", "epoch")
        client.mset({f"bench-1:1:release:epoch:memo:{n}": n for n in range(25_000)})
        assert private.flush()
        assert client.keys("*") == [f"bench-1:1:{EPOCH_KEY}".encode()]
    assert not PrivateRedis("redis://127.0.0.1:1/0").flush()  # not ours: never emptied


def test_browsing_pages_are_told_apart_for_the_misses_per_kind():
    kinds = [load.page_kind(p) for p in ("/", "/shops/", "/shops/?page=2", "/designers/",
             "/designers/hermes/", "/designers/hermes/?page=2", "/shops/atelier-no-3/")]  # fmt: skip
    assert kinds == ["home", "shop index", "shop index, page 2", "designer index", "designer",
                     "designer, page 2", "shop"]  # fmt: skip


def test_the_report_gives_each_row_its_ratio_to_the_bare_app_and_its_verdict():
    config = Config(items=120)
    unit = Result("bare", 10, 1.0, [0.001] * 10, 0.005, 0)  # 0.5 ms a request
    # Each row's ratio is to the bare app measured beside it: 3 ms beside 0.6 ms is 5×.
    item = Result("item", 10, 1.0, [0.01] * 10, 0.03, 0, target=8, queries=9, unit_ms=0.6)
    home = Result("home", 10, 1.0, [0.02] * 10, 0.1, 1, target=15, queries=12, unit_ms=0.5)

    table = run.report(config, {"seconds": 60}, unit, [unit, unit], [item, home], {})

    assert "| item | 10 | 10.0 | 10.0 | 10.0 | 3.00 | 0.60 | 5.0 | ≤ 8 ✓ | 9 |" in table
    assert "| home | 10 | 20.0 | 20.0 | 20.0 | 10.00 | 0.50 | 20.0 | ≤ 15 ✗ | 12 |" in table
    assert "SQLite" in table and "cores" in table


@pytest.mark.django_db
def test_the_query_counter_counts_a_request_s_queries_only_when_asked(rf):
    from products.models import Designer

    def view(request):
        list(Designer.objects.all())
        list(Designer.objects.filter(pk=1))
        return HttpResponse("ok")

    middleware = QueryCountMiddleware(view)

    assert middleware(rf.get("/", HTTP_X_BENCH_QUERIES="1"))["X-Bench-Queries"] == "2"
    assert "X-Bench-Queries" not in middleware(rf.get("/"))
