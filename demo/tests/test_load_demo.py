"""`manage.py load_demo`: the one test that builds the whole demo (slow-ish: images)."""

import io
import re

from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from wagtail.models import Page, Site

import pytest

from home.models import HomePage
from marketplace.models import CustomImage
from policies.models import PolicyPage
from products.models import Category, Designer, ItemImage, ItemPage
from vendors.models import ShopPage, Vendor

# Cached fragments (footer links, site root paths) must not leak between tests.
pytestmark = pytest.mark.usefixtures("clear_cache")

LOGIN_LINE = re.compile(r"^\s+(?P<role>.+?)\s{2,}(?P<username>\S+)\s+(?P<password>\S+)\s*$")


def _counts() -> dict[str, int]:
    models = [
        Page,
        HomePage,
        ShopPage,
        Vendor,
        Designer,
        Category,
        ItemPage,
        ItemImage,
        CustomImage,
        PolicyPage,
        Site,
        get_user_model(),
    ]
    return {model.__name__: model.objects.count() for model in models}


def _load() -> str:
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


@pytest.mark.slow
@pytest.mark.django_db
def test_load_demo_twice(client):
    first_output = _load()
    first = _counts()
    second_output = _load()
    assert _counts() == first, "a second run must not add anything"
    assert second_output == first_output

    assert first["HomePage"] == 1 and first["Site"] == 1
    assert first["ShopPage"] >= 6 and first["Vendor"] == first["ShopPage"]
    assert first["Designer"] == 10
    assert first["Category"] >= 8
    assert first["ItemPage"] == 60
    assert first["PolicyPage"] >= 3

    shops = ShopPage.objects.all()
    published = [shop for shop in shops if shop.phone_orders]
    assert published and all(shop.phone_number for shop in published)
    assert any(not shop.phone_orders for shop in shops)
    assert any(not shop.phone_orders and shop.phone_number for shop in shops), (
        "the demo should include a shop that stores a number without publishing it"
    )
    assert Category.objects.filter(parent__isnull=False).exists()
    assert ItemPage.objects.filter(quantity=0).exists()
    assert not ItemPage.objects.filter(first_published_at__isnull=True).exists()

    logins = [m.groupdict() for m in map(LOGIN_LINE.match, first_output.splitlines()) if m]
    assert len(logins) >= 3, first_output
    for login in logins:
        user = authenticate(username=login["username"], password=login["password"])
        assert user is not None, f"printed login {login['username']} does not work"
        assert user.is_active
    assert any(get_user_model().objects.get(username=x["username"]).is_superuser for x in logins)

    assert client.get("/").status_code == 200
    assert client.get(ItemPage.objects.live().first().url).status_code == 200

    # On the demo as loaded (testimonials, shops with logos and banners, designers), each
    # public page stays within 12 queries with the page cache off. The home page made 13: the
    # designers' logo renditions it never shows, and logos and banners in two queries.
    shop = ShopPage.objects.live().first()
    for url in ["/", "/shops/", shop.url, "/designers/", Designer.objects.first().get_url()]:
        client.get(url)  # settings and memoised counts warm, as on a running site
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        assert len(queries) <= 12, (url, [q["sql"][:80] for q in queries])
