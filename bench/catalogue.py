"""A large generated catalogue on PostgreSQL, fast enough for a million pieces.

    python -m bench.catalogue ITEMS   (DJANGO_SETTINGS_MODULE=bench.settings, a PostgreSQL DB)

The demo and the generated shops come from the demo generator (`load_catalogue` with no
items). The pieces are the ones `load_catalogue` would make (same random draws, same fields,
same tree paths), but their rows go in with COPY instead of INSERTs, and their search index
entries are built by PostgreSQL from the texts Wagtail's own indexer picks (its
`ObjectIndexer`), instead of one compiled expression per piece. After loading, two pieces are
indexed again by Wagtail's backend and compared with ours: a difference is reported.
"""

import json
import random
import sys
import time
import uuid

import django

BATCH = 20_000

# A weighted text vector, as modelsearch's SearchVector(text, weight, config) sums compile to.
VECTOR_FUNCTION = """
CREATE OR REPLACE FUNCTION pg_temp.bench_vector(config regconfig, texts jsonb)
RETURNS tsvector LANGUAGE plpgsql STABLE AS $$
DECLARE vector tsvector := ''::tsvector; pair jsonb;
BEGIN
    -- No configuration: the database's default, as to_tsvector(text) uses.
    config := coalesce(config, current_setting('default_text_search_config')::regconfig);
    FOR pair IN SELECT value FROM jsonb_array_elements(texts) LOOP
        vector := vector || setweight(to_tsvector(config, pair->>0), (pair->>1)::"char");
    END LOOP;
    RETURN vector;
END $$;
"""


def main(items: int) -> None:
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection, transaction
    from django.db.models import F

    from wagtail.models import Page
    from wagtail.search.backends import get_search_backend
    from wagtail.search.models import IndexEntry

    from demo.catalogue import GENERATED_SHOP_PREFIX, generated_piece, load_catalogue
    from marketplace.models import CustomImage
    from marketplace.progress import progress
    from products import listing
    from products.models import Category, Designer, ItemImage, ItemPage
    from vendors.models import ShopPage

    assert connection.vendor == "postgresql", "bench.catalogue is for PostgreSQL"
    started = time.monotonic()
    shops = min(max(items // 200, 1), 500)  # as `load_demo --items` chooses
    load_catalogue(items=0, shops=shops)
    designers = list(Designer.objects.all())
    categories = list(Category.objects.all())
    images = list(CustomImage.objects.exclude(title__endswith="logo")[:120])
    generated = list(
        ShopPage.objects.filter(vendor__name__startswith=GENERATED_SHOP_PREFIX).order_by("pk")
    )
    have = ItemPage.objects.filter(slug__startswith="gen-").count()
    content_type = ContentType.objects.get_for_model(ItemPage)
    backend = get_search_backend()
    page_fields = Page._meta.concrete_fields
    item_fields = ItemPage._meta.local_concrete_fields
    image_fields = [f for f in ItemImage._meta.concrete_fields if not f.primary_key]
    next_step = {}  # a shop's next child number
    for shop in generated:
        last = shop.get_last_child()
        next_step[shop.pk] = (Page._str2int(last.path[-Page.steplen :]) + 1) if last else 1
    print(f"Demo and {len(generated)} shops ready in {time.monotonic() - started:.0f} s.")

    rng = random.Random(items)  # the draws of load_catalogue, in its order
    with connection.cursor() as cursor:
        cursor.execute(VECTOR_FUNCTION)
        cursor.execute("SELECT max(id) FROM wagtailcore_page")
        next_id = cursor.fetchone()[0] + 1
    wanted = max(items - have, 0)
    with progress(total=wanted, desc="Generating items (COPY)") as bar:
        for start in range(have, have + wanted, BATCH):
            pages = []
            children: dict[int, int] = {}
            for n in range(start, min(start + BATCH, have + wanted)):
                shop = generated[n % len(generated)]
                page = generated_piece(rng, n, designers=designers, categories=categories)
                # What bulk_add_children sets (home/bulk.py), with ids given here.
                page.id = page.page_ptr_id = next_id
                next_id += 1
                page.path = Page._get_path(shop.path, shop.depth + 1, next_step[shop.pk])
                next_step[shop.pk] += 1
                children[shop.pk] = children.get(shop.pk, 0) + 1
                page.depth, page.numchild = shop.depth + 1, 0
                page.url_path = f"{shop.url_path}{page.slug}/"
                page.content_type_id = content_type.pk
                page.locale_id = shop.locale_id
                page.draft_title = page.title
                page.live, page.has_unpublished_changes = True, False
                page.translation_key = uuid.uuid4()
                pages.append(page)
            with transaction.atomic(), connection.cursor() as cursor:
                _copy(cursor, Page, page_fields, pages)
                _copy(cursor, ItemPage, item_fields, pages)
                images_of = [
                    ItemImage(item_id=p.pk, image=images[p.pk % len(images)], sort_order=0)
                    for p in pages
                ]
                _copy(cursor, ItemImage, image_fields, images_of)
                _index(cursor, backend, content_type.pk, pages)
                for shop_id, count in children.items():
                    Page.objects.filter(pk=shop_id).update(numchild=F("numchild") + count)
            bar.update(len(pages))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('wagtailcore_page', 'id'), max(id)) "
            "FROM wagtailcore_page"
        )
    backend.get_index_for_model(ItemPage)._refresh_title_norms()  # as each add_bulk does
    listing.rebuild()  # the search rows, from the pages and index entries just written
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    _compare_with_wagtail(backend, IndexEntry, ItemPage, content_type.pk)
    print(f"{wanted:,} pieces in {time.monotonic() - started:.0f} s.")


