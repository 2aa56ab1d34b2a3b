"""Every live piece matching a search's words (or every live piece), kept once per words as
columns, so that any filter, price range and sort over the same words is counted and ordered
here, reading no row.

A database counts the ten thousand matches of a common word again for each new price range or
filter (tens of milliseconds at 100,000 pieces, half a second at a million); here the same work
is a few C-level passes over arrays: the price range a run of the matches (kept cheapest
first), each other filter a mask (a byte per match, combined as big integers), each facet a
count of a column of codes through the other filters' masks, each sort a walk in an order
computed once. A publish does not throw them away: `caught_up` reads the rows changed since
and splices them in. products.search decides when to use them.
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import math
import operator
import time
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property

from django.db import connection
from django.db.models import QuerySet

import numpy

from .models import ListedItem, ListingChange
from .text_search import scored_matches

# Above this many matches, the words' search runs in the database each time: its columns
# (some 40 bytes a match: 41 MB for every piece of a million, read in 3 s) are not kept.
MAX_MATCHES = 2_000_000
FACETS = ("designer", "category", "condition", "shop")
_FACET_COLUMNS = (1, 2, 4, 5)  # each facet's place in a Row


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
    def of(cls, column: Column, order: numpy.ndarray | None = None) -> Facet:
        """The facet of `column`, in `order` (places in `column`) if given."""
        values: list
        if isinstance(column, numpy.ndarray):  # numbers, coded in C
            distinct, codes = numpy.unique(column, return_inverse=True)
            values = distinct.tolist()
        else:
            values = sorted(set(column))
            code = {value: i for i, value in enumerate(values)}
            codes = numpy.fromiter(map(code.__getitem__, column), "I", len(column))
        typecode = "B" if len(values) <= 2**8 else "H" if len(values) <= 2**16 else "I"
        return cls(values, _array(codes if order is None else codes[order], typecode))

    def code(self, value) -> int | None:
        """`value`'s code, a new one (added to `values`) if it is new; None: the codes are too
        narrow for it."""
        try:
            return self.values.index(value)
        except ValueError:
            if len(self.values) >= 2 ** (8 * self.codes.itemsize):
                return None
            self.values.append(value)
            return len(self.values) - 1

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
        part = numpy.frombuffer(self.codes, self.codes.typecode)[run]
        if through is not None:
            part = part[numpy.frombuffer(through, numpy.bool_)]
        counts = numpy.bincount(part, minlength=len(self.values))
        return Counter({self.values[code]: int(counts[code]) for code in counts.nonzero()[0]})


@dataclass
class Matches:
    """The matches, cheapest first (ties: the lower id first), one entry per piece in each
    column: a price range is a run of them."""

    ids: array  # page ids: 32-bit, as Wagtail's are
    cents: array  # ascending
    facets: dict[str, Facet]  # by designer, category, condition and shop
    parents: dict[int, int | None]  # the matches' categories' parents
    scores: array  # relevance: higher is better
    listed: array  # when first listed: microseconds since 1970 (_LISTED_AT)
    by_relevance: array  # the matches' places, best first (ties: the higher id first)
    by_newest: array  # the matches' places, newest first (ties: the higher id first)
    as_of: float  # when they were read (time.time()): changes since are not in them

    @classmethod
    def of(cls, found: list[Row], as_of: float) -> Matches:
        return cls.of_columns(list(zip(*found, strict=True)) or [()] * 9, as_of)

    @classmethod
    def of_columns(cls, columns: Sequence[Column], as_of: float) -> Matches:
        """The matches whose columns (a Row's, in its order) are `columns`."""
        ids, designers, categories, parents, conditions, shops, cents, scores, listed = columns
        numbers = {"ids": (ids, "i"), "cents": (cents, "q"), "scores": (scores, "d"),
                   "listed": (listed, "q")}  # fmt: skip
        by = {name: numpy.asarray(column, typecode) for name, (column, typecode) in numbers.items()}
        order = numpy.lexsort((by["ids"], by["cents"]))  # by price, then id
        by = {name: column[order] for name, column in by.items()}

        def places(key: str) -> array:  # best (or newest) first, ties: the higher id first
            return _array(numpy.lexsort((by["ids"], by[key]))[::-1], "i")

        # Each category's parent, from its first match (0 or None: no parent).
        firsts = numpy.unique(numpy.asarray(categories), return_index=True)[1].tolist()
        return cls(
            **{name: _array(column, numbers[name][1]) for name, column in by.items()},
            facets={
                "designer": Facet.of(designers, order),
                "category": Facet.of(categories, order),
                "condition": Facet.of(conditions, order),
                "shop": Facet.of(shops, order),
            },
            parents={int(categories[i]): int(parents[i]) if parents[i] else None for i in firsts},
            by_relevance=places("scores"),
            by_newest=places("listed"),
            as_of=as_of,
        )

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def nbytes(self) -> int:
        """The memory the columns take (what a worker keeping them counts)."""
        columns = [self.ids, self.cents, self.scores, self.listed, self.by_relevance,
                   self.by_newest, *(facet.codes for facet in self.facets.values())]  # fmt: skip
        place_of = self.__dict__.get("_place_of")
        own = 0 if place_of is None else place_of.nbytes
        return sum(column.itemsize * len(column) for column in columns) + own

    def __getstate__(self) -> dict:
        # The places by id (_places) are worked out again by whoever reads these back.
        return {name: value for name, value in self.__dict__.items() if name != "_place_of"}

    def _places(self, ids: numpy.ndarray) -> numpy.ndarray:
        """The places of the pieces `ids` among these matches; -1 for those not among them."""
        place_of = self.__dict__.get("_place_of")
        if place_of is None:  # a place for each id up to the highest (page ids are dense:
            # 4 MB, 13 ms for a million), worked out once: a look-up is then one gather
            own = numpy.frombuffer(self.ids, "i")
            place_of = numpy.full(int(own.max(initial=0)) + 1, -1, "i")
            place_of[own] = numpy.arange(len(own), dtype="i")
            self.__dict__["_place_of"] = place_of
        inside = (ids >= 0) & (ids < len(place_of))
        return numpy.where(inside, place_of[numpy.where(inside, ids, 0)], -1)

    def among(self, ids: numpy.ndarray, scores: numpy.ndarray) -> tuple[Matches, numpy.ndarray]:
        """The matches of the pieces `ids` (with their `scores`) among these, their columns
        taken from these, as of when these were; and the ids not among these (pieces listed
        since). A search for words reads their ids and scores alone (_SCORES) and takes the
        rest from every piece's matches, kept: no other column gathered, sent and read, no
        sort by price, no facet coded again."""
        ids = numpy.asarray(ids, "i8")
        places = self._places(ids)
        known = places >= 0
        order = numpy.argsort(places[known], kind="stable")  # these are by price, then id
        places = places[known][order]

        def taken(column: array) -> array:
            return _array(numpy.frombuffer(column, column.typecode)[places], column.typecode)

        ids_now, listed = taken(self.ids), taken(self.listed)
        scores_now = _array(numpy.asarray(scores, "d")[known][order], "d")

        def best_first(key: array) -> array:  # ties: the higher id first
            return _array(numpy.lexsort((numpy.frombuffer(ids_now, "i"),
                                         numpy.frombuffer(key, key.typecode)))[::-1], "i")  # fmt: skip

        matches = Matches(
            ids=ids_now,
            cents=taken(self.cents),
            # The same values (a value later new is added to a copy: patched), fewer codes.
            facets={name: Facet(facet.values, taken(facet.codes)) for name, facet in self.facets.items()},
            parents=self.parents,  # every category's: more than these need, as patched keeps
            scores=scores_now,
            listed=listed,
            by_relevance=best_first(scores_now),
            by_newest=best_first(listed),
            as_of=self.as_of,
        )  # fmt: skip
        return matches, ids[~known]

    def rows(self) -> list[Row]:
        facets = {name: [f.values[code] for code in f.codes] for name, f in self.facets.items()}
        categories = facets["category"]
        return list(zip(
            self.ids, facets["designer"], categories, map(self.parents.__getitem__, categories),
            facets["condition"], facets["shop"], self.cents, self.scores, self.listed,
            strict=True,
        ))  # fmt: skip

    def patched(self, changed: set[int], fresh: list[Row], as_of: float) -> Matches:
        """These matches with the pieces `changed` taken out and `fresh` (the changed ones
        matching now) put in: each column cut and spliced, each order's places moved along,
        in C (numpy): 12 ms for a few changes among a hundred thousand matches, where sorting
        them all again takes 360."""
        ids = numpy.frombuffer(self.ids, "i")
        keep = ~numpy.isin(ids, numpy.fromiter(changed, "i", len(changed)))
        if keep.all() and not fresh:
            return dataclasses.replace(self, as_of=as_of)
        fresh = sorted(fresh, key=operator.itemgetter(6, 0))  # by price, then id
        # New values are added to copies: these matches may be shared (memoised in_process).
        facets = {name: Facet(list(f.values), f.codes) for name, f in self.facets.items()}
        codes = {name: [facet.code(row[i]) for row in fresh] for i, (name, facet) in
                 zip(_FACET_COLUMNS, facets.items(), strict=True)}  # fmt: skip
        if any(None in column for column in codes.values()):  # a value the codes cannot hold
            return Matches.of([row for row in self.rows() if row[0] not in changed] + fresh, as_of)
        kept_ids, kept_cents = ids[keep], numpy.frombuffer(self.cents, "q")[keep]
        # Where each fresh row goes among the kept ones (by price, then id), and ends up.
        points = []
        for row in fresh:
            low, high = (
                numpy.searchsorted(kept_cents, row[6], "left"),
                numpy.searchsorted(kept_cents, row[6], "right"),
            )
            points.append(int(low + numpy.searchsorted(kept_ids[low:high], row[0])))
        fresh_places = [point + n for n, point in enumerate(points)]

        def spliced(column: array, values: Iterable) -> array:
            kept = numpy.frombuffer(column, column.typecode)[keep]
            return _array(numpy.insert(kept, points, list(values)), column.typecode)

        # Each old place's new one: its place among the kept, plus the fresh rows before it.
        new_place = numpy.full(len(ids), -1, "i")
        kept_places = numpy.arange(len(kept_ids), dtype="i")
        new_place[keep] = kept_places + numpy.searchsorted(points, kept_places, "right")
        ids_now = spliced(self.ids, (row[0] for row in fresh))
        scores = spliced(self.scores, (row[7] for row in fresh))
        listed = spliced(self.listed, (row[8] for row in fresh))

        def moved(order: array, key) -> array:
            places = new_place[numpy.frombuffer(order, "i")]
            kept_in_order = _array(places[places >= 0], "i")
            for place in fresh_places:
                bisect.insort(kept_in_order, place, key=key)
            return kept_in_order

        return Matches(
            ids=ids_now,
            cents=spliced(self.cents, (row[6] for row in fresh)),
            facets={
                name: Facet(facet.values, spliced(facet.codes, codes[name]))
                for name, facet in facets.items()
            },
            parents={**self.parents, **{row[2]: row[3] for row in fresh}},
            scores=scores,
            listed=listed,
            by_relevance=moved(self.by_relevance, lambda p: (-scores[p], -ids_now[p])),
            by_newest=moved(self.by_newest, lambda p: (-listed[p], -ids_now[p])),
            as_of=as_of,
        )

    def select(self, criteria: Criteria) -> Selection:
        return Selection(self, criteria)


def conjunction(each: Sequence[Matches]) -> Matches:
    """The pieces in all of `each` (each word's matches, in the words' order), scored by the
    sum of their scores, in that order: what a search for the words together finds and
    scores (products.text_search sums each word's score), read from the words' matches, kept,
    and not from a row. Their columns are the fewest matches'; as of the oldest of them."""
    fewest = min(range(len(each)), key=lambda i: len(each[i]))
    ids = numpy.frombuffer(each[fewest].ids, "i").astype("i8")
    inside = numpy.ones(len(ids), bool)
    scores = numpy.zeros(len(ids))
    for n, matches in enumerate(each):
        if n == fewest:
            places = numpy.arange(len(ids))
        else:
            places = matches._places(ids)
            inside &= places >= 0
        scores += numpy.frombuffer(matches.scores, "d")[numpy.where(places >= 0, places, 0)]
    joined, _ = each[fewest].among(ids[inside], scores[inside])
    return dataclasses.replace(joined, as_of=min(matches.as_of for matches in each))


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


def _array(values: numpy.ndarray, typecode: str) -> array:
    """A numpy array as a standard one (smaller to keep, and what the rest reads)."""
    return array(typecode, values.astype(typecode, copy=False).tobytes())


def _mask(passes: Iterable[bool]) -> int:
    """A filter's mask: one byte per match, 1 when it passes, read as one integer (little
    endian), so that masks combine with `&` at C speed."""
    return int.from_bytes(bytes(passes), "little")


# What a row of matches holds, as find reads it: the columns of Matches, in this order.
Row = tuple  # (id, designer, category, category parent, condition, shop, cents, score, listed)
_FIELDS = ["item_id", "designer_id", "category_id", "category_parent_id", "condition",
           "shop_path", "price", "listed_at"]  # fmt: skip


def find(
    rows: QuerySet[ListedItem], terms: str | None, *, every: Matches | None = None
) -> Matches | None:
    """The matches of `terms` (None: every row) among `rows` (search rows), in one query;
    None when there are more than MAX_MATCHES of them, or when this database's text search
    cannot score them in SQL. `every`: every row's matches, caught up: only the words' ids
    and scores are read, the rest taken from them (Matches.among)."""
    return find_each(rows, [terms], every=every)[0]


def find_each(
    rows: QuerySet[ListedItem], each: Sequence[str | None], *, every: Matches | None = None
) -> list[Matches | None]:
    """`find` for each of `each` (words, or None), in one query."""
    as_of = time.time()  # before reading: a change meanwhile is read again (caught_up)
    scores_alone = every is not None and None not in each
    found = _read_each(rows, each, limit=MAX_MATCHES + 1, select=_SCORES if scores_alone else _ROWS)
    matches: list[Matches | None] = []
    for terms, columns in zip(each, found, strict=True):
        if columns is None or len(columns[0]) > MAX_MATCHES:
            matches.append(None)
        elif every is None or not scores_alone:
            matches.append(Matches.of_columns(columns, as_of))
        else:
            among, listed_since = every.among(*columns)
            if len(listed_since):  # listed since `every` was caught up: read in full, spliced in
                changed = set(listed_since.tolist())
                matches.append(_read_again(among, rows, terms, changed, among.as_of))
            else:
                matches.append(among)
    return matches


def caught_up(matches: Matches, rows: QuerySet[ListedItem], terms: str | None) -> Matches | None:
    """`matches` brought up to date: the rows written again since they were found or last
    caught up (products.listing records which) read again, in if they match, out if not, in
    one query; None (find them again) when any row may have changed, or too many did."""
    as_of = time.time()
    changes = list(
        ListingChange.objects.filter(at__gte=matches.as_of - CHANGE_LAG_SECONDS).values_list(
            "item_id", flat=True
        )[: MAX_CHANGES + 1]
    )
    if len(changes) > MAX_CHANGES or None in changes:
        return None
    return _read_again(matches, rows, terms, set(changes), as_of)


def _read_again(
    matches: Matches,
    rows: QuerySet[ListedItem],
    terms: str | None,
    changed: set[int],
    as_of: float,
) -> Matches | None:
    """`matches` with the rows `changed` read again, in one query: in if they match, out if
    not; None where the text search cannot score them in SQL."""
    fresh: list[Row] = []
    if changed:
        columns = _read(rows.filter(item_id__in=changed), terms, limit=None)
        if columns is None:
            return None
        fresh = _rows(columns)
    return matches.patched(changed, fresh, as_of)


# A change is read again at every catch-up for this long after it was recorded: its row may
# be committed, or (SQLite) its text indexed by a background task, that much later.
CHANGE_LAG_SECONDS = 60
# More changes than this since the matches were found: they are found again.
MAX_CHANGES = 1000

# A Row's columns, in its order: one length, each a sequence or a numpy array.
Column = Sequence | numpy.ndarray
Columns = tuple[Column, ...]


def _rows(columns: Columns) -> list[Row]:
    """The rows of `columns` (a category's parent: None when it has none, read as 0 or None)."""
    rows = zip(*(c.tolist() if isinstance(c, numpy.ndarray) else c for c in columns), strict=True)
    return [(*row[:3], row[3] or None, *row[4:]) for row in rows]


def _read(rows: QuerySet[ListedItem], terms: str | None, *, limit: int | None) -> Columns | None:
    """The matching rows' columns (a Row's), at most `limit` rows; None where the text
    search cannot score them in SQL."""
    return _read_each(rows, [terms], limit=limit, select=_ROWS)[0]


def _read_each(
    rows: QuerySet[ListedItem],
    each: Sequence[str | None],
    *,
    limit: int | None,
    select: _Select,
) -> list[Columns | None]:
    """For each of `each` (words, or None: every row), the matching rows' columns
    (`select`'s), at most `limit` rows, all in one query; None for words the text search
    cannot score in SQL."""
    values = rows.order_by().values(*select.fields)
    postgresql = connection.vendor == "postgresql"
    columns = select.postgresql if postgresql else select.sqlite
    parts: list[tuple[str, list]] = []
    scored_at: list[int | None] = []  # each one's place among the parts
    for terms in each:
        if terms is None:
            sql, params = values.query.sql_with_params()
            scored: tuple[str, list] | None = (
                f"SELECT candidates.*, 0 AS score FROM ({sql}) AS candidates",
                list(params),
            )
        else:
            scored = scored_matches(values, terms)
        if scored is None:
            scored_at.append(None)
            continue
        sql, params = scored
        if limit is not None:
            sql, params = f"SELECT * FROM ({sql}) AS limited LIMIT %s", [*params, limit]
        scored_at.append(len(parts))
        # Each part numbered: its rows (SQLite), or its row of arrays (PostgreSQL), told apart.
        parts.append(
            (f"SELECT {len(parts)} AS part, {', '.join(columns)} FROM ({sql}) AS scored", params)
        )
    found: dict[int, Columns] = {}
    if parts:
        with connection.cursor() as cursor:
            cursor.execute(
                " UNION ALL ".join(sql for sql, _ in parts),
                [param for _, params in parts for param in params],
            )
            if postgresql:
                # One row of arrays a part, in PostgreSQL's binary form: numbers reach numpy
                # without a Python object each (a million rows read and built in 1.2 s of CPU,
                # not 3.7; 12,500 in 15 ms, not 33).
                for part, *arrays in cursor.fetchall():
                    found[part] = tuple(
                        _column(value, kind)
                        for value, kind in zip(arrays, select.kinds, strict=True)
                    )
            else:
                by_part: dict[int, list] = {}
                for part, *row in cursor.fetchall():
                    by_part.setdefault(part, []).append(row)
                for part in range(len(parts)):
                    rows_found = by_part.get(part, [])
                    found[part] = tuple(zip(*rows_found, strict=True)) or ((),) * len(columns)
    return [None if part is None else found[part] for part in scored_at]


# When a piece was first listed, in microseconds since 1970 (never listed: -1, the oldest),
# read without the database driver's conversion to a datetime (slow for ten thousand rows).
# SQLite keeps UTC as text, 'YYYY-MM-DD HH:MM:SS[.ffffff]'; PostgreSQL sends its own
# microseconds since 2000 (_column).
_LISTED_AT = "COALESCE(CAST(strftime('%%s', listed_at) AS INTEGER) * 1000000 " \
    "+ CAST(SUBSTR(listed_at, 21, 6) AS INTEGER), -1)"  # fmt: skip
_MICROSECONDS_1970_TO_2000 = 946_684_800 * 1_000_000


def _array_of(expression: str, *, binary: bool = True) -> str:
    """PostgreSQL: `expression` over every row, as one array (binary: array_send's bytes)."""
    gathered = f"COALESCE(array_agg({expression}), '{{}}')"
    return f"array_send({gathered})" if binary else gathered


@dataclass(frozen=True)
class _Select:
    """What _read selects: the search rows' `fields`, and the columns made of them (and the
    score) on SQLite and on PostgreSQL, where each column is one array, read as its `kinds`
    say (_column)."""

    fields: list[str]
    sqlite: list[str]
    postgresql: list[str]
    kinds: list[str | None]


_NUMBERS = ["item_id", "designer_id", "category_id", "COALESCE(category_parent_id, 0)"]
_SCORE = _array_of("CAST(score AS DOUBLE PRECISION)")
# A Row's columns: numbers as 64-bit integers, scores as doubles, texts (condition, shop
# path) as a list.
_ROWS = _Select(
    fields=_FIELDS,
    sqlite=[*_FIELDS[:6], "CAST(ROUND(price * 100) AS BIGINT)", "score", _LISTED_AT],
    postgresql=[
        *(_array_of(f"CAST({number} AS BIGINT)") for number in _NUMBERS),
        _array_of("condition", binary=False),
        _array_of("shop_path", binary=False),
        _array_of("CAST(price * 100 AS BIGINT)"),  # two decimals: whole cents
        _SCORE,
        _array_of("COALESCE(listed_at, '-infinity')"),
    ],
    kinds=["i8", "i8", "i8", "i8", None, None, "i8", "f8", "timestamp"],
)  # fmt: skip
# The matches' ids and scores alone (find with `every`).
_SCORES = _Select(
    fields=["item_id"],
    sqlite=["item_id", "score"],
    postgresql=[_array_of("CAST(item_id AS BIGINT)"), _SCORE],
    kinds=["i8", "f8"],
)


def _column(value, kind: str | None) -> Column:
    """A column as PostgreSQL sent it (_Select.kinds): array_send's bytes (a header, then each element's
    length and big-endian value) as a numpy array of `kind`; a list (kind None) as it is. A
    timestamp is microseconds since 2000 (-infinity the least integer): in microseconds
    since 1970, -1 for -infinity (never listed)."""
    if kind is None:
        return value
    dtype = "i8" if kind == "timestamp" else kind
    if int.from_bytes(value[:4], "big") == 0:  # no dimension: no rows
        return numpy.empty(0, dtype)
    # The header: dimensions, a has-nulls flag, the element type, the length and lower bound.
    element = numpy.dtype([("length", ">i4"), ("value", f">{dtype}")])
    column = numpy.frombuffer(value, element, offset=20)["value"].astype(dtype)
    if kind == "timestamp":
        never = column == numpy.iinfo("i8").min
        column = numpy.where(never, -1, column + _MICROSECONDS_1970_TO_2000)
    return column
