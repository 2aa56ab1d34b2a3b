"""`{% page_url %}` (marketplace.page_urls): Wagtail's `{% pageurl %}`, worked out once per page
path in a worker, and never stale."""

from unittest import mock

from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse, set_script_prefix

from wagtail.models import Page, Site

import pytest

from marketplace import page_urls
from products.factories import ItemPageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty():
    page_urls._URLS.clear()
    yield
    page_urls._URLS.clear()
    set_script_prefix("/")


def render(page, request) -> str:
    return Template("{% load vitrine_tags %}{% page_url page %}").render(
        Context({"page": page, "request": request})
    )


def request_for(host: str = "localhost"):
    request = RequestFactory().get("/", HTTP_HOST=host)
    return request


def test_it_writes_what_pageurl_writes(site_tree):
    item = ItemPageFactory()
    request = request_for()
    wagtail = Template("{% load wagtailcore_tags %}{% pageurl page %}")
    for page in (item, item.get_parent(), site_tree.home, Page.objects.get(pk=item.pk)):
        context = Context({"page": page, "request": request})
        assert render(page, request) == wagtail.render(context) == page.get_url(request), page


def test_a_page_path_is_reversed_once(site_tree):
    item = ItemPageFactory()
    with mock.patch("wagtail.models.pages.reverse", wraps=reverse) as reversed_:
        first = render(item, request_for())
        again = render(Page.objects.get(pk=item.pk), request_for())  # another copy, request
    assert first == again == item.url
    assert reversed_.call_count == 1


def test_a_renamed_page_has_its_new_url(site_tree):
    item = ItemPageFactory(slug="kelly-bag")
    assert render(item, request_for()).endswith("/kelly-bag/")
    item.slug = "kelly-bag-28"
    item.save_revision().publish()
    item.refresh_from_db()
    assert render(item, request_for()).endswith("/kelly-bag-28/")


def test_the_script_prefix_and_the_sites_are_in_it(site_tree):
    item = ItemPageFactory()
    plain = render(item, request_for())
    set_script_prefix("/boutique/")
    assert render(item, request_for()) == "/boutique" + plain
    set_script_prefix("/")
    # A second site on another root: the same path is now one of several sites' (absolute
    # when asked from the other site).
    other_root = site_tree.home.add_child(instance=Page(title="Outlet", slug="outlet"))
    Site.objects.create(hostname="outlet.example", root_page=other_root)
    outlet = request_for("outlet.example")
    assert render(item, outlet) == item.get_url(outlet) == f"http://localhost{plain}"
    assert render(item, request_for()) == plain


def test_a_site_given_another_root_page(site_tree):
    item = ItemPageFactory()
    assert render(item, request_for()) == item.url
    elsewhere = Page.get_first_root_node().add_child(instance=Page(title="Elsewhere", slug="x"))
    site = Site.objects.get(is_default_site=True)
    site.root_page = elsewhere
    site.save()  # the root paths are read again (Wagtail's signal)
    assert render(item, request_for()) == ""  # no site serves the piece any more
