"""Stock is no longer part of an ItemPage's revisions (ItemPage.STOCK_FIELDS): remove it from
the revisions already stored, so that no old revision can carry a stock level back onto the
page. The stock column itself keeps today's values."""

from django.db import connection as default_connection
from django.db import migrations

STOCK_FIELDS = ["quantity", "held_until"]
BATCH = 500


def strip_stock_from_revisions(apps, schema_editor):
    connection = schema_editor.connection if schema_editor else default_connection
    ContentType = apps.get_model("contenttypes", "ContentType")
    Revision = apps.get_model("wagtailcore", "Revision")
    content_type = (
        ContentType.objects.using(connection.alias)
        .filter(app_label="products", model="itempage")
        .first()
    )
    if content_type is None:  # a fresh database: no item, so no revision of one
        return
    if connection.vendor == "postgresql":
        # One statement inside the database: no revision travels to Python.
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE wagtailcore_revision SET content = content - %s::text[]"
                " WHERE content_type_id = %s AND content ?| %s::text[]",
                [STOCK_FIELDS, content_type.pk, STOCK_FIELDS],
            )
        return
    # Elsewhere (SQLite): in batches by primary key, writing only revisions that carry stock.
    revisions = Revision.objects.using(connection.alias).filter(content_type_id=content_type.pk)
    last_pk = 0
    while batch := list(revisions.filter(pk__gt=last_pk).order_by("pk").only("content")[:BATCH]):
        last_pk = batch[-1].pk
        changed = [r for r in batch if any(name in r.content for name in STOCK_FIELDS)]
        for revision in changed:
            for name in STOCK_FIELDS:
                revision.content.pop(name, None)
        if changed:
            Revision.objects.using(connection.alias).bulk_update(changed, ["content"])


class Migration(migrations.Migration):
    dependencies = [
        ("products", "0003_item_held_until"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(strip_stock_from_revisions, migrations.RunPython.noop, elidable=True),
    ]
