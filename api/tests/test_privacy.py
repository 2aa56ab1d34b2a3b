"""Nothing private leaves through the API: not a phone number the shop does not publish, and
none of a vendor's terms, accounts or stock, however the fields are asked for."""

import json
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from wagtail.models import Page

import pytest

from marketplace.page_cache import SITE, invalidate
from orders.factories import OrderFactory
from orders.models import Reservation
from products.factories import ItemPageFactory
from vendors.factories import PHONE_E164, ShopPageFactory
from vendors.models import ShopPage
from vendors.services import vendor_onboard, vendor_update

from .helpers import ENDPOINTS, all_keys, get_json

# The number in every form a page or API could print it.
PHONE_FORMS = [PHONE_E164, "2079460958", "20 7946 0958", "7946 0958", "79460958"]

PRIVATE_FIELDS = [
    "quantity",
    "held_until",  # the API says `reserved`, never when a checkout ends
    "reservations",
    "vendor",
    "contact_email",
    "commission",
    "commission_rate",
    "stripe_account_id",
    "requires_moderation",
    "status",
    "owner",
    "locked_by",
    "locked",
    "latest_revision",
    "latest_revision_created_at",
    "draft_title",
    "has_unpublished_changes",
    "live_revision",
    "phone_orders",
    "path",
    "url_path",
    "content_type",
    "parent",
    "alias_of",
    "locale",
    "search_description",
    "seo_title",
    "show_in_menus",
    "group",
    "collection",
    "email",
    "user",
    "users",
]


def urls_for(shop, item, designer) -> list[str]:
    return [
        "/api/v2/",
        "/api/v2/shops/",
        f"/api/v2/shops/{shop.pk}/",
        "/api/v2/items/",
        f"/api/v2/items/{item.pk}/",
        "/api/v2/designers/",
        f"/api/v2/designers/{designer.pk}/",
    ]


def every_response(client, urls) -> list[tuple[str, int, bytes]]:
    """Each URL plain, with `fields=*`, and with each private field name asked for."""
    responses = []
    for url in urls:
        queries = [{}, {"fields": "*"}, {"fields": "*,-id"}]
        queries += [{"fields": name} for name in PRIVATE_FIELDS]
        queries += [{"fields": f"designer({name})"} for name in PRIVATE_FIELDS]
        queries += [{"fields": "designer(*),category(*),shop(*)"}]
        queries += [{name: "1"} for name in PRIVATE_FIELDS]  # as filters
        queries += [{"order": name} for name in PRIVATE_FIELDS]
        for query in queries:
            response = client.get(url, query)
            assert response.status_code in (200, 400), (url, query, response.status_code)
            responses.append((f"{url}?{query}", response.status_code, response.content))
    return responses


@pytest.mark.django_db
def test_phone_number_appears_only_when_the_shop_publishes_it(client, site_tree):
    unpublished = ShopPageFactory(phone_number=PHONE_E164, phone_hours="Mon 9–5")
    item = ItemPageFactory(parent=unpublished)
    urls = urls_for(unpublished, item, item.designer)

    for label, status, body in every_response(client, urls):
        text = body.decode()
        for form in PHONE_FORMS:
            assert form not in text, (label, form)
        assert "Mon 9–5" not in text, label
        if status == 200 and "/shops/" in label and "fields" not in label:
            data = get_json(client, label.split("?")[0])
            rows = data.get("items", [data])
            assert all(row["phone_number"] is None for row in rows)
            assert all(row["phone_hours"] is None for row in rows)

    ShopPage.objects.filter(pk=unpublished.pk).update(phone_orders=True)
    for url in (f"/api/v2/shops/{unpublished.pk}/", "/api/v2/shops/"):
        data = get_json(client, url)
        row = data["items"][0] if "items" in data else data
        assert row["phone_number"] == PHONE_E164
        assert row["phone_hours"] == "Mon 9–5"


