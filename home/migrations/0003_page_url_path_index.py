"""Index Wagtail's page url_path: HomePage.route finds pages by their full URL in one query."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("home", "0002_editors_and_vendor_review_workflow")]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS vitrine_page_url_path_idx ON wagtailcore_page (url_path)",
            "DROP INDEX IF EXISTS vitrine_page_url_path_idx",
        )
    ]
