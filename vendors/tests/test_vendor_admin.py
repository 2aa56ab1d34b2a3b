"""Vendors and staff in the Wagtail admin, through the Django test client.

Staff onboard, suspend and moderate vendors; a vendor edits their shop (phone orders included)
and items, publishes or submits for review; an editor approves; forged fields and script in any
field change nothing and run nowhere; the vendor's dashboard panel counts what the database holds.
The URL-by-URL isolation between two vendors is in test_isolation.py.
"""

import json
import re
from decimal import Decimal

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core import mail
from django.urls import reverse

from wagtail import blocks
from wagtail.fields import RichTextField, StreamField
from wagtail.models import (
    Collection,
    GroupCollectionPermission,
    GroupPagePermission,
    Page,
    Workflow,
    WorkflowPage,
    WorkflowState,
)
from wagtail.test.utils.form_data import querydict_from_html, rich_text

import pytest
from bs4 import BeautifulSoup

from products.factories import CategoryFactory, DesignerFactory
from products.models import ItemPage
from vendors.models import VENDOR_RICH_TEXT_FEATURES, ShopPage, Vendor
from vendors.selectors import vendor_dashboard
from vendors.services import vendor_onboard
from vendors.wagtail_hooks import VendorDashboardPanel

User = get_user_model()

SCRIPT = "<script>alert(1)</script>"
ATTR = '"><img src=x onerror=alert(1)>'
PAYLOAD = f"{SCRIPT}{ATTR}"


# --- fixtures and helpers ------------------------------------------------------------------------


@pytest.fixture
def designer(db):
    return DesignerFactory(name="Hermès")


@pytest.fixture
def category(db):
    return CategoryFactory(name="Bags")


def _onboard(name, **kwargs):
    slug = re.sub(r"[^a-z]+", "-", name.lower())
    return vendor_onboard(
        name=name,
        contact_email=f"hello@{slug}.example",
        staff_email=f"staff@{slug}.example",
        **kwargs,
    )


@pytest.fixture
def vendor(site_tree):
    return _onboard("Maison Lune")


@pytest.fixture
def moderated(site_tree):
    return _onboard("Atelier Noir", requires_moderation=True)


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("boss", "boss@vitrine.example", "not-used-here")


@pytest.fixture
def editor(db):
    user = User.objects.create_user("eddie", "eddie@vitrine.example")
    user.groups.add(Group.objects.get(name="Editors"))
    return user


def staff_of(vendor):
    return vendor.group.user_set.get()


def _item(shop, title, *, designer, category, publish=True, user=None, **fields):
    item = ItemPage(
        title=title,
        slug=re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-"),
        designer=designer,
        category=category,
        condition="excellent",
        price=Decimal("500.00"),
        live=False,
        **fields,
    )
    shop.add_child(instance=item)
    revision = item.save_revision(user=user)
    if publish:
        revision.publish()
    item.refresh_from_db()
    return item


def form_data(client, url):
    """The page form's current values, as the browser would post them back."""
    response = client.get(url)
    assert response.status_code == 200, url
    return querydict_from_html(response.content.decode(), form_id="page-edit-form")


def edit_page(client, page, action=None, **changes):
    url = reverse("wagtailadmin_pages:edit", args=[page.pk])
    data = form_data(client, url)
    for name, value in changes.items():
        data[name] = value
    if action:
        data[f"action-{action}"] = "1"
    return client.post(url, data)


def add_item(client, shop, *, designer, category, action="publish", **changes):
    url = reverse("wagtailadmin_pages:add", args=["products", "itempage", shop.pk])
    data = form_data(client, url)
    data.update(
        {
            "title": "Kelly 28",
            "slug": "kelly-28",
            "designer": str(designer.pk),
            "category": str(category.pk),
            "condition": "excellent",
            "price": "6400.00",
        }
    )
    for name, value in changes.items():
        data[name] = value
    if action:
        data[f"action-{action}"] = "1"
    return client.post(url, data)


def page_perms(vendor):
    return set(
        GroupPagePermission.objects.filter(group=vendor.group).values_list(
            "page_id", "permission__codename"
        )
    )


