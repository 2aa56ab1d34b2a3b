"""Onboarding a vendor: one transaction makes the vendor, shop, group, collection and staff login.

Through the real service and `manage.py create_vendor`; the staff admin form is tested in
test_vendor_admin.py. The invitation email's link is followed to a working login.
"""

import re
from decimal import Decimal
from io import StringIO

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from wagtail.models import (
    Collection,
    GroupCollectionPermission,
    GroupPagePermission,
    Page,
    WorkflowPage,
)

import pytest

from vendors.models import ShopPage, Vendor
from vendors.services import vendor_onboard

User = get_user_model()
PASSWORD = "Velvet-Lantern-Quay-73"


def _onboard(captured, **kwargs):
    with captured(execute=True):
        return vendor_onboard(
            **{
                "name": "Maison Lune",
                "contact_email": "hello@maison-lune.example",
                "staff_email": "clara@maison-lune.example",
                **kwargs,
            }
        )


def _counts():
    return {
        "vendors": Vendor.objects.count(),
        "groups": Group.objects.count(),
        "collections": Collection.objects.count(),
        "pages": Page.objects.count(),
        "users": User.objects.count(),
        "page_perms": GroupPagePermission.objects.count(),
        "collection_perms": GroupCollectionPermission.objects.count(),
        "workflow_pages": WorkflowPage.objects.count(),
    }


@pytest.mark.django_db
def test_onboard_creates_shop_group_collection_and_staff(
    site_tree, django_capture_on_commit_callbacks
):
    vendor = _onboard(django_capture_on_commit_callbacks, commission_rate=Decimal("0.12"))
    vendor.refresh_from_db()

    assert vendor.status == Vendor.Status.ACTIVE
    assert vendor.commission_rate == Decimal("0.1200")
    shop = ShopPage.objects.get(vendor=vendor)
    assert shop.live and shop.title == "Maison Lune"
    assert shop.get_parent().specific == site_tree.shop_index
    assert shop.url == "/shops/maison-lune/"

    group = vendor.group
    assert group.name == "Vendor: Maison Lune"
    assert list(group.permissions.values_list("content_type__app_label", "codename")) == [
        ("wagtailadmin", "access_admin")
    ]
    page_perms = GroupPagePermission.objects.filter(group=group)
    assert {p.page_id for p in page_perms} == {shop.pk}, "rights on the shop subtree only"
    assert {p.permission.codename for p in page_perms} == {
        "add_page",
        "change_page",
        "publish_page",
    }
    assert not WorkflowPage.objects.filter(page=shop).exists(), "unmoderated: no review"

    collection = vendor.collection
    assert collection.name == "Maison Lune"
    assert collection.get_parent() == Collection.get_first_root_node()
    collection_perms = GroupCollectionPermission.objects.filter(group=group)
    assert {p.collection_id for p in collection_perms} == {collection.pk}
    assert {p.permission.codename for p in collection_perms} == {
        "add_image",
        "choose_image",
        "change_image",
    }

    user = User.objects.get(email="clara@maison-lune.example")
    assert list(user.groups.all()) == [group]
    assert not user.is_staff and not user.is_superuser
    assert not user.has_usable_password()
    assert user.has_perm("wagtailadmin.access_admin")
    assert not user.has_perm("wagtailcore.add_page"), "no model-wide page rights"

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["clara@maison-lune.example"]
    assert "Maison Lune" in mail.outbox[0].subject


@pytest.mark.django_db
def test_moderated_vendor_may_only_submit_for_review(site_tree, django_capture_on_commit_callbacks):
    vendor = _onboard(django_capture_on_commit_callbacks, requires_moderation=True)
    perms = GroupPagePermission.objects.filter(group=vendor.group)
    assert {p.permission.codename for p in perms} == {"add_page", "change_page"}
    assert {p.page_id for p in perms} == {vendor.shop.pk}
    assert WorkflowPage.objects.get(page=vendor.shop).workflow.name == "Vendor content review"


