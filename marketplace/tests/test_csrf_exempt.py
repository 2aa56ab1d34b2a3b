"""Only the Stripe webhook is CSRF-exempt: walk every URL pattern and look at its callback.

Django's CsrfViewMiddleware skips a view when ``getattr(callback, "csrf_exempt", False)``; the
``csrf_exempt`` decorator sets it and functools.wraps / ``as_view()`` carry it to the outermost
callback, so the resolved callback is exactly what the middleware sees.

The RFC 8058 one-click unsubscribe URLs (``/email/unsubscribe/<token>/``,
``/saved/alerts/unsubscribe/<token>/`` and ``/testimonials/unsubscribe/<token>/``) are not
exempt either: their POST passes CSRF only on a signed token that verifies, in
accounts.middleware (views marked ``@signed_link``), which the last test pins down.
"""

import json

from django.urls import URLPattern, URLResolver, get_resolver

import pytest

# Wagtail's admin API (Django REST framework viewsets, mounted at /admin/api/main/): DRF marks
# every APIView csrf_exempt and enforces CSRF itself in SessionAuthentication for unsafe methods
# of signed-in users. The images and documents endpoints are read-only (GET); the pages one has a
# POST "action" endpoint, proven below to refuse a request without a CSRF token.
ALLOWED = {
    ("orders.views", "stripe_webhook"): "Stripe's signed events (signature checked instead)",
    ("wagtail.admin.api.views", "PagesAdminAPIViewSet"): "DRF: CSRF enforced by SessionAuth",
    ("wagtail.images.api.admin.views", "ImagesAdminAPIViewSet"): "DRF, read-only",
    ("wagtail.documents.api.admin.views", "DocumentsAdminAPIViewSet"): "DRF, read-only",
    # The public read API (/api/v2/): DRF, anonymous, GET and HEAD only (anything else is a 405,
    # see api/tests/test_http.py).
    ("api.endpoints", "APIRootView"): "DRF, read-only",
    ("api.endpoints", "ShopsAPIViewSet"): "DRF, read-only",
    ("api.endpoints", "ItemsAPIViewSet"): "DRF, read-only",
    ("api.endpoints", "DesignersAPIViewSet"): "DRF, read-only",
}


def walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.callback


def identify(callback):
    view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    target = view_class or callback
    while hasattr(target, "__wrapped__") and view_class is None:
        target = target.__wrapped__
    return target.__module__, target.__qualname__.split(".")[0]


def exempt_routes():
    return {
        route: identify(callback)
        for route, callback in walk(get_resolver().url_patterns)
        if getattr(callback, "csrf_exempt", False)
    }


def test_only_the_stripe_webhook_and_known_api_views_are_csrf_exempt():
    exempt = exempt_routes()
    unexpected = {route: ident for route, ident in exempt.items() if ident not in ALLOWED}
    assert unexpected == {}
    site_views = {
        route
        for route, ident in exempt.items()
        if not ident[0].startswith(("wagtail", "api.endpoints"))
    }
    assert site_views == {"stripe/webhook/"}


def test_the_walk_sees_decorated_and_class_based_views():
    routes = dict(walk(get_resolver().url_patterns))
    assert identify(routes["stripe/webhook/"]) == ("orders.views", "stripe_webhook")
    assert identify(routes["checkout/"]) == ("orders.views", "checkout")
    assert not getattr(routes["checkout/"], "csrf_exempt", False)
    assert not getattr(routes["cart/add/"], "csrf_exempt", False)


@pytest.mark.django_db
def test_wagtail_admin_api_refuses_state_changes_without_a_csrf_token(site_tree, django_user_model):
    from django.test import Client

    from wagtail.models import Page

    client = Client(enforce_csrf_checks=True)
    client.force_login(
        django_user_model.objects.create_superuser(
            username="boss", email="boss@vitrine.example", password="a-long-passphrase-1"
        )
    )
    pages_before = Page.objects.count()
    response = client.post(
        f"/admin/api/main/pages/{site_tree.shop_index.pk}/action/copy/",
        data=json.dumps({"destination_page_id": site_tree.home.pk}),
        content_type="application/json",
    )
    assert response.status_code == 403
    assert "CSRF" in response.content.decode()
    assert Page.objects.count() == pages_before
    for endpoint in ("images", "documents"):
        response = client.post(f"/admin/api/main/{endpoint}/", data={})
        assert response.status_code in (403, 405), endpoint


def test_signed_token_links_are_exactly_the_unsubscribe_urls_and_not_exempt():
    from django.conf import settings

    routes = {
        route: callback
        for route, callback in walk(get_resolver().url_patterns)
        if getattr(callback, "signed_link", None) is not None
    }
    assert set(routes) == {
        "email/unsubscribe/<str:token>/",
        "saved/alerts/unsubscribe/<str:token>/",
        "testimonials/unsubscribe/<str:token>/",
    }
    assert not any(getattr(callback, "csrf_exempt", False) for callback in routes.values())
    # It must run just before the CSRF check, to tell it the token stood in for the cookie.
    middleware = settings.MIDDLEWARE
    position = middleware.index("accounts.middleware.SignedUnsubscribeCsrfMiddleware")
    assert middleware[position + 1] == "django.middleware.csrf.CsrfViewMiddleware"
