"""Pictures are kept with their renditions under their own tag (marketplace.pictures): every
change to a picture moves that tag on, and a rendition made later is kept with it."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

import pytest

from marketplace import page_cache
from marketplace.factories import ImageFactory
from marketplace.pictures import image_tag, pictures

pytestmark = pytest.mark.django_db


@pytest.fixture
def image():
    image = ImageFactory()
    image.get_rendition("fill-80x100")
    return image


def version(image) -> str:
    return page_cache.current_version(image_tag(image.pk))


def test_an_edited_picture_moves_its_tag_on(image):
    before = version(image)
    image.title = "Cognac tote, from the side"
    image.save()
    assert version(image) != before


def test_a_deleted_rendition_moves_its_pictures_tag_on(image):
    before = version(image)
    image.renditions.all().delete()
    assert version(image) != before


def test_a_deleted_picture_moves_its_tag_on(image):
    before = version(image)
    image.delete()
    assert version(image) != before


def test_a_picture_is_read_once_and_a_new_size_is_kept_with_it(image):
    (kept,) = pictures([image.pk]).values()
    kept.get_rendition("fill-160x200")  # a size it was not kept with: made now
    before = version(image)
    with CaptureQueriesContext(connection) as queries:
        (again,) = pictures([image.pk]).values()
        again.get_rendition("fill-80x100")
        again.get_rendition("fill-160x200")
    assert len(queries) == 0
    assert version(image) == before  # a new size changes no page


def test_a_size_is_worked_out_once_per_process_not_once_per_picture_shown(image, monkeypatch):
    """`{% image %}` hands Wagtail a new Filter for every picture it draws; working out its
    operations inspects each one's signature. The site's image model shares one per spec."""
    from django.template import Context, Template

    from wagtail.images import image_operations

    made = []
    original = image_operations.FillOperation.__init__

    def counted(self, *args, **kwargs):
        made.append(args)
        original(self, *args, **kwargs)

    monkeypatch.setattr(image_operations.FillOperation, "__init__", counted)
    template = Template("{% load wagtailimages_tags %}{% image image fill-97x113 %}")
    html = [template.render(Context({"image": image})) for _ in range(3)]
    assert html[0] == html[2] and "fill-97x113" in html[0]
    assert len(made) == 1, made


def test_a_kept_pictures_rendition_urls_are_worked_out_once(image, monkeypatch, clear_cache):
    """A page names a photo's URL several times (gallery, `<img>`, structured data); the
    storage joins and quotes it each time it is asked: asked once, kept with the picture."""
    (first,) = pictures([image.pk]).values()
    url = first.get_rendition("fill-80x100").url
    storage = first.get_rendition("fill-80x100").file.storage

    def asked(*args, **kwargs):
        raise AssertionError("the storage was asked for a kept rendition's URL")

    monkeypatch.setattr(storage, "url", asked)
    (kept,) = pictures([image.pk]).values()
    rendition = kept.get_rendition("fill-80x100")
    assert rendition.url == url
    assert f'src="{url}"' in rendition.img_tag()


def test_pictures_not_kept_are_read_with_their_renditions_in_one_query(image):
    """A page's pictures and their renditions, when none is kept (a first view, a change):
    one query, not Wagtail's two (the pictures, then a prefetch of their renditions)."""
    other = ImageFactory()
    other.get_rendition("fill-80x100")
    other.get_rendition("fill-160x200")
    with CaptureQueriesContext(connection) as queries:
        found = pictures([image.pk, other.pk])
        sizes = {pk: sorted(r.filter_spec for r in found[pk].prefetched_renditions) for pk in found}
    assert len(queries) == 1, [q["sql"] for q in queries]
    assert sizes == {image.pk: ["fill-80x100"], other.pk: ["fill-160x200", "fill-80x100"]}
    with CaptureQueriesContext(connection) as queries:  # the renditions are all there: none read
        assert found[other.pk].get_rendition("fill-160x200").image is found[other.pk]
    assert len(queries) == 0


def test_a_picture_without_renditions_yet_is_read_too(image):
    fresh = ImageFactory()
    found = pictures([image.pk, fresh.pk])
    assert found[fresh.pk] == fresh and found[fresh.pk].prefetched_renditions == []
    rendition = found[fresh.pk].get_rendition("fill-80x100")  # made now, and kept with it
    (kept,) = pictures([fresh.pk]).values()
    assert [r.pk for r in kept.prefetched_renditions] == [rendition.pk]


def test_a_picture_read_with_its_renditions_is_the_orms_whole(image, clear_cache):
    """Read by compiled SQL (marketplace.reads), a picture and its renditions have every field
    the ORM reads, none left to read, and make new sizes as a picture read by the ORM does."""
    from marketplace.models import CustomImage

    (found,) = pictures([image.pk]).values()
    orm = CustomImage.objects.get(pk=image.pk)
    assert found.get_deferred_fields() == set()
    for field in CustomImage._meta.concrete_fields:
        assert getattr(found, field.attname) == getattr(orm, field.attname), field.name
    assert (found.file.url, found.width, found.get_focal_point()) == (
        orm.file.url,
        orm.width,
        orm.get_focal_point(),
    )
    (rendition,) = found.prefetched_renditions
    assert rendition.get_deferred_fields() == set() and rendition.image is found
    assert rendition.url == orm.get_rendition("fill-80x100").url
    made = found.get_rendition("fill-40x40")  # from the picture's own file
    assert made.width == 40 and made.url.endswith(".fill-40x40.png")


def test_a_kept_picture_is_read_back_without_unpickling_a_model(image, monkeypatch):
    """The guard on the gain: a kept picture and its renditions are plain values, made into
    instances as they are read (an item's gallery is a dozen of them)."""
    from django.db.models import base

    (first,) = pictures([image.pk]).values()

    def refused(*args, **kwargs):
        raise AssertionError("a kept picture was unpickled as a model")

    monkeypatch.setattr(base, "model_unpickle", refused)
    with CaptureQueriesContext(connection) as queries:
        (kept,) = pictures([image.pk]).values()
        rendition = kept.get_rendition("fill-80x100")
    assert len(queries) == 0
    assert (kept.pk, kept.file.name, kept.width) == (first.pk, first.file.name, first.width)
    assert rendition.image is kept and rendition.url == first.get_rendition("fill-80x100").url
