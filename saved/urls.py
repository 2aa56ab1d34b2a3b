from django.urls import path

from . import views

urlpatterns = [
    path("saved/", views.saved_list, name="saved_list"),
    path("saved/add/", views.saved_add, name="saved_add"),
    path("saved/remove/", views.saved_remove, name="saved_remove"),
    path(
        "saved/alerts/unsubscribe/<str:token>/",
        views.price_alert_unsubscribe,
        name="saved_alert_unsubscribe",
    ),
    path("account/saved/", views.account_saved_list, name="saved_account_list"),
    path("account/saved/alerts/", views.price_alert, name="saved_price_alert"),
]
