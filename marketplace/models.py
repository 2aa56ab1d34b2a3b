"""The project core's own tables: the site's image model, and what background tasks have done."""

import functools

from django.db import models
from django.utils.functional import cached_property

from wagtail.images.models import AbstractImage, AbstractRendition, Filter, Image


@functools.cache
def _filter_for(spec: str) -> Filter:
    return Filter(spec=spec)


def _shared_filter(filter: Filter | str) -> Filter:
    """One Filter per spec for the process. Wagtail makes a new one for each image shown (the
    `{% image %}` tag, a spec given as text), and working out a new one's operations costs
    more than the rest of finding a prefetched rendition (it inspects each operation's
    signature). A Filter holds only its spec and those operations."""
    if isinstance(filter, str):
        return _filter_for(filter)
    if type(filter) is Filter and filter.spec:
        return _filter_for(filter.spec)
    return filter


class CustomImage(AbstractImage):
    """The site's image model (WAGTAILIMAGES_IMAGE_MODEL). `description` is the alt text."""

    admin_form_fields = Image.admin_form_fields

    def get_rendition(self, filter: Filter | str) -> AbstractRendition:
        return super().get_rendition(_shared_filter(filter))

    def get_renditions(self, *filters: Filter | str) -> dict[str, AbstractRendition]:
        return super().get_renditions(*map(_shared_filter, filters))

    def _add_to_prefetched_renditions(self, rendition) -> None:
        # Wagtail calls this for a rendition the prefetched ones lacked (made now, or found
        # in the table): the copy of this picture kept with its renditions is incomplete.
        super()._add_to_prefetched_renditions(rendition)
        from .pictures import rendition_added

        rendition_added(self)

    class Meta(AbstractImage.Meta):
        verbose_name = "image"
        verbose_name_plural = "images"


class CustomRendition(AbstractRendition):
    image = models.ForeignKey(CustomImage, related_name="renditions", on_delete=models.CASCADE)

    # Worked out once per rendition (the storage joins and quotes its name each time), and
    # kept with the picture it belongs to (marketplace.pictures): a page names a photo's
    # URL in its gallery, its `<img>` and its structured data.
    @cached_property
    def url(self) -> str:  # type: ignore[override]
        return self.file.url

    class Meta:
        unique_together = (("image", "filter_spec", "focal_point_key"),)


class TaskStepDone(models.Model):
    """One side effect a background task carried out (an email sent), recorded after it, so a
    task run again after its worker died does not repeat it (`marketplace.tasks.once`).
    Keyed by the task's id; holds no personal data. Pruned by `tasks_requeue_stale`."""

    task_id = models.CharField(max_length=64)
    step = models.CharField(max_length=200)
    done_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["task_id", "step"], name="task_step_done_once")
        ]

    def __str__(self) -> str:
        return f"{self.task_id}: {self.step}"
