from django.core.exceptions import PermissionDenied

from .permissions import vendor_for_user, vendor_may_use


class VendorAdminBoundaryMiddleware:
    """Refuse vendor staff any admin view outside the areas listed in VENDOR_ADMIN_ALLOWED."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if not match or not match.route.startswith("admin/"):
            return None
        if vendor_for_user(request.user) is not None and not vendor_may_use(match.view_name):
            raise PermissionDenied("This part of the admin is not available to shops.")
        return None
