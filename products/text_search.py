"""Full-text matching and ranking of items.

On PostgreSQL an item is matched on its search row (ListedItem.document: the title and body
vectors of Wagtail's index entry, kept by products.listing) with one GIN index; the filters,
counts and sorts of a search read the same narrow row, so nothing is joined. On SQLite the match
runs on FTS5's own rows of Wagtail's index first, then meets the rows by id. Wagtail's database
backends would instead compile a search into one query that tests every item's entry (seconds
at 100,000 items). Ranking runs in the database, one page at a time. Other databases use
Wagtail's search as it is.
"""

import operator
import re
from collections.abc import Sequence
from functools import reduce
from typing import overload

from django.contrib.contenttypes.models import ContentType
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection
from django.db.models import BooleanField, Expression, F, FloatField, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast

from wagtail.search.backends import get_search_backend
from wagtail.search.models import IndexEntry

from .models import ItemPage, ListedItem

MAX_WORDS = 12


def words(terms: str) -> list[str]:
    """The shopper's words, each once, stripped of any syntax: nothing they type reaches FTS
    as syntax."""
    return list(dict.fromkeys(re.findall(r"\w+", terms.lower())))[:MAX_WORDS]


def normalised(terms: str) -> str:
    """The words a search for `terms` looks for, as one string: what two searches finding
    the same pieces share."""
    return " ".join(words(terms))


def _native() -> str | None:
    backend = type(get_search_backend()).__name__
    if connection.vendor == "sqlite" and backend.startswith("SQLite"):
        return "sqlite"
    if connection.vendor == "postgresql" and backend.startswith("Postgres"):
        return "postgresql"
    return None


def vectors_kept() -> bool:
    """Whether search rows keep their text (ListedItem.document) and are matched on it."""
    return _native() == "postgresql"


class _Fts:
    """SQLite: the SQL that finds the `wanted` words in FTS5's rows of Wagtail's index entries
    (`ie`)."""

    def __init__(self, wanted: list[str]):
        self.entries = IndexEntry._meta.db_table
        self.fts = f"{self.entries}_fts"
        self.query = "{title body} : (" + " AND ".join(f'"{word}"' for word in wanted) + ")"
        self.content_type = ContentType.objects.get_for_model(ItemPage).pk
        # SQLite runs the uncorrelated FTS5 subquery once and keeps its rows for every probe.
        self.match = f"ie.id IN (SELECT rowid FROM {self.fts} WHERE {self.fts} MATCH %s)"

    def ids(self) -> RawSQL:
        return RawSQL(
            f"SELECT CAST(ie.object_id AS INTEGER) FROM {self.entries} ie "
            f"WHERE ie.content_type_id = %s AND {self.match}",
            [self.content_type, self.query],
        )

    def probe(self, pk_column: str) -> RawSQL:
        return RawSQL(
            f"EXISTS (SELECT 1 FROM {self.entries} ie WHERE ie.content_type_id = %s "
            f"AND ie.object_id = CAST({pk_column} AS TEXT) AND {self.match})",
            [self.content_type, self.query],
            output_field=BooleanField(),
        )

    # bm25: lower is better; weights follow the FTS columns (autocomplete, body, title).
    def bm25(self) -> str:
        return f"bm25({self.fts}, 0.0, 1.0, 2.0)"

    def ranked(self, items_sql: str, items_params: tuple, offset: int, limit: int):
        """The ids of the matching entries among `items_sql`'s rows, best first (ties: the
        newest, highest id, first), `limit` of them from `offset`."""
        sql = (
            f"SELECT CAST(ie.object_id AS INTEGER) AS pk FROM {self.fts} "
            f"JOIN {self.entries} ie ON ie.id = {self.fts}.rowid "
            f"WHERE {self.fts} MATCH %s AND ie.content_type_id = %s "
            f"AND CAST(ie.object_id AS INTEGER) IN ({items_sql}) "
            f"ORDER BY {self.bm25()}, pk DESC LIMIT %s OFFSET %s"
        )
        return sql, [self.query, self.content_type, *items_params, limit, offset]

    def scored(self, rows_sql: str, rows_params: tuple) -> tuple[str, list]:
        """`rows_sql`'s rows (with their `item_id`) that match, each with its `score`."""
        sql = (
            f"SELECT candidates.*, -{self.bm25()} AS score FROM {self.fts} "
            f"JOIN {self.entries} ie ON ie.id = {self.fts}.rowid "
            f"JOIN ({rows_sql}) AS candidates ON candidates.item_id = CAST(ie.object_id AS INTEGER) "
            f"WHERE {self.fts} MATCH %s AND ie.content_type_id = %s"
        )
        return sql, [*rows_params, self.query, self.content_type]


