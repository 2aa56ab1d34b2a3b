"""Full-text matching and ranking of items against the index Wagtail's search backend maintains.

Wagtail's database backends compile a search into one query that joins the index table before
matching: on SQLite the FTS5 match is then tested row by row, and on PostgreSQL `title || body`
is computed for every entry, so both scan every item's entry (seconds at 100,000 items). Here
the match runs first, on the index: FTS5's own rows on SQLite, on PostgreSQL one GIN index over
`title || body` (products migration 0006) that matches every word in one scan. Ranking runs in
the database too, one page at a time. Other databases use Wagtail's search as it is.
"""

import re
from collections.abc import Sequence
from typing import overload

from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL

from wagtail.search.backends import get_search_backend
from wagtail.search.models import IndexEntry

MAX_WORDS = 12


def _words(terms: str) -> list[str]:
    """The shopper's words, stripped of any syntax: nothing they type reaches FTS as syntax."""
    return re.findall(r"\w+", terms.lower())[:MAX_WORDS]


def _native() -> str | None:
    backend = type(get_search_backend()).__name__
    if connection.vendor == "sqlite" and backend.startswith("SQLite"):
        return "sqlite"
    if connection.vendor == "postgresql" and backend.startswith("Postgres"):
        return "postgresql"
    return None


class _Index:
    """The SQL that finds `words` in the index entries (`ie`) of one model, per database."""

    def __init__(self, native: str, words: list[str], content_type: int):
        self.entries = IndexEntry._meta.db_table
        self.words = words
        self.content_type = content_type
        if native == "sqlite":
            self.fts = f"{self.entries}_fts"
            self.query = "{title body} : (" + " AND ".join(f'"{word}"' for word in words) + ")"
            # SQLite runs the uncorrelated FTS5 subquery once and keeps its rows for every probe.
            self.match = f"ie.id IN (SELECT rowid FROM {self.fts} WHERE {self.fts} MATCH %s)"
            self.object_pk = "CAST(ie.object_id AS INTEGER)"
            self.as_object_id = "CAST({} AS TEXT)"
        else:
            # Every word in the title or the body (one may be in each): the GIN index over
            # both matches them all at once.
            self.query = " & ".join(f"'{word}'" for word in words)
            self.match = "(ie.title || ie.body) @@ to_tsquery(%s)"
            self.object_pk = "ie.object_id::bigint"
            # The (content type, object id) unique index finds a row's entry: text, not a cast.
            self.as_object_id = "({})::text"
        self.native = native

    def ids(self) -> RawSQL:
        return RawSQL(
            f"SELECT {self.object_pk} FROM {self.entries} ie "
            f"WHERE ie.content_type_id = %s AND {self.match}",
            [self.content_type, self.query],
        )

    def probe(self, pk_column: str) -> RawSQL:
        return RawSQL(
            f"EXISTS (SELECT 1 FROM {self.entries} ie WHERE ie.content_type_id = %s "
            f"AND ie.object_id = {self.as_object_id.format(pk_column)} AND {self.match})",
            [self.content_type, self.query],
            output_field=BooleanField(),
        )

    def ranked(self, items_sql: str, items_params: tuple, offset: int, limit: int):
        """The ids of the matching entries among `items_sql`'s rows, best first (ties: the
        newest, highest id, first), `limit` of them from `offset`."""
        if self.native == "sqlite":
            # bm25: lower is better; weights follow the FTS columns (autocomplete, body, title).
            sql = (
                f"SELECT {self.object_pk} AS pk FROM {self.fts} "
                f"JOIN {self.entries} ie ON ie.id = {self.fts}.rowid "
                f"WHERE {self.fts} MATCH %s AND ie.content_type_id = %s "
                f"AND {self.object_pk} IN ({items_sql}) "
                f"ORDER BY bm25({self.fts}, 0.0, 1.0, 2.0), pk DESC LIMIT %s OFFSET %s"
            )
            return sql, [self.query, self.content_type, *items_params, limit, offset]
        sql = (
            f"SELECT {self.object_pk} AS pk FROM {self.entries} ie, to_tsquery(%s) q "
            f"WHERE ie.content_type_id = %s AND (ie.title || ie.body) @@ q "
            f"AND {self.object_pk} IN ({items_sql}) "
            f"ORDER BY 2 * ts_rank(ie.title, q) + ts_rank(ie.title || ie.body, q) DESC, pk DESC "
            f"LIMIT %s OFFSET %s"
        )
        return sql, [self.query, self.content_type, *items_params, limit, offset]


def _index(items: QuerySet, terms: str) -> _Index | None:
    """The native index lookup for `terms`, or None where Wagtail's own search is used."""
    native = _native()
    if native is None:
        return None
    content_type = ContentType.objects.get_for_model(items.model).pk
    return _Index(native, _words(terms), content_type)


def text_matches(items: QuerySet, terms: str, *, probe: bool = False) -> QuerySet:
    """`items` narrowed to those matching every word of `terms`.

    By default the matches are collected from the index first: right for rare words. With
    `probe`, each candidate row is looked up in the index instead, so a query sorted on an
    indexed column stops after a page of matches: right when many items match (a common word
    costs a collect-and-sort over a tenth of the catalogue).
    """
    index = _index(items, terms)
    if index is None:
        return items.search(terms, operator="and", order_by_relevance=False).get_queryset()
    if not index.words:
        return items.none()
    if probe:
        meta = items.model._meta
        quote = connection.ops.quote_name
        return items.filter(index.probe(f"{quote(meta.db_table)}.{quote(meta.pk.column)}"))
    return items.filter(pk__in=index.ids())


class RankedIds(Sequence[int]):
    """The ids of `items` (already narrowed to the matches of `terms` and the filters) by
    relevance, best first: a Paginator's object list, `count` long, whose every slice is one
    query that ranks in the database and returns just that slice."""

    def __init__(self, items: QuerySet, terms: str, count: int):
        self.items, self.terms, self.count_ = items, terms, count

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
        """The ids from `start` to `stop` by relevance: one query."""
        found = _index(self.items, self.terms)
        if found is None:  # Wagtail's search orders the queryset by relevance itself
            matches = self.items.search(self.terms, operator="and", order_by_relevance=True)
            return [item.pk for item in matches[start:stop]]
        items_sql, params = self.items.order_by().values("pk").query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(*found.ranked(items_sql, params, start, stop - start))
            return [int(pk) for (pk,) in cursor.fetchall()]
