"""Full-text matching of items against the index Wagtail's search backend maintains.

Wagtail's database backends compile a search into one query that joins the index table before
matching: on SQLite the FTS5 match is then tested row by row, and on PostgreSQL `title || body`
cannot use the GIN indexes, so both scan every item's entry (≈80 ms at 5,000 items, seconds at
100,000). Here the match runs first, on the index: FTS5's own rows on SQLite, the GIN-indexed
`title` and `body` vectors on PostgreSQL, about a millisecond. Other databases use Wagtail's
search as it is.
"""

import re

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


def _sqlite(words: list[str], content_type: int, ranked: bool, probe_of: str | None):
    entries = IndexEntry._meta.db_table
    fts = f"{entries}_fts"
    expression = "{title body} : (" + " AND ".join(f'"{word}"' for word in words) + ")"
    # SQLite runs the uncorrelated FTS5 subquery once and keeps its rows for every probe.
    in_index = f"ie.id IN (SELECT rowid FROM {fts} WHERE {fts} MATCH %s)"
    if probe_of:
        matching = RawSQL(
            f"EXISTS (SELECT 1 FROM {entries} ie WHERE ie.content_type_id = %s "
            f"AND ie.object_id = CAST({probe_of} AS TEXT) AND {in_index})",
            [content_type, expression],
            output_field=BooleanField(),
        )
    else:
        matching = RawSQL(
            f"SELECT ie.object_id FROM {entries} ie WHERE ie.content_type_id = %s AND {in_index}",
            [content_type, expression],
        )
    # bm25: lower is better; weights follow the FTS columns (autocomplete, body, title).
    rank_sql = (
        f"SELECT ie.object_id, r.rank FROM (SELECT rowid AS rid, "
        f"bm25({fts}, 0.0, 1.0, 2.0) AS rank FROM {fts} WHERE {fts} MATCH %s) r "
        f"CROSS JOIN {entries} ie ON ie.id = r.rid WHERE ie.content_type_id = %s"
    )
    return matching, (rank_sql, [expression, content_type]) if ranked else None


def _postgresql(words: list[str], content_type: int, ranked: bool, probe_of: str | None):
    entries = IndexEntry._meta.db_table
    # Every word in the title or the body (one may be in each): per word an OR of the two
    # GIN-indexed vectors, which PostgreSQL combines as bitmap index scans.
    per_word = " AND ".join(
        "(ie.title @@ to_tsquery(%s) OR ie.body @@ to_tsquery(%s))" for _ in words
    )
    lexemes = [f"'{word}'" for word in words]
    word_params = [lexeme for lexeme in lexemes for _ in (0, 1)]
    if probe_of:
        # The (content type, object id) unique index finds the row's entry: text, not a cast.
        matching = RawSQL(
            f"EXISTS (SELECT 1 FROM {entries} ie WHERE ie.content_type_id = %s "
            f"AND ie.object_id = ({probe_of})::text AND {per_word})",
            [content_type, *word_params],
            output_field=BooleanField(),
        )
    else:
        matching = RawSQL(
            f"SELECT ie.object_id::bigint FROM {entries} ie WHERE ie.content_type_id = %s "
            f"AND {per_word}",
            [content_type, *word_params],
        )
    query = " & ".join(lexemes)
    rank_sql = (
        f"SELECT ie.object_id, -(2 * ts_rank(ie.title, q) + ts_rank(ie.title || ie.body, q)) "
        f"FROM {entries} ie, to_tsquery(%s) q WHERE ie.content_type_id = %s AND {per_word}"
    )
    params = [query, content_type, *word_params]
    return matching, (rank_sql, params) if ranked else None


def text_matches(
    items: QuerySet, terms: str, *, ranked: bool, probe: bool = False
) -> tuple[QuerySet, dict | None]:
    """`items` narrowed to those matching every word of `terms`.

    By default the matches are collected from the index first: right for rare words. With
    `probe`, each candidate row is looked up in the index instead, so a query sorted on an
    indexed column stops after a page of matches: right when many items match (a common word
    costs a collect-and-sort over a tenth of the catalogue).

    With `ranked`: a {pk: rank} dict to sort by, lower first; or None, when the queryset
    itself comes ordered by relevance (databases without a native path).
    """
    native = _native()
    if native is None:
        matches = items.search(terms, operator="and", order_by_relevance=ranked)
        return matches.get_queryset(), None
    words = _words(terms)
    if not words:
        return items.none(), {}
    content_type = ContentType.objects.get_for_model(items.model).pk
    build = _sqlite if native == "sqlite" else _postgresql
    meta = items.model._meta
    probe_of = (
        f"{connection.ops.quote_name(meta.db_table)}.{connection.ops.quote_name(meta.pk.column)}"
    )
    matching, rank_query = build(words, content_type, ranked, probe_of if probe else None)
    ranks = None
    if rank_query is not None:
        with connection.cursor() as cursor:
            cursor.execute(*rank_query)
            ranks = {int(object_id): rank for object_id, rank in cursor.fetchall()}
    return (items.filter(matching) if probe else items.filter(pk__in=matching)), ranks
