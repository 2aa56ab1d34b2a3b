"""Pictures with their renditions, kept in the shared cache (marketplace.page_cache) under
each picture's own tag, so a page rendered again after a sale reads none of its pictures
from the database.

A picture's tag moves on when the picture changes: edited, its file replaced (Wagtail
deletes the old renditions, and their files), or deleted. A rendition made after the picture
was kept (a size no page had asked for) does not change what any page shows, so it does not
move the tag on: the kept copy is kept again with it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.core.cache import cache
from django.db.models.fields.files import FieldFile
from django.db.models.signals import post_delete, post_save

from . import page_cache
from .models import CustomImage, CustomRendition
from .reads import ReadByIds, loaded

PREFIX = "picture"
SECONDS = 3600


def image_tag(image_id: int) -> str:
    return f"image:{image_id}"


def pictures(
    image_ids: Iterable[int], *, read: Callable[[list[int]], dict[int, CustomImage]] | None = None
) -> dict[int, CustomImage | None]:
    """The images `image_ids` with their renditions (one query for those not kept, a second
    for any with no rendition yet); `read` reads those not kept instead (attach_pictures)."""
    image_ids = sorted(image_ids)
    if not image_ids:
        return {}
    fresh: dict[int, CustomImage] = {}  # read now: used as they are

    def compute(missing: list[int]) -> dict[int, Kept]:
        fresh.update((read or _with_urls)(missing))  # `read` may give others too: not kept
        return {pk: _kept(fresh[pk]) for pk in missing if pk in fresh}

    found = page_cache.memoised_each(
        PREFIX,
        image_ids,
        compute,
        tags_of=lambda pk: (image_tag(pk),),
        default=None,
        timeout=SECONDS,
    )
    return {
        pk: fresh.get(pk) or (None if kept is None else _picture(kept))
        for pk, kept in found.items()
    }


# A picture as kept: its fields' values, and each rendition's with its URL. Plain values: a
# picture kept as instances cost a model unpickle each for it and every rendition (an item's
# gallery, a dozen), more than rendering the page's parts around them.
Kept = tuple[tuple, tuple[tuple, ...]]


def _values(instance: Any, fields: list[str]) -> tuple:
    """`instance`'s values of `fields` as the database holds them (a file: its name)."""
    return tuple(
        value.name if isinstance(value := getattr(instance, field), FieldFile) else value
        for field in fields
    )


def _kept(image: CustomImage) -> Kept:
    return _values(image, _IMAGE_FIELDS), tuple(
        (*_values(rendition, _RENDITION_FIELDS), rendition.url)
        for rendition in image.prefetched_renditions
    )


def _picture(kept: Kept) -> CustomImage:
    """The picture `_kept` gave, with its renditions and their URLs."""
    values, renditions = kept
    image = loaded(CustomImage, dict(zip(_IMAGE_FIELDS, values, strict=True)))
    image.prefetched_renditions = []
    for *rendition_values, url in renditions:
        rendition = loaded(
            CustomRendition, dict(zip(_RENDITION_FIELDS, rendition_values, strict=True))
        )
        rendition.__dict__["url"] = url  # its cached_property, worked out when it was read
        rendition.image = image
        image.prefetched_renditions.append(rendition)
    return image


# A rendition's row with its image's, every column of both (by attribute name).
_RENDITION_FIELDS = [field.attname for field in CustomRendition._meta.concrete_fields]
_IMAGE_FIELDS = [field.attname for field in CustomImage._meta.concrete_fields]
_read_renditions = ReadByIds(
    lambda image_ids: (
        CustomRendition.objects.filter(image_id__in=image_ids)
        .order_by("pk")
        .values_list(
            *_RENDITION_FIELDS,
            *(f"image__{field.name}" for field in CustomImage._meta.concrete_fields),
        )
    )
)


def _with_urls(image_ids: list[int]) -> dict[int, CustomImage]:
    """The images with their renditions (`prefetched_renditions`, as Wagtail's
    `prefetch_renditions` gives them), each URL worked out now, kept with the picture: read
    from the renditions' rows with their image's (one query, not Wagtail's two; its SQL
    compiled once, marketplace.reads), and the pictures with no rendition yet on their own."""
    images: dict[int, CustomImage] = {}
    split = len(_RENDITION_FIELDS)
    for row in _read_renditions(image_ids):
        rendition = loaded(CustomRendition, dict(zip(_RENDITION_FIELDS, row[:split], strict=True)))
        image = images.get(rendition.image_id)
        if image is None:
            image = loaded(CustomImage, dict(zip(_IMAGE_FIELDS, row[split:], strict=True)))
            images[image.pk] = image
            image.prefetched_renditions = []
        rendition.image = image  # one instance per picture
        image.prefetched_renditions.append(rendition)
        rendition.url  # noqa: B018 - worked out now, kept with the picture
    if missing := set(image_ids) - images.keys():
        for image in CustomImage.objects.filter(pk__in=missing):
            image.prefetched_renditions = []
            images[image.pk] = image
    return images


def attach_pictures(
    pictures_of: Iterable[tuple[object, str]], *, along: Iterable[int | None] = ()
) -> dict[int, CustomImage]:
    """Give each (object, image field) pair, such as `(designer, "logo")`, its image with its
    renditions, all in one read of the kept pictures. When some are not kept (a first view,
    whose other pictures are not kept either), the pictures `along` (its cards' covers) are
    read from the database with them, in the same query, and returned (not kept: their tags'
    versions were not read first); otherwise none is, as the page may not need them."""
    pairs = [(owner, field, getattr(owner, f"{field}_id")) for owner, field in pictures_of]
    along = {pk for pk in along if pk}
    read_along: dict[int, CustomImage] = {}

    def read(missing: list[int]) -> dict[int, CustomImage]:
        images = _with_urls(sorted({*missing, *along}))
        read_along.update((pk, image) for pk, image in images.items() if pk in along)
        return images

    images = pictures({pk for _owner, _field, pk in pairs if pk}, read=read)
    for owner, field, pk in pairs:
        setattr(owner, field, images.get(pk) if pk else None)
    return read_along


def rendition_added(image: CustomImage) -> None:
    """`image` was just given a rendition its kept copy lacked (CustomImage): keep it with
    that rendition, or, when it was not read with its renditions, drop the kept copy."""
    key = page_cache.memo_key(PREFIX, image.pk)
    entry = cache.get(key)
    if entry is None:
        return
    if getattr(image, "prefetched_renditions", None) is None:
        cache.delete(key)
    else:  # under the versions it was kept with: if the picture changed, it is stale anyway
        cache.set(key, (entry[0], _kept(image)), SECONDS)


def _picture_changed(*, instance: Any, **kwargs: Any) -> None:
    page_cache.invalidate(image_tag(getattr(instance, "image_id", None) or instance.pk))


def connect() -> None:
    for signal in (post_save, post_delete):
        signal.connect(_picture_changed, sender=CustomImage, dispatch_uid=f"pictures-{signal}")
    post_delete.connect(
        _picture_changed, sender=CustomRendition, dispatch_uid="pictures-rendition-deleted"
    )
