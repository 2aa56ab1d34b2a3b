"""Privacy pages, under the account area's paths and names (no namespace, like accounts.urls).

Included after accounts.urls: `account/verify-email/resend/` (accounts) must win over
`account/verify-email/<token>/` here.
"""

from django.urls import path

from . import views

urlpatterns = [
    path("account/verify-email/<str:token>/", views.verify_email, name="accounts_verify_email"),
    path("account/guest-orders/", views.guest_orders, name="accounts_guest_orders"),
    path(
        "account/guest-orders/<str:token>/",
        views.guest_order_claim,
        name="accounts_guest_order_claim",
    ),
    path("account/export/", views.export, name="accounts_export"),
    path("account/delete/", views.delete, name="accounts_delete"),
]
