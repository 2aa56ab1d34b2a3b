from django.urls import path, reverse

from wagtail import hooks
from wagtail.admin.menu import MenuItem

from . import admin_views, services


@hooks.register("register_admin_urls")
def customer_urls():
    return [
        path("customers/", admin_views.customer_list, name="accounts_customer_list"),
        path(
            "customers/<int:pk>/",
            admin_views.customer_detail,
            name="accounts_customer_detail",
        ),
        path(
            "customers/<int:pk>/unsubscribe/",
            admin_views.customer_unsubscribe,
            name="accounts_customer_unsubscribe",
        ),
        path("newsletter/", admin_views.newsletter_send, name="accounts_newsletter_send"),
    ]


class PermissionMenuItem(MenuItem):
    def __init__(self, *args, permission: str, **kwargs):
        self.permission = permission
        super().__init__(*args, **kwargs)

    def is_shown(self, request):
        return request.user.has_perm(self.permission)


@hooks.register("register_admin_menu_item")
def customers_menu_item():
    return PermissionMenuItem(
        "Customers",
        reverse("accounts_customer_list"),
        icon_name="user",
        order=620,
        permission=admin_views.VIEW_PII,
    )


@hooks.register("register_admin_menu_item")
def newsletter_menu_item():
    return PermissionMenuItem(
        "Newsletter",
        reverse("accounts_newsletter_send"),
        icon_name="mail",
        order=630,
        permission=admin_views.SEND_NEWSLETTER,
    )


@hooks.register("before_edit_user")
def log_customer_record_view(request, user):
    """Wagtail's own user editor shows a customer's details too (to admins): log it."""
    if request.method == "GET" and not user.is_staff and not user.is_superuser:
        services.pii_access_record(
            customer=user, viewer=request.user, what="account in the user editor", path=request.path
        )
