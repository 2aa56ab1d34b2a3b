"""Every live piece matching a search's words, kept once per words as columns, so that any
filter, price range and sort over the same words is counted and ordered here, reading no row.

A database counts the ten thousand matches of a common word again for each new price range or
filter (tens of milliseconds at 100,000 pieces, half a second at a million); here the same work
is a few C-level passes over arrays: the price range a run of the matches (kept cheapest
first), each other filter a mask (a byte per match, combined as big integers), each facet a
count of a column of codes through the other filters' masks, each sort a walk in an order
computed once. products.search decides when to use it.
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

from django.db import connection
from django.db.models import QuerySet

from .models import ListedItem
from .text_search import scored_matches

# Above this many matches, the words' search runs in the database each time: its columns
# (some 25 bytes a match) are not worth keeping and reading.
MAX_MATCHES = 250_000
FACETS = ("designer", "category", "condition", "shop")


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
class Facet:
    """A facet's column: each match's value (a designer or category id, a condition, a shop
    path) as a code, its place in `values`. With up to 256 values a code is a byte, and a
    mask or a count is a C-level pass over the bytes."""

    values: list
    codes: array

    @classmethod
    def of(cls, column: Sequence) -> Facet:
        values = sorted(set(column))
        code = {value: i for i, value in enumerate(values)}
        typecode = "B" if len(values) <= 2**8 else "H" if len(values) <= 2**16 else "I"
        return cls(values, array(typecode, map(code.__getitem__, column)))

    def mask(self, run: slice, wanted: Iterable) -> int:
        """A mask of the run: 1 where the match's value is one of `wanted`."""
        wanted = set(wanted)
        codes = {i for i, value in enumerate(self.values) if value in wanted}
        part = self.codes[run]
        if part.typecode == "B":  # each byte code turned into 1 or 0
            table = bytes(code in codes for code in range(256))
            return int.from_bytes(part.tobytes().translate(table), "little")
        return _mask(code in codes for code in part)

    def count(self, run: slice, through: bytes | None) -> Counter:
        """{value: how many matches of the run have it}, of those `through` lets through."""
        part = self.codes[run]
        if through is not None:
            part = array(part.typecode, itertools.compress(part, through))
        if part.typecode == "B" and len(self.values) <= 64:  # a count per value beats a Counter
            raw = part.tobytes()
            counted = ((value, raw.count(i)) for i, value in enumerate(self.values))
            return Counter({value: n for value, n in counted if n})
        return Counter({self.values[code]: n for code, n in Counter(part).items()})


@dataclass
class Matches:
    """The matches, cheapest first (ties: the lower id first), one entry per piece in each
    column: a price range is a run of them."""

    ids: array  # page ids: 32-bit, as Wagtail's are
    cents: array  # ascending
    facets: dict[str, Facet]  # by designer, category, condition and shop
    parents: dict[int, int | None]  # the matches' categories' parents
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
        wanted = {
            "designer": None if c.designer is None else {c.designer},
            "category": None
            if c.category is None
            else {cat for cat, parent in m.parents.items() if c.category in (cat, parent)},
            "condition": None if c.condition is None else {c.condition},
            "shop": None if c.shop is None else {c.shop},
        }
        run = slice(self.start, self.stop)
        self.masks = {
            name: m.facets[name].mask(run, values)
            for name, values in wanted.items()
            if values is not None
        }

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
        run = slice(self.start, self.stop)
        return {
            name: self.matches.facets[name].count(run, self._through(without=name))
            for name in FACETS
        }

    def ids(self, sort: str, start: int, stop: int) -> list[int]:
        """The passing matches' ids from `start` to `stop` in a sort's order: walking the
        matches in an order they keep (by price, relevance or date), never sorting."""
        m = self.matches
        if sort == "price_asc":
            places = self.indices()
        elif sort == "price_desc":  # (-price, -id): the price order backwards
            places = self.indices(backwards=True)
        elif sort == "relevance":
            places = self.passing_in(m.by_relevance)
        elif sort == "newest":
            places = self.passing_in(m.by_newest)
        else:
            raise ValueError(f"unknown sort {sort!r}")
        return [m.ids[i] for i in itertools.islice(places, start, stop)]

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


def _mask(passes: Iterable[bool]) -> int:
    """A filter's mask: one byte per match, 1 when it passes, read as one integer (little
    endian), so that masks combine with `&` at C speed."""
    return int.from_bytes(bytes(passes), "little")


def find(rows: QuerySet[ListedItem], terms: str) -> Matches | None:
    """The matches of `terms` among `rows` (search rows), in one query; None when there are
    more than MAX_MATCHES of them, or when this database's text search cannot score them in
    SQL."""
    fields = ["item_id", "designer_id", "category_id", "category_parent_id", "condition",
              "shop_path", "price", "listed_at"]  # fmt: skip
    scored = scored_matches(rows.order_by().values(*fields), terms)
    if scored is None:
        return None
    sql, params = scored
    query = (
        "SELECT item_id, designer_id, category_id, category_parent_id, condition, shop_path, "
        f"CAST(ROUND(price * 100) AS BIGINT), score, {_LISTED_AT[connection.vendor]} "
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
    places = range(len(ids))
    return Matches(
        ids=array("i", ids),
        cents=array("q", cents),
        facets={
            "designer": Facet.of(designers),
            "category": Facet.of(categories),
            "condition": Facet.of(conditions),
            "shop": Facet.of(shops),
        },
        parents=dict(zip(categories, parents, strict=True)),
        by_relevance=array("i", sorted(places, key=by_relevance.__getitem__, reverse=True)),
        by_newest=array("i", sorted(places, key=by_newest.__getitem__, reverse=True)),
    )


# When a piece was first listed, as a value that sorts the same in Python, read without the
# database driver's conversion to a datetime (slow for ten thousand rows): SQLite keeps
# ISO 8601 text; PostgreSQL gives microseconds since 1970. Never listed: the oldest.
_LISTED_AT = {
    "sqlite": "COALESCE(CAST(listed_at AS TEXT), '')",
    "postgresql": "COALESCE(CAST(EXTRACT(EPOCH FROM listed_at) * 1000000 AS BIGINT), -1)",
}
