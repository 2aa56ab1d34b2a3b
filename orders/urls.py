from django.urls import path

from . import views

app_name = "orders"
urlpatterns = [
    path("cart/", views.cart_detail, name="cart"),
    path("cart/add/", views.cart_add, name="cart_add"),
    path("cart/remove/", views.cart_remove, name="cart_remove"),
    path("checkout/", views.checkout, name="checkout"),
    path("checkout/pay/<str:reference>/", views.pay, name="pay"),
    path("checkout/done/<str:reference>/", views.done, name="done"),
    path("pay/<str:token>/", views.pay_link, name="pay_link"),
    path("stripe/webhook/", views.stripe_webhook, name="stripe_webhook"),
]
