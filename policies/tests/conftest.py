"""Fixtures for the policy tests: an editor and a superuser (shoppers are shared: tests/fixtures)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

import pytest

from .helpers import make_user


@pytest.fixture
def editor(db):
    user = make_user("eddie")
    user.groups.add(Group.objects.get(name="Editors"))
    return user


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser("boss", "boss@example.com", "not-used")
