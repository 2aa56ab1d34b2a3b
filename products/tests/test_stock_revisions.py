"""Stock is not part of page revisions (issue 14).

A piece sells (the order system lowers `ItemPage.quantity` with a queryset update) while a
vendor's draft, a revision waiting for approval, or an old revision still says it is in stock.
Publishing, approving, reverting to, previewing, copying or moving that page must never put the
piece back on sale: only the order system and the vendor's stock control write stock.
"""

import importlib
import threading

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection, connections
from django.db.models import F
from django.urls import reverse

from wagtail.models import Revision, Workflow, WorkflowState
from wagtail.test.utils.form_data import querydict_from_html

import pytest

from products.models import ItemPage

from .stock_helpers import make_item, onboard, stock

User = get_user_model()


def sell(item, n=1):
    """What orders.services.order_mark_paid does to stock when a payment succeeds."""
    ItemPage.objects.filter(pk=item.pk).update(quantity=F("quantity") - n)


@pytest.fixture
def vendor(site_tree):
    return onboard("Maison Lune")


@pytest.fixture
def staff(vendor):
    return vendor.group.user_set.get()


@pytest.fixture
def item(vendor, staff):
    return make_item(vendor.shop, user=staff)


@pytest.mark.django_db
def test_revisions_do_not_store_stock(item):
    content = item.save_revision().content
    assert "quantity" not in content and "held_until" not in content
    assert content["title"] == "Kelly 28"


@pytest.mark.django_db
def test_publishing_a_draft_saved_before_the_sale_keeps_the_piece_sold(item, staff):
    draft = ItemPage.objects.get(pk=item.pk)
    draft.title = "Kelly 28 Sellier"
    revision = draft.save_revision(user=staff)
    sell(item)
    revision.publish(user=staff)
    assert stock(item) == 0
    assert ItemPage.objects.get(pk=item.pk).title == "Kelly 28 Sellier"


@pytest.mark.django_db
def test_saving_a_stale_page_object_keeps_the_sale(item):
    stale = ItemPage.objects.get(pk=item.pk)
    sell(item)
    stale.title = "Kelly 28 Sellier"
    stale.save()
    stale.save_revision().publish()
    assert stock(item) == 0


@pytest.mark.django_db
def test_reverting_to_an_old_revision_keeps_the_piece_sold(item, staff):
    old = item.latest_revision
    item.title = "Kelly 28 (newer)"
    item.save_revision(user=staff).publish()
    sell(item)
    old.publish(user=staff)  # what the admin's "revert" and "publish this revision" do
    assert stock(item) == 0
    assert ItemPage.objects.get(pk=item.pk).title == "Kelly 28"


@pytest.mark.django_db
def test_approving_a_revision_submitted_before_the_sale_keeps_the_piece_sold(client, site_tree):
    moderated = onboard("Atelier Noir", requires_moderation=True)
    vendor_staff = moderated.group.user_set.get()
    item = make_item(moderated.shop, user=vendor_staff)
    item.title = "Kelly 28 Retourne"
    item.save_revision(user=vendor_staff)
    Workflow.objects.get(name="Vendor content review").start(item, vendor_staff)
    sell(item)

    editor = User.objects.create_user("eddie", "eddie@vitrine.example")
    editor.groups.add(Group.objects.get(name="Editors"))
    client.force_login(editor)
    task_state = WorkflowState.objects.active().get(object_id=str(item.pk)).current_task_state
    approve = reverse(
        "wagtailadmin_pages:workflow_action", args=[item.pk, "approve", task_state.pk]
    )
    assert client.post(approve, {}).status_code in {200, 302}

    approved = ItemPage.objects.get(pk=item.pk)
    assert approved.title == "Kelly 28 Retourne", "the approval did publish"
    assert approved.quantity == 0


@pytest.mark.django_db
def test_a_copy_has_its_own_stock_and_leaves_the_source_alone(item, vendor, staff):
    item.title = "Kelly 28 draft"
    item.save_revision(user=staff)  # a draft written while the piece was for sale
    sell(item)
    source = ItemPage.objects.get(pk=item.pk)
    copy = source.copy(
        update_attrs={"title": "Kelly 32", "slug": "kelly-32"}, user=staff, keep_live=False
    ).specific
    assert stock(copy) == 0, "a copy starts with the source's current stock"
    copy.get_latest_revision().publish(user=staff)
    assert (stock(item), stock(copy)) == (0, 0)

    # From then on each has its own stock.
    ItemPage.objects.filter(pk=copy.pk).update(quantity=3)
    assert (stock(item), stock(copy)) == (0, 3)
    copy_of_copy = ItemPage.objects.get(pk=copy.pk).copy(
        update_attrs={"title": "Kelly 35", "slug": "kelly-35"}, user=staff, keep_live=True
    )
    assert (stock(item), stock(copy), stock(copy_of_copy)) == (0, 3, 3)
    assert ItemPage.objects.get(pk=copy_of_copy.pk).held_until is None


