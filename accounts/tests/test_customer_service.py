"""Need-to-know access to customer records in the admin, with the customer's audit log."""

from django.contrib.auth.models import Group
from django.test import Client

import pytest

from accounts import services
from accounts.factories import AddressFactory, UserFactory
from accounts.models import ConsentRecord, PiiAccessLog
from vendors.factories import ShopPageFactory

from .helpers import PASSWORD

pytestmark = pytest.mark.django_db


# --- Need-to-know access to customer records -----------------------------------------------------


@pytest.fixture
def agent(db):
    user = UserFactory(username="cas", first_name="Cas", last_name="Agent", is_staff=True)
    user.groups.add(Group.objects.get(name="Customer service"))
    return user


def test_customer_service_group_is_created_with_the_permission():
    group = Group.objects.get(name="Customer service")
    codenames = set(group.permissions.values_list("codename", flat=True))
    assert {"access_admin", "view_customer_pii"} <= codenames
    assert not codenames & {"add_user", "change_user", "delete_user"}
    assert not Group.objects.filter(
        name="Editors", permissions__codename="view_customer_pii"
    ).exists()


def test_customer_service_views_are_logged_and_the_customer_sees_the_log(client, agent, shopper):
    AddressFactory(user=shopper, line1="7 Own Street")
    client.force_login(agent)
    listing = client.get("/admin/customers/")
    assert listing.status_code == 200 and "ada" in listing.content.decode()
    assert not PiiAccessLog.objects.exists()  # the list shows usernames only
    record = client.get(f"/admin/customers/{shopper.pk}/")
    assert record.status_code == 200
    assert (
        "ada@example.com" in record.content.decode() and "7 Own Street" in record.content.decode()
    )
    entry = PiiAccessLog.objects.get()
    assert (entry.customer, entry.viewer, entry.viewer_name) == (shopper, agent, "Cas Agent")
    assert entry.path == f"/admin/customers/{shopper.pk}/" and entry.created_at

    mine = Client()
    mine.force_login(shopper)
    page = mine.get("/account/access-log/").content.decode()
    assert "Cas Agent" in page and "customer record" in page


def test_staff_record_an_opt_out_in_the_ledger(client, agent, shopper):
    services.preferences_update(user=shopper, changes={"promotional_emails": True}, source="form")
    client.force_login(agent)
    client.post(f"/admin/customers/{shopper.pk}/unsubscribe/")
    shopper.refresh_from_db()
    assert not shopper.promotional_emails
    record = ConsentRecord.objects.filter(source="admin").get()
    assert record.changed_by == agent and record.get_source_display() == "Staff in the admin"


def test_editors_cannot_list_or_open_customers(client, shopper):
    editor = UserFactory(username="ed", is_staff=True)
    editor.groups.add(Group.objects.get(name="Editors"))
    client.force_login(editor)
    assert client.get("/admin/").status_code == 200  # they do have the admin
    for path in [
        "/admin/customers/",
        f"/admin/customers/{shopper.pk}/",
        "/admin/users/",
        f"/admin/users/edit/{shopper.pk}/",
    ]:
        response = client.get(path)
        assert response.status_code in (302, 403), path
        assert "ada@example.com" not in response.content.decode()
    assert not PiiAccessLog.objects.exists()
    assert "/admin/customers/" not in client.get("/admin/").content.decode()


def test_vendors_cannot_list_customers(client, shopper, site_tree):
    from vendors.services import vendor_add_staff

    shop = ShopPageFactory()
    shop.vendor.group = Group.objects.create(name="Vendor: test shop")
    shop.vendor.save()

    vendor_user = vendor_add_staff(
        vendor=shop.vendor, email="staff@shop.example", username="shopstaff", password=PASSWORD
    )
    client.force_login(vendor_user)
    for path in [
        "/admin/customers/",
        f"/admin/customers/{shopper.pk}/",
        "/admin/users/",
        f"/admin/users/edit/{shopper.pk}/",
    ]:
        response = client.get(path)
        assert response.status_code in (302, 403), path
        assert "ada@example.com" not in response.content.decode()


def test_admins_opening_a_customer_in_the_user_editor_is_logged(client, shopper):
    admin = UserFactory(username="root", superuser=True)
    client.force_login(admin)
    assert client.get(f"/admin/users/edit/{shopper.pk}/").status_code == 200
    assert PiiAccessLog.objects.get().customer == shopper
