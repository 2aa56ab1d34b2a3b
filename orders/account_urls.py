"""The shopper's own orders, in their account area (/account/orders/). Without a namespace,
like every page under /account/ (accounts.urls, privacy.urls)."""

from django.urls import path

from . import views

urlpatterns = [
    path("account/orders/", views.order_list, name="accounts_orders"),
    path("account/orders/<str:reference>/", views.order_detail, name="accounts_order"),
]
