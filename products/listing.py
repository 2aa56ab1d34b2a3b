"""The search's own table, ListedItem: one row per live piece, kept in step with the pages.

A row is written again whenever an item page is saved with what the row copies (a publish, a
withdrawal, a live page created in code, a copy), moved with its tree when a page moves, and
given a category's new parent; deleting the page deletes it. Rows are read from the database,
never from the instance saved: a draft saved on a live page changes nothing. A bulk load, the
migration and `reindex_search` fill the whole table in one statement (`rebuild`). A designer's
new name reaches their pieces' text in a background task (`index_designer_pieces`).
"""

import time
from collections.abc import Iterable
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.db.models import OuterRef, Subquery
from django.db.models.signals import post_save, pre_save

from wagtail.models import Page
from wagtail.search.backends import get_search_backend

from marketplace import page_cache
from marketplace.bulk import BATCH, search_index_bulk
from marketplace.tasks import enqueue_after_commit

from . import selectors
from .cache import LISTED
from .models import Category, Designer, ItemPage, ListedItem, ListingChange
from .text_search import vectors_kept

# What a row copies from its page (its text: the title, the description, the designer).
SOURCES = frozenset(
    ["live", "path", "title", "description", "designer", "category", "condition", "price",
     "listed_at"]
)  # fmt: skip


# How long changes are remembered: kept matches older than this are found again.
CHANGES_KEPT_SECONDS = 24 * 3600


def changed(item_ids: Iterable[int | None]) -> None:
    """Record that the rows of `item_ids` (None: any row) were written again, for kept
    matches to catch up with (products.matches): in the transaction that writes them."""
    now = time.time()
    ListingChange.objects.filter(at__lt=now - CHANGES_KEPT_SECONDS).delete()
    ListingChange.objects.bulk_create(ListingChange(item_id=pk, at=now) for pk in item_ids)


def sync(item_ids: Iterable[int]) -> None:
    """Write the rows of `item_ids` again from their pages: a row for each live one, none
    for the others."""
    ids = list(item_ids)
    with transaction.atomic():
        changed(ids)
        ListedItem.objects.filter(item_id__in=ids).delete()
        items = list(
            ItemPage.objects.live().filter(pk__in=ids).select_related("designer", "category")
        )
        ListedItem.objects.bulk_create(
            ListedItem(
                item_id=item.pk,
                path=item.path,
                shop_path=item.path[: -item.steplen],
                designer_id=item.designer_id,
                category_id=item.category_id,
                category_parent_id=item.category.parent_id,
                condition=item.condition,
                price=item.price,
                listed_at=item.listed_at,
            )
            for item in items
        )
        if vectors_kept():
            _write_documents(items)


def _write_documents(items: Iterable[ItemPage]) -> None:
    """PostgreSQL: each row's text, the vectors Wagtail's backend writes to the piece's own
    index entry (weights included). `items` come with their designers."""
    from modelsearch.backends.database.postgres.postgres import ObjectIndexer

    backend = get_search_backend()
    for item in items:
        indexer = ObjectIndexer(item, backend)
        ListedItem.objects.filter(pk=item.pk).update(document=indexer.title + indexer.body)


