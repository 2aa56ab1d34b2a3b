"""Rebuild the search index of the catalogue (items, shops, designers, categories) with progress.

manage.py reindex_search [--model items --model shops ...]

Why not Wagtail's `update_index` (in Wagtail 8, django-modelsearch's `rebuild_modelsearch_index`)?
- It rebuilds every indexed model of every app (all pages, images, documents, ...); it cannot be
  limited to the catalogue, which is what bulk loads and imports leave unindexed.
- With the database search backend it is atomic by default (ATOMIC_REBUILD): the whole rebuild
  is one transaction. On SQLite that holds the database's write lock for the entire run, so
  checkouts and edits wait and then fail with "database is locked"; on PostgreSQL the new
  entries appear only at the end, and an interrupted run leaves nothing done.
- Its progress is a dot per chunk of 1,000, with no count, percentage or time left.

Here each chunk of 1,000 objects is written and committed on its own (the site keeps working,
an interrupted run keeps what it did, and running it again is safe: existing entries are
updated), with a progress bar on a terminal and plain percentage lines in logs
(marketplace.progress). Entries of deleted objects are removed by Wagtail's delete signals as usual.
"""

from django.core.management.base import BaseCommand

from marketplace.bulk import search_index_bulk
from products import listing
from products.models import Category, Designer, ItemPage
from vendors.models import ShopPage


def catalogue_models() -> dict:
    return {"items": ItemPage, "shops": ShopPage, "designers": Designer, "categories": Category}


class Command(BaseCommand):
    help = (
        "Rebuild the search index for the catalogue (items, shops, designers, categories) in "
        "committed chunks, with progress. Unlike Wagtail's update_index it touches only the "
        "catalogue and does not hold one transaction (on SQLite: the write lock) for the whole "
        "run; see this command's module docstring."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--model",
            action="append",
            choices=list(catalogue_models()),
            help="Only these (repeatable); default: all of the catalogue.",
        )

    def handle(self, *args, model, **options):
        models = catalogue_models()
        names = model or list(models)
        for name in names:
            queryset = models[name].get_indexed_objects()
            count = queryset.count()
            search_index_bulk(models[name], queryset, desc=f"Indexing {name}")
            self.stdout.write(f"{name}: {count} indexed.")
        if "items" in names:
            # The search rows keep a copy of the items' text (PostgreSQL): taken again.
            self.stdout.write(f"Search rows: {listing.rebuild()} listed.")
        self.stdout.write(self.style.SUCCESS("Search index rebuilt for: " + ", ".join(names)))
