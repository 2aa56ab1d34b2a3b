"""The image tables and content types take marketplace's names (step 3 of the move, see 0002).

It runs after home 0004, once no model in any app's migration state refers to home's copy:
a historical migration that still created a foreign key to home_customimage after the rename
would point at a table that no longer exists.

The content types are renamed in place, not replaced: their ids stay, so image tags (taggit),
permissions, admin and Wagtail log entries, the reference index and the search index, all keyed
by content type id, keep pointing at the same images.
"""

from django.db import migrations

MODELS = ["customimage", "customrendition"]


def content_types_to(app_label, from_app_label):
    def move(apps, schema_editor):
        ContentType = apps.get_model("contenttypes", "ContentType")
        ContentType.objects.using(schema_editor.connection.alias).filter(
            app_label=from_app_label, model__in=MODELS
        ).update(app_label=app_label)

    return move


class Migration(migrations.Migration):

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('home', '0004_image_model_to_marketplace'),
        ('marketplace', '0002_image_model_from_home'),
    ]

    operations = [
        migrations.AlterModelTable(name='customimage', table=None),
        migrations.AlterModelTable(name='customrendition', table=None),
        migrations.RunPython(
            content_types_to("marketplace", from_app_label="home"),
            content_types_to("home", from_app_label="marketplace"),
        ),
    ]