@pytest.mark.django_db
def test_moving_a_page_keeps_its_stock(item, vendor, staff, site_tree):
    other_shop = onboard("Maison Soleil").shop
    stale = ItemPage.objects.get(pk=item.pk)
    item.title = "Kelly 28 draft"
    item.save_revision(user=staff)
    sell(item)
    stale.move(other_shop, pos="last-child")
    ItemPage.objects.get(pk=item.pk).get_latest_revision().publish()
    assert stock(item) == 0
    assert ItemPage.objects.get(pk=item.pk).get_parent().pk == other_shop.pk


@pytest.mark.django_db
def test_a_forged_quantity_in_the_admin_edit_form_is_ignored(client, item, staff):
    client.force_login(staff)
    url = reverse("wagtailadmin_pages:edit", args=[item.pk])
    form_html = client.get(url).content.decode()
    assert 'name="quantity"' not in form_html, "stock is not edited in the page form"
    data = querydict_from_html(form_html, form_id="page-edit-form")
    sell(item)  # the piece sells while the vendor has the form open
    data["title"] = "Kelly 28 Sellier"
    data["quantity"] = "5"
    data["action-publish"] = "1"
    assert client.post(url, data).status_code == 302
    item = ItemPage.objects.get(pk=item.pk)
    assert (item.title, item.quantity) == ("Kelly 28 Sellier", 0)


@pytest.mark.django_db
def test_previewing_an_old_revision_shows_the_real_stock(client, item, staff):
    old = item.latest_revision
    sell(item)
    client.force_login(staff)
    response = client.get(reverse("wagtailadmin_pages:revisions_view", args=[item.pk, old.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<p class="sold-note__title">Sold</p>' in html
    assert 'action="/cart/add/"' not in html


@pytest.mark.django_db
def test_the_migration_strips_stock_from_stored_revisions(item):
    revision = item.latest_revision
    Revision.objects.filter(pk=revision.pk).update(
        content={**revision.content, "quantity": 7, "held_until": None}
    )
    migration = importlib.import_module("products.migrations.0004_revisions_without_stock")
    migration.strip_stock_from_revisions(apps, None)
    revision.refresh_from_db()
    assert "quantity" not in revision.content and "held_until" not in revision.content
    assert revision.content["title"] == "Kelly 28"
    assert stock(item) == 1, "today's stock stays as it is"


# --- PostgreSQL: a publish racing a sale ---------------------------------------------------------


def run_at_once(*targets) -> list[BaseException]:
    """Run each target in its own thread, released together; return the errors raised."""
    barrier = threading.Barrier(len(targets))
    errors = []

    def worker(target):
        try:
            barrier.wait(timeout=10)
            target()
        except BaseException as error:  # noqa: BLE001 - reported to the test
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads), "a thread hung (deadlock?)"
    return errors


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="row-lock races need PostgreSQL: set DATABASE_URL=postgres://... to run them",
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_publish_racing_the_sale_never_puts_the_piece_back(site_tree):
    vendor = onboard("Maison Lune")
    staff = vendor.group.user_set.get()
    for round_ in range(5):
        item = make_item(vendor.shop, f"Piece {round_}", user=staff)
        item.title = f"Piece {round_} (edited)"
        revision = item.save_revision(user=staff)
        errors = run_at_once(lambda: revision.publish(user=staff), lambda: sell(item))  # noqa: B023
        assert not errors, errors
        assert stock(item) == 0, f"round {round_}: the piece is on sale again"
        assert ItemPage.objects.get(pk=item.pk).title.endswith("(edited)")


@pytest.mark.django_db
def test_comparing_and_copying_in_the_admin_still_work(client, item, vendor, staff):
    old = item.latest_revision
    item.title = "Kelly 28 Sellier"
    new = item.save_revision(user=staff)
    client.force_login(staff)
    compare = reverse(
        "wagtailadmin_pages:revisions_compare", args=[item.pk, old.pk, new.pk]
    )  # fmt: skip
    response = client.get(compare)
    assert response.status_code == 200 and "Sellier" in response.content.decode()

    sell(item)
    copy_url = reverse("wagtailadmin_pages:copy", args=[item.pk])
    assert client.get(copy_url).status_code == 200
    response = client.post(
        copy_url,
        {"new_title": "Kelly 32", "new_slug": "kelly-32", "new_parent_page": vendor.shop.pk},
    )
    assert response.status_code == 302
    copy = ItemPage.objects.get(slug="kelly-32")
    assert (stock(item), copy.quantity, copy.held_until) == (0, 0, None)
    assert "quantity" not in copy.latest_revision.content