def rebuild(*, record: bool = True) -> int:
    """Every row again, in one statement, from the pages and (PostgreSQL) the search index
    entries as they stand: after a bulk load or a reindex. A piece with no entry yet (its
    indexing task still queued) gets its text computed. Returns the number of rows."""
    listed = ListedItem._meta.db_table
    steplen = Page.steplen
    columns = (
        "item_id, path, shop_path, designer_id, category_id, category_parent_id, condition, "
        "price, listed_at"
    )
    select = (
        f"SELECT i.page_ptr_id, p.path, SUBSTR(p.path, 1, LENGTH(p.path) - {steplen}), "
        "i.designer_id, i.category_id, c.parent_id, i.condition, i.price, i.listed_at"
    )
    tables = (
        f"FROM {ItemPage._meta.db_table} i JOIN {Page._meta.db_table} p ON p.id = i.page_ptr_id "
        f"JOIN {Category._meta.db_table} c ON c.id = i.category_id"
    )
    params: list[Any] = []
    if vectors_kept():
        from wagtail.search.models import IndexEntry

        columns += ", document"
        select += ", ie.title || ie.body"
        tables += (
            f" LEFT JOIN {IndexEntry._meta.db_table} ie ON ie.content_type_id = %s "
            "AND ie.object_id = i.page_ptr_id::text"
        )
        params.append(ContentType.objects.get_for_model(ItemPage).pk)
    with transaction.atomic(), connection.cursor() as cursor:
        if record:  # not before migration 0010 made the table of changes
            changed([None])
        cursor.execute(f"DELETE FROM {listed}")
        cursor.execute(f"INSERT INTO {listed} ({columns}) {select} {tables} WHERE p.live", params)
        count = cursor.rowcount
        if vectors_kept():
            unindexed = ListedItem.objects.filter(document__isnull=True).values("pk")
            _write_documents(ItemPage.objects.filter(pk__in=unindexed).select_related("designer"))
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {listed}")
    return count


def _item_saved(*, instance: ItemPage, update_fields: Iterable[str] | None, **kwargs: Any) -> None:
    if update_fields is None or SOURCES.intersection(update_fields):
        sync([instance.pk])


def _page_moved(*, instance: Page, **kwargs: Any) -> None:
    # The subtree's rows take their new paths; their text and filters are as they were.
    moved = Page.objects.get(pk=instance.pk)
    rows = ListedItem.objects.filter(
        item_id__in=ItemPage.objects.descendant_of(moved, inclusive=True).values("pk")
    )
    if rows.update(path=Subquery(Page.objects.filter(pk=OuterRef("item_id")).values("path"))):
        rows.update(shop_path=selectors.shop_path_expression())
        changed([None])


def _category_saved(*, instance: Category, **kwargs: Any) -> None:
    if (
        ListedItem.objects.filter(category=instance)
        .exclude(category_parent_id=instance.parent_id)
        .update(category_parent_id=instance.parent_id)
    ):
        changed([None])


def index_designer_pieces(designer_id: int) -> None:
    """Index a designer's pieces again, with the designer's name as it is now: Wagtail's index
    entry of each piece holds it (RelatedFields), and so does its search row's copy of that
    text (PostgreSQL); Wagtail indexes the designer alone. Chunk by chunk, each committed:
    a designer may have thousands of pieces."""
    pieces = ItemPage.get_indexed_objects().filter(designer_id=designer_id)
    ids = search_index_bulk(ItemPage, pieces, desc=f"Indexing the pieces of designer {designer_id}")
    for start in range(0, len(ids), BATCH):
        sync(ids[start : start + BATCH])
    # Searches counted meanwhile (on the old text) are not kept; kept matches catch up with
    # the rows written again (`changed`).
    page_cache.invalidate(LISTED)


def _designer_saving(*, instance: Designer, **kwargs: Any) -> None:
    # Whether the name changes, read before the row is written: only a rename is indexed again.
    instance._renamed = bool(
        instance.pk and Designer.objects.filter(pk=instance.pk).exclude(name=instance.name).exists()
    )


def _designer_saved(*, instance: Designer, **kwargs: Any) -> None:
    if getattr(instance, "_renamed", False):
        from .tasks import index_designer_pieces as task

        enqueue_after_commit(task, designer_id=instance.pk)


def connect() -> None:
    from wagtail.signals import post_page_move

    post_save.connect(_item_saved, sender=ItemPage, dispatch_uid="listing-item-saved")
    post_page_move.connect(_page_moved, dispatch_uid="listing-page-moved")
    post_save.connect(_category_saved, sender=Category, dispatch_uid="listing-category-saved")
    pre_save.connect(_designer_saving, sender=Designer, dispatch_uid="listing-designer-saving")
    post_save.connect(_designer_saved, sender=Designer, dispatch_uid="listing-designer-saved")
