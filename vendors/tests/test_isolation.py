"""Vendor A can do nothing with vendor B's objects, over every admin URL there is.

The URL list is built from the URL resolver, so an admin URL added by Wagtail or by us is tested
without anyone typing it here. Each URL parameter is filled with one of B's objects (or a shared
site object a vendor must not touch); A requests it with GET and POST; every answer must be a
refusal (403, 404, 405, or a redirect to the login page or the admin home), and B's data must be
exactly as before. URLs without parameters (listings, choosers, search) must not show B's objects.
"""

import re
from dataclasses import dataclass
from itertools import product

from django.contrib.auth.models import Group
from django.core.cache import cache
from django.urls import URLPattern, URLResolver, get_resolver

from wagtail.models import (
    Collection,
    GroupPagePermission,
    Page,
    Revision,
    Site,
    TaskState,
    Workflow,
    WorkflowState,
)

import pytest

from home.models import SiteFooterSettings
from marketplace.factories import ImageFactory
from marketplace.models import CustomImage
from orders.factories import paid_order
from orders.models import Order, VendorOrder
from products.factories import CategoryFactory, DesignerFactory
from products.models import ItemPage
from vendors.models import Vendor
from vendors.services import vendor_onboard

MARK = "zqxb"  # in every title of B's, so a leak is easy to spot in any response


@dataclass
class World:
    a_user: object
    a_shop: Page
    a_item: ItemPage
    b_vendor: Vendor
    b_user: object
    b_shop: Page
    b_item: ItemPage
    b_draft: ItemPage
    b_image: CustomImage
    b_revision: Revision
    b_workflow_state: WorkflowState
    b_task_state: TaskState
    b_vendor_order: VendorOrder


def _item(shop, title, *, designer, category, publish=True, user=None):
    item = ItemPage(
        title=title,
        slug=re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-"),
        designer=designer,
        category=category,
        condition="excellent",
        price="500.00",
        live=False,
    )
    shop.add_child(instance=item)
    revision = item.save_revision(user=user)
    if publish:
        revision.publish()
    item.refresh_from_db()
    return item


@pytest.fixture
def world(site_tree, clear_cache) -> World:
    designer, category = DesignerFactory(), CategoryFactory()
    a = vendor_onboard(
        name="Alpha Atelier", contact_email="a@a.example", staff_email="staff@a.example"
    )
    b = vendor_onboard(
        name=f"Bravo {MARK} Boutique",
        contact_email="b@b.example",
        staff_email="staff@b.example",
        requires_moderation=True,
    )
    a_user, b_user = a.group.user_set.get(), b.group.user_set.get()
    a_item = _item(a.shop, "Alpha item", designer=designer, category=category)
    b_item = _item(b.shop, f"Bravo {MARK} item", designer=designer, category=category)
    b_draft = _item(
        b.shop, f"Bravo {MARK} draft", designer=designer, category=category, publish=False
    )
    # B's draft waits in the review workflow: its workflow and task states exist.
    workflow_state = Workflow.objects.get(name="Vendor content review").start(b_draft, b_user)
    b_image = ImageFactory(title=f"Bravo {MARK} photo", collection=b.collection)
    b_vendor_order = _paid_vendor_order(b_item)
    return World(
        a_user=a_user,
        a_shop=a.shop,
        a_item=a_item,
        b_vendor=b,
        b_user=b_user,
        b_shop=b.shop,
        b_item=b_item,
        b_draft=b_draft,
        b_image=b_image,
        b_revision=b_item.latest_revision,
        b_workflow_state=workflow_state,
        b_task_state=workflow_state.current_task_state,
        b_vendor_order=b_vendor_order,
    )


def _paid_vendor_order(item) -> VendorOrder:
    """A paid order for B's item, with a shopper's address B's staff may see and A may not."""
    order = paid_order(
        items=[item],
        email=f"shopper-{MARK}@example.com",
        shipping_name=f"Shopper {MARK}",
        shipping_line1="1 Bravo Street",
        shipping_postcode="N1 1AA",
        payment_intent_id="pi_bravo",
    )
    return order.vendor_orders.get()