def vendor_row(vendor):
    return Vendor.objects.filter(pk=vendor.pk).values(
        "name", "commission_rate", "status", "requires_moderation", "group", "collection"
    )[0]


def assert_no_live_script(html):
    """No element the payload could have made: a script running alert(1) or an onerror handler."""
    assert "<script>alert(1)" not in html
    assert "<img src=x onerror" not in html
    soup = BeautifulSoup(html, "html.parser")
    for script in soup.find_all("script"):
        if script.get("type", "text/javascript") in {"text/javascript", "module", ""}:
            assert "alert(1)" not in script.get_text(), script
    assert not soup.find_all(attrs={"onerror": True}), "an onerror attribute in a real tag"
    assert not soup.find_all("img", src="x")
    assert not soup.find_all(href=re.compile(r"^\s*javascript:", re.I))


# --- 3. staff manage vendors ---------------------------------------------------------------------


ONBOARD_FORM = {
    "name": "Maison Lune",
    "contact_email": "hello@maison-lune.example",
    "commission_rate": "0.12",
    "requires_moderation": "",
    "staff_email": "clara@maison-lune.example",
    "staff_username": "",
}


@pytest.mark.django_db
def test_staff_onboard_a_vendor_in_the_admin(
    client, site_tree, superuser, django_capture_on_commit_callbacks
):
    client.force_login(superuser)
    assert client.get(reverse("vendors:add")).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("vendors:add"), ONBOARD_FORM)
    assert response.status_code == 302, response.content.decode()[:2000]

    vendor = Vendor.objects.get(name="Maison Lune")
    assert vendor.commission_rate == Decimal("0.1200")
    assert vendor.status == Vendor.Status.ACTIVE
    shop = vendor.shop
    assert shop.live and shop.get_parent().pk == site_tree.shop_index.pk
    assert vendor.group.name == "Vendor: Maison Lune"
    assert vendor.group.permissions.filter(codename="access_admin").exists()
    assert page_perms(vendor) == {
        (shop.pk, "add_page"),
        (shop.pk, "change_page"),
        (shop.pk, "publish_page"),
    }
    assert set(
        GroupCollectionPermission.objects.filter(group=vendor.group).values_list(
            "collection_id", "permission__codename"
        )
    ) == {(vendor.collection_id, c) for c in ("add_image", "choose_image", "change_image")}
    user = staff_of(vendor)
    assert user.username == user.email == "clara@maison-lune.example"
    assert not user.is_staff and not user.is_superuser
    assert [m.to for m in mail.outbox] == [["clara@maison-lune.example"]]
    assert "Maison Lune" in client.get(reverse("vendors:index")).content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field_error"),
    [
        ({"name": "Maison Lune"}, "already exists"),
        ({"staff_email": "staff@maison-lune.example"}, "Someone already has this username."),
        ({"commission_rate": "1.5"}, "less than or equal to 1"),
    ],
)
def test_admin_onboard_errors_leave_nothing_behind(
    client, vendor, superuser, change, field_error, django_capture_on_commit_callbacks
):
    client.force_login(superuser)
    counts = (Vendor.objects.count(), Group.objects.count(), Collection.objects.count())
    pages = Page.objects.count()
    data = {**ONBOARD_FORM, "name": "Atelier Noir", **change}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("vendors:add"), data)
    assert response.status_code == 200
    assert field_error in response.content.decode()
    assert (Vendor.objects.count(), Group.objects.count(), Collection.objects.count()) == counts
    assert Page.objects.count() == pages
    assert mail.outbox == []


