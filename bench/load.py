#!/usr/bin/env python
"""`make bench-load`: a busy marketplace for a while, against gunicorn with 2 sync workers.

Shoppers (BENCH_LOAD_USERS threads, each a closed loop without think time) pick a kind of visit:
70% browse (home, shop and designer lists, shop and designer pages, their page 2; popular pages
more often), 15% search (a random filter combination and sort), 10% an item page, 5% buy: an
item page, add to cart, cart, checkout page, place the order, the pay page (no payment). Browsing
is anonymous (no cookies), so the page cache may serve it. Meanwhile bench/changes.py publishes
or sells BENCH_LOAD_CHANGES (default 1) pieces per second over BENCH_LOAD_SHOPS (500) shops.

Reports throughput, p50/p95/p99 per kind, the anonymous page cache's hit ratio (X-Page-Cache) and
errors, against the targets (zero errors, hit ratio ≥ 90%, p95 < 100 ms for every kind on
PostgreSQL), to bench/results/load-<database>-<items>.md. It reports; it never fails a build.

Environment: BENCH_LOAD_SECONDS (120), BENCH_LOAD_USERS (4), BENCH_LOAD_CHANGES, BENCH_LOAD_SHOPS,
BENCH_LOAD_WARM (1: first visit every browsing page and sampled piece once, as on a site that
has been up a while; 0: a cold start), and make bench's BENCH_ITEMS, BENCH_DATABASE_URL,
BENCH_REDIS_URL (the database is built once).
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: `python bench/load.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import django

from bench.harness import (
    PYTHON,
    ROOT,
    Config,
    PrivateRedis,
    Request,
    Response,
    Server,
    database_facts,
    machine,
    percentile,
    prepare_database,
    send,
    site_env,
)

KINDS = {"browse": 70, "search": 15, "item": 10, "buy": 5}
HIT_RATIO_TARGET, P95_TARGET_MS = 0.90, 100
CART_FORM = re.compile(rb'class="add-to-cart".*?name="item" value="([0-9]+)"', re.S)
CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
# What the cart shows for a piece taken out of it (sold or reserved since it was added).
WARNING = b'class="message message--warning"'
SORTS = ["", "newest", "price_asc", "price_desc", "relevance"]
WORDS = ["silk", "leather", "gold", "cashmere", "black", "navy", "suede", "silver", "ring", "coat"]
PRICES = [None, 250, 500, 1000, 2000, 5000]
CONDITIONS = ["", "new", "pristine", "excellent", "very_good", "good"]


@dataclass
class LoadConfig:
    seconds: float = 120
    users: int = 4
    changes: float = 1.0  # publishes or sales per second
    shops: int = 500
    warm: bool = True  # visit every browsing page and sampled piece once before measuring

    @classmethod
    def from_env(cls) -> LoadConfig:
        return cls(
            seconds=float(os.environ.get("BENCH_LOAD_SECONDS", "120")),
            users=int(os.environ.get("BENCH_LOAD_USERS", "4")),
            changes=float(os.environ.get("BENCH_LOAD_CHANGES", "1")),
            shops=int(os.environ.get("BENCH_LOAD_SHOPS", "500")),
            warm=os.environ.get("BENCH_LOAD_WARM", "1") != "0",
        )


@dataclass
class Catalogue:
    """What shoppers can visit: browsing pages (most popular first), pieces, filter values."""

    browse: list[str]
    items: list[str]
    designers: list[str]
    categories: list[str]
    shops: list[str]


def catalogue(sample: int = 5000) -> Catalogue:
    """Read from the benchmark database (Django set up in this process)."""
    from django.db import connection

    from wagtail.models import Site

    from products.models import Category, Designer, ItemPage
    from vendors.models import ShopPage

    root = Site.objects.get(is_default_site=True).root_page.url_path

    def url(url_path: str) -> str:
        return "/" + url_path.removeprefix(root)

    shops = [
        url(p) for p in ShopPage.objects.live().order_by("pk").values_list("url_path", flat=True)
    ]
    designers = list(Designer.objects.order_by("pk").values_list("slug", flat=True))
    last = ItemPage.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    ids = random.Random(1).sample(range(1, last + 1), min(sample * 3, last))
    items = [
        url(p)
        for p in ItemPage.objects.live().filter(pk__in=ids).values_list("url_path", flat=True)
    ][:sample]
    browse = ["/", "/shops/", "/designers/"]
    browse += [f"/designers/{slug}/" for slug in designers] + shops
    browse += ["/shops/?page=2"] + [f"/designers/{slug}/?page=2" for slug in designers]
    browse += [f"{shop}?page=2" for shop in shops]
    categories = list(Category.objects.values_list("slug", flat=True))
    connection.close()  # the servers will write to this database
    return Catalogue(
        browse=browse,
        items=items,
        designers=designers,
        categories=categories,
        shops=[s.strip("/").rsplit("/", 1)[1] for s in shops],
    )


def search_path(rng: random.Random, cat: Catalogue) -> str:
    query: dict[str, str] = {}
    if rng.random() < 0.6:
        query["q"] = " ".join(rng.sample(WORDS, rng.choice([1, 1, 2])))
    for name, values, chance in (
        ("designer", cat.designers, 0.25),
        ("category", cat.categories, 0.3),
        ("condition", CONDITIONS[1:], 0.2),
        ("shop", cat.shops, 0.05),
    ):
        if values and rng.random() < chance:
            query[name] = rng.choice(values)
    low, high = sorted(rng.sample(PRICES[1:], 2))
    if rng.random() < 0.25:
        query["min_price"], query["max_price"] = str(low), str(high)
    if sort := rng.choice(SORTS):
        query["sort"] = sort
    if rng.random() < 0.15:
        query["page"] = "2"
    return "/search/?" + urllib.parse.urlencode(query)


def page_kind(path: str) -> str:
    """The kind of a browsing page, for the misses per kind in the report."""
    bare, _, query = path.partition("?")
    kind = {"/": "home", "/shops/": "shop index", "/designers/": "designer index"}.get(bare)
    if kind is None:
        kind = "designer" if bare.startswith("/designers/") else "shop"
    return kind + (", page 2" if query else "")


def search_kind(path: str, response: Response) -> str:
    """What a search asked (words or not) and whence its page came, for the report."""
    query = urllib.parse.parse_qs(urllib.parse.urlparse(path).query)
    asked = "words" if query.get("q") else "no words"
    if response.headers.get("x-page-cache") == "hit":
        return f"{asked}, whole page from the page cache"
    if response.headers.get("x-shared-parts") == "hit":
        return f"{asked}, results from the shared-parts cache"
    return f"{asked}, worked out"


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # Browsing requests and those not served from the page cache, per kind of page.
    browsed: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    missed: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    samples: list[str] = field(default_factory=list)
    # X-Shared-Parts of the responses rendered (not served whole from the page cache).
    parts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # Search latencies by what was asked and where the page came from (search_kind).
    searches: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    sent_back: int = 0  # purchases stopped by the cart: a piece sold or reserved meanwhile
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, request: Request, response: Response, ok: bool) -> None:
        with self.lock:
            self.latencies[kind].append(response.seconds)
            if not ok:
                self.errors[kind] += 1
                if len(self.samples) < 5:
                    where = response.headers.get("location", "")
                    self.samples.append(
                        f"{kind}: {request.method} {request.path} → {response.status} {where}"
                    )
            if kind == "browse":
                page = page_kind(request.path)
                self.browsed[page] += 1
                self.missed[page] += response.headers.get("x-page-cache") != "hit"
            if kind == "search":
                self.searches[search_kind(request.path, response)].append(response.seconds)
            parts = response.headers.get("x-shared-parts")
            if parts and response.headers.get("x-page-cache") != "hit":
                self.parts[parts] += 1


class Shopper:
    def __init__(self, port: int, cat: Catalogue, tally: Tally, seed: int):
        self.port, self.cat, self.tally = port, cat, tally
        self.rng = random.Random(seed)
        # Popular pages more often: weights falling with the rank (home first).
        self.browse_weights = [1 / (rank + 1) for rank in range(len(cat.browse))]
        self.orders = 0

    def get(
        self,
        kind: str,
        path: str,
        cookies: dict | None = None,
        showing: bytes = b"",
        or_to: str | None = None,
    ) -> Response:
        """GET `path`: answered if 200 and showing `showing`, or (`or_to`) sent there."""
        request = Request("GET", path, cookies=cookies or {})
        response = send(self.port, request)
        sent = or_to is not None and response.status == 302
        ok = response.headers.get("location", "").startswith(or_to) if sent else (
            response.status == 200 and showing in response.body
        )  # fmt: skip
        self.tally.record(kind, request, response, ok)
        return response

    def post(
        self, kind: str, path: str, form: dict, cookies: dict, location: str | tuple[str, ...]
    ) -> Response:
        request = Request("POST", path, urllib.parse.urlencode(form), cookies=cookies)
        response = send(self.port, request)
        ok = response.status == 302 and response.headers.get("location", "").startswith(location)
        self.tally.record(kind, request, response, ok)
        cookies.update(response.cookies)
        return response

    def visit(self) -> None:
        kind = self.rng.choices(list(KINDS), weights=list(KINDS.values()))[0]
        if kind == "browse":
            self.get(kind, self.rng.choices(self.cat.browse, self.browse_weights)[0])
        elif kind == "search":
            self.get(kind, search_path(self.rng, self.cat))
        elif kind == "item":
            self.get(kind, self.rng.choice(self.cat.items))
        else:
            self.buy()

    def buy(self) -> None:
        """A new shopper buys a piece, up to the pay page (reserved or sold: they leave)."""
        item = self.get("buy", self.rng.choice(self.cat.items))
        form, token = CART_FORM.search(item.body), CSRF.search(item.body)
        if not form or not token:
            return
        cookies, csrf = dict(item.cookies), token.group(1).decode()
        self.post("buy", "/cart/add/", {"item": form.group(1).decode(),
                  "csrfmiddlewaretoken": csrf}, cookies, "/")  # fmt: skip
        # A piece sold (a vendor's sale) or reserved (another shopper's checkout) since it was
        # added is taken out of the cart, which says so (a warning), and the shopper leaves;
        # found later, it sends the shopper back to the cart, which must say so: with a warning
        # when it is found before the order form, an error when the order is placed.
        if WARNING in self.get("buy", "/cart/", cookies).body:
            with self.tally.lock:
                self.tally.sent_back += 1
            return
        form_page = self.get("buy", "/checkout/", cookies, or_to="/cart/")
        if form_page.status == 302:
            self.sent_back(form_page, cookies, WARNING)
            return
        self.orders += 1
        address = {
            "email": f"load{id(self)}-{self.orders}@example.com", "name": "Load Shopper",
            "line1": "1 Loop Road", "city": "London", "postcode": "SW1A 1AA", "country": "GB",
            "csrfmiddlewaretoken": csrf,
        }  # fmt: skip
        placed = self.post("buy", "/checkout/", address, cookies, ("/checkout/pay/", "/cart/"))
        if placed.status != 302:
            return
        if placed.headers["location"].startswith("/cart/"):
            self.sent_back(placed, cookies, b'class="message message--error"')
        else:
            self.get("buy", placed.headers["location"], cookies)

    def sent_back(self, response: Response, cookies: dict, saying: bytes) -> None:
        """Sent back to the cart by `response`: the cart must show why (`saying`)."""
        self.get("buy", response.headers["location"], cookies, showing=saying)
        with self.tally.lock:
            self.tally.sent_back += 1


def warm(port: int, cat: Catalogue, load: LoadConfig) -> float:
    """A site that has been up a while: every browsing page and sampled piece visited once
    (caches filled), before anything is measured. Returns how long it took."""
    paths = [*cat.browse, *cat.items]
    start = time.monotonic()

    def visit(offset: int) -> None:
        for path in paths[offset :: load.users]:
            send(port, Request("GET", path))

    threads = [threading.Thread(target=visit, args=(n,)) for n in range(load.users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.monotonic() - start


def changes_process(env: dict[str, str], load: LoadConfig) -> subprocess.Popen:
    return subprocess.Popen(
        [PYTHON, "-m", "bench.changes", str(load.seconds), str(load.changes), str(load.shops)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip


def run(config: Config, load: LoadConfig) -> str:
    with PrivateRedis(config.redis_url) as redis:
        env = site_env(config, redis.url)
        prepare_database(config, env)
        os.environ.update(env)
        django.setup()
        cat = catalogue()
        tally = Tally()
        with Server("marketplace.wsgi:application", env) as site:
            warmed = warm(site.port, cat, load) if load.warm else 0.0
            shoppers = [Shopper(site.port, cat, tally, seed) for seed in range(load.users)]
            changes = changes_process(env, load) if load.changes > 0 else None
            stop = time.monotonic() + load.seconds
            cpu_before, start = site.cpu_seconds(), time.monotonic()

            def loop(shopper: Shopper) -> None:
                while time.monotonic() < stop:
                    shopper.visit()

            threads = [threading.Thread(target=loop, args=(s,)) for s in shoppers]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed, cpu = time.monotonic() - start, site.cpu_seconds() - cpu_before
            changed = {}
            if changes:
                out, _ = changes.communicate(timeout=120)
                lines = out.strip().splitlines()
                changed = json.loads(lines[-1]) if changes.returncode == 0 and lines else {}
    return report(config, load, tally, elapsed, cpu, changed, warmed)


def report(
    config: Config,
    load: LoadConfig,
    tally: Tally,
    elapsed: float,
    cpu: float,
    changed: dict,
    warmed: float = 0.0,
) -> str:
    total = sum(len(v) for v in tally.latencies.values())
    errors = sum(tally.errors.values())
    browsed = sum(tally.browsed.values())
    hits = browsed - sum(tally.missed.values())
    hit_ratio = hits / browsed if browsed else 0.0
    rendered = tally.parts.get("hit", 0) + tally.parts.get("miss", 0)
    postgres = config.vendor == "postgresql"
    database = database_facts(config)
    lines = [
        f"# Vitrine load benchmark, {time.strftime('%Y-%m-%d %H:%M')}",
        "",
        f"- {config.items:,} generated pieces; database {database['name']}; "
        f"gunicorn 2 sync workers; {load.users} shoppers without think time for {elapsed:.0f} s",
        f"- machine: {machine()} (shared with other work)",
        f"- warmed up first ({warmed:.0f} s): every browsing page and sampled piece visited once"
        if load.warm
        else "- a cold start: no warm-up (BENCH_LOAD_WARM=0)",
        f"- changes: {changed.get('publish', 0)} publishes and {changed.get('sale', 0)} sales "
        f"over {changed.get('shops', 0)} shops ({load.changes:g}/s wanted; "
        f"{changed.get('refused', 0)} sales refused as held, {changed.get('errors', '?')} failed, "
        f"p95 {changed.get('p95_ms', 0)} ms each)",
        f"- purchases stopped at the cart, a piece sold or reserved since it was added (the "
        f"cart saying so): {tally.sent_back}",
        f"- throughput: {total / elapsed:.0f} requests/s; server CPU {cpu * 1000 / max(total, 1):.2f}"
        f" ms per request",
        f"- anonymous browsing served from the page cache: {hit_ratio:.0%} "
        f"({hits} of {browsed}; target ≥ {HIT_RATIO_TARGET:.0%} "
        f"{'✓' if hit_ratio >= HIT_RATIO_TARGET else '✗'})",
        "- not from the page cache, per kind of page: "
        + ", ".join(
            f"{page} {tally.missed[page]} of {n}"
            for page, n in sorted(tally.browsed.items(), key=lambda kv: -kv[1])
        ),
        f"- pages rendered (not served whole from the page cache) whose own parts came from "
        f"the shared-parts cache: {tally.parts.get('hit', 0) / max(rendered, 1):.0%} "
        f"({tally.parts.get('hit', 0)} of {rendered})",
        "- searches, by what they asked and whence the page came: "
        + "; ".join(
            f"{name} {len(values)}, p50 {percentile(values, 50) * 1000:.0f} ms, "
            f"p95 {percentile(values, 95) * 1000:.0f} ms"
            for name, values in sorted(tally.searches.items())
        ),
        f"- errors: {errors} (target 0 {'✓' if errors == 0 else '✗'})",
        *(f"  - {sample}" for sample in tally.samples),
        "",
        f"| kind | requests | share | p50 ms | p95 ms | p99 ms | errors | p95 target "
        f"({'PostgreSQL' if postgres else 'PostgreSQL only'}) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for kind in KINDS:
        values = tally.latencies.get(kind, [])
        p95 = percentile(values, 95) * 1000
        verdict = f"< {P95_TARGET_MS} {'✓' if p95 < P95_TARGET_MS else '✗'}" if postgres else ""
        lines.append(
            f"| {kind} | {len(values)} | {len(values) / max(total, 1):.0%} | "
            f"{percentile(values, 50) * 1000:.1f} | {p95:.1f} | "
            f"{percentile(values, 99) * 1000:.1f} | {tally.errors.get(kind, 0)} | {verdict} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    config, load = Config.from_env(), LoadConfig.from_env()
    table = run(config, load)
    print()
    print(table)
    config.reports.mkdir(parents=True, exist_ok=True)
    path = config.reports / f"load-{config.slug}.md"
    path.write_text(table)
    print(f"Written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
