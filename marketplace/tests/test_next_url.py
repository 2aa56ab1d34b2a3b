"""`safe_next_url`: where a `next` parameter may send the visitor back to."""

from django.test import RequestFactory

import pytest

from marketplace.http import safe_next_url

# The shared `_restore_migrated_data` fixture (tests/fixtures/database.py) runs around every
# test and needs the database.
pytestmark = pytest.mark.django_db

FALLBACK = "/fallback/"

# What shoppers and attackers put in `next`: only a path on this site comes back.
CASES = [
    ("/shops/", "/shops/"),
    ("/shops/?page=2#top", "/shops/?page=2#top"),
    ("http://testserver/shops/?page=2", "/shops/?page=2"),
    ("abc", FALLBACK),  # a bare word: redirect() would reverse it as a URL name (500)
    ("shops/", FALLBACK),
    ("//evil.com", FALLBACK),
    ("///evil.com", FALLBACK),
    ("/\\evil.com", FALLBACK),
    ("https://evil.com/x", FALLBACK),
    ("javascript:alert(1)", FALLBACK),
    ("/shops/\r\nSet-Cookie: x=1", FALLBACK),  # a newline in Location raises
    ("/" + "a" * 9_999, FALLBACK),
    ("", FALLBACK),
]


@pytest.mark.parametrize(("given", "expected"), CASES)
def test_only_a_path_on_this_site_comes_back(given, expected):
    factory = RequestFactory()
    assert safe_next_url(factory.post("/x/", {"next": given}), FALLBACK) == expected
    assert safe_next_url(factory.get("/x/", {"next": given}), FALLBACK) == expected


def test_a_post_reads_only_the_body():
    request = RequestFactory().post("/x/?next=/shops/", {})
    assert safe_next_url(request, FALLBACK) == FALLBACK


def test_a_secure_request_refuses_a_plain_http_url_to_itself():
    request = RequestFactory().get("/x/", {"next": "http://testserver/shops/"}, secure=True)
    assert safe_next_url(request, FALLBACK) == FALLBACK
