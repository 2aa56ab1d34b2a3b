"""Every live piece matching a search's words, kept once per words as columns, so that any
filter, price range and sort over the same words is counted and ordered here, reading no row.

A database counts the ten thousand matches of a common word again for each new price range or
filter (tens of milliseconds at 100,000 pieces, half a second at a million); here the same work
is a few C-level passes over arrays: each filter a mask (one byte per match, combined as big
integers), the price range a run of them (they are kept cheapest first), each facet a
Counter of a column through the other filters' masks, each other sort a heap over places the
database computed once. products.search decides when to use it.
"""

from __future__ import annotations

import bisect
import itertools
import math
import operator
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import overload

from django.db import connection
from django.db.models import QuerySet

from .models import ItemPage, ListedItem
from .text_search import scored_matches

# Above this many matches, the words' search runs in the database each time: its columns
# (some 35 bytes a match) are not worth keeping and reading.
MAX_MATCHES = 250_000
CONDITIONS = list(ItemPage.Condition.values)


@dataclass(frozen=True)
class Criteria:
    """A search's filters as the columns hold them. None: not filtered; a designer or
    category 0, a condition or shop path "": a filter on something unknown, which matches
    nothing. Prices are in cents, both bounds included."""

    designer: int | None = None
    category: int | None = None
    condition: str | None = None
    shop: str | None = None
    min_cents: int | None = None
    max_cents: int | None = None

    @staticmethod
    def cents(price: Decimal | None, *, up: bool) -> int | None:
        """A price bound in whole cents, rounded inwards (a bound of 9.995 keeps 10.00 in)."""
        if price is None:
            return None
        return math.ceil(price * 100) if up else math.floor(price * 100)


@dataclass
class Matches:
    """The matches, cheapest first (ties: the lower id first), one entry per piece in each
    column: a price range is a run of them."""

    ids: array
    designers: array
    categories: array
    parents: array  # the category's parent, 0 for none
    conditions: array  # index in CONDITIONS
    shops: array  # index in shop_paths
    shop_paths: list[str]
    cents: array  # ascending
    by_relevance: array  # the matches' places, best first (ties: the higher id first)
    by_newest: array  # the matches' places, newest first (ties: the higher id first)

    def __len__(self) -> int:
        return len(self.ids)

    def select(self, criteria: Criteria) -> Selection:
        return Selection(self, criteria)


class Selection:
    """The matches passing a search's filters: their number, the facet counts (each facet
    through every other filter) and their ids in any sort's order. The price range is a run
    of the matches (`start` to `stop`); every other filter a mask over that run."""

    def __init__(self, matches: Matches, criteria: Criteria):
        m, c = matches, criteria
        self.matches = m
        self.start = 0 if c.min_cents is None else bisect.bisect_left(m.cents, c.min_cents)
        stop = len(m) if c.max_cents is None else bisect.bisect_right(m.cents, c.max_cents)
        self.stop = max(stop, self.start)
        run = slice(self.start, self.stop)
        masks: dict[str, int] = {}
        if c.designer is not None:
            masks["designer"] = _mask(d == c.designer for d in m.designers[run])
        if c.category is not None:
            cat = c.category
            masks["category"] = _mask(
                a == cat or b == cat for a, b in zip(m.categories[run], m.parents[run], strict=True)
            )
        if c.condition is not None:
            code = CONDITIONS.index(c.condition) if c.condition in CONDITIONS else -1
            masks["condition"] = _mask(k == code for k in m.conditions[run])
        if c.shop is not None:
            shop = m.shop_paths.index(c.shop) if c.shop in m.shop_paths else -1
            masks["shop"] = _mask(s == shop for s in m.shops[run])
        self.masks = masks

    def _through(self, without: str = "") -> bytes | None:
        """One byte per match of the run, 1 where it passes every filter but `without`'s;
        None: all do."""
        others = [mask for name, mask in self.masks.items() if name != without]
        if not others:
            return None
        both = others[0]
        for mask in others[1:]:
            both &= mask
        return both.to_bytes(self.stop - self.start, "little")

    @cached_property
    def passing(self) -> bytes | None:
        return self._through()

    @cached_property
    def total(self) -> int:
        return self.stop - self.start if self.passing is None else self.passing.count(1)

    def counts(self) -> dict[str, Counter]:
        """{facet: Counter} by designer id, category id, condition and shop path."""
        m = self.matches
        columns = {
            "designer": m.designers,
            "category": m.categories,
            "condition": m.conditions,
            "shop": m.shops,
        }
        counts = {}
        for name, column in columns.items():
            run, through = column[self.start : self.stop], self._through(without=name)
            counts[name] = Counter(run if through is None else itertools.compress(run, through))
        counts["condition"] = Counter(
            {CONDITIONS[code]: n for code, n in counts["condition"].items()}
        )
        counts["shop"] = Counter({m.shop_paths[i]: n for i, n in counts["shop"].items()})
        return counts

    def ordered(self, sort: str) -> Ordered:
        return Ordered(self, sort)

    def indices(self, *, backwards: bool = False) -> Iterator[int]:
        """The passing matches' places, cheapest first (or last)."""
        run = range(self.start, self.stop)
        passing = self.passing
        if backwards:
            run, passing = run[::-1], None if passing is None else passing[::-1]
        return iter(run) if passing is None else itertools.compress(run, passing)

    def passing_in(self, places: Iterable[int]) -> Iterator[int]:
        """The passing matches' places among `places`, in that order."""
        start, stop, passing = self.start, self.stop, self.passing
        if passing is None:
            return (i for i in places if start <= i < stop)
        return (i for i in places if start <= i < stop and passing[i - start])


