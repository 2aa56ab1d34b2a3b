"""Fast creation of many pages for demo and benchmark catalogues.

Wagtail's `add_child` saves one page at a time (and Django cannot `bulk_create` a multi-table
model), which makes 100,000 items take an hour. Here the tree paths are computed the way
treebeard does and the rows of `wagtailcore_page`, then of the page type's own table, go in with
`executemany` (Django's `bulk_create` costs ten times as much here). No revisions or signals:
callers index for search afterwards. Used by `load_demo --items` and the scale tests, never by
shop staff.
"""

import uuid

from django.contrib.contenttypes.models import ContentType
from django.db import connection, models, transaction
from django.db.models import F
from django.utils import timezone

from wagtail.models import Page

from .progress import progress

BATCH = 1000


@transaction.atomic
def bulk_add_children(*, parent: Page, pages: list[Page]) -> list[Page]:
    """Insert `pages` (unsaved, all of one type) as live children of `parent`."""
    if not pages:
        return pages
    model = type(pages[0])
    content_type = ContentType.objects.get_for_model(model)
    last = parent.get_last_child()
    first_step = (Page._str2int(last.path[-Page.steplen :]) + 1) if last else 1
    now = timezone.now()
    for offset, page in enumerate(pages):
        page.path = Page._get_path(parent.path, parent.depth + 1, first_step + offset)
        page.depth, page.numchild = parent.depth + 1, 0
        page.url_path = f"{parent.url_path}{page.slug}/"
        page.content_type = content_type
        page.locale_id = parent.locale_id
        page.draft_title = page.title
        page.live, page.has_unpublished_changes = True, False
        page.first_published_at = page.first_published_at or now
        page.last_published_at = page.first_published_at
        page.translation_key = uuid.uuid4()

    _insert(Page, [f for f in Page._meta.concrete_fields if not f.primary_key], pages)
    ids = dict(  # the new rows' ids, by their (consecutive) paths
        Page.objects.filter(
            depth=parent.depth + 1, path__gte=pages[0].path, path__lte=pages[-1].path
        ).values_list("path", "pk")
    )
    for page in pages:
        page.id = page.page_ptr_id = ids[page.path]
    _insert(model, model._meta.local_concrete_fields, pages)
    Page.objects.filter(pk=parent.pk).update(numchild=F("numchild") + len(pages))
    parent.numchild += len(pages)
    if connection.vendor == "postgresql" and len(pages) >= BATCH:
        # Fresh statistics: PostgreSQL would go on planning what comes next (the foreign-key
        # checks of the pieces' pictures) for tables it last saw nearly empty, a scan per row.
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {Page._meta.db_table}, {model._meta.db_table}")
    return pages


# Values the database drivers take as they are; other fields go through Django's conversion.
_PLAIN_FIELDS = (
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.BooleanField,
    models.ForeignKey,
)


def _insert(model, fields, objects) -> None:
    """`INSERT` the `fields` of `objects` into `model`'s own table, a batch per statement."""
    prepare = [
        (f.attname, None if isinstance(f, _PLAIN_FIELDS) else f.get_db_prep_save) for f in fields
    ]
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"
    rows = [
        [
            getattr(obj, attname) if convert is None else convert(getattr(obj, attname), connection)
            for attname, convert in prepare
        ]
        for obj in objects
    ]
    with connection.cursor() as cursor:
        for start in range(0, len(rows), BATCH):
            cursor.executemany(sql, rows[start : start + BATCH])


def search_index_bulk(model, queryset, *, desc: str) -> list[int]:
    """Index pages for search in chunks (what signals would do one page at a time); returns
    the ids of those it indexed."""
    from wagtail.search.backends import get_search_backend

    backend = get_search_backend()
    ids = list(queryset.values_list("pk", flat=True))
    with progress(total=len(ids), desc=desc) as bar:
        for start in range(0, len(ids), BATCH):
            # With the related rows the index reads (a designer's name), not a query per item.
            chunk = list(model.get_indexed_objects().filter(pk__in=ids[start : start + BATCH]))
            backend.add_bulk(model, chunk)
            bar.update(len(chunk))
    return ids
