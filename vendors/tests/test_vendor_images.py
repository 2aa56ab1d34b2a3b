"""A vendor may put only their own shop's images on their pages.

The admin's image chooser shows a vendor only their collection, but a hand-made POST can name
any image id. Every image field of every page type a vendor edits, and of the inline rows of
those pages (gallery images), is found by introspection here, so an image field added later is
covered without touching this file.
"""

import re
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from modelcluster.models import get_all_child_relations
from wagtail.admin.forms import WagtailAdminPageForm
from wagtail.fields import RichTextField, StreamField
from wagtail.images.models import AbstractImage
from wagtail.models import GroupPagePermission
from wagtail.test.utils.form_data import querydict_from_html

import pytest

from marketplace.factories import ImageFactory
from products.factories import CategoryFactory, DesignerFactory
from products.models import ItemPage
from vendors.models import NOT_OWN_IMAGE, ShopPage, VendorPageForm
from vendors.services import vendor_onboard

pytestmark = pytest.mark.django_db


def vendor_page_models() -> list[type]:
    """ShopPage and every page type a shop's staff can create below it."""
    found, todo = [], [ShopPage]
    while todo:
        model = todo.pop()
        if model not in found:
            found.append(model)
            todo.extend(model.allowed_subpage_models())
    return found


def _is_image_field(field) -> bool:
    related = getattr(field, "related_model", None)
    return (
        field.is_relation
        and field.concrete
        and isinstance(related, type)
        and issubclass(related, AbstractImage)
    )


def _own_image_fields(model) -> list[str]:
    return [f.name for f in model._meta.get_fields() if _is_image_field(f)]


def image_fields(model) -> list[tuple[str | None, str]]:
    """(inline relation or None, field name) for each image field on the page and its rows."""
    found = [(None, name) for name in _own_image_fields(model)]
    for relation in get_all_child_relations(model):
        child = relation.related_model
        found += [(relation.get_accessor_name(), name) for name in _own_image_fields(child)]
        for nested in get_all_child_relations(child):
            assert not _own_image_fields(nested.related_model), (
                f"{nested.related_model.__name__}: images in nested rows; extend this test"
            )
    return found


def _onboard(name):
    slug = re.sub(r"[^a-z]+", "-", name.lower())
    return vendor_onboard(
        name=name, contact_email=f"hello@{slug}.example", staff_email=f"staff@{slug}.example"
    )


def _item(shop):
    item = ItemPage(
        title="Kelly 28",
        slug="kelly-28",
        designer=DesignerFactory(),
        category=CategoryFactory(),
        condition="excellent",
        price=Decimal("500.00"),
        live=False,
    )
    shop.add_child(instance=item)
    item.save_revision().publish()
    item.refresh_from_db()
    return item


# How to get a page of each vendor-edited type in a shop. A new page type fails below until
# it is added here.
PAGE_OF_TYPE = {ShopPage: lambda shop: shop, ItemPage: _item}


@pytest.fixture
def lune(site_tree):
    return _onboard("Maison Lune")


@pytest.fixture
def noir(site_tree):
    return _onboard("Atelier Noir")


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser("boss", "boss@vitrine.example", "x")


def _post_image(client, page, relation, field, image):
    """Post the page's edit form (as the browser has it) with `image` in the field: on the
    page itself, or in a new inline row."""
    url = reverse("wagtailadmin_pages:edit", args=[page.pk])
    response = client.get(url)
    assert response.status_code == 200
    data = querydict_from_html(response.content.decode(), form_id="page-edit-form")
    if relation is None:
        data[field] = str(image.pk)
    else:
        row = int(data[f"{relation}-TOTAL_FORMS"])
        data[f"{relation}-TOTAL_FORMS"] = str(row + 1)
        data[f"{relation}-{row}-id"] = ""
        data[f"{relation}-{row}-ORDER"] = str(row + 1)
        data[f"{relation}-{row}-DELETE"] = ""
        data[f"{relation}-{row}-{field}"] = str(image.pk)
    data["action-publish"] = "1"
    return client.post(url, data)


def _stored_images(page, relation, field) -> set[int]:
    page = type(page).objects.get(pk=page.pk)
    if relation is None:
        value = getattr(page, f"{field}_id")
        return {value} if value else set()
    return set(getattr(page, relation).values_list(f"{field}_id", flat=True))


