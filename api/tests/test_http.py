"""HTTP behaviour: read-only, anonymous, JSON, briefly cacheable, with the site's security headers."""

import pytest

from products.factories import ItemPageFactory

from .helpers import ENDPOINTS, get_json


@pytest.fixture
def item(site_tree):
    return ItemPageFactory(gallery=1)


def urls(item) -> list[str]:
    shop = item.get_parent()
    return [
        "/api/v2/",
        *(f"/api/v2/{endpoint}/" for endpoint in ENDPOINTS),
        f"/api/v2/items/{item.pk}/",
        f"/api/v2/shops/{shop.pk}/",
        f"/api/v2/designers/{item.designer_id}/",
    ]


@pytest.mark.django_db
def test_the_root_lists_the_endpoints(client, item):
    data = get_json(client, "/api/v2/")
    assert set(data) == set(ENDPOINTS)
    for endpoint, url in data.items():
        assert url.endswith(f"/api/v2/{endpoint}/")


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete", "options"])
def test_only_get_and_head_are_allowed(client, item, method):
    for url in urls(item):
        response = getattr(client, method)(url, data="{}", content_type="application/json")
        assert response.status_code == 405, (method, url)
        assert response["Allow"] == "GET, HEAD", (method, url)


@pytest.mark.django_db
def test_writes_are_refused_with_a_405_even_with_csrf_checks(item):
    """DRF views are CSRF-exempt; these ones have nothing to protect: every write is a 405."""
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    for url in urls(item):
        assert client.post(url, {"title": "Hacked"}).status_code == 405
    item.refresh_from_db()
    assert item.title != "Hacked"


@pytest.mark.django_db
def test_head_answers_like_get_without_a_body(client, item):
    for url in urls(item):
        response = client.head(url)
        assert response.status_code == 200, url
        assert response.content == b""


@pytest.mark.django_db
def test_successful_responses_are_publicly_cacheable_for_a_minute(client, item):
    for url in urls(item):
        response = client.get(url)
        assert response.status_code == 200, url
        assert set(response["Cache-Control"].split(", ")) == {"public", "max-age=60"}, url
        assert "Cookie" not in response.get("Vary", ""), url
        assert not response.cookies, url


@pytest.mark.django_db
def test_errors_are_not_cached_publicly(client, item):
    for url in ("/api/v2/items/?limit=500", "/api/v2/items/999999/"):
        response = client.get(url)
        assert response.status_code in (400, 404)
        assert "public" not in response.get("Cache-Control", "")


@pytest.mark.django_db
def test_json_carries_the_sites_security_headers(client, item):
    for url in urls(item):
        response = client.get(url)
        assert response["Content-Type"] == "application/json"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
        assert response["X-Frame-Options"] == "DENY"
        assert "Permissions-Policy" in response


@pytest.mark.django_db
def test_json_only_no_browsable_api(client, item):
    assert client.get("/api/v2/items/", HTTP_ACCEPT="text/html").status_code == 406
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    assert client.get("/api/v2/items/", HTTP_ACCEPT=browser)["Content-Type"] == "application/json"
    assert client.get("/api/v2/items/?format=api").status_code == 404
    assert client.get("/api/v2/items/?format=json").status_code == 200


@pytest.mark.django_db
def test_prices_are_decimal_strings(client, item):
    row = get_json(client, "/api/v2/items/")["items"][0]
    assert row["price"] == "495.00"
    assert row["currency"] == "GBP"
    assert client.get("/api/v2/items/").content.count(b'"price":"495.00"') == 1
