"""The GIN index over Wagtail's index entries (`title || body`, migration 0006) is no longer
read: PostgreSQL matches items on their search rows (ListedItem.document, migration 0008)."""

from django.db import migrations

INDEX = "products_search_text_gin"


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON wagtailsearch_indexentry "
            "USING gin ((title || body))"
        )


class Migration(migrations.Migration):
    dependencies = [("products", "0008_listed_item")]

    operations = [migrations.RunPython(drop, create)]
