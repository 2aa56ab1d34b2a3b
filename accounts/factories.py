"""Test data for accounts: `UserFactory(password=...)` logs in with `UserFactory.DEFAULT_PASSWORD`."""

from django.utils import timezone

import factory
from factory.django import DjangoModelFactory

from accounts.models import Address, User

DEFAULT_PASSWORD = "correct-horse-battery-staple"


class UserFactory(DjangoModelFactory):
    """A shopper with a usable password (`DEFAULT_PASSWORD` unless `password=` is given)."""

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
        verified = factory.Trait(email_verified_at=factory.LazyFunction(timezone.now))


UserFactory.DEFAULT_PASSWORD = DEFAULT_PASSWORD  # set after the class: not a model field


class AddressFactory(DjangoModelFactory):
    """A UK address in someone's address book."""

    user = factory.SubFactory(UserFactory)
    name = "Ada Lovelace"
    line1 = factory.Sequence(lambda n: f"{n + 1} St James's Square")
    city = "London"
    postcode = "SW1Y 4JH"
    country = "GB"
    phone = "+442079460123"

    class Meta:
        model = Address
