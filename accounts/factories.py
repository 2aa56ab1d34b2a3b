"""Test data for accounts: `UserFactory(password=...)` logs in with `UserFactory.DEFAULT_PASSWORD`."""

import factory
from factory.django import DjangoModelFactory

from accounts.models import User

DEFAULT_PASSWORD = "correct-horse-battery-staple"


class UserFactory(DjangoModelFactory):
    """A shopper with a usable password (`DEFAULT_PASSWORD` unless `password=` is given)."""

    DEFAULT_PASSWORD = DEFAULT_PASSWORD

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda obj: f"{obj.username}@example.com")
    first_name = "Ada"
    last_name = factory.Sequence(lambda n: f"Shopper{n}")
    password = factory.django.Password(DEFAULT_PASSWORD)

    class Meta:
        model = User
        skip_postgeneration_save = True

    class Params:
        staff = factory.Trait(is_staff=True)
        superuser = factory.Trait(is_staff=True, is_superuser=True)