@pytest.mark.django_db
def test_suspending_removes_admin_access_and_unpublishes_nothing(
    client, vendor, superuser, designer, category
):
    item = _item(vendor.shop, "Kelly 28", designer=designer, category=category)
    staff = staff_of(vendor)
    edit_url = reverse("vendors:edit", args=[vendor.pk])
    form = {
        "contact_email": vendor.contact_email,
        "commission_rate": "0.15",
        "requires_moderation": "",
        "status": "suspended",
        "stripe_account_id": "",
    }
    client.force_login(superuser)
    assert client.post(edit_url, form).status_code == 302

    vendor.refresh_from_db()
    assert vendor.status == Vendor.Status.SUSPENDED
    assert not vendor.group.permissions.filter(codename="access_admin").exists()
    assert ShopPage.objects.get(pk=vendor.shop.pk).live
    assert ItemPage.objects.get(pk=item.pk).live
    assert client.get(vendor.shop.url).status_code == 200, "the shop stays visible"

    client.force_login(staff)
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    response = client.get(reverse("wagtailadmin_pages:edit", args=[item.pk]))
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")

    client.force_login(superuser)
    assert client.post(edit_url, {**form, "status": "active"}).status_code == 302
    client.force_login(staff)
    assert client.get("/admin/").status_code == 200
    assert client.get(reverse("wagtailadmin_pages:edit", args=[item.pk])).status_code == 200


@pytest.mark.django_db
def test_toggling_moderation_changes_rights_and_workflow(client, vendor, superuser):
    shop = vendor.shop
    edit_url = reverse("vendors:edit", args=[vendor.pk])
    form = {
        "contact_email": vendor.contact_email,
        "commission_rate": "0.15",
        "status": "active",
        "stripe_account_id": "",
    }
    client.force_login(superuser)

    editors = Group.objects.get(name="Editors")
    assert not GroupPagePermission.objects.filter(group=editors, page=shop).exists()

    assert client.post(edit_url, {**form, "requires_moderation": "on"}).status_code == 302
    assert page_perms(vendor) == {(shop.pk, "add_page"), (shop.pk, "change_page")}
    # Approving publishes as the editor: editors may publish in this shop, nothing more.
    assert set(
        GroupPagePermission.objects.filter(group=editors, page=shop).values_list(
            "permission__codename", flat=True
        )
    ) == {"publish_page"}
    assert WorkflowPage.objects.get(page=shop).workflow.name == "Vendor content review"
    assert shop.get_workflow().name == "Vendor content review"

    assert client.post(edit_url, {**form, "requires_moderation": ""}).status_code == 302
    assert (shop.pk, "publish_page") in page_perms(vendor)
    assert not WorkflowPage.objects.filter(page=shop).exists()
    assert Page.objects.get(pk=shop.pk).get_workflow() is None
    assert not GroupPagePermission.objects.filter(group=editors, page=shop).exists()


@pytest.mark.django_db
def test_vendor_cannot_manage_vendors(client, vendor, moderated):
    client.force_login(staff_of(vendor))
    before = [vendor_row(vendor), vendor_row(moderated)]
    for url in [
        reverse("vendors:index"),
        reverse("vendors:add"),
        reverse("vendors:edit", args=[vendor.pk]),
        reverse("vendors:edit", args=[moderated.pk]),
    ]:
        assert client.get(url).status_code == 403, url
        response = client.post(url, {**ONBOARD_FORM, "status": "active", "commission_rate": "0"})
        assert response.status_code == 403, url
    assert [vendor_row(vendor), vendor_row(moderated)] == before
    assert Vendor.objects.count() == 2


# --- 4. a vendor edits their shop and items ------------------------------------------------------


@pytest.mark.django_db
def test_vendor_publishes_a_phone_number_shown_on_item_pages(client, vendor, designer, category):
    item = _item(vendor.shop, "Kelly 28", designer=designer, category=category)
    assert "+44 20 7946 0958" not in client.get(item.url).content.decode()

    client.force_login(staff_of(vendor))
    response = edit_page(
        client,
        vendor.shop,
        "publish",
        intro="Quiet pieces.",
        phone_number="+44 20 7946 0958",
        phone_orders="on",
        phone_hours="Tue–Sat 10:00–18:00",
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    shop = ShopPage.objects.get(pk=vendor.shop.pk)
    assert shop.phone_number == "+442079460958" and shop.phone_orders
    assert not shop.has_unpublished_changes

    client.logout()
    html = client.get(item.url).content.decode()
    assert "+44 20 7946 0958" in html
    assert 'href="tel:+442079460958"' in html
    assert "Tue–Sat 10:00–18:00" in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"phone_number": "call me maybe", "phone_orders": "on"}, "valid phone number"),
        ({"phone_number": "+44 20 7946", "phone_orders": "on"}, "valid phone number"),
        ({"phone_number": "", "phone_orders": "on"}, "Add a phone number"),
    ],
)
def test_bad_phone_settings_give_a_form_error_and_change_nothing(
    client, vendor, designer, category, fields, error
):
    item = _item(vendor.shop, "Kelly 28", designer=designer, category=category)
    shop = vendor.shop
    revision_before = Page.objects.get(pk=shop.pk).latest_revision_id
    client.force_login(staff_of(vendor))
    response = edit_page(client, shop, "publish", **fields)
    assert response.status_code == 200
    assert error in response.content.decode()
    shop = ShopPage.objects.get(pk=shop.pk)
    assert (shop.phone_number, shop.phone_orders) == ("", False)
    assert shop.latest_revision_id == revision_before
    assert "Order by phone" not in client.get(item.url).content.decode()


