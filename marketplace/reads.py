"""Reads by id whose SQL the ORM builds once, not at every call.

Building and compiling a queryset of a few joins and subqueries takes the ORM some 3 ms of
CPU, ten times what the database takes to answer it for a page of ids; the SQL depends only
on how many ids there are. A `ReadByIds` compiles the queryset `build(ids)` gives once per
number of ids (with stand-in ids), then sends that SQL with the real ones, and converts the
rows as the ORM would have (its compiler's converters: SQLite's decimals and datetimes).
`loaded` makes such a row a model instance again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model, QuerySet
from django.db.models.base import ModelState
from django.db.models.sql.compiler import SQLCompiler

# The most shapes (numbers of ids) kept per read: a page's cards, a cart's, a saved list's.
MAX_SHAPES = 64


class ReadByIds:
    """`read(ids)`: the rows of `build(ids)`, a `values_list()` queryset whose only parameters
    are the ids, as a list of tuples; compiled once per number of ids. A queryset with other
    parameters, or in which the ids do not come through as given, is read by the ORM each
    time: the result is the same, only slower."""

    def __init__(self, build: Callable[[list[Any]], QuerySet]):
        self.build = build
        self._compiled = lru_cache(maxsize=MAX_SHAPES)(self._compile)

    def __call__(self, ids: Sequence[Any]) -> list[tuple]:
        ids = list(dict.fromkeys(ids))  # as the ORM's IN (…) takes them: once each
        if not ids:
            return []
        compiled = self._compiled(len(ids))
        if compiled is None:
            return list(self.build(ids))
        compiler, sql = compiled
        # This thread's connection runs it; the compiler (of whichever thread compiled it)
        # only converts the values, reading its connection's settings (time zone), never
        # its state.
        with connections[compiler.using].cursor() as cursor:
            cursor.execute(sql, ids)
            rows = cursor.fetchall()
        return [tuple(row) for row in compiler.results_iter([rows])]

    def _compile(self, count: int) -> tuple[SQLCompiler, str] | None:
        stand_ins = [-n for n in range(1, count + 1)]  # no real id is negative
        queryset = self.build(stand_ins)
        compiler = queryset.query.get_compiler(using=queryset.db)
        sql, params = compiler.as_sql()
        if list(params) != stand_ins:
            return None
        return compiler, sql


M = TypeVar("M", bound=Model)


def loaded(model: type[M], values: dict[str, Any], using: str = DEFAULT_DB_ALIAS) -> M:
    """An instance of `model` read from the database with `values` (by attribute name), every
    other field deferred (read if asked for), as `only()` gives it, or unpickling one does:
    without running `__init__`, which for a Wagtail page (modelcluster's) costs some 100 µs."""
    instance = model.__new__(model)
    instance.__dict__.update(values)
    instance._state = ModelState()
    instance._state.adding = False
    instance._state.db = using
    return instance
