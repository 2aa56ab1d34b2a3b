"""The Editors group: home page, policy pages, the testimonial index and testimonials, and
moderation; never shops, items, the order desk, customers or other page types by inheritance."""

from django.urls import reverse

from wagtail.models import GroupPagePermission, Page
from wagtail.test.utils.form_data import (
    nested_form_data,
    querydict_from_html,
    rich_text,
    streamfield,
)

import pytest

from policies import factories, models
from policies.models import PolicyChange, PolicyPage
from products.factories import ItemPageFactory
from vendors.factories import ShopPageFactory

from .helpers import make_user


def _form(client, url, **changes):
    response = client.get(url)
    assert response.status_code == 200, url
    data = querydict_from_html(response.content.decode(), form_id="page-edit-form")
    for name, value in changes.items():
        data[name] = value
    return data


def _policy_body():
    return nested_form_data(
        {"body": streamfield([("heading", "Cookies"), ("paragraph", rich_text("<p>None.</p>"))])}
    )


@pytest.fixture
def editors_pages(site_tree, editor):
    policy = factories.PolicyPageFactory(title="Privacy policy", slug="privacy")
    index = factories.TestimonialIndexPageFactory()
    from policies.services import editors_grant_page_rights

    editors_grant_page_rights(page=policy)
    editors_grant_page_rights(page=index)
    return policy, index


@pytest.mark.django_db
def test_editor_edits_and_publishes_the_privacy_policy(client, editor, editors_pages):
    policy, _ = editors_pages
    client.force_login(editor)
    url = reverse("wagtailadmin_pages:edit", args=[policy.pk])
    data = _form(client, url, summary="Edited by an editor.", change_note="Plainer summary.")
    data.update(_policy_body())
    data["action-publish"] = "1"
    assert client.post(url, data).status_code == 302
    policy = PolicyPage.objects.get(pk=policy.pk)
    assert policy.summary == "Edited by an editor." and policy.live
    assert PolicyChange.objects.filter(page=policy, change_note="Plainer summary.").exists()


@pytest.mark.django_db
def test_editor_edits_the_home_page_and_testimonial_index(client, site_tree, editor, editors_pages):
    _, index = editors_pages
    client.force_login(editor)
    home = site_tree.home
    url = reverse("wagtailadmin_pages:edit", args=[home.pk])
    data = _form(client, url, hero_heading="Pieces with a past")
    data["action-publish"] = "1"
    assert client.post(url, data).status_code == 302
    home.refresh_from_db()
    assert home.hero_heading == "Pieces with a past"

    url = reverse("wagtailadmin_pages:edit", args=[index.pk])
    data = _form(client, url, intro="Kind words.")
    data["action-publish"] = "1"
    assert client.post(url, data).status_code == 302
    index.refresh_from_db()
    assert index.intro == "Kind words."

    # The HomePage right is not a tree right: editors hold no permission row on the HomePage.
    assert not GroupPagePermission.objects.filter(group__name="Editors", page=home).exists()
    perms = home.permissions_for_user(editor)
    assert perms.can_edit() and perms.can_publish()
    assert not any(
        [perms.can_delete(), perms.can_move(), perms.can_unpublish(), perms.can_copy()]
    ), "nothing that would act on every shop below the HomePage"
    assert not perms.can_set_view_restrictions()


@pytest.mark.django_db
def test_editor_creates_a_policy_page_and_keeps_it(client, site_tree, editor, editors_pages):
    client.force_login(editor)
    url = reverse("wagtailadmin_pages:add", args=["policies", "policypage", site_tree.home.pk])
    data = _form(client, url)
    data.update(
        {
            "title": "Cookies",
            "slug": "cookies",
            "summary": "Which cookies we set.",
            "effective_from": "2026-12-01",
            "change_note": "First version.",
            "action-publish": "1",
        }
    )
    data.update(_policy_body())
    assert client.post(url, data).status_code == 302
    page = PolicyPage.objects.get(slug="cookies")
    assert page.live and page.permissions_for_user(editor).can_edit()
    assert client.get("/cookies/history/").status_code == 200


@pytest.mark.django_db
def test_editor_manages_testimonials(client, editor):
    client.force_login(editor)
    assert client.get("/admin/snippets/policies/testimonial/").status_code == 200
    response = client.post(
        "/admin/snippets/policies/testimonial/add/",
        {
            "quote": "A letter we were sent.",
            "display_name": "June P.",
            "location": "Hull",
            "date": "2026-11-20",
            "action-publish": "action-publish",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    testimonial = models.Testimonial.objects.get()
    assert testimonial.live
    assert (
        client.get(f"/admin/snippets/policies/testimonial/edit/{testimonial.pk}/").status_code
        == 200
    )


@pytest.mark.django_db
def test_editor_cannot_reach_shops_items_orders_or_customers(
    client, site_tree, editor, editors_pages
):
    shop = ShopPageFactory()
    item = ItemPageFactory(parent=shop)
    client.force_login(editor)
    for page in (shop, item, site_tree.shop_index, site_tree.designer_index):
        response = client.get(reverse("wagtailadmin_pages:edit", args=[page.pk]))
        assert response.status_code in {302, 403, 404}, page
        assert not page.permissions_for_user(editor).can_edit()
    add_item = reverse("wagtailadmin_pages:add", args=["products", "itempage", shop.pk])
    assert client.get(add_item).status_code in {302, 403}
    for url in (
        reverse("orders_vendororder_modeladmin_index"),
        reverse("wagtailusers_users:index"),
        reverse("wagtailusers_groups:index"),
        "/admin/vendors/",
    ):
        response = client.get(url)
        assert response.status_code in {302, 403}, url
        if response.status_code == 302:
            assert "/admin/login/" not in response["Location"] or url, url
            assert (
                client.get(response["Location"]).status_code != 200
                or response["Location"] == "/admin/"
            ), url
    # A vendor is refused the testimonials and the policy pages.
    staff = shop.vendor.group.user_set.first() if shop.vendor.group else None
    if staff is None:
        staff = make_user("shopstaff")
    client.force_login(staff)
    assert client.get("/admin/snippets/policies/testimonial/").status_code in {302, 403}
    policy, _ = editors_pages
    assert client.get(reverse("wagtailadmin_pages:edit", args=[policy.pk])).status_code in {
        302,
        403,
        404,
    }
    assert not Page.objects.get(pk=site_tree.home.pk).permissions_for_user(staff).can_edit()