@pytest.mark.django_db
def test_vendor_creates_publishes_and_unpublishes_an_item(client, vendor, designer, category):
    client.force_login(staff_of(vendor))
    response = add_item(client, vendor.shop, designer=designer, category=category)
    assert response.status_code == 302, response.content.decode()[:3000]
    item = ItemPage.objects.get(slug="kelly-28")
    assert item.get_parent().pk == vendor.shop.pk
    assert item.live and item.designer == designer and item.category == category
    assert item.owner == staff_of(vendor)

    page = client.get("/shops/maison-lune/kelly-28/")
    assert page.status_code == 200
    assert "Kelly 28" in page.content.decode() and "Hermès" in page.content.decode()

    unpublish = reverse("wagtailadmin_pages:unpublish", args=[item.pk])
    assert client.get(unpublish).status_code == 200
    assert client.post(unpublish).status_code == 302
    assert not ItemPage.objects.get(pk=item.pk).live
    client.logout()
    assert client.get("/shops/maison-lune/kelly-28/").status_code == 404


@pytest.mark.django_db
def test_vendor_edits_an_item_and_publishes_the_change(client, vendor, designer, category):
    item = _item(vendor.shop, "Kelly 28", designer=designer, category=category)
    client.force_login(staff_of(vendor))
    response = edit_page(client, item, "publish", price="5900.00")
    assert response.status_code == 302
    # Stock is not in the page form: the shop sets it with the stock control.
    stock = reverse("products_stock:edit", args=[item.pk])
    assert client.post(stock, {"quantity": "0"}).status_code == 302
    item.refresh_from_db()
    assert (item.price, item.quantity, item.live) == (Decimal("5900.00"), 0, True)
    assert "Sold" in client.get(item.url).content.decode()


# --- 5. moderated vendors and editors ------------------------------------------------------------


@pytest.mark.django_db
def test_moderated_vendor_submits_and_editor_approves(
    client, moderated, editor, designer, category
):
    staff = staff_of(moderated)
    client.force_login(staff)
    add_url = reverse("wagtailadmin_pages:add", args=["products", "itempage", moderated.shop.pk])
    add_form = client.get(add_url).content.decode()
    assert 'name="action-publish"' not in add_form
    assert 'name="action-submit"' in add_form

    response = add_item(
        client, moderated.shop, designer=designer, category=category, action="submit"
    )
    assert response.status_code == 302
    item = ItemPage.objects.get(slug="kelly-28")
    assert not item.live
    state = WorkflowState.objects.get(object_id=str(item.pk))
    assert state.status == WorkflowState.STATUS_IN_PROGRESS
    assert state.workflow.name == "Vendor content review"
    assert client.get("/shops/atelier-noir/kelly-28/").status_code == 404

    # The vendor's own dashboard counts it as awaiting review.
    assert re.search(r"<dt>Awaiting review</dt><dd>1</dd>", client.get("/admin/").content.decode())

    client.force_login(editor)
    dashboard = client.get("/admin/").content.decode()
    assert "Awaiting your review" in dashboard
    assert "Kelly 28" in dashboard
    task_state = state.current_task_state
    approve = reverse(
        "wagtailadmin_pages:workflow_action", args=[item.pk, "approve", task_state.pk]
    )
    assert approve in dashboard, "the dashboard offers the approve action"
    response = client.post(approve, {"comment": "Lovely."})
    assert response.status_code in {200, 302}

    item = ItemPage.objects.get(pk=item.pk)
    assert item.live
    state.refresh_from_db()
    assert state.status == WorkflowState.STATUS_APPROVED
    client.logout()
    assert client.get("/shops/atelier-noir/kelly-28/").status_code == 200


