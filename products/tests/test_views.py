"""`/designers/` and `/designers/<slug>/`: items by designer across shops."""

import pytest

from products.factories import DesignerFactory, ItemPageFactory
from vendors.factories import ShopPageFactory


@pytest.mark.django_db
def test_designer_index_counts_items_for_sale(client, site_tree):
    aubert = DesignerFactory(name="Maison Aubert")
    DesignerFactory(name="Linnea Holm")
    ItemPageFactory(designer=aubert)
    ItemPageFactory(designer=aubert, sold=True)
    ItemPageFactory(designer=aubert).unpublish()
    response = client.get("/designers/")
    assert response.status_code == 200
    counts = {d.name: d.item_count for d in response.context["designers"]}
    # Sold and unpublished pieces are not "for sale": only the first counts.
    assert counts == {"Linnea Holm": 0, "Maison Aubert": 1}
    assert "/designers/maison-aubert/" in response.content.decode()


@pytest.mark.django_db
def test_designer_page_lists_items_from_every_shop(client, site_tree):
    aubert = DesignerFactory(name="Maison Aubert")
    a = ItemPageFactory(designer=aubert, parent=ShopPageFactory())
    b = ItemPageFactory(designer=aubert, parent=ShopPageFactory(), with_image=True)
    other = ItemPageFactory()
    response = client.get("/designers/maison-aubert/")
    assert response.status_code == 200
    assert response.context["designer"] == aubert
    listed = {item.pk for item in response.context["items_page"].object_list}
    assert listed == {a.pk, b.pk}
    html = response.content.decode()
    assert a.url in html and b.url in html and other.url not in html


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["abc", "999", "-3", ""])
def test_designer_page_bad_page_numbers(client, site_tree, page):
    designer = DesignerFactory()
    ItemPageFactory(designer=designer)
    response = client.get(f"/designers/{designer.slug}/", {"page": page})
    assert response.status_code == 200
    assert response.context["items_page"].number == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/designers/no-such/", "/designers/%3Cscript%3E/", "/designers/a/b/"]
)
def test_unknown_designer_is_404(client, site_tree, path):
    assert client.get(path).status_code == 404


@pytest.mark.django_db
def test_unpublishing_a_shop_takes_its_items_off_the_site(client, site_tree):
    """Wagtail would still serve a live child of an unpublished page; a closed shop's pieces
    must not stay on sale, in search or on a designer's page."""
    aubert = DesignerFactory(name="Maison Aubert")
    closing, open_shop = ShopPageFactory(), ShopPageFactory()
    hidden = ItemPageFactory(title="Hidden tote", designer=aubert, parent=closing)
    shown = ItemPageFactory(title="Shown tote", designer=aubert, parent=open_shop)
    assert client.get(hidden.url).status_code == 200
    hidden_url = hidden.url

    closing.unpublish()  # the items themselves stay live

    assert client.get(hidden_url).status_code == 404
    assert client.get(shown.url).status_code == 200
    for url in ["/search/?q=tote", "/designers/maison-aubert/", "/"]:
        html = client.get(url).content.decode()
        assert "Shown tote" in html and "Hidden tote" not in html, url
    closing.save_revision().publish()
    assert client.get(hidden_url).status_code == 200


@pytest.mark.django_db
def test_items_in_a_private_section_are_not_listed(client, site_tree):
    """Wagtail refuses a view-restricted page to the public; listings must not show it either."""
    from wagtail.models import PageViewRestriction

    aubert = DesignerFactory(name="Maison Aubert")
    private = ItemPageFactory(title="Private tote", designer=aubert)
    ItemPageFactory(title="Public tote", designer=aubert)
    PageViewRestriction.objects.create(page=private, restriction_type=PageViewRestriction.LOGIN)
    for url in ["/search/?q=tote", "/designers/maison-aubert/", "/"]:
        html = client.get(url).content.decode()
        assert "Public tote" in html and "Private tote" not in html, url


@pytest.mark.django_db
def test_a_first_view_reads_the_view_restrictions_once(client, site_tree):
    """Wagtail's check on the page served and the listings' hidden sections share one read of
    the restricted pages, so a view with the cache emptied asks for them once."""
    from django.core.cache import cache
    from django.db import connection

    from vendors.factories import ShopPageFactory

    shop = ShopPageFactory()
    ItemPageFactory(parent=shop, title="Tote")
    client.get(shop.url)
    cache.clear()
    asked = []

    def counted(execute, sql, params, many, context):
        if "wagtailcore_pageviewrestriction" in sql:
            asked.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counted):
        assert "Tote" in client.get(shop.url).content.decode()
    assert len(asked) == 1, asked


@pytest.mark.django_db
def test_a_site_without_view_restrictions_builds_no_query_to_check_them(client, site_tree):
    """While no page is restricted, Wagtail's check on every page served builds no query
    (not even one known to find nothing); once one is, it applies."""
    from unittest import mock

    from django.db.models.sql.compiler import SQLCompiler

    from wagtail.models import PageViewRestriction

    from marketplace.page_mixins import _no_restrictions

    piece = ItemPageFactory(title="Tote")
    client.get(piece.url)
    _no_restrictions.cache_clear()
    _no_restrictions()  # a new worker's, made once
    with mock.patch.object(SQLCompiler, "as_sql", side_effect=AssertionError("a query")):
        restrictions = piece.get_view_restrictions()
        assert list(restrictions) == [] and not restrictions
    assert not restrictions.order_by("-page__depth").exists()  # as the admin asks
    PageViewRestriction.objects.create(page=piece, restriction_type=PageViewRestriction.LOGIN)
    assert client.get(piece.url).status_code == 302  # to sign in