def _query(wanted: list[str]) -> SearchQuery:
    """PostgreSQL: every word, in the title or the body, in the backend's text configuration
    (settings.WAGTAILSEARCH_BACKENDS): named, the query is parsed once, not once per row."""
    config = get_search_backend().config
    return SearchQuery(" & ".join(f"'{word}'" for word in wanted), search_type="raw", config=config)


def _rank(wanted: list[str]) -> Expression:
    """PostgreSQL: a match's relevance, the sum of each word's ts_rank (which weighs a word by
    where Wagtail's index put it, the title above all). A sum over the words, as SQLite's bm25
    is: the words' matches kept apart make the scores of any search joining them
    (products.matches.conjunction)."""
    # Each in double precision, as the words' own are read (ts_rank's is single): the same sum.
    ranks = (Cast(SearchRank(F("document"), _query([word])), FloatField()) for word in wanted)
    return reduce(operator.add, ranks)


def text_matches(rows: QuerySet, terms: str, *, probe: bool = False) -> QuerySet:
    """`rows` (search rows, or item pages) narrowed to the pieces matching every word of
    `terms`.

    On SQLite the matches are collected from the index first by default: right for rare
    words. With `probe`, each candidate row is looked up in the index instead, so a query
    sorted on an indexed column stops after a page of matches: right when many items match.
    PostgreSQL's planner makes that choice itself, from the statistics of the rows' text.
    """
    native = _native()
    if native is None:
        matches = ItemPage.objects.search(terms, operator="and", order_by_relevance=False)
        return rows.filter(pk__in=matches.get_queryset().values("pk"))
    wanted = words(terms)
    if not wanted:
        return rows.none()
    if native == "postgresql":
        if rows.model is ListedItem:
            return rows.filter(document=_query(wanted))
        return rows.filter(pk__in=ListedItem.objects.filter(document=_query(wanted)).values("pk"))
    fts = _Fts(wanted)
    if probe:
        meta = rows.model._meta
        quote = connection.ops.quote_name
        return rows.filter(fts.probe(f"{quote(meta.db_table)}.{quote(meta.pk.column)}"))
    return rows.filter(pk__in=fts.ids())


def scored_matches(rows: QuerySet[ListedItem], terms: str) -> tuple[str, list] | None:
    """SQL for the values of `rows` (search rows, `.values()` naming `item_id`) matching
    every word of `terms`, each with its `score` (higher: better; the order RankedIds
    ranks by), and its params; None where Wagtail's own search ranks."""
    native = _native()
    if native is None:
        return None
    wanted = words(terms)
    if native == "postgresql" and wanted:
        rows = rows.filter(document=_query(wanted)).annotate(score=_rank(wanted))
    sql, params = rows.query.sql_with_params()
    if not wanted:
        return f"SELECT candidates.*, 0 AS score FROM ({sql}) AS candidates WHERE 1 = 0", list(
            params
        )
    if native == "postgresql":
        return sql, list(params)
    return _Fts(wanted).scored(sql, params)


class RankedIds(Sequence[int]):
    """The ids of `rows` (search rows, already narrowed to the matches of `terms` and the
    filters) by relevance, best first: a Paginator's object list, `count` long, whose every
    slice is one query that ranks in the database and returns just that slice."""

    def __init__(self, rows: QuerySet[ListedItem], terms: str, count: int):
        self.rows, self.terms, self.count_ = rows, terms, count

    def __len__(self) -> int:
        return self.count_

    @overload
    def __getitem__(self, index: int) -> int: ...
    @overload
    def __getitem__(self, index: slice) -> list[int]: ...
    def __getitem__(self, index: int | slice) -> int | list[int]:
        if isinstance(index, int):
            return self[index : index + 1][0]
        start, stop, _ = index.indices(self.count_)
        return self.ranked(start, stop) if start < stop else []

    def ranked(self, start: int, stop: int) -> list[int]:
        """The ids from `start` to `stop` by relevance (ties: the newest, highest id, first):
        one query."""
        native = _native()
        wanted = words(self.terms)
        if native == "postgresql":
            ranked = self.rows.annotate(rank=_rank(wanted)).order_by("-rank", "-pk")
            return list(ranked.values_list("pk", flat=True)[start:stop])
        if native == "sqlite":
            items_sql, params = self.rows.order_by().values("pk").query.sql_with_params()
            with connection.cursor() as cursor:
                cursor.execute(*_Fts(wanted).ranked(items_sql, params, start, stop - start))
                return [int(pk) for (pk,) in cursor.fetchall()]
        # Wagtail's search orders its matches by relevance itself.
        matches = ItemPage.objects.filter(pk__in=self.rows.values("pk")).search(
            self.terms, operator="and", order_by_relevance=True
        )
        return [item.pk for item in matches[start:stop]]
