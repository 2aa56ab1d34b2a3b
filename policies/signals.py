"""Publishing hooks that must run however a page or testimonial is published (editor, workflow
approval, scheduled go-live, code): they hand over to services or invalidate caches."""

from django.dispatch import receiver

from wagtail.signals import page_published, published, unpublished

from marketplace import page_cache

from .models import PolicyPage, Testimonial
from .models.pages import TESTIMONIALS


@receiver(page_published, sender=PolicyPage)
def record_policy_version(sender, instance, revision, **kwargs):
    from .services import policy_change_record

    if revision is not None:
        policy_change_record(page=instance, revision=revision)


@receiver(published, sender=Testimonial)
@receiver(unpublished, sender=Testimonial)
def testimonial_visibility_changed(**kwargs):
    page_cache.invalidate(TESTIMONIALS)
