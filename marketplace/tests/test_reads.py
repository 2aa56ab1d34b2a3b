"""A read by ids compiled once per number of ids gives what the ORM gives (marketplace.reads),
and `loaded` makes its rows instances whose other fields are read when asked for."""

from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

import pytest

from marketplace.reads import ReadByIds, loaded

pytestmark = pytest.mark.django_db
User = get_user_model()
COLUMNS = ("pk", "username", "is_active", "date_joined")


@pytest.fixture
def users():
    return [
        User.objects.create_user(username=f"shopper{n}", is_active=n % 2 == 0) for n in range(4)
    ]


class Counted:
    """A read's queryset, counting how often it is built."""

    def __init__(self, **also):
        self.built, self.also = 0, also

    def __call__(self, ids):
        self.built += 1
        return User.objects.filter(pk__in=ids, **self.also).values_list(*COLUMNS)


def test_it_reads_what_the_orm_reads_with_its_types(users):
    read = ReadByIds(Counted())
    ids = [users[2].pk, users[0].pk, users[2].pk, 999_999]  # one twice, one unknown
    rows = read(ids)
    expected = list(User.objects.filter(pk__in=ids).values_list(*COLUMNS))
    assert sorted(rows) == sorted(expected)
    assert len(rows) == 2
    for row in rows:  # SQLite's own integers and text made booleans and aware datetimes
        assert isinstance(row[2], bool) and isinstance(row[3], datetime) and row[3].tzinfo
    assert read([]) == []


def test_it_compiles_once_per_number_of_ids(users):
    build = Counted()
    read = ReadByIds(build)
    read([users[0].pk, users[1].pk])
    with CaptureQueriesContext(connection) as queries:
        assert {row[1] for row in read([users[2].pk, users[3].pk])} == {"shopper2", "shopper3"}
    assert build.built == 1  # the second pair's SQL was the first's
    assert len(queries) == 1 and str(users[2].pk) in queries[0]["sql"]
    read([users[0].pk])
    assert build.built == 2  # another number of ids: compiled for it


def test_a_queryset_with_other_parameters_is_read_by_the_orm_each_time(users):
    build = Counted(username__in=["shopper0", "shopper2"])
    read = ReadByIds(build)
    everyone = [user.pk for user in users]
    assert {row[1] for row in read(everyone)} == {"shopper0", "shopper2"}
    assert {row[1] for row in read(everyone)} == {"shopper0", "shopper2"}
    assert build.built == 3  # compiled once (refused: not the ids alone), then read twice


def test_a_loaded_instance_reads_its_other_fields_when_asked(users):
    user = users[1]
    shown = loaded(User, {"id": user.pk, "username": user.username})
    assert shown.pk == user.pk and not shown._state.adding
    assert shown.get_deferred_fields() >= {"email", "is_active", "date_joined"}
    with CaptureQueriesContext(connection) as queries:
        assert shown.is_active is False
    assert len(queries) == 1
