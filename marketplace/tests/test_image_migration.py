"""A database made before the image model left `home` keeps its images through the migrations.

The test database is migrated back to where main stood before the move (home owns
home_customimage), given an image with a tag, a rendition, a log entry and a designer logo in
that old shape, then migrated forward: marketplace.CustomImage finds them all, through the same
content type row.
"""

from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from wagtail.models import ModelLogEntry

import pytest

from marketplace.models import CustomImage
from products.models import Designer

BEFORE_THE_MOVE = [("marketplace", "0001_initial")]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_images_tags_and_renditions_survive_the_move_to_marketplace():
    executor = MigrationExecutor(connection)
    try:
        old = executor.migrate(BEFORE_THE_MOVE).apps
        assert "home_customimage" in connection.introspection.table_names()
        image_type = old.get_model("contenttypes", "ContentType").objects.get_or_create(
            app_label="home", model="customimage"
        )[0]
        image = old.get_model("home", "CustomImage").objects.create(
            title="Kelly 28, front",
            file="original_images/kelly.png",
            width=64,
            height=48,
            collection=old.get_model("wagtailcore", "Collection").objects.get(depth=1),
        )
        image.renditions.create(
            filter_spec="fill-20x20", file="images/kelly.fill-20x20.png", width=20, height=20
        )
        tag = old.get_model("taggit", "Tag").objects.create(name="sunset", slug="sunset")
        old.get_model("taggit", "TaggedItem").objects.create(
            tag=tag, content_type=image_type, object_id=image.pk
        )
        old.get_model("wagtailcore", "ModelLogEntry").objects.create(
            content_type=image_type,
            object_id=str(image.pk),
            label=image.title,
            action="wagtail.edit",
            timestamp="2026-12-01T10:00:00Z",
        )
        old.get_model("products", "Designer").objects.create(
            name="Hermès", slug="hermes", logo_id=image.pk
        )
    finally:
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())

    # Asked of the database, not of ContentType's cache (clearing that cache would make the next
    # transactional test's restore create content types under new ids).
    new_type = ContentType.objects.get(app_label="marketplace", model="customimage")
    assert new_type.pk == image_type.pk, "the same row, renamed: nothing keyed by it is lost"
    assert not ContentType.objects.filter(app_label="home", model="customimage").exists()

    moved = CustomImage.objects.get(pk=image.pk)
    assert (moved.title, moved.file.name, moved.width) == ("Kelly 28, front", image.file, 64)
    assert list(moved.tags.names()) == ["sunset"]
    assert list(CustomImage.objects.filter(tags__name="sunset")) == [moved]
    assert [r.filter_spec for r in moved.renditions.all()] == ["fill-20x20"]
    assert Designer.objects.get(slug="hermes").logo == moved
    assert ModelLogEntry.objects.filter(content_type=new_type, object_id=str(moved.pk)).exists()
    assert "home_customimage" not in connection.introspection.table_names()
