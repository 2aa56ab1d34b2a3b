from django.core.exceptions import PermissionDenied
from django.http import Http404

from wagtail.models import Page

from .permissions import vendor_for_user, vendor_may_use

# URL parameters that name a page in the admin's page views.
PAGE_PARAMETERS = {"page_id", "parent_page_id", "page_to_move_id", "destination_id", "page_pk"}
PAGE_NAMESPACES = ("wagtailadmin_pages:", "wagtailadmin_api:pages:")


class VendorAdminBoundaryMiddleware:
    """Keep vendor staff inside their own shop in the admin.

    Two rules, checked before any admin view runs: only the areas in VENDOR_ADMIN_ALLOWED, and
    any page named in the URL must be their shop or inside it (otherwise 404, as if it did not
    exist). Wagtail's own permission checks still apply after this.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if not match or not match.route.startswith("admin/"):
            return None
        vendor = vendor_for_user(request.user)
        if vendor is None:
            return None
        if not vendor_may_use(match.view_name):
            raise PermissionDenied("This part of the admin is not available to shops.")
        page_ids = {value for name, value in view_kwargs.items() if name in PAGE_PARAMETERS}
        if match.view_name.startswith(PAGE_NAMESPACES) and "pk" in view_kwargs:
            page_ids.add(view_kwargs["pk"])
        if match.view_name == "wagtail_bulk_action":
            ids = set(request.GET.getlist("id"))
            if view_kwargs.get("model_name") == "page":
                page_ids |= ids
            elif ids and not _own_images(vendor, ids):
                raise Http404("No such image in your shop's collection.")
        if page_ids and not _own_pages(vendor, page_ids):
            raise Http404("No such page in your shop.")
        return None


def _own_pages(vendor, ids) -> bool:
    try:
        ids = {int(value) for value in ids}
    except ValueError:
        return False
    return Page.objects.filter(pk__in=ids, path__startswith=vendor.shop.path).count() == len(ids)


def _own_images(vendor, ids) -> bool:
    from wagtail.images import get_image_model

    try:
        ids = {int(value) for value in ids}
    except ValueError:
        return False
    images = get_image_model().objects.filter(pk__in=ids, collection=vendor.collection_id)
    return images.count() == len(ids)
