"""Page-cache hits answered again in front of Django's handler (marketplace.page_cache.PageCacheHits),
as gunicorn serves the site: exactly Django's answer, fresh, and only to requests alike."""

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.urls import get_script_prefix, set_script_prefix

import pytest

from marketplace import page_cache
from marketplace.tests.helpers import WsgiSite
from products.factories import ItemPageFactory
from vendors.factories import ShopPageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def site(settings, clear_cache):
    settings.VITRINE_PAGE_CACHE_SECONDS = 300
    prefix = get_script_prefix()
    yield WsgiSite()
    set_script_prefix(prefix)  # Django's handler leaves the last request's (SCRIPT_NAME)


@pytest.fixture
def shop(site_tree):
    shop = ShopPageFactory(title="Maison Lune", intro="Old words")
    ItemPageFactory(parent=shop)
    return shop


def test_a_hit_is_answered_again_without_django_exactly_as_django_answered_it(site, shop):
    site.get(shop.url)  # stored
    status, headers, content = site.get(shop.url)  # a hit, through Django
    assert headers["X-Page-Cache"] == "hit" and site.to_django == 2

    again = site.get(shop.url)
    assert site.to_django == 2
    assert again[0] == status and again[2] == content
    assert {k: v for k, v in again[1].items() if k != "X-Request-ID"} == {
        k: v for k, v in headers.items() if k != "X-Request-ID"
    }
    # The security headers and the policy the middleware around the page cache added.
    assert "Content-Security-Policy" in headers and "Permissions-Policy" in headers
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_each_answer_has_a_request_id_of_its_own_or_the_proxys(site, shop):
    site.get(shop.url)
    site.get(shop.url)
    first, second = site.get(shop.url)[1], site.get(shop.url)[1]
    assert site.to_django == 2
    assert first["X-Request-ID"] != second["X-Request-ID"]
    assert site.get(shop.url, HTTP_X_REQUEST_ID="edge-42")[1]["X-Request-ID"] == "edge-42"
    assert site.get(shop.url, HTTP_X_REQUEST_ID="bad id\n")[1]["X-Request-ID"] != "bad id\n"
    assert site.to_django == 2


def test_an_answer_goes_stale_with_the_pages_tags(site, shop):
    site.get(shop.url)
    site.get(shop.url)
    shop.intro = "New words"
    shop.save_revision().publish()
    status, headers, content = site.get(shop.url)
    assert site.to_django == 3 and headers["X-Page-Cache"] == "miss"
    assert b"New words" in content


def test_an_answer_expires_with_the_caches_copy(site, shop, monkeypatch):
    site.get(shop.url)
    stored_at = page_cache.time.time()
    site.get(shop.url)
    assert not site.answered_by_django(shop.url)
    later = stored_at + settings.VITRINE_PAGE_CACHE_SECONDS + 1
    monkeypatch.setattr(page_cache.time, "time", lambda: later)
    assert site.answered_by_django(shop.url)


def test_a_setting_changed_forgets_every_answer(site, shop, settings):
    site.get(shop.url)
    site.get(shop.url)
    settings.PERMISSIONS_POLICY = {"camera": []}  # what the middleware adds has changed
    assert site.answered_by_django(shop.url)


@pytest.mark.parametrize(
    "environ",
    [
        {"HTTP_COOKIE": "sessionid=abc"},
        {"HTTP_AUTHORIZATION": "Bearer abc"},
        {"REQUEST_METHOD": "HEAD"},
        {"REQUEST_METHOD": "POST"},
        {"HTTP_HOST": "localhost"},
        {"wsgi.url_scheme": "https"},
        {"HTTP_X_FORWARDED_PROTO": "https"},
        {"HTTP_X_FORWARDED_HOST": "elsewhere.example"},
        {"HTTP_X_FORWARDED_PORT": "8443"},
        # Wagtail's Site is found by the port, and the host without a Host header.
        {"SERVER_PORT": "8080"},
        {"SERVER_NAME": "127.0.0.1"},
        {"QUERY_STRING": "page=2"},
        {"SCRIPT_NAME": "/shop"},
    ],
)
def test_only_requests_alike_get_the_answer(site, shop, environ):
    """Anything the middleware around the page cache reads makes another request."""
    site.get(shop.url)
    site.get(shop.url)
    assert not site.answered_by_django(shop.url)
    assert site.answered_by_django(shop.url, **environ)


def test_a_proxys_https_header_makes_another_request(site, shop, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_EDGE_SCHEME", "https")
    site.get(shop.url)
    site.get(shop.url)
    assert site.answered_by_django(shop.url, HTTP_X_EDGE_SCHEME="https")


def test_a_miss_or_a_rewritten_request_is_not_kept(site, shop):
    assert site.get(shop.url)[1]["X-Page-Cache"] == "miss"
    assert site.answered_by_django(shop.url)  # the first hit
    # A campaign link gets the hit (its parameters taken out), but no answer of its own.
    campaign = "utm_source=mail"
    assert site.get(shop.url, campaign)[1]["X-Page-Cache"] == "hit"
    assert site.answered_by_django(shop.url, campaign)


def test_a_failing_cache_sends_every_request_to_django(site, shop, monkeypatch):
    from django.core.cache import cache

    site.get(shop.url)
    site.get(shop.url)
    monkeypatch.setattr(cache, "get_many", lambda keys, **kwargs: {})  # Redis down
    assert site.answered_by_django(shop.url)


def test_the_middleware_above_the_page_cache_is_the_one_requests_alike_were_chosen_for():
    """`page_cache._ALIKE` lists what this middleware reads of a request; a middleware added
    above the page cache must be read for it, and added here."""
    above = settings.MIDDLEWARE[
        : settings.MIDDLEWARE.index("marketplace.page_cache.AnonymousPageCacheMiddleware")
    ]
    assert above == [
        "marketplace.middleware.RequestIdMiddleware",
        "django.middleware.security.SecurityMiddleware",
        "marketplace.middleware.ContentSecurityPolicyMiddleware",
        "marketplace.middleware.PermissionsPolicyMiddleware",
        "whitenoise.middleware.WhiteNoiseMiddleware",
        "marketplace.middleware.TrackingParametersMiddleware",
    ]


def test_the_sites_wsgi_application_answers_hits_in_front_of_django():
    from marketplace.wsgi import application

    assert isinstance(application, page_cache.PageCacheHits)
    assert isinstance(application.application, WSGIHandler)


@pytest.mark.parametrize(
    "status, headers",
    [
        ("200 OK", [("Set-Cookie", "seen=1; Path=/")]),  # a cookie is each visitor's own
        ("200 Fine", []),  # a status line the kept answer would not write again as it was
    ],
)
def test_an_answer_that_could_not_be_given_again_as_it_was_is_not_kept(
    clear_cache, status, headers
):
    from django.core.cache import cache

    versions = {page_cache.SITE: 7}
    cache.set(page_cache.VERSION_PREFIX + page_cache.SITE, 7, None)
    calls = []

    def django(environ, start_response):  # a hit, with what the middleware around it added
        calls.append(environ)
        environ[page_cache._HIT] = page_cache._Own(versions, None, "", 2**40)
        start_response(status, [("Content-Type", "text/html"), *headers])
        return [b"<p>page</p>"]

    application = page_cache.PageCacheHits(django)
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/shops/", "HTTP_HOST": "testserver"}
    for _ in range(2):
        assert b"".join(application(dict(environ), lambda *args: None)) == b"<p>page</p>"
    assert len(calls) == 2
