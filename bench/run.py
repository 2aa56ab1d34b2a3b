#!/usr/bin/env python
"""`make bench`: the CPU each page costs, as a ratio to a bare Django app, in one run.

1. Builds (once, then reuses) a benchmark database: the demo plus a generated catalogue of
   BENCH_ITEMS pieces (default 100,000) over up to 500 shops (`load_demo --items`).
2. Serves the bare app (bench/bare: no middleware, no context processors, no database, a 20 KB
   template) and the site (production settings, DEBUG off: bench/settings.py) each with its own
   gunicorn, 2 sync workers, on 127.0.0.1, with a private Redis for the site's cache.
3. For each page: requests/s, p50/p95/p99 latency, the server's CPU ms per request (from the
   workers' /proc counters), that CPU as a ratio to the bare app's, and the SQL queries it ran
   (as measured, and on a first view with the cache emptied).
   A cookie makes every page bypass the anonymous page cache, except the rows marked
   "cached": each response goes through the whole stack, its layout rendered for its shopper,
   with its own parts from the shared-parts cache (marketplace.fragments) as a repeat view
   gets them. The rows "parts rendered" add a parameter no page reads, so their parts are
   rendered every time, from what is kept under the tags of what they show (card rows,
   shops, pictures, a listing's ids and counts): what a view after a change costs, less the
   rows the change touched (a sold piece's, its listing's ids). Three search rows ask
   something never asked before each time: a new price for kept words, new words, and
   words each asked alone before the row, never together (what a busy site's shoppers
   mostly ask: common words in a new combination). The
   bare app is measured beside each row, before and after it (UNIT_SECONDS each): a row's
   ratio is to those, so that a shared machine's speed drifting during a run (by a third
   within minutes on the VMs measured) moves the row and its unit together.
4. Prints the table and writes bench/results/latest.md (and bench-<database>-<items>.md). It
   reports; it never fails a build: exit 0 whatever the ratios, non-zero only if it breaks.

Environment: BENCH_ITEMS, BENCH_DATABASE_URL (default a SQLite file in bench/results/),
BENCH_REQUESTS and BENCH_SECONDS (each row runs at least this many requests and this long,
default 200 and 3; BENCH_MAX_SECONDS, default 30, stops a slow row), BENCH_CLIENTS (concurrent
clients, default 2), BENCH_REDIS_URL, BENCH_REPORTS (where the reports go), BENCH_ROWS (only
the rows whose names contain one of these comma-separated words: for working on a page).
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: `python bench/run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (
    UNCACHED,
    Config,
    PrivateRedis,
    Request,
    Response,
    Result,
    Server,
    answered,
    database_facts,
    machine,
    measure,
    prepare_database,
    query_count,
    send,
    site_env,
)

# The bare app is measured this long before and after each row: each row's unit.
UNIT_SECONDS = 2.0
# Ratios of CPU per request to the bare app (issue 17; a page from the anonymous cache:
# QUALITY.md).
ITEM, LISTING, SEARCH, CART, CACHED = 8, 15, 25, 10, 1.5
# The add-to-cart form of an item page (the save button's form names the item too).
CART_FORM = re.compile(rb'class="add-to-cart".*?name="item" value="([0-9]+)"', re.S)
ADDRESS = {
    "name": "Bench Shopper", "line1": "1 Loop Road", "city": "London",
    "postcode": "SW1A 1AA", "country": "GB",
}  # fmt: skip


# Searches for words no other row asks: a colour and a material's word in either order,
# then with a third word (each matches some hundreds to thousands of generated pieces).
_COLOURS = ["black", "cognac", "ivory", "navy", "burgundy", "olive", "rose", "emerald"]
_MATERIALS = ["calf", "lambskin", "twill", "crepe", "suede", "cashmere", "sterling", "wool"]
NEW_WORDS = [
    *(f"{c}+{m}" for c in _COLOURS for m in _MATERIALS),
    *(f"{m}+{c}" for c in _COLOURS for m in _MATERIALS),
    *(f"{c}+{m}+{w}" for c in _COLOURS for m in _MATERIALS for w in ("piece", "generated")),
]
# Each word of NEW_WORDS, once: asked alone before the row that joins them anew.
NEW_WORD_SET = list(dict.fromkeys(word for words in NEW_WORDS for word in words.split("+")))


def links(body: bytes, pattern: str) -> list[str]:
    """The distinct hrefs of `body` matching `pattern`, in page order."""
    found = re.findall(rb'href="(' + pattern.encode() + rb')"', body)
    return list(dict.fromkeys(path.decode() for path in found))


def shopper_with(port: int, item_path: str) -> dict | None:
    """A new shopper holding the piece at `item_path` in their cart (None when it cannot be
    bought): their cookies and CSRF token."""
    response = send(port, Request("GET", item_path, cookies=UNCACHED))
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', response.body)
    item = CART_FORM.search(response.body)
    if not token or not item:
        return None
    shopper = {"cookies": {**response.cookies, **UNCACHED}, "token": token.group(1).decode()}
    add_to_cart(port, shopper, item.group(1).decode())
    return shopper


def add_to_cart(port: int, shopper: dict, item_id: str) -> None:
    body = urllib.parse.urlencode({"item": item_id, "csrfmiddlewaretoken": shopper["token"]})
    response = send(port, Request("POST", "/cart/add/", body, cookies=shopper["cookies"]))
    if response.status != 302:
        raise RuntimeError(f"add to cart answered {response.status}")
    shopper["cookies"].update(response.cookies)


def checkout_request(shopper: dict, n: int) -> Request:
    # Each shopper its own email: unpaid checkouts are limited per email address.
    form = {**ADDRESS, "email": f"bench{n}@example.com", "csrfmiddlewaretoken": shopper["token"]}
    return Request("POST", "/checkout/", urllib.parse.urlencode(form), shopper["cookies"])


def generated_items(port: int, count: int, start_page: int = 1) -> list[str]:
    """Paths of `count` generated pieces for sale, from the search page, cheapest first."""
    paths: list[str] = []
    page = start_page
    while len(paths) < count and page < start_page + 500:
        body = send(port, Request("GET", f"/search/?sort=price_asc&page={page}", cookies=UNCACHED))
        paths += links(body.body, r"/shops/atelier-no-[0-9]+/gen-[0-9]+/")
        page += 1
    return paths[:count]


@dataclass
class Row:
    """A row of the table: its requests (sent in rotation), the ratio to the bare app it
    should stay within, what a good answer is, and whether it is served from the page cache."""

    name: str
    requests: list[Request]
    target: float | None = None
    ok: Callable[[Response], bool] | None = None
    cached: bool = False
    warm: list[Request] = dataclasses.field(default_factory=list)  # sent first, not measured


def site_rows(port: int, config: Config) -> list[Row]:
    """Every site row, found through the site itself, like a shopper would."""
    shops = links(send(port, Request("GET", "/shops/", cookies=UNCACHED)).body,
                  r"/shops/atelier-no-[0-9]+/")  # fmt: skip
    shop = shops[0]
    shop_slug = shop.strip("/").rsplit("/", 1)[1]
    items = links(send(port, Request("GET", shop, cookies=UNCACHED)).body,
                  re.escape(shop) + r"gen-[0-9]+/")  # fmt: skip
    designers = links(send(port, Request("GET", "/designers/", cookies=UNCACHED)).body,
                      r"/designers/[a-z0-9-]+/")  # fmt: skip
    designer = designers[0]
    designer_slug = designer.strip("/").rsplit("/", 1)[1]

    # Two pieces in one shopper's cart; each checkout by its own shopper with its own piece.
    # Earlier runs' checkouts hold some of the cheapest pieces (for 15 minutes): look further.
    checkouts = max(1, min(config.requests, 100))
    buyable = [path for path in generated_items(port, 4 * (checkouts + 2)) if _item_id(port, path)]
    assert len(buyable) >= 3, "no pieces for sale"
    cart_shopper = shopper_with(port, buyable[0])
    assert cart_shopper, "no piece for sale"
    add_to_cart(port, cart_shopper, str(_item_id(port, buyable[1])))
    checkout = []
    for n, path in enumerate(buyable[2 : 2 + checkouts]):
        shopper = shopper_with(port, path)
        if shopper:
            checkout.append(checkout_request(shopper, n))

    def page(path: str) -> list[Request]:
        return [Request("GET", path, cookies=UNCACHED)]

    searches = {
        "search: q=silk (best match)": "/search/?q=silk",
        "search: q + category, price low→high": "/search/?q=cashmere&category=clothing&sort=price_asc",
        "search: designer + price range, newest": f"/search/?designer={designer_slug}&min_price=300&max_price=2000&sort=newest",
        "search: category + condition, price high→low": "/search/?category=bags&condition=excellent&sort=price_desc",
        "search: q, page 2, price high→low": "/search/?q=leather&sort=price_desc&page=2",
        "search: q + designer + condition, newest": f"/search/?q=gold&designer={designer_slug}&condition=pristine&sort=newest",
        "search: min price + shop, price low→high": f"/search/?min_price=1000&shop={shop_slug}&sort=price_asc",
        "search: no filter, newest": "/search/?sort=newest",
    }  # fmt: skip
    cart = [Request("GET", "/cart/", cookies=cart_shopper["cookies"])]

    def rendered(path: str) -> str:
        # A parameter no page reads: served as usual, but its shared parts are never kept
        # (marketplace.fragments), so they are rendered every time, as after a change.
        return f"{path}{'&' if '?' in path else '?'}fresh=bench"

    return [
        Row("site minimal view (middleware and stack overhead)", [Request("GET", "/_bench/minimal/")]),
        Row("site minimal view + pk query", [Request("GET", "/_bench/minimal-db/")]),
        Row("item", [Request("GET", p, cookies=UNCACHED) for p in items], ITEM),
        Row("home", page("/"), LISTING),
        Row("shop (24 pieces)", page(shop), LISTING),
        Row("designer", page(designer), LISTING),
        *(Row(name, page(path), SEARCH) for name, path in searches.items()),
        Row("cart (2 pieces)", cart, CART),
        Row("item, parts rendered", [Request("GET", rendered(p), cookies=UNCACHED) for p in items], ITEM),
        Row("home, parts rendered", page(rendered("/")), LISTING),
        Row("shop, parts rendered", page(rendered(shop)), LISTING),
        Row("designer, parts rendered", page(rendered(designer)), LISTING),
        Row("search: q=silk, parts rendered", page(rendered("/search/?q=silk")), SEARCH),
        *(Row(f"{name}, parts rendered", page(rendered(path)), SEARCH)
          for name, path in searches.items() if "newest" in name),
        Row("search: q=silk and a price never asked before",
            [Request("GET", f"/search/?q=silk&min_price={n}", cookies=UNCACHED) for n in range(1, 5001)], SEARCH),
        Row("search: words never asked before",
            [Request("GET", f"/search/?q={words}", cookies=UNCACHED) for words in NEW_WORDS], SEARCH),
        Row("search: words asked before, never together",
            [Request("GET", f"/search/?q={words}", cookies=UNCACHED) for words in NEW_WORDS], SEARCH,
            warm=[Request("GET", f"/search/?q={word}", cookies=UNCACHED) for word in NEW_WORD_SET]),
        Row("cart, parts rendered", [Request("GET", rendered("/cart/"), cookies=cart_shopper["cookies"])], CART),
        Row("checkout POST (order placed)", checkout, ok=answered(302, location="/checkout/pay/")),
        Row("home, cached", [Request("GET", "/")], CACHED, cached=True),
        Row("shop, cached", [Request("GET", shop)], CACHED, cached=True),
        Row("designer, cached", [Request("GET", designer)], CACHED, cached=True),
    ]  # fmt: skip


def _item_id(port: int, item_path: str) -> str | None:
    """The piece's id, from its add-to-cart form; None when it cannot be bought now."""
    body = send(port, Request("GET", item_path, cookies=UNCACHED)).body
    found = CART_FORM.search(body)
    return found.group(1).decode() if found else None