def _copy(cursor, model, fields, objects) -> None:
    from django.db import connection

    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    names = [f.attname for f in fields]
    with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for obj in objects:
            copy.write_row([getattr(obj, name) for name in names])


def _texts(indexer) -> tuple[list, list, list, str, str]:
    """The (text, weight) pairs of a piece's title, body and autocomplete vectors, and its plain
    title and body texts: what modelsearch's ObjectIndexer would put in the index."""
    from modelsearch.index import AutocompleteField, SearchField

    title, body, autocomplete = [], [], []
    for field in indexer.search_fields:
        for current, weight, value in indexer.prepare_field(indexer.obj, field):
            text = value.strip()
            if not text:
                continue
            if isinstance(current, AutocompleteField):
                autocomplete.append((text, weight))
            elif isinstance(current, SearchField):
                (title if current.field_name == "title" else body).append((text, weight))
    return (title, body, autocomplete,
            " ".join(t for t, _ in title), " ".join(t for t, _ in body))  # fmt: skip


def _index(cursor, backend, content_type_id: int, pages) -> None:
    from modelsearch.backends.database.postgres.postgres import ObjectIndexer

    cursor.execute(
        "CREATE TEMP TABLE IF NOT EXISTS bench_texts (object_id text, title jsonb, body jsonb, "
        "autocomplete jsonb, title_text text, body_text text) ON COMMIT DELETE ROWS"
    )
    with cursor.cursor.copy("COPY bench_texts FROM STDIN") as copy:
        for page in pages:
            title, body, autocomplete, title_text, body_text = _texts(ObjectIndexer(page, backend))
            copy.write_row([str(page.pk), json.dumps(title), json.dumps(body),
                            json.dumps(autocomplete), title_text, body_text])  # fmt: skip
    config, autocomplete_config = backend.config, backend.autocomplete_config
    cursor.execute(
        "INSERT INTO wagtailsearch_indexentry (content_type_id, object_id, title, autocomplete,"
        " body, title_norm, title_text, body_text) "
        "SELECT %s, object_id, pg_temp.bench_vector(%s, title),"
        " pg_temp.bench_vector(%s, autocomplete), pg_temp.bench_vector(%s, body), 1.0,"
        " title_text, body_text FROM bench_texts",
        [content_type_id, config, autocomplete_config, config],
    )


def _compare_with_wagtail(backend, IndexEntry, ItemPage, content_type_id: int) -> None:
    """Index two pieces with Wagtail's backend and compare its entries with ours."""
    ids = list(
        ItemPage.objects.filter(slug__startswith="gen-").order_by("pk").values_list("pk", flat=True)
    )
    sample = [ids[0], ids[-1]] if ids else []
    fields = ("title", "body", "autocomplete", "title_text", "body_text")

    def entries():
        rows = IndexEntry.objects.filter(
            content_type_id=content_type_id, object_id__in=[str(i) for i in sample]
        ).values_list("object_id", *fields)
        return {row[0]: tuple(str(v) for v in row[1:]) for row in rows}

    ours = entries()
    backend.add_bulk(ItemPage, list(ItemPage.get_indexed_objects().filter(pk__in=sample)))
    theirs = entries()
    if ours == theirs:
        print("Search index entries match Wagtail's own for the pieces compared.")
    else:
        print(f"WARNING: search index entries differ from Wagtail's:\n ours {ours}\n its {theirs}")


if __name__ == "__main__":
    django.setup()
    main(int(sys.argv[1]))
