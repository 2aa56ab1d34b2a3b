"""Test data for policies: a live PolicyPage under the HomePage."""

import datetime

from django.utils.text import slugify

import wagtail_factories
from wagtail.rich_text import RichText

import factory

from home.factories import site_home
from policies.models import PolicyPage


def _body():
    return [
        ("heading", "Cookies"),
        ("paragraph", RichText("<p>Our cookies hold no personal data.</p>")),
        ("list", ["You can download your data.", "You can delete your account."]),
    ]


class PolicyPageFactory(wagtail_factories.PageFactory):
    title = factory.Sequence(lambda n: f"Policy {n}")
    slug = factory.LazyAttribute(lambda obj: slugify(obj.title))
    summary = "What we collect, why, and how you stay in control."
    body = factory.LazyFunction(_body)
    effective_from = datetime.date(2026, 11, 1)
    parent = factory.LazyFunction(site_home)

    class Meta:
        model = PolicyPage
