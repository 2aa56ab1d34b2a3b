"""The vendor's stock control at `/admin/stock/<item page id>/` and `products.services.stock_set`.

Stock is not in the page form (it is not part of revisions): a vendor sets it here, for their
own items only, never below what checkouts in progress hold, and the page's history says who.
"""

import re
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from wagtail.models import PageLogEntry

import pytest

from orders.factories import OrderFactory
from orders.models import Reservation
from products import services
from products.errors import ProductErrorCode, StockNotAllowed
from products.models import ItemPage

from .stock_helpers import make_item, onboard, stock

User = get_user_model()


def hold(item, quantity=1, minutes=10):
    return Reservation.objects.create(
        item=item,
        order=OrderFactory(),
        quantity=quantity,
        expires_at=timezone.now() + timedelta(minutes=minutes),
    )


@pytest.fixture
def lune(site_tree):
    return onboard("Maison Lune")


@pytest.fixture
def soleil(site_tree):
    return onboard("Maison Soleil")


@pytest.fixture
def staff(lune):
    return lune.group.user_set.get()


@pytest.fixture
def item(lune):
    return make_item(lune.shop, "Kelly 28")


def url(item):
    return reverse("products_stock:edit", args=[item.pk])


@pytest.mark.django_db
def test_the_edit_page_shows_the_stock_and_links_to_the_control(client, staff, item):
    client.force_login(staff)
    html = client.get(reverse("wagtailadmin_pages:edit", args=[item.pk])).content.decode()
    assert "In stock: <strong>1</strong>" in html
    assert f'href="{url(item)}"' in html


@pytest.mark.django_db
def test_a_vendor_sets_the_stock_of_their_item(client, staff, item):
    client.force_login(staff)
    page = client.get(url(item))
    assert page.status_code == 200
    assert 'name="quantity"' in page.content.decode()
    response = client.post(url(item), {"quantity": "3"})
    assert response.status_code == 302
    assert response["Location"] == reverse("wagtailadmin_pages:edit", args=[item.pk])
    assert stock(item) == 3
    entry = PageLogEntry.objects.get(page=item, action=services.STOCK_SET_ACTION)
    assert entry.user == staff and entry.data == {"previous": 1, "quantity": 3}
    history = client.get(reverse("wagtailadmin_pages:history", args=[item.pk])).content.decode()
    assert "Stock changed from 1 to 3" in history


@pytest.mark.django_db
def test_setting_stock_changes_nothing_else_and_no_revision(client, staff, item):
    item.title = "Kelly 28 draft"
    item.save_revision()
    revisions = item.revisions.count()
    client.force_login(staff)
    client.post(url(item), {"quantity": "0"})
    after = ItemPage.objects.get(pk=item.pk)
    assert (after.quantity, after.title, after.has_unpublished_changes) == (0, "Kelly 28", True)
    assert after.revisions.count() == revisions
    after.get_latest_revision().publish()  # the draft goes live, the stock stays
    assert stock(item) == 0


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["-1", "10000", "99999999999999999999", "two", "", "1.5"])
def test_bad_input_is_a_form_error(client, staff, item, value):
    client.force_login(staff)
    response = client.post(url(item), {"quantity": value})
    assert response.status_code == 400
    assert "error" in response.content.decode()
    assert stock(item) == 1


@pytest.mark.django_db
def test_stock_cannot_go_below_what_checkouts_hold(client, staff, item):
    ItemPage.objects.filter(pk=item.pk).update(quantity=3)
    hold(item, quantity=2)
    hold(item, quantity=5, minutes=-1)  # expired: holds nothing
    client.force_login(staff)
    page = client.get(url(item)).content.decode()
    assert re.search(r"<dt>Held by checkouts in progress</dt><dd>2</dd>", page)
    response = client.post(url(item), {"quantity": "1"})
    assert response.status_code == 400
    assert "2 held by shoppers checking out" in response.content.decode()
    assert stock(item) == 3
    assert client.post(url(item), {"quantity": "2"}).status_code == 302
    assert stock(item) == 2


@pytest.mark.django_db
def test_raising_stock_above_the_holds_ends_the_reserved_state(staff, item):
    soon = timezone.now() + timedelta(minutes=10)
    ItemPage.objects.filter(pk=item.pk).update(held_until=soon)
    services.stock_set(item=item, quantity=1, by=staff, held=1)
    assert ItemPage.objects.get(pk=item.pk).held_until == soon, "still every piece held"
    services.stock_set(item=item, quantity=2, by=staff, held=1)
    assert ItemPage.objects.get(pk=item.pk).held_until is None


@pytest.mark.django_db
def test_the_service_refuses_out_of_range_levels(staff, item):
    for value in (-1, services.MAX_STOCK + 1):
        with pytest.raises(StockNotAllowed) as error:
            services.stock_set(item=item, quantity=value, by=staff)
        assert error.value.code == ProductErrorCode.STOCK_OUT_OF_RANGE
    with pytest.raises(StockNotAllowed) as error:
        services.stock_set(item=item, quantity=0, by=staff, held=lambda: 1)
    assert (error.value.code, error.value.held) == (ProductErrorCode.STOCK_BELOW_HELD, 1)
    assert stock(item) == 1


@pytest.mark.django_db
def test_a_stock_change_shows_on_cached_listings(client, staff, item, lune, settings):
    settings.VITRINE_PAGE_CACHE_SECONDS = 60
    cache.clear()
    assert "badge--sold" not in client.get(lune.shop.url).content.decode()
    services.stock_set(item=item, quantity=0, by=staff)
    assert "badge--sold" in client.get(lune.shop.url).content.decode()


@pytest.mark.django_db
def test_another_vendor_cannot_see_or_set_the_stock(client, item, soleil):
    client.force_login(soleil.group.user_set.get())
    assert client.get(url(item)).status_code in {403, 404}
    assert client.post(url(item), {"quantity": "9"}).status_code in {403, 404}
    assert stock(item) == 1


@pytest.mark.django_db
def test_only_users_who_may_edit_the_page_set_its_stock(client, item):
    editor = User.objects.create_user("eddie", "eddie@vitrine.example")
    editor.groups.add(Group.objects.get(name="Editors"))  # the admin, but no right on shops
    client.force_login(editor)
    for response in (client.get(url(item)), client.post(url(item), {"quantity": "9"})):
        # Wagtail answers a PermissionDenied in the admin with a redirect home and a message.
        assert (response.status_code, response["Location"]) == (302, "/admin/")
    assert stock(item) == 1
    client.logout()
    response = client.post(url(item), {"quantity": "9"})
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert stock(item) == 1


@pytest.mark.django_db
def test_a_page_that_is_not_an_item_has_no_stock(client, staff, lune):
    client.force_login(staff)
    assert client.get(reverse("products_stock:edit", args=[lune.shop.pk])).status_code == 404
