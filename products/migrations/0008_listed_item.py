"""Search rows (ListedItem): filled from the live pieces, and on PostgreSQL a GIN index over
their text. Filled by products.listing.rebuild, the one statement a bulk load runs too."""

import django.contrib.postgres.search
import django.db.models.deletion
from django.db import migrations, models


GIN_INDEX = "listed_document_gin"


def fill(apps, schema_editor):
    from products.listing import rebuild

    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {GIN_INDEX} ON products_listeditem USING gin (document)"
        )
    rebuild(record=False)  # no kept matches yet to catch up, nor a table of changes


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {GIN_INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("products", "0007_item_designer_newest_idx"),
        ("wagtailsearch", "0010_add_text_fields"),
    ]

    operations = [
        migrations.CreateModel(
            name="ListedItem",
            fields=[
                (
                    "item",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="products.itempage",
                    ),
                ),
                ("path", models.CharField(max_length=255)),
                ("shop_path", models.CharField(max_length=255)),
                (
                    "condition",
                    models.CharField(
                        choices=[
                            ("new", "New"),
                            ("pristine", "Pristine"),
                            ("excellent", "Excellent"),
                            ("very_good", "Very good"),
                            ("good", "Good"),
                        ],
                        max_length=10,
                    ),
                ),
                ("price", models.DecimalField(decimal_places=2, max_digits=10)),
                ("listed_at", models.DateTimeField(null=True)),
                ("document", django.contrib.postgres.search.SearchVectorField(null=True)),
                (
                    "category",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="products.category",
                    ),
                ),
                (
                    "category_parent",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="products.category",
                    ),
                ),
                (
                    "designer",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="products.designer",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["price", "item"], name="listed_price_idx"),
                    models.Index(fields=["listed_at", "item"], name="listed_newest_idx"),
                    models.Index(
                        models.F("designer"),
                        models.OrderBy(models.F("listed_at"), descending=True),
                        models.OrderBy(models.F("item"), descending=True),
                        name="listed_designer_newest_idx",
                    ),
                    models.Index(fields=["shop_path"], name="listed_shop_idx"),
                ],
            },
        ),
        migrations.RunPython(fill, drop),
    ]
