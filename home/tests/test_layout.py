"""The layout every page draws per request (home.templatetags.layout_tags): the header is
rendered once per variant, yet each page's shows its own current link, its shopper's state
and its own search words, escaped."""

import re

import pytest

from home.templatetags import layout_tags
from vendors.factories import ShopPageFactory

pytestmark = pytest.mark.django_db


def header(html: str) -> str:
    return re.search(r'<header class="site-header">.*?</header>', html, re.S).group(0)


def current(html: str) -> list[str]:
    return re.findall(r'href="([^"]+)" aria-current="page"', header(html))


def test_each_page_marks_its_own_section(client, site_tree, django_user_model):
    shop = ShopPageFactory()
    assert current(client.get(shop.url).content.decode()) == ["/shops/"]
    assert current(client.get("/designers/").content.decode()) == ["/designers/"]
    assert current(client.get("/saved/").content.decode()) == ["/saved/"]
    assert current(client.get("/").content.decode()) == []
    user = django_user_model.objects.create_user("ada", "ada@example.com", "pw-long-enough-1")
    client.force_login(user)
    html = client.get("/account/saved/").content.decode()
    assert current(html) == ["/account/saved/", "/account/"]  # both: a page of the account
    assert ">Account</span>" in header(html)
    client.logout()
    assert ">Sign in</span>" in header(client.get(shop.url).content.decode())


def test_the_search_box_shows_the_words_searched_escaped(client, site_tree):
    html = client.get("/search/", {"q": '"><script>alert(1)</script>'}).content.decode()
    assert 'value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in header(html)
    assert "<script>alert" not in html
    assert 'name="q" value=""' in header(client.get("/search/").content.decode())


def test_the_header_is_rendered_once_per_variant(client, site_tree, monkeypatch, settings):
    settings.DEBUG = False
    layout_tags._header_once.cache_clear()
    renders = []
    real = layout_tags._render_header
    monkeypatch.setattr(layout_tags, "_header_once", layout_tags.cache(
        lambda **variant: renders.append(variant) or real(**variant)))  # fmt: skip
    shop = ShopPageFactory()
    for url in (shop.url, shop.url, "/shops/", "/designers/", "/designers/"):
        client.get(url)
    assert len(renders) == 2  # a shop's section, the designers'


def test_in_debug_an_edited_header_shows_at_once(settings, monkeypatch):
    settings.DEBUG = True
    calls = []
    monkeypatch.setattr(layout_tags, "_render_header", lambda **v: calls.append(v) or "")
    layout_tags._header(shops=False, designers=False, saved=False, account=False,
                        authenticated=False)  # fmt: skip
    layout_tags._header(shops=False, designers=False, saved=False, account=False,
                        authenticated=False)  # fmt: skip
    assert len(calls) == 2


def test_a_page_links_its_assets_by_their_static_urls(client, site_tree):
    from django.templatetags.static import static

    html = client.get("/").content.decode()
    for path in ("css/site.css", "img/favicon.svg", "js/site.js"):
        assert layout_tags.asset(path) == static(path)
        assert f'"{static(path)}"' in html
