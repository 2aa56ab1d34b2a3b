#!/usr/bin/env python
"""`make bench-profile`: where a page's CPU goes, in-process, for working on one page at a time.
Beside `make bench`, not instead of it: one process, no gunicorn, and its ratios are to the
site's own minimal view, not to the bare app.

Serves each page through the full WSGI stack (every middleware, the site's production settings
as `make bench` runs them: bench/settings.py) with Django's test client, over the benchmark
database `make bench` built (or DATABASE_URL), with a private Redis of its own (or REDIS_URL's),
so that what a page asks for the first time really is asked for the first time. Each page is warmed first, then timed: CPU ms per request
(process time) and Python function calls per request, beside the site's minimal view's. With
BENCH_PROFILE_TOP=N it prints each page's N most expensive functions (cumulative).

    make bench-profile                      # every page
    BENCH_PROFILE_PAGES=item,shop make bench-profile
    BENCH_PROFILE_FRESH=1 make bench-profile    # parts rendered each time (a parameter no
                                                # page reads), as after a change
"""

from __future__ import annotations

import cProfile
import itertools
import os
import pstats
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
os.environ.setdefault(
    "DATABASE_URL", f"sqlite:///{ROOT / 'bench' / 'results' / 'bench-100000.sqlite3'}"
)
os.environ.setdefault("MEDIA_ROOT", str(ROOT / "bench" / "results" / "media"))
os.environ.setdefault("STATIC_ROOT", str(ROOT / "bench" / "results" / "static"))  # make bench's
os.environ.setdefault("VITRINE_PAGE_CACHE_SECONDS", "300")
os.environ.setdefault("VITRINE_HOLDS_PER_NETWORK_PER_HOUR", "1000000000")

REPEAT = int(os.environ.get("BENCH_PROFILE_REPEAT", "50"))
TOP = int(os.environ.get("BENCH_PROFILE_TOP", "0"))
PROFILED = 10
FRESH = os.environ.get("BENCH_PROFILE_FRESH") == "1"


def main() -> None:
    from bench.harness import PrivateRedis

    with PrivateRedis(os.environ.get("REDIS_URL", "")) as redis:
        os.environ["REDIS_URL"] = redis.url
        profile_pages()


def profile_pages() -> None:
    import django

    django.setup()
    from django.test import Client

    from bench.harness import UNCACHED
    from bench.run import NEW_WORDS

    client = Client(HTTP_HOST="127.0.0.1")
    for name, value in UNCACHED.items():
        client.cookies[name] = value

    def links(path: str, pattern: str) -> list[str]:
        body = client.get(path).content.decode()
        return list(dict.fromkeys(re.findall(r'href="(' + pattern + ')"', body)))

    shop = links("/shops/", r"/shops/[a-z0-9-]+/")[0]
    item = links(shop, re.escape(shop) + r"[a-z0-9-]+/")[0]
    designer = links("/designers/", r"/designers/[a-z0-9-]+/")[0]
    pages = {
        "minimal": "/_bench/minimal/",
        "item": item,
        "home": "/",
        "shop": shop,
        "designer": designer,
        "search": "/search/?q=silk",
        "search-filters": "/search/?category=bags&condition=excellent&sort=price_desc",
        "cart": "/cart/",
        # A search never asked before, each time: `{n}` is a new number on every request.
        "search-new": "/search/?q=silk&min_price={n}",
        # Words never asked before, each time: `{words}` a new combination on every request.
        "words-new": "/search/?q={words}",
    }
    # The cart holds two pieces for sale (the search's cheapest, as `make bench` picks them).
    for item_id in re.findall(
        r'name="item" value="([0-9]+)"', client.get("/search/?sort=price_asc").content.decode()
    )[:2]:
        client.post("/cart/add/", {"item": item_id})
    wanted = os.environ.get("BENCH_PROFILE_PAGES")
    if wanted:
        pages = {
            name: path for name, path in pages.items() if name in {"minimal", *wanted.split(",")}
        }
    if FRESH:  # as `make bench`'s rows "parts rendered"
        pages = {
            name: path + ("&" if "?" in path else "?") + "fresh=bench"
            for name, path in pages.items()
        }
    # A price in cents from a random start, so that a run soon after another asks anew too.
    cents = itertools.count(random.randrange(100, 200_000))
    new_words = iter(random.sample(NEW_WORDS, len(NEW_WORDS)))

    def get(path: str):
        if "{n}" in path:
            path = path.format(n=f"{(n := next(cents)) // 100}.{n % 100:02d}")
        if "{words}" in path:
            path = path.format(words=next(new_words))
        return client.get(path)

    unit = None
    print(f"{'page':16} {'CPU ms':>8} {'× min':>7} {'calls':>8}  path")
    for name, path in pages.items():
        for _ in range(5):
            response = get(path)
            assert response.status_code == 200, (path, response.status_code)
        start = time.process_time()
        for _ in range(REPEAT):
            get(path)
        cpu = (time.process_time() - start) * 1000 / REPEAT
        # Profiled over several requests: a page asking something new each time differs.
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(PROFILED):
            get(path)
        profile.disable()
        stats = pstats.Stats(profile)
        unit = unit or cpu
        calls = stats.total_calls // PROFILED  # type: ignore[attr-defined]
        print(f"{name:16} {cpu:8.2f} {cpu / unit:7.1f} {calls:8d}  {path}")
        if TOP and name != "minimal":
            print(f"  (the costliest functions of {PROFILED} requests)")
            stats.sort_stats(os.environ.get("BENCH_PROFILE_SORT", "cumulative")).print_stats(TOP)


if __name__ == "__main__":
    main()
