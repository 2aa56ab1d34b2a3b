"""Failed sign-ins are throttled per IP address and per account (django-axes), on the site
and in the Wagtail admin, with one lockout answer whether or not the account exists."""

import re

from django.test import Client

import pytest

from .helpers import PASSWORD

pytestmark = pytest.mark.django_db

LIMIT = 5


def attempt(username, password="wrong password!", ip="10.0.0.1", path="/account/login/"):
    return Client(REMOTE_ADDR=ip).post(path, {"username": username, "password": password})


def fail(username, times=LIMIT, **kwargs):
    return [attempt(username, **kwargs) for _ in range(times)]


def test_account_locks_after_repeated_failures_even_with_the_right_password(shopper, settings):
    assert settings.AXES_FAILURE_LIMIT == LIMIT
    responses = fail("ada")
    assert [r.status_code for r in responses[:-1]] == [200] * (LIMIT - 1)
    assert responses[-1].status_code == 429
    assert "Too many sign-in attempts" in responses[-1].content.decode()
    right = attempt("ada", PASSWORD, ip="10.0.0.2")
    assert right.status_code == 429
    assert "_auth_user_id" not in Client().session.keys()


def test_unknown_accounts_lock_out_the_same_way(shopper):
    known = fail("ada", ip="10.0.0.1")[-1]
    unknown = fail("no-such-person", ip="10.0.0.2")[-1]
    assert known.status_code == unknown.status_code == 429
    assert without_nonces(known) == without_nonces(unknown)


def without_nonces(response) -> str:
    return re.sub(r'nonce="[^"]*"', "", response.content.decode())


def test_email_and_username_count_against_one_account(shopper):
    fail("ada", times=3, ip="10.0.0.1")
    last = fail("ADA@example.com", times=2, ip="10.0.0.2")[-1]
    assert last.status_code == 429


def test_one_address_is_throttled_across_accounts(shopper, other):
    for n in range(LIMIT):
        attempt(f"guess{n}", ip="10.9.9.9")
    assert attempt("ada", PASSWORD, ip="10.9.9.9").status_code == 429
    assert attempt("ada", PASSWORD, ip="10.0.0.7").status_code == 302


def test_one_account_is_throttled_across_addresses(shopper, other):
    for n in range(LIMIT):
        attempt("ada", ip=f"10.1.0.{n}")
    assert attempt("ada", PASSWORD, ip="10.2.0.1").status_code == 429
    assert attempt("grace", PASSWORD, ip="10.1.0.4").status_code == 302


def test_success_resets_the_count(shopper):
    fail("ada", times=LIMIT - 1)
    assert attempt("ada", PASSWORD).status_code == 302
    assert attempt("ada").status_code == 200  # counting starts again


def test_wagtail_admin_login_is_throttled_too(shopper):
    last = fail("ada", path="/admin/login/")[-1]
    assert last.status_code == 429
    assert attempt("ada", PASSWORD, path="/admin/login/", ip="10.3.0.1").status_code == 429


def test_server_side_authenticate_without_a_request_still_works(shopper):
    from django.contrib.auth import authenticate

    assert authenticate(username="ada", password=PASSWORD) == shopper
    assert authenticate(username="ada", password="wrong") is None


@pytest.mark.parametrize("path", ["/account/login/", "/admin/login/"])
def test_a_huge_username_is_a_wrong_login_not_a_server_error(shopper, path):
    """django-axes stores the name in 255-character columns: a longer one used to 500 on
    PostgreSQL (and was stored whole on SQLite)."""
    from axes.models import AccessAttempt, AccessFailureLog

    response = attempt("a" * 10_000, path=path)
    assert response.status_code == 200
    assert "_auth_user_id" not in Client().session.keys()
    names = [*AccessAttempt.objects.values_list("username", flat=True)]
    names += AccessFailureLog.objects.values_list("username", flat=True)
    assert all(len(name) <= 255 for name in names)
    # The form again, with an error (the admin's form refuses names over 254 characters itself).
    assert 'name="username"' in response.content.decode()
    assert (
        "match an account" in response.content.decode()
        or "at most 254" in response.content.decode()
    )


def test_a_huge_username_is_still_counted_towards_the_lockout(shopper):
    fail("a" * 10_000, times=LIMIT - 1, ip="10.0.0.8")
    assert attempt("a" * 10_000, ip="10.0.0.9").status_code == 429