@pytest.mark.django_db
def test_invitation_is_sent_only_after_commit(site_tree, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        vendor_onboard(
            name="Maison Lune",
            contact_email="hello@maison-lune.example",
            staff_email="clara@maison-lune.example",
        )
    assert mail.outbox == [], "no email before the transaction commits"
    for callback in callbacks:  # the invitation, and the page cache invalidation
        callback()
    assert [message.to for message in mail.outbox] == [["clara@maison-lune.example"]]


@pytest.mark.django_db
def test_invitation_link_sets_a_password_that_logs_in(
    client, site_tree, django_capture_on_commit_callbacks
):
    _onboard(django_capture_on_commit_callbacks)
    body = mail.outbox[0].body
    link = re.search(r"http://testserver(/admin/password_reset/\S+)", body)
    assert link, body
    assert "clara@maison-lune.example" in body  # the username to sign in with

    # Django's confirm view swaps the token for a session and redirects to the set-password form.
    response = client.get(link.group(1), follow=True)
    assert response.status_code == 200
    set_password_url = response.redirect_chain[-1][0]
    assert 'name="new_password1"' in response.content.decode()

    response = client.post(set_password_url, {"new_password1": PASSWORD, "new_password2": PASSWORD})
    assert response.status_code == 302
    client.logout()

    response = client.post(
        "/admin/login/", {"username": "clara@maison-lune.example", "password": PASSWORD}
    )
    assert response.status_code == 302 and response["Location"] == "/admin/"
    home = client.get("/admin/")
    assert home.status_code == 200
    assert "Maison Lune" in home.content.decode()

    # The link is single use: once the password is set the token no longer works.
    client.logout()
    reused = client.get(link.group(1), follow=True)
    assert 'name="new_password1"' not in reused.content.decode()


@pytest.mark.django_db
def test_duplicate_vendor_name_leaves_nothing_behind(site_tree, django_capture_on_commit_callbacks):
    _onboard(django_capture_on_commit_callbacks)
    mail.outbox.clear()
    before = _counts()
    with pytest.raises(ValidationError) as error, django_capture_on_commit_callbacks(execute=True):
        vendor_onboard(
            name="Maison Lune", contact_email="other@example.com", staff_email="x@example.com"
        )
    assert "name" in error.value.message_dict
    assert _counts() == before
    assert mail.outbox == []


@pytest.mark.django_db
def test_taken_username_rolls_back_group_collection_and_page(
    site_tree, django_capture_on_commit_callbacks
):
    """The user is made last: a clash there must undo everything made before it."""
    User.objects.create_user(username="taken", email="taken@example.com")
    before = _counts()
    with pytest.raises(ValidationError), django_capture_on_commit_callbacks(execute=True):
        vendor_onboard(
            name="Atelier Noir",
            contact_email="hi@noir.example",
            staff_email="staff@noir.example",
            staff_username="taken",
        )
    assert _counts() == before
    assert not Group.objects.filter(name="Vendor: Atelier Noir").exists()
    assert not Collection.objects.filter(name="Atelier Noir").exists()
    assert not Page.objects.filter(slug="atelier-noir").exists()
    assert mail.outbox == []


@pytest.mark.django_db
def test_clashing_shop_slug_rolls_back(site_tree, django_capture_on_commit_callbacks):
    """A different name with the same slug fails at the page, after group and collection."""
    _onboard(django_capture_on_commit_callbacks)
    mail.outbox.clear()
    before = _counts()
    with pytest.raises(ValidationError), django_capture_on_commit_callbacks(execute=True):
        vendor_onboard(
            name="Maison-Lune", contact_email="hi@other.example", staff_email="s@other.example"
        )
    assert _counts() == before
    assert not Group.objects.filter(name="Vendor: Maison-Lune").exists()
    assert mail.outbox == []


# --- manage.py create_vendor ---------------------------------------------------------------------


def _command(*args):
    out = StringIO()
    call_command("create_vendor", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_command_onboards_and_prints_the_shop_url(site_tree, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        out = _command(
            "--shop", "Maison Lune", "--email", "clara@maison-lune.example", "--commission", "0.12"
        )
    vendor = Vendor.objects.get(name="Maison Lune")
    assert "/shops/maison-lune/" in out
    assert vendor.commission_rate == Decimal("0.1200")
    assert vendor.contact_email == "clara@maison-lune.example"
    assert not vendor.requires_moderation
    assert vendor.shop.live
    assert vendor.group.user_set.get().email == "clara@maison-lune.example"
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_command_moderated(site_tree, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _command("--shop", "Atelier Noir", "--email", "a@noir.example", "--moderated")
    vendor = Vendor.objects.get(name="Atelier Noir")
    assert vendor.requires_moderation
    assert WorkflowPage.objects.filter(page=vendor.shop).exists()
    codenames = set(
        GroupPagePermission.objects.filter(group=vendor.group).values_list(
            "permission__codename", flat=True
        )
    )
    assert codenames == {"add_page", "change_page"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("commission", "message"),
    [
        ("abc", "--commission must be a decimal"),
        ("1.5", "less than or equal to 1"),
        ("-0.1", "greater than or equal to 0"),
        ("NaN", "must be a decimal"),
        ("Infinity", "(?i)decimal|less than or equal to 1"),
    ],
)
def test_command_refuses_a_bad_commission(site_tree, commission, message):
    before = _counts()
    with pytest.raises(CommandError, match=message):
        _command("--shop", "Maison Lune", "--email", "a@b.example", "--commission", commission)
    assert _counts() == before


@pytest.mark.django_db
def test_command_refuses_a_duplicate_shop(site_tree, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _command("--shop", "Maison Lune", "--email", "a@lune.example")
    before = _counts()
    with pytest.raises(CommandError, match="(?i)name already exists"):
        _command("--shop", "Maison Lune", "--email", "b@lune.example")
    assert _counts() == before


@pytest.mark.django_db
def test_command_refuses_a_taken_username(site_tree):
    User.objects.create_user(username="a@lune.example", email="a@lune.example")
    before = _counts()
    with pytest.raises(CommandError, match="(?i)username already exists"):
        _command("--shop", "Maison Lune", "--email", "a@lune.example")
    assert _counts() == before


@pytest.mark.django_db
def test_a_mail_server_error_never_undoes_or_fails_the_onboarding(
    client, site_tree, settings, caplog, django_capture_on_commit_callbacks
):
    """The invitation goes through the task queue after commit: an SMTP error is logged by
    the task and the staff view still answers with the new shop (it was a 500 after the
    vendor had been saved)."""
    settings.EMAIL_BACKEND = "marketplace.tests.failing_mail.RefusingBackend"
    staff = User.objects.create_superuser("root", "root@vitrine.example", "pw-long-enough-1")
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("vendors:add"),
            {
                "name": "Maison Lune",
                "contact_email": "hello@maison-lune.example",
                "staff_email": "clara@maison-lune.example",
                "commission_rate": "0.15",
            },
        )
    assert response.status_code in (200, 302)
    assert Vendor.objects.filter(name="Maison Lune").exists()
    assert User.objects.filter(email="clara@maison-lune.example").exists()
    assert "the mail server went away" in caplog.text
