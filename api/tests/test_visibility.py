"""Every endpoint lists only live, public objects of visible shops; anything else is a 404."""

from wagtail.models import PageViewRestriction

import pytest

from products.factories import DesignerFactory, ItemPageFactory
from vendors.factories import ShopPageFactory

from .helpers import get_json, listed_ids


@pytest.fixture
def world(site_tree):
    """A visible shop with a visible item, and every way an item or shop can be hidden."""

    class World:
        pass

    w = World()
    w.designer = DesignerFactory(name="Maison Claire")
    w.shop = ShopPageFactory(vendor__name="Open Shop")
    w.item = ItemPageFactory(parent=w.shop, designer=w.designer)
    w.sold = ItemPageFactory(parent=w.shop, designer=w.designer, sold=True)

    w.unpublished_item = ItemPageFactory(parent=w.shop, designer=w.designer)
    w.unpublished_item.unpublish()
    w.draft_item = ItemPageFactory(parent=w.shop, designer=w.designer, live=False)

    # Unpublishing a shop leaves its items live: they must go with it.
    w.closed_shop = ShopPageFactory(vendor__name="Closed Shop")
    w.item_in_closed_shop = ItemPageFactory(parent=w.closed_shop, designer=w.designer)
    w.closed_shop.unpublish()

    w.suspended_shop = ShopPageFactory(vendor__name="Suspended Shop", vendor__status="suspended")
    w.item_in_suspended_shop = ItemPageFactory(parent=w.suspended_shop, designer=w.designer)

    w.private_shop = ShopPageFactory(vendor__name="Private Shop")
    w.item_in_private_shop = ItemPageFactory(parent=w.private_shop, designer=w.designer)
    PageViewRestriction.objects.create(
        page=w.private_shop, restriction_type=PageViewRestriction.PASSWORD, password="sesame"
    )
    w.private_item = ItemPageFactory(parent=w.shop, designer=w.designer)
    PageViewRestriction.objects.create(
        page=w.private_item, restriction_type=PageViewRestriction.LOGIN
    )

    w.hidden_shops = [w.closed_shop, w.suspended_shop, w.private_shop]
    w.hidden_items = [
        w.unpublished_item,
        w.draft_item,
        w.item_in_closed_shop,
        w.item_in_suspended_shop,
        w.item_in_private_shop,
        w.private_item,
    ]
    return w


@pytest.mark.django_db
def test_items_lists_only_live_public_items_of_visible_shops(client, world):
    assert listed_ids(client, "items") == {world.item.pk, world.sold.pk}


@pytest.mark.django_db
def test_shops_lists_only_live_public_shops_of_active_vendors(client, world):
    assert listed_ids(client, "shops") == {world.shop.pk}


@pytest.mark.django_db
def test_hidden_items_and_shops_have_no_detail(client, world):
    for item in world.hidden_items:
        get_json(client, f"/api/v2/items/{item.pk}/", status=404)
    for shop in world.hidden_shops:
        get_json(client, f"/api/v2/shops/{shop.pk}/", status=404)
    get_json(client, f"/api/v2/items/{world.item.pk}/")
    get_json(client, f"/api/v2/shops/{world.shop.pk}/")


@pytest.mark.django_db
def test_each_endpoint_serves_its_own_type_only(client, world, site_tree):
    get_json(client, f"/api/v2/items/{world.shop.pk}/", status=404)
    get_json(client, f"/api/v2/shops/{world.item.pk}/", status=404)
    for page in (site_tree.home, site_tree.shop_index, site_tree.designer_index):
        get_json(client, f"/api/v2/items/{page.pk}/", status=404)
        get_json(client, f"/api/v2/shops/{page.pk}/", status=404)


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", ["pages", "images", "documents"])
def test_no_generic_wagtail_endpoints(client, world, endpoint):
    assert client.get(f"/api/v2/{endpoint}/").status_code == 404
    assert client.get(f"/api/v2/{endpoint}/{world.item.pk}/").status_code == 404


@pytest.mark.django_db
def test_designers_count_only_visible_pieces_for_sale(client, world):
    idle = DesignerFactory(name="Atelier Idle")
    data = get_json(client, "/api/v2/designers/")
    counts = {row["id"]: row["item_count"] for row in data["items"]}
    # Every designer is listed (as on /designers/); only the visible, unsold item counts.
    assert counts == {world.designer.pk: 1, idle.pk: 0}
    detail = get_json(client, f"/api/v2/designers/{world.designer.pk}/")
    assert detail["item_count"] == 1


@pytest.mark.django_db
def test_shop_counts_and_facets_ignore_hidden_items(client, world):
    shop = get_json(client, f"/api/v2/shops/{world.shop.pk}/")
    assert shop["item_count"] == 1  # the sold, unpublished, draft and private ones don't count
    assert [d["slug"] for d in shop["designers"]] == [world.designer.slug]


@pytest.mark.django_db
def test_a_restriction_on_the_shop_index_hides_every_shop_and_item(client, world, site_tree):
    PageViewRestriction.objects.create(
        page=site_tree.shop_index, restriction_type=PageViewRestriction.LOGIN
    )
    assert listed_ids(client, "items") == set()
    assert listed_ids(client, "shops") == set()


@pytest.mark.django_db
def test_a_signed_in_superuser_sees_what_everyone_sees(client, world, django_user_model):
    """No authentication: private pages stay out even for staff, so responses are shareable."""
    client.force_login(
        django_user_model.objects.create_superuser(
            username="boss", email="boss@vitrine.example", password="a-long-passphrase-1"
        )
    )
    assert listed_ids(client, "items") == {world.item.pk, world.sold.pk}
    get_json(client, f"/api/v2/items/{world.private_item.pk}/", status=404)


@pytest.mark.django_db
def test_a_draft_revision_of_a_live_item_is_not_served(client, world):
    world.item.title = "Unreleased draft title"
    world.item.price = "1.00"
    world.item.save_revision()
    data = get_json(client, f"/api/v2/items/{world.item.pk}/")
    assert data["title"] != "Unreleased draft title"
    assert data["price"] == "495.00"


@pytest.mark.django_db
def test_huge_and_zero_ids_are_404(client, world):
    for pk in ("0", "99999999999999999999999"):
        for endpoint in ("items", "shops", "designers"):
            assert client.get(f"/api/v2/{endpoint}/{pk}/").status_code == 404