@pytest.mark.django_db
def test_moderated_edit_stays_off_the_site_until_approved(
    client, moderated, editor, designer, category
):
    item = _item(moderated.shop, "Kelly 28", designer=designer, category=category)
    client.force_login(staff_of(moderated))
    assert (
        'name="action-publish"'
        not in client.get(reverse("wagtailadmin_pages:edit", args=[item.pk])).content.decode()
    )

    response = edit_page(client, item, "submit", title="Kelly 28 Retourne")
    assert response.status_code == 302
    item = ItemPage.objects.get(pk=item.pk)
    assert item.live and item.title == "Kelly 28", "the live version is unchanged"
    assert item.has_unpublished_changes
    client.logout()
    assert "Retourne" not in client.get(item.url).content.decode()

    client.force_login(editor)
    task_state = WorkflowState.objects.active().get(object_id=str(item.pk)).current_task_state
    approve = reverse(
        "wagtailadmin_pages:workflow_action", args=[item.pk, "approve", task_state.pk]
    )
    assert client.post(approve, {}).status_code in {200, 302}
    client.logout()
    assert "Kelly 28 Retourne" in client.get(item.url).content.decode()


@pytest.mark.django_db
def test_moderated_vendor_cannot_publish_by_posting_the_publish_action(
    client, moderated, designer, category
):
    item = _item(moderated.shop, "Kelly 28", designer=designer, category=category)
    client.force_login(staff_of(moderated))

    response = add_item(
        client,
        moderated.shop,
        designer=designer,
        category=category,
        action="publish",
        title="Birkin 30",
        slug="birkin-30",
    )
    assert response.status_code == 302
    created = ItemPage.objects.get(slug="birkin-30")
    assert not created.live
    assert not WorkflowState.objects.filter(object_id=str(created.pk)).exists()

    edit_page(client, item, "publish", title="Kelly 28 Changed")
    item = ItemPage.objects.get(pk=item.pk)
    assert item.title == "Kelly 28"

    # And the shop page itself (the phone number shoppers would call) goes through review too.
    edit_page(client, moderated.shop, "publish", phone_number="+44 20 7946 0958", phone_orders="on")
    shop = ShopPage.objects.get(pk=moderated.shop.pk)
    assert shop.phone_number == "" and not shop.phone_orders

    # Nor can they take a live item down: unpublishing needs the publish right too.
    assert client.post(reverse("wagtailadmin_pages:unpublish", args=[item.pk])).status_code in {
        302,
        403,
    }
    assert ItemPage.objects.get(pk=item.pk).live


# --- 6. forged fields ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_forged_fields_in_the_shop_form_are_ignored(client, vendor, moderated, designer, category):
    staff = staff_of(vendor)
    other_staff = staff_of(moderated)
    owner_before = Page.objects.get(pk=vendor.shop.pk).owner_id
    before = [vendor_row(vendor), vendor_row(moderated)]
    client.force_login(staff)

    forged = {
        "vendor": str(moderated.pk),
        "owner": str(other_staff.pk),
        "commission_rate": "0",
        "status": "active",
        "requires_moderation": "",
        "group": str(moderated.group_id),
        "collection": str(moderated.collection_id),
        "locked": "on",
        "path": moderated.shop.path,
        "depth": "1",
        "content_type": "1",
    }
    response = edit_page(client, vendor.shop, "publish", intro="Still ours.", **forged)
    assert response.status_code == 302
    shop = ShopPage.objects.get(pk=vendor.shop.pk)
    assert shop.intro == "Still ours."
    assert shop.vendor_id == vendor.pk
    assert shop.owner_id == owner_before
    assert shop.path == vendor.shop.path and not shop.locked
    assert ShopPage.objects.get(pk=moderated.shop.pk).vendor_id == moderated.pk

    response = add_item(client, vendor.shop, designer=designer, category=category, **forged)
    assert response.status_code == 302
    item = ItemPage.objects.get(slug="kelly-28")
    assert item.owner_id == staff.pk
    assert item.get_parent().pk == vendor.shop.pk
    response = edit_page(client, item, "publish", **forged)
    assert response.status_code == 302
    assert ItemPage.objects.get(pk=item.pk).owner_id == staff.pk

    # The account settings are the other form a vendor can post.
    client.post(
        reverse("wagtailadmin_account"),
        {**forged, "is_staff": "on", "is_superuser": "on", "groups": [moderated.group_id]},
    )
    staff.refresh_from_db()
    assert not staff.is_staff and not staff.is_superuser
    assert list(staff.groups.all()) == [vendor.group]
    assert [vendor_row(vendor), vendor_row(moderated)] == before