@pytest.mark.django_db
def test_no_endpoint_ever_shows_vendor_terms_accounts_stock_or_drafts(client, site_tree):
    """A vendor with every kind of secret; none of them anywhere in any response."""
    vendor = vendor_onboard(
        name="Maison Lumiere",
        contact_email="ledger-7f3a@vendor-secret.example",
        staff_email="staff-9c2e@vendor-secret.example",
        staff_username="staffer_9c2e",
        commission_rate=Decimal("0.1234"),
        requires_moderation=True,
    )
    vendor_update(vendor=vendor, stripe_account_id="acct_SECRET7f3a9c")
    staff = vendor.group.user_set.get()
    shop = vendor.shop
    shop.phone_number = PHONE_E164  # stored, not published
    shop.save()
    item = ItemPageFactory(parent=shop, quantity=3, owner=staff, gallery=1)
    item.save_revision(user=staff)  # a latest revision by the staff user...
    item.title = "Draft title 5d1e never published"
    item.save_revision(user=staff)  # ...with an unpublished draft
    Page.objects.filter(pk=item.pk).update(locked=True, locked_by=staff, locked_at=timezone.now())
    order = OrderFactory(
        email="buyer-4b8d@customer-secret.example",
        subtotal=Decimal("495.00"),
        shipping_name="Ada Secret-Buyer",
        shipping_line1="1 Hidden Lane",
        shipping_city="Bath",
        shipping_postcode="BA1 1AA",
        payment_intent_id="pi_SECRET4b8d",
    )
    Reservation.objects.create(
        item=item, order=order, quantity=1, expires_at=timezone.now() + timedelta(minutes=15)
    )
    secrets = [
        vendor.contact_email,
        "vendor-secret.example",
        "0.1234",
        "12.34",
        "acct_SECRET7f3a9c",
        "SECRET",
        staff.email,
        staff.username,
        "Draft title 5d1e",
        order.reference,
        order.email,
        "Ada Secret-Buyer",
        "Hidden Lane",
        *PHONE_FORMS,
    ]

    responses = every_response(client, urls_for(shop, item, item.designer))
    assert sum(status == 200 for _, status, _ in responses) > 30
    for label, status, body in responses:
        text = body.decode()
        for secret in secrets:
            assert secret not in text, (label, secret)
        if status == 200:
            keys = all_keys(json.loads(text))
            assert not keys & set(PRIVATE_FIELDS) - {"parent"}, (label, keys)
    # `parent` is only the category's parent in the item's category summary.
    item_data = get_json(client, f"/api/v2/items/{item.pk}/", {"fields": "*"})
    assert set(item_data["category"]) == {"id", "name", "slug", "parent"}


@pytest.mark.django_db
def test_stock_and_reservations_change_nothing_in_the_output(client, site_tree):
    """The API says sold or available, like the site: the same bytes for 1 or 3 in stock, with
    or without someone holding one in checkout."""
    item = ItemPageFactory(quantity=1)
    urls = [f"/api/v2/items/{item.pk}/?fields=*", "/api/v2/items/?fields=*", "/api/v2/shops/"]

    def snapshot():
        invalidate(SITE)  # no memoised count may hide a difference
        return [client.get(url).content for url in urls]

    before = snapshot()
    ItemPageFactory._meta.model.objects.filter(pk=item.pk).update(quantity=3)
    assert snapshot() == before
    order = OrderFactory(email="someone@example.com", subtotal=Decimal("495.00"))
    Reservation.objects.create(
        item=item, order=order, quantity=1, expires_at=timezone.now() + timedelta(minutes=15)
    )
    assert snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_unknown_or_private_fields_are_a_400_not_a_leak(client, site_tree, endpoint):
    ItemPageFactory()
    for fields in ("owner", "_,owner,quantity", "commission", "id,commission_rate", "vendor"):
        data = get_json(client, f"/api/v2/{endpoint}/", {"fields": fields}, status=400)
        assert data["message"].startswith("unknown fields"), data
    data = get_json(client, f"/api/v2/{endpoint}/", {"fields": "*,quantity"}, status=400)
    assert data["message"].startswith("fields error"), data


@pytest.mark.django_db
def test_fields_star_is_exactly_the_declared_fields(client, site_tree):
    item = ItemPageFactory(gallery=1)
    shop = item.get_parent()
    expected = {
        "items": {
            "id", "meta", "title", "designer", "category", "shop", "price", "currency",
            "condition", "condition_label", "available", "reserved", "sold", "images", "size",
            "material", "colour", "year",
        },
        "shops": {
            "id", "meta", "title", "intro", "address", "city", "logo", "banner",
            "phone_number", "phone_hours", "item_count", "designers", "categories",
        },
        "designers": {"id", "meta", "name", "slug", "bio", "logo", "item_count"},
    }  # fmt: skip
    detail_only = {"items": {"description"}, "shops": {"story"}, "designers": set()}
    ids = {"items": item.pk, "shops": shop.pk, "designers": item.designer_id}
    for endpoint, fields in expected.items():
        listing = get_json(client, f"/api/v2/{endpoint}/", {"fields": "*"})
        assert set(listing["items"][0]) == fields, endpoint
        detail = get_json(client, f"/api/v2/{endpoint}/{ids[endpoint]}/", {"fields": "*"})
        assert set(detail) == fields | detail_only[endpoint], endpoint
    meta = get_json(client, "/api/v2/items/", {"fields": "*"})["items"][0]["meta"]
    assert set(meta) == {"type", "detail_url", "html_url", "slug", "first_published_at"}


@pytest.mark.django_db
def test_default_listing_fields(client, site_tree):
    ItemPageFactory(gallery=1)
    row = get_json(client, "/api/v2/items/")["items"][0]
    assert set(row) == {
        "id", "meta", "title", "designer", "category", "shop", "price", "currency",
        "condition", "condition_label", "available", "reserved", "sold", "images",
    }  # fmt: skip
    assert set(row["meta"]) == {"type", "detail_url", "html_url", "slug", "first_published_at"}
    assert row["meta"]["html_url"].endswith(f"/shops/{row['shop']['slug']}/{row['meta']['slug']}/")
    assert set(row["images"][0]) == {"alt", "thumbnail", "large"}
    shop = get_json(client, "/api/v2/shops/")["items"][0]
    assert "story" not in shop and "address" not in shop
    designer = get_json(client, "/api/v2/designers/")["items"][0]
    assert designer["meta"]["html_url"].endswith(f"/designers/{designer['slug']}/")