def check_cached(port: int, requests: list[Request]) -> None:
    """A cached row must really be served from the cache."""
    send(port, requests[0])
    header = send(port, requests[0]).headers.get("x-page-cache")
    if header != "hit":
        print(f"  warning: {requests[0].path} is not served from the page cache ({header})")


def run(config: Config) -> tuple[str, list[Result], dict]:
    """Measure everything; returns the markdown report, the rows and the query counts."""
    with PrivateRedis(config.redis_url) as redis:
        env = site_env(config, redis.url)
        build = prepare_database(config, env)
        bare_env = {**env, "DJANGO_SETTINGS_MODULE": "bench.bare.settings"}
        with Server("bench.bare.wsgi:application", bare_env) as bare, \
                Server("marketplace.wsgi:application", env) as site:  # fmt: skip
            unit_config = dataclasses.replace(config, seconds=UNIT_SECONDS)

            def bare_now() -> Result:
                return measure(bare, unit_config, "bare Django app", [Request("GET", "/")])

            print("  measuring the bare app…", flush=True)
            units = [bare_now()]
            results = []
            for row in filter(lambda row: config.wants(row.name), site_rows(site.port, config)):
                print(f"  measuring {row.name}…", flush=True)
                get = row.requests[0].method == "GET"  # a POST is sent once: it changes things
                # The first view's queries, the cache emptied (when it is ours to empty): the
                # least of three, so that a worker's own first time (its per-process state)
                # is not counted.
                cold = None
                if get and redis.flush():
                    cold = min(first_view(site, redis, row.requests[0]) for _ in range(3))
                if row.cached:
                    check_cached(site.port, row.requests)
                for request in row.warm:
                    send(site.port, request)
                result = measure(site, config, row.name, row.requests, row.ok, repeat=get,
                                 target=row.target)  # fmt: skip
                # And as measured: with what the row's requests keep (counts, cards, parts);
                # its last request, which a row asking something new each time has not sent.
                result.queries = query_count(site, row.requests[-1]) if get else None
                result.first_queries = cold
                units.append(bare_now())
                result.unit_ms = merge(units[-2], units[-1]).cpu_ms
                results.append(result)
    unit = merge(*units)
    counts = {r.name: r.first_queries for r in results if r.first_queries is not None}
    return report(config, build, unit, units, results, counts), [unit, *results], counts


