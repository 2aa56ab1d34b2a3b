"""Shop pages: tree rules, and the phone number shown only when the shop publishes it."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from wagtail.models import Page
from wagtail.test.utils import WagtailPageTestCase

import pytest

from home.models import HomePage
from home.services import site_ensure_structure
from products.factories import ItemPageFactory
from products.models import DesignerIndexPage, ItemPage
from vendors.factories import PHONE_E164, ShopPageFactory, VendorFactory
from vendors.models import ShopIndexPage, ShopPage

# The same number in the ways a page might print it (E.164, international, national, bare).
PHONE_SPELLINGS = [
    "+442079460958",
    "442079460958",
    "+44 20 7946 0958",
    "020 7946 0958",
    "02079460958",
    "2079460958",
    "7946 0958",
    "79460958",
    "7946-0958",
    "tel:",
]


class ShopTreeTests(WagtailPageTestCase):
    @classmethod
    def setUpTestData(cls):
        site_ensure_structure()
        cls.shop = ShopPageFactory()

    def test_shop_index_lives_under_home_only(self):
        self.assertAllowedParentPageTypes(ShopIndexPage, {HomePage})
        self.assertAllowedSubpageTypes(ShopIndexPage, {ShopPage})
        self.assertCanCreateAt(HomePage, ShopIndexPage)
        for parent in (Page, ShopIndexPage, ShopPage, ItemPage, DesignerIndexPage):
            self.assertCanNotCreateAt(parent, ShopIndexPage)

    def test_shop_index_is_unique(self):
        self.assertEqual(ShopIndexPage.max_count, 1)
        home = HomePage.objects.get()
        self.assertFalse(ShopIndexPage.can_create_at(home), "a second /shops/ can be created")

    def test_shop_lives_under_the_shop_index_only(self):
        self.assertAllowedParentPageTypes(ShopPage, {ShopIndexPage})
        self.assertAllowedSubpageTypes(ShopPage, {ItemPage})
        self.assertCanCreateAt(ShopIndexPage, ShopPage)
        for parent in (Page, HomePage, ShopPage, ItemPage, DesignerIndexPage):
            self.assertCanNotCreateAt(parent, ShopPage)

    def test_pages_route_and_render(self):
        shop_index = ShopIndexPage.objects.get()
        for page in (shop_index, self.shop):
            self.assertPageIsRoutable(page)
            self.assertPageIsRenderable(page)
        self.assertEqual(shop_index.url, "/shops/")
        self.assertEqual(self.shop.url, f"/shops/{self.shop.slug}/")


# --- Phone number ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_published_number_is_on_the_item_page(client, site_tree):
    shop = ShopPageFactory(phone=True)
    item = ItemPageFactory(parent=shop)
    html = client.get(item.url).content.decode()
    assert "+44 20 7946 0958" in html
    assert f'href="tel:{PHONE_E164}"' in html
    assert shop.phone_hours in html


@pytest.mark.django_db
def test_unpublished_number_is_nowhere_in_the_html(client, site_tree):
    shop = ShopPageFactory(phone_number=PHONE_E164, phone_orders=False)
    item = ItemPageFactory(parent=shop, with_image=True)
    shop.refresh_from_db()
    assert str(shop.phone_number) == PHONE_E164  # stored, just not published
    assert shop.published_phone_number is None

    urls = [
        item.url,
        shop.url,
        "/shops/",
        "/",
        f"/designers/{item.designer.slug}/",
        "/search/",
        f"/search/?shop={shop.slug}",
        "/sitemap.xml",
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        leaked = [spelling for spelling in PHONE_SPELLINGS if spelling in html]
        assert leaked == [], f"{url} shows the unpublished number as {leaked}"


@pytest.mark.django_db
def test_item_context_has_no_number_unless_published(rf, site_tree):
    hidden = ItemPageFactory(parent=ShopPageFactory(phone_number=PHONE_E164))
    shown = ItemPageFactory(parent=ShopPageFactory(phone=True))
    request = rf.get("/")
    request.user = None
    # The context of the page's own parts (marketplace.fragments), which show the number.
    assert hidden.parts_context(request, {})["phone_number"] is None
    assert shown.parts_context(request, {})["phone_number"] == PHONE_E164


@pytest.mark.django_db
def test_clean_refuses_publishing_without_a_number(site_tree):
    shop = ShopPageFactory.build(vendor=VendorFactory(), phone_orders=True, phone_number="")
    with pytest.raises(ValidationError) as error:
        shop.clean()
    assert "phone_number" in error.value.message_dict


@pytest.mark.django_db
def test_database_refuses_publishing_without_a_number(site_tree):
    shop = ShopPageFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        ShopPage.objects.filter(pk=shop.pk).update(phone_orders=True, phone_number="")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "number",
    [
        "12345",
        "not a phone",
        "+44 20",
        "+999 1234 5678",
        "02079460958123456",
        "+44 20 7946 095",
        "javascript:alert(1)",
    ],
)
def test_invalid_phone_numbers_are_rejected(site_tree, number):
    shop = ShopPageFactory()
    shop.phone_number = number
    with pytest.raises(ValidationError) as error:
        shop.full_clean()
    assert "phone_number" in error.value.message_dict


@pytest.mark.django_db
@pytest.mark.parametrize("number", ["020 7946 0958", "+44 20 7946 0958", "+442079460958"])
def test_valid_numbers_are_stored_in_e164(site_tree, number):
    shop = ShopPageFactory()
    shop.phone_number = number
    shop.phone_orders = True
    shop.full_clean()
    shop.save()
    shop.refresh_from_db()
    assert shop.phone_number.as_e164 == PHONE_E164
    assert ShopPage.objects.filter(phone_number=PHONE_E164).count() == 1