# --- 7. no raw HTML ------------------------------------------------------------------------------


def _contentstate_with_payload():
    """Draftail contentstate whose text is script and whose link points at javascript:."""
    text = f"{PAYLOAD} click"
    return json.dumps(
        {
            "blocks": [
                {
                    "key": "a1b2c",
                    "type": "unstyled",
                    "depth": 0,
                    "text": text,
                    "inlineStyleRanges": [],
                    "entityRanges": [{"offset": len(text) - 5, "length": 5, "key": 0}],
                }
            ],
            "entityMap": {
                "0": {
                    "type": "LINK",
                    "mutability": "MUTABLE",
                    "data": {"url": "javascript:alert(1)"},
                }
            },
        }
    )


@pytest.mark.django_db
def test_script_in_vendor_fields_is_escaped_everywhere(client, vendor, designer, category):
    client.force_login(staff_of(vendor))
    response = edit_page(
        client,
        vendor.shop,
        "publish",
        intro=PAYLOAD,
        story=_contentstate_with_payload(),
        address=PAYLOAD,
        city=PAYLOAD,
        phone_number="+44 20 7946 0958",
        phone_orders="on",
        phone_hours=PAYLOAD[:120],
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    html_description = (
        f'<p>Soft {SCRIPT}<img src="x" onerror="alert(1)"/>'
        '<a href="javascript:alert(1)">link</a>'
        '<iframe src="https://evil.example"></iframe></p>'
        '<embed embedtype="media" url="https://www.youtube.com/watch?v=1"/>'
    )
    response = add_item(
        client,
        vendor.shop,
        designer=designer,
        category=category,
        title=PAYLOAD,
        slug="payload",
        size=PAYLOAD[:60],
        material=PAYLOAD[:80],
        colour=PAYLOAD[:60],
        description=rich_text(html_description, features=VENDOR_RICH_TEXT_FEATURES),
    )
    assert response.status_code == 302, response.content.decode()[:3000]

    shop = ShopPage.objects.get(pk=vendor.shop.pk)
    item = ItemPage.objects.get(slug="payload")
    assert shop.intro == PAYLOAD and item.title == PAYLOAD, "stored as typed, as plain text"
    for stored in (shop.story, item.description):
        assert_no_live_script(stored)
        assert "<script" not in stored and "<img" not in stored, stored
        assert "<iframe" not in stored and "<embed" not in stored, stored
    assert "&lt;script&gt;" in shop.story, "the text survives, escaped"

    client.logout()
    for url in [shop.url, item.url, "/shops/", "/search/?q=alert"]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_no_live_script(response.content.decode())
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in client.get(item.url).content.decode()

    client.force_login(staff_of(vendor))
    for url in [
        reverse("wagtailadmin_pages:edit", args=[item.pk]),
        reverse("wagtailadmin_pages:edit", args=[shop.pk]),
        reverse("wagtailadmin_explore", args=[shop.pk]),
        reverse("wagtailadmin_pages:history", args=[item.pk]),
        "/admin/",
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_no_live_script(response.content.decode())
    edit_html = client.get(reverse("wagtailadmin_pages:edit", args=[item.pk])).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in edit_html, "shown, as text"


@pytest.mark.django_db
def test_raw_html_posted_instead_of_contentstate_is_not_stored(client, vendor):
    """A hand-made POST with HTML in a rich text field gets a form error, never stored as HTML
    (marketplace.rich_text; every shape of forged value is in marketplace/tests/test_rich_text_forged.py)."""
    client.force_login(staff_of(vendor))
    response = edit_page(client, vendor.shop, "publish", story=f"<p>{PAYLOAD}</p>")
    assert response.status_code == 200
    assert "This field could not be read; please re-enter it." in response.content.decode()
    story = ShopPage.objects.get(pk=vendor.shop.pk).story
    assert "<script" not in story and "<img" not in story


def _blocks(block):
    yield block
    children = getattr(block, "child_blocks", None) or {}
    for child in children.values():
        yield from _blocks(child)
    if getattr(block, "child_block", None) is not None:
        yield from _blocks(block.child_block)


def test_no_raw_html_block_anywhere_and_vendor_rich_text_is_limited():
    stream_fields = 0
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if isinstance(field, StreamField):
                stream_fields += 1
                for block in _blocks(field.stream_block):
                    assert not isinstance(block, blocks.RawHTMLBlock), (
                        f"{model.__name__}.{field.name} allows raw HTML"
                    )
    vendor_rich_text = [
        (model, field)
        for model in (ShopPage, ItemPage)
        for field in model._meta.get_fields()
        if isinstance(field, RichTextField)
    ]
    assert {(m.__name__, f.name) for m, f in vendor_rich_text} == {
        ("ShopPage", "story"),
        ("ItemPage", "description"),
    }
    for _model, field in vendor_rich_text:
        assert field.features == VENDOR_RICH_TEXT_FEATURES
        assert not {"embed", "image", "document-link", "code"} & set(field.features)
    assert not any(isinstance(f, StreamField) for m in (ShopPage, ItemPage) for f in m._meta.fields)


# --- 8. vendor dashboard -------------------------------------------------------------------------


def _dashboard_numbers(html):
    return {label: int(n) for label, n in re.findall(r"<dt>([^<]+)</dt><dd>(\d+)</dd>", html)}


@pytest.mark.django_db
def test_vendor_dashboard_counts_match_the_shop(client, vendor, moderated, designer, category):
    shop = vendor.shop
    staff = staff_of(vendor)
    for n in range(3):
        _item(shop, f"For sale {n}", designer=designer, category=category)
    _item(shop, "Sold one", designer=designer, category=category, quantity=0)
    _item(shop, "Draft one", designer=designer, category=category, publish=False)
    waiting = _item(shop, "Waiting one", designer=designer, category=category, publish=False)
    Workflow.objects.get(name="Vendor content review").start(waiting, staff)
    # Another shop's items count for nobody here.
    _item(moderated.shop, "Elsewhere", designer=designer, category=category)

    client.force_login(staff)
    html = client.get("/admin/").content.decode()
    assert 'class="w-panel vendor-dashboard"' in html
    assert "Maison Lune" in html
    assert _dashboard_numbers(html) == {
        "Items for sale": 3,
        "Sold": 1,
        "Drafts": 2,
        "Awaiting review": 1,
    }
    assert f'href="{reverse("wagtailadmin_explore", args=[shop.pk])}"' in html
    assert f'href="{reverse("wagtailadmin_pages:edit", args=[shop.pk])}"' in html
    assert 'href="/shops/maison-lune/"' in html
    assert "suspended" not in html.lower()


@pytest.mark.django_db
def test_suspended_vendor_sees_the_notice(client, vendor):
    # Status changed behind the service's back: the group still has admin access.
    Vendor.objects.filter(pk=vendor.pk).update(status=Vendor.Status.SUSPENDED)
    client.force_login(staff_of(vendor))
    html = client.get("/admin/").content.decode()
    assert "This shop is suspended" in html

    vendor.refresh_from_db()
    data = vendor_dashboard(vendor=vendor)
    assert data["vendor"].status == "suspended"
    assert "This shop is suspended" in VendorDashboardPanel(vendor).render_html({})


@pytest.mark.django_db
def test_superuser_and_editor_dashboards_have_no_vendor_panel(client, vendor, superuser, editor):
    for user in (superuser, editor):
        client.force_login(user)
        response = client.get("/admin/")
        assert response.status_code == 200
        assert "vendor-dashboard" not in response.content.decode()
