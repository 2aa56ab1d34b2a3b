from django.urls import path

from . import views

urlpatterns = [
    path("account/signup/", views.signup, name="accounts_signup"),
    path("account/signup/sent/", views.signup_sent, name="accounts_signup_sent"),
    path("account/login/", views.LoginView.as_view(), name="accounts_login"),
    path("account/logout/", views.LogoutView.as_view(), name="accounts_logout"),
    path(
        "account/password-reset/", views.PasswordResetView.as_view(), name="accounts_password_reset"
    ),
    path(
        "account/password-reset/sent/",
        views.PasswordResetDoneView.as_view(),
        name="accounts_password_reset_sent",
    ),
    path(
        "account/password-reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="accounts_password_reset_confirm",
    ),
    path(
        "account/password-reset/complete/",
        views.PasswordResetCompleteView.as_view(),
        name="accounts_password_reset_complete",
    ),
    path("account/verify-email/resend/", views.verify_resend, name="accounts_verify_resend"),
    path("account/", views.account_home, name="accounts_home"),
    path("account/email/", views.email_change, name="accounts_email_change"),
    path("account/password/", views.password_change, name="accounts_password_change"),
    path("account/addresses/", views.address_list, name="accounts_addresses"),
    path("account/addresses/add/", views.address_edit, name="accounts_address_add"),
    path(
        "account/addresses/<int:address_id>/edit/",
        views.address_edit,
        name="accounts_address_edit",
    ),
    path(
        "account/addresses/<int:address_id>/delete/",
        views.address_delete,
        name="accounts_address_delete",
    ),
    path(
        "account/addresses/<int:address_id>/default/<str:kind>/",
        views.address_default,
        name="accounts_address_default",
    ),
    path("account/preferences/", views.preferences, name="accounts_preferences"),
    path("account/access-log/", views.access_log, name="accounts_access_log"),
    path("email/unsubscribe/<str:token>/", views.unsubscribe, name="accounts_unsubscribe"),
]