def _field_errors(response, relation, field) -> list[str]:
    form = response.context["form"]
    if relation is None:
        return form.errors.get(field, [])
    return [error for row in form.formsets[relation].forms for error in row.errors.get(field, [])]


def _cases():
    return [
        (model, relation, field)
        for model in vendor_page_models()
        for relation, field in image_fields(model)
    ]


def test_every_vendor_page_type_uses_the_checking_form():
    assert set(vendor_page_models()) == {ShopPage, ItemPage}, "add new types to PAGE_OF_TYPE"
    for model in vendor_page_models():
        form_class = model.get_edit_handler().get_form_class()
        assert issubclass(form_class, VendorPageForm), model
        assert issubclass(form_class, WagtailAdminPageForm)
    # What the introspection finds today; more is fine, fewer means it broke.
    assert {
        ("ShopPage", None, "logo"),
        ("ShopPage", None, "banner"),
        ("ItemPage", "gallery_images", "image"),
    } <= {(model.__name__, relation, field) for model, relation, field in _cases()}


def test_vendor_rich_text_and_streams_hold_no_images():
    """Images can also hide in rich text and StreamFields: vendor pages allow neither."""
    models = vendor_page_models()
    models += [rel.related_model for m in models for rel in get_all_child_relations(m)]
    for model in models:
        for field in model._meta.get_fields():
            assert not isinstance(field, StreamField), f"{model.__name__}.{field.name}: check it"
            if isinstance(field, RichTextField):
                assert "image" not in (field.features or []), f"{model.__name__}.{field.name}"


@pytest.mark.parametrize(
    ("model", "relation", "field"),
    _cases(),
    ids=lambda value: getattr(value, "__name__", str(value)),
)
def test_vendor_cannot_post_another_shops_or_the_sites_image(
    client, lune, noir, superuser, model, relation, field
):
    page = PAGE_OF_TYPE[model](lune.shop)
    theirs = ImageFactory(title="Noir's photo", collection=noir.collection)
    sites = ImageFactory(title="Site photo")  # the root collection: editors' pictures
    mine = ImageFactory(title="Lune's photo", collection=lune.collection)
    client.force_login(lune.group.user_set.get())

    for foreign in (theirs, sites):
        response = _post_image(client, page, relation, field, foreign)
        assert response.status_code == 200, "the form is shown again"
        assert _field_errors(response, relation, field) == [NOT_OWN_IMAGE]
        assert foreign.pk not in _stored_images(page, relation, field)

    response = _post_image(client, page, relation, field, mine)
    assert response.status_code == 302, _field_errors(response, relation, field)
    assert mine.pk in _stored_images(page, relation, field)

    # The site's staff may use any image.
    client.force_login(superuser)
    response = _post_image(client, page, relation, field, theirs)
    assert response.status_code == 302
    assert theirs.pk in _stored_images(page, relation, field)


def test_an_editor_is_not_restricted(client, lune, noir):
    editor = get_user_model().objects.create_user("eddie", "eddie@vitrine.example")
    editor.groups.add(Group.objects.get(name="Editors"))
    for codename in ("change_page", "publish_page"):
        GroupPagePermission.objects.create(
            group=Group.objects.get(name="Editors"),
            page=lune.shop,
            permission=Permission.objects.get(
                codename=codename, content_type__app_label="wagtailcore"
            ),
        )
    theirs = ImageFactory(collection=noir.collection)
    client.force_login(editor)
    response = _post_image(client, lune.shop, None, "logo", theirs)
    assert response.status_code == 302
    assert ShopPage.objects.get(pk=lune.shop.pk).logo_id == theirs.pk


def test_an_image_the_site_put_on_the_page_does_not_block_the_vendors_edits(
    client, lune, superuser
):
    banner = ImageFactory(title="Site banner")
    shop = lune.shop
    shop.banner = banner
    shop.save_revision(user=superuser).publish()
    client.force_login(lune.group.user_set.get())
    url = reverse("wagtailadmin_pages:edit", args=[shop.pk])
    data = querydict_from_html(client.get(url).content.decode(), form_id="page-edit-form")
    data["intro"] = "New words."
    data["action-publish"] = "1"
    response = client.post(url, data)
    assert response.status_code == 302
    shop = ShopPage.objects.get(pk=shop.pk)
    assert (shop.intro, shop.banner_id) == ("New words.", banner.pk)
