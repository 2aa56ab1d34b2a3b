"""Fast creation of many pages for demo and benchmark catalogues.

Wagtail's `add_child` saves one page at a time (and Django cannot `bulk_create` a multi-table
model), which makes 100,000 items take an hour. Here the tree paths are computed the way
treebeard does, the `wagtailcore_page` rows go in with `bulk_create`, and each page type's
own table with one `executemany`. No revisions or signals: callers index for search afterwards.
Used only by `load_demo --items`, never by shop staff.
"""

import uuid

from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
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

    base_fields = [f for f in Page._meta.concrete_fields if not f.primary_key]
    rows = [Page(**{f.attname: getattr(page, f.attname) for f in base_fields}) for page in pages]
    Page.objects.bulk_create(rows, batch_size=BATCH)
    for page, row in zip(pages, rows, strict=True):
        page.id = page.page_ptr_id = row.pk

    own_fields = model._meta.local_concrete_fields
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in own_fields)
    placeholders = ", ".join(["%s"] * len(own_fields))
    values = [
        [f.get_db_prep_save(getattr(page, f.attname), connection) for f in own_fields]
        for page in pages
    ]
    with connection.cursor() as cursor:
        for start in range(0, len(values), BATCH):
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES ({placeholders})",
                values[start : start + BATCH],
            )
    Page.objects.filter(pk=parent.pk).update(numchild=F("numchild") + len(pages))
    parent.numchild += len(pages)
    return pages


def search_index_bulk(model, queryset, *, desc: str) -> None:
    """Index pages for search in chunks (what signals would do one page at a time)."""
    from wagtail.search.backends import get_search_backend

    backend = get_search_backend()
    ids = list(queryset.values_list("pk", flat=True))
    with progress(total=len(ids), desc=desc) as bar:
        for start in range(0, len(ids), BATCH):
            chunk = list(model.objects.filter(pk__in=ids[start : start + BATCH]))
            backend.add_bulk(model, chunk)
            bar.update(len(chunk))