def first_view(site: Server, redis: PrivateRedis, request: Request) -> int:
    redis.flush()
    return query_count(site, request) or 0


def merge(*units: Result) -> Result:
    """The bare app's measurements as one."""
    return Result(
        "bare Django app, 20 KB template (the unit)",
        sum(u.requests for u in units),
        sum(u.seconds for u in units),
        [latency for u in units for latency in u.latencies],
        sum(u.cpu for u in units),
        sum(u.errors for u in units),
    )


def counts_at(config: Config, items: int) -> dict:
    path = config.reports / f"queries-{config.vendor}-{items}.json"
    return json.loads(path.read_text()) if path.exists() else {}


def report(
    config: Config,
    build: dict,
    unit: Result,
    units: list[Result],
    results: list[Result],
    counts: dict,
) -> str:
    database = database_facts(config)
    small = counts_at(config, 1000) if config.items != 1000 else counts
    lines = [
        f"# Vitrine benchmark, {time.strftime('%Y-%m-%d %H:%M')}",
        "",
        f"- {config.items:,} generated pieces; database {database['name']}, "
        f"{database['bytes'] / 2**20:,.0f} MiB; built in {build['seconds'] / 60:.1f} min "
        f"(loader CPU {build.get('loader_cpu_seconds', '?')} s)",
        f"- machine: {machine()} (shared with other work: ratios are measured in one run)",
        f"- gunicorn 2 sync workers per app, {config.clients} clients, each row at least "
        f"{config.requests} requests and {config.seconds:g} s (a slow one stops after "
        f"{config.max_seconds:g} s)",
        f"- the unit: the bare app, measured {UNIT_SECONDS:g} s before and after each row "
        f"({min(u.cpu_ms for u in units):.2f}–{max(u.cpu_ms for u in units):.2f} ms over the "
        "run): each row's ratio is to the bare app beside it (its column); pages bypass the "
        "anonymous cache unless marked cached",
        "",
        "| page | req/s | p50 ms | p95 ms | p99 ms | CPU ms/req | bare beside | × bare | target"
        " | queries | first view's queries | at 1,000 pieces | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in [unit, *results]:
        beside = r.unit_ms or unit.cpu_ms
        ratio = r.cpu_ms / beside if beside else float("nan")
        verdict = ""
        if r.target is not None:
            verdict = f"≤ {r.target} {'✓' if ratio <= r.target else '✗'}"
        queries = "" if r.queries is None else str(r.queries)
        first = "" if r.first_queries is None else str(r.first_queries)
        at_1000 = small.get(r.name, "")
        lines.append(
            f"| {r.name} | {r.rate:.0f} | {r.ms(50):.1f} | {r.ms(95):.1f} | {r.ms(99):.1f} | "
            f"{r.cpu_ms:.2f} | {beside:.2f} | {ratio:.1f} | {verdict} | {queries} | {first} | "
            f"{at_1000} | {r.errors} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    config = Config.from_env()
    table, _, counts = run(config)
    config.reports.mkdir(parents=True, exist_ok=True)
    (config.reports / f"queries-{config.slug}.json").write_text(json.dumps(counts, indent=1))
    print()
    print(table)
    for name in ("latest.md", f"bench-{config.slug}.md"):
        (config.reports / name).write_text(table)
    print(
        f"Written to {config.reports / 'latest.md'} and {config.reports / f'bench-{config.slug}.md'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