def admin_patterns():
    """(view name, route with <params>) for every URL under /admin/, from the resolver."""

    def walk(patterns, prefix="", namespace=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = namespace + (f"{pattern.namespace}:" if pattern.namespace else "")
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
            elif isinstance(pattern, URLPattern):
                yield namespace + (pattern.name or ""), prefix + str(pattern.pattern)

    return [
        (name, route)
        for name, route in walk(get_resolver().url_patterns)
        if route.startswith("admin/")
    ]


PARAM_RE = re.compile(r"<(?:(?P<conv>\w+):)?(?P<name>\w+)>|\(\?P<(?P<rname>\w+)>[^)]*\)")


def _candidates(view_name: str, param: str, w: World) -> list[str]:
    """B's objects (or shared site objects) that fit this URL parameter."""
    b_pages = [w.b_item.pk, w.b_shop.pk, w.b_draft.pk]
    if param in {"page_id", "parent_page_id", "page_to_move_id", "page_pk"}:
        return b_pages
    if param == "destination_id":
        return [w.b_shop.pk]
    if param in {"revision_id", "revision_id_a", "revision_id_b"}:
        return [w.b_revision.pk]
    if param in {"image_id"}:
        return [w.b_image.pk]
    if param == "collection_id":
        return [w.b_vendor.collection_id]
    if param == "task_state_id":
        return [w.b_task_state.pk]
    if param == "workflow_state_id":
        return [w.b_workflow_state.pk]
    if param in {"task_id"}:
        return [w.b_task_state.task_id]
    if param == "workflow_pk":
        return [w.b_workflow_state.workflow_id]
    if param in {"content_type_app_name", "app_label", "app_name"}:
        return ["products", "wagtailcore", "home"]
    if param in {"content_type_model_name", "model_name"}:
        return ["itempage", "page", "sitefootersettings"]
    if param in {"action_name", "action"}:
        return ["approve", "reject", "delete", "unpublish", "move", "copy", "publish"]
    if param == "filter_spec":
        return ["original"]
    if param == "object_id":
        return [w.b_draft.pk]
    if param == "instance_pk":
        return [w.b_vendor_order.pk]
    if param in {"pk", "doc_id", "document_id", "uploaded_file_id", "redirect_id", "session_id"}:
        namespace = view_name.split(":")[0]
        by_namespace = {
            "wagtailadmin_pages": b_pages,
            "wagtailadmin_api": b_pages + [w.b_image.pk],
            "wagtailimages": [w.b_image.pk],
            "wagtailimages_chooser": [w.b_image.pk],
            "wagtailadmin_collections": [w.b_vendor.collection_id],
            "vendors": [w.b_vendor.pk],
            "wagtailusers_users": [w.b_user.pk],
            "wagtailusers_groups": [w.b_vendor.group_id],
            "wagtailsites": [Site.objects.get().pk],
            "wagtailadmin_workflows": [w.b_workflow_state.workflow_id, w.b_task_state.task_id],
            "wagtailsettings": [SiteFooterSettings.for_site(Site.objects.get()).pk],
        }
        if namespace.startswith("accounts_customer"):
            return [w.b_user.pk]  # a customer record: B's staff member is someone's record too
        if namespace.startswith("wagtailsnippet"):
            from products.models import Category, Designer

            return [Designer.objects.get().pk, Category.objects.get().pk]
        return by_namespace.get(namespace, [w.b_item.pk])
    return []


SKIP = {
    # Not about objects: public tokens checked by their own tests, static media.
    "wagtailadmin_password_reset_confirm",
}


def _urls_with_b_objects(w: World) -> list[tuple[str, str]]:
    urls = []
    for view_name, route in admin_patterns():
        params = [m.group("name") or m.group("rname") for m in PARAM_RE.finditer(route)]
        if not params or view_name in SKIP or "media" in route:
            continue
        choices = [[str(value) for value in _candidates(view_name, p, w)] for p in params]
        assert all(choices), f"no B object known for a parameter of {view_name}: {route}"
        for combo in product(*choices):
            path = route
            for value in combo:
                path = PARAM_RE.sub(lambda _m, v=value: v, path, count=1)
            path = "/" + path.replace("^", "").replace("$", "").replace("\\", "")
            urls.append((view_name, path))
    return urls


def snapshot(w: World) -> dict:
    """Everything of B's that A must not be able to change."""
    shop_pages = Page.objects.descendant_of(w.b_shop, inclusive=True).order_by("path")
    return {
        "pages": list(
            shop_pages.values_list(
                "pk",
                "title",
                "draft_title",
                "live",
                "locked",
                "path",
                "latest_revision_id",
                "has_unpublished_changes",
            )
        ),
        "revisions": Revision.objects.filter(object_id__in=[str(p.pk) for p in shop_pages]).count(),
        "images": list(
            CustomImage.objects.filter(collection=w.b_vendor.collection).values_list(
                "pk", "title", "file", "collection_id"
            )
        ),
        "collection": list(Collection.objects.filter(pk=w.b_vendor.collection_id).values_list()),
        "vendor": list(Vendor.objects.filter(pk=w.b_vendor.pk).values_list()),
        "group_perms": sorted(
            GroupPagePermission.objects.filter(group=w.b_vendor.group).values_list(
                "page_id", "permission_id"
            )
        ),
        "group_users": sorted(Group.objects.get(pk=w.b_vendor.group_id).user_set.values_list("pk")),
        "workflow_state": list(
            WorkflowState.objects.filter(pk=w.b_workflow_state.pk).values_list()
        ),
        "task_state": list(TaskState.objects.filter(pk=w.b_task_state.pk).values_list()),
        "vendor_order": list(VendorOrder.objects.filter(pk=w.b_vendor_order.pk).values_list()),
        "order": list(Order.objects.filter(pk=w.b_vendor_order.order_id).values_list()),
    }


# Views that legitimately answer 200 to anyone in the admin for these ids, provided nothing of
# B's appears: shared catalogue choosers and confirmation pages that list only what A may act on.
ANSWERS_WITHOUT_B_DATA = {
    "wagtailsnippetchoosers_products_designer:chosen",
    "wagtailsnippetchoosers_products_category:chosen",
    "wagtailadmin_editing_sessions:release",
    "wagtailadmin_pages:type_use",
    "wagtailadmin_pages:type_use_results",
    "wagtailadmin_pages:choose_parent",
}


def refused(client, view_name: str, response, depth: int = 0) -> bool:
    """403/404/405, or a redirect that ends in a refusal or a page of A's own."""
    body = response.content.decode(errors="replace")
    if response.status_code in {403, 404, 405}:
        return True
    if response.status_code in {301, 302} and depth < 3:
        location = response["Location"]
        if location.startswith("/admin/login/"):
            return True
        return refused(client, view_name, client.get(location), depth + 1)
    if response.status_code == 200 and MARK not in body:
        return depth > 0 or view_name in ANSWERS_WITHOUT_B_DATA
    return False


@pytest.mark.slow
@pytest.mark.django_db
def test_vendor_cannot_reach_another_vendors_objects_through_any_admin_url(client, world):
    client.force_login(world.a_user)
    before = snapshot(world)
    urls = _urls_with_b_objects(world)
    assert len(urls) > 100, "the resolver walk found suspiciously few admin URLs"

    leaks = []
    for view_name, path in urls:
        for method in ("get", "post"):
            cache.clear()
            response = getattr(client, method)(path, {"id": world.b_item.pk})
            if not refused(client, view_name, response):
                where = response.get("Location", "")
                leaks.append(
                    f"{method.upper()} {path} ({view_name}) -> {response.status_code} {where}"
                )
    assert not leaks, "vendor A was not refused:\n" + "\n".join(leaks)
    assert snapshot(world) == before, "vendor A changed vendor B's data"


@pytest.mark.django_db
def test_our_own_admin_views_are_among_the_urls_tried(world):
    """The walk reaches the admin views this project adds, with B's objects in them."""
    tried = _urls_with_b_objects(world)
    stock = f"/admin/stock/{world.b_item.pk}/"
    assert ("products_stock:edit", stock) in tried, "the stock control is not tried"


@pytest.mark.django_db
def test_vendor_listings_choosers_and_search_show_only_their_own(client, world):
    client.force_login(world.a_user)
    leaks = []
    for view_name, route in admin_patterns():
        if "<" in route or "(?P" in route or view_name in {"wagtailadmin_logout"}:
            continue
        path = "/" + route.replace("^", "").replace("$", "")
        # Search for B's word "Bravo": the page may echo the query, never B's titles.
        for query in ("", "?q=Bravo", "?q=Bravo&p=1"):
            response = client.get(path + query)
            body = response.content.decode(errors="replace")
            if response.status_code == 200 and MARK in body:
                leaks.append(f"GET {path}{query} ({view_name})")
    assert not leaks, "vendor A saw vendor B's objects:\n" + "\n".join(leaks)


@pytest.mark.django_db
def test_vendor_can_use_their_own_shop(client, world):
    """The boundary is not a wall: A's own pages, images and choosers all work."""
    client.force_login(world.a_user)
    own = [
        "/admin/",
        f"/admin/pages/{world.a_shop.pk}/",
        f"/admin/pages/{world.a_shop.pk}/edit/",
        f"/admin/pages/{world.a_item.pk}/edit/",
        f"/admin/pages/{world.a_item.pk}/history/",
        f"/admin/pages/add/products/itempage/{world.a_shop.pk}/",
        "/admin/images/",
        "/admin/images/add/",
        "/admin/images/chooser/",
        "/admin/choose-page/",
        "/admin/snippets/choose/products/designer/",
        "/admin/snippets/choose/products/category/",
    ]
    for path in own:
        response = client.get(path)
        assert response.status_code == 200, f"{path} -> {response.status_code}"


@pytest.mark.django_db
def test_vendor_has_no_site_wide_admin_areas(client, world):
    client.force_login(world.a_user)
    for path in [
        "/admin/users/",
        "/admin/groups/",
        "/admin/sites/",
        "/admin/collections/",
        "/admin/workflows/list/",
        "/admin/reports/site-history/",
        "/admin/reports/page-types-usage/",
        "/admin/snippets/",
        "/admin/snippets/products/designer/",
        "/admin/vendors/",
        "/admin/redirects/",
        "/admin/forms/",
        "/admin/documents/",
        f"/admin/settings/home/sitefootersettings/{Site.objects.get().pk}/",
    ]:
        assert refused(client, "", client.get(path)), path
    menu = client.get("/admin/").content.decode()
    for label in ['"Users"', '"Groups"', '"Settings"', '"Reports"', '"Vendors"', '"Snippets"']:
        assert f'"label": {label}' not in menu, label
