"""Test data for policies: policy pages (published with a first history entry), the
testimonial index and testimonials."""

import datetime

from django.utils.text import slugify

import wagtail_factories
from wagtail.rich_text import RichText

import factory
from factory.django import DjangoModelFactory

from home.factories import site_home
from policies.models import PolicyChange, PolicyPage, Testimonial, TestimonialIndexPage


def _body():
    return [
        ("heading", "Cookies"),
        ("paragraph", RichText("<p>Our cookies hold no personal data.</p>")),
        ("list", ["You can download your data.", "You can delete your account."]),
    ]


def policy_publish(
    page: PolicyPage, *, note: str, material: bool = False, **changes
) -> PolicyChange:
    """Publish a new version of `page` with these field changes, as an editor would."""
    page = PolicyPage.objects.get(pk=page.pk).get_latest_revision_as_object()
    for name, value in changes.items():
        setattr(page, name, value)
    page.change_note, page.material_change = note, material
    revision = page.save_revision()
    revision.publish()
    return PolicyChange.objects.get(revision_id=revision.pk)


class PolicyPageFactory(wagtail_factories.PageFactory):
    """A live policy under the HomePage, published once (`published=False`: no revision, so no
    history entry; `published="note"`: that change note)."""

    title = factory.Sequence(lambda n: f"Policy {n}")
    slug = factory.LazyAttribute(lambda obj: slugify(obj.title))
    summary = "What we collect, why, and how you stay in control."
    body = factory.LazyFunction(_body)
    effective_from = datetime.date(2026, 11, 1)
    parent = factory.LazyFunction(site_home)

    class Meta:
        model = PolicyPage
        skip_postgeneration_save = True

    @factory.post_generation
    def published(obj, create, extracted, **kwargs):
        if not create or extracted is False:
            return
        obj.change_note = extracted if isinstance(extracted, str) else "First published version."
        obj.save_revision().publish()
        obj.refresh_from_db()


class TestimonialIndexPageFactory(wagtail_factories.PageFactory):
    """`/testimonials/` under the HomePage (one per site)."""

    title = "Testimonials"
    slug = "testimonials"
    intro = "What shoppers say about the shops and about Vitrine."
    parent = factory.LazyFunction(site_home)

    class Meta:
        model = TestimonialIndexPage


class TestimonialFactory(DjangoModelFactory):
    """A published testimonial written in by a shopper; `draft=True` for one awaiting review."""

    quote = factory.Sequence(lambda n: f"Beautifully packed and exactly as described ({n}).")
    display_name = factory.Sequence(lambda n: f"Shopper {n}.")
    location = "Bristol"
    date = factory.LazyFunction(datetime.date.today)
    live = True

    class Meta:
        model = Testimonial

    class Params:
        draft = factory.Trait(live=False)