class Ordered(Sequence[int]):
    """The passing matches' ids in a sort's order, as Paginator reads them: a slice walks
    the matches in an order they keep (by price, relevance or date) until it has `stop` of
    them, never sorting."""

    def __init__(self, selection: Selection, sort: str):
        self.selection, self.sort = selection, sort

    def __len__(self) -> int:
        return self.selection.total

    @overload
    def __getitem__(self, index: int) -> int: ...
    @overload
    def __getitem__(self, index: slice) -> list[int]: ...
    def __getitem__(self, index: int | slice) -> int | list[int]:
        if isinstance(index, int):
            return self[index : index + 1][0]
        start, stop, _ = index.indices(len(self))
        if start >= stop:
            return []
        m, selection = self.selection.matches, self.selection
        if self.sort == "price_asc":
            places = selection.indices()
        elif self.sort == "price_desc":  # (-price, -id): the price order backwards
            places = selection.indices(backwards=True)
        elif self.sort == "relevance":
            places = selection.passing_in(m.by_relevance)
        elif self.sort == "newest":
            places = selection.passing_in(m.by_newest)
        else:
            raise ValueError(f"unknown sort {self.sort!r}")
        chosen = list(itertools.islice(places, stop))
        return [m.ids[i] for i in chosen[start:stop]]


def _mask(passes: Iterable[bool]) -> int:
    """A filter's mask: one byte per match, 1 when it passes, read as one integer (little
    endian), so that masks combine with `&` at C speed."""
    return int.from_bytes(bytes(passes), "little")


def find(rows: QuerySet[ListedItem], terms: str) -> Matches | None:
    """The matches of `terms` among `rows` (search rows), best first, in one query; None when
    there are more than MAX_MATCHES of them, or when this database's text search cannot
    score them in SQL."""
    fields = ["item_id", "designer_id", "category_id", "category_parent_id", "condition",
              "shop_path", "price", "listed_at"]  # fmt: skip
    scored = scored_matches(rows.order_by().values(*fields), terms)
    if scored is None:
        return None
    sql, params = scored
    query = (
        "SELECT item_id, designer_id, category_id, COALESCE(category_parent_id, 0), condition, "
        f"shop_path, CAST(ROUND(price * 100) AS BIGINT), score, {_LISTED_AT[connection.vendor]} "
        f"FROM ({sql}) AS scored LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(query, [*params, MAX_MATCHES + 1])
        found = cursor.fetchall()
    if len(found) > MAX_MATCHES:
        return None
    # Ordered here: Python sorts ten thousand rows several times faster than SQLite.
    found.sort(key=operator.itemgetter(6, 0))  # by price, then id
    columns = list(zip(*found, strict=True)) or [()] * 9
    ids, designers, categories, parents, conditions, shops, cents, scores, listed = columns
    by_relevance = list(zip(scores, ids, strict=True))
    by_newest = list(zip(listed, ids, strict=True))
    shop_paths = sorted(set(shops))
    shop_index = {path: i for i, path in enumerate(shop_paths)}
    condition_index = {value: i for i, value in enumerate(CONDITIONS)}
    return Matches(
        ids=array("q", ids),
        designers=array("q", designers),
        categories=array("q", categories),
        parents=array("q", parents),
        conditions=array("b", (condition_index[value] for value in conditions)),
        shops=array("i", (shop_index[path] for path in shops)),
        shop_paths=shop_paths,
        cents=array("q", cents),
        by_relevance=array(
            "i", sorted(range(len(ids)), key=by_relevance.__getitem__, reverse=True)
        ),
        by_newest=array("i", sorted(range(len(ids)), key=by_newest.__getitem__, reverse=True)),
    )


# When a piece was first listed, as a value that sorts the same in Python, read without the
# database driver's conversion to a datetime (slow for ten thousand rows): SQLite keeps
# ISO 8601 text; PostgreSQL gives microseconds since 1970. Never listed: the oldest.
_LISTED_AT = {
    "sqlite": "COALESCE(CAST(listed_at AS TEXT), '')",
    "postgresql": "COALESCE(CAST(EXTRACT(EPOCH FROM listed_at) * 1000000 AS BIGINT), -1)",
}
