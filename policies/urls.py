from django.urls import path

from . import views

app_name = "policies"
urlpatterns = [
    path("policies/acknowledge/", views.policy_acknowledge, name="policy_acknowledge"),
    path("testimonials/submit/<str:token>/", views.testimonial_submit, name="testimonial_submit"),
    path(
        "testimonials/unsubscribe/<str:token>/",
        views.testimonial_unsubscribe,
        name="testimonial_unsubscribe",
    ),
    path("testimonials/thanks/", views.testimonial_thanks, name="testimonial_thanks"),
    path(
        "testimonials/withdraw/<int:testimonial_id>/",
        views.testimonial_withdraw,
        name="testimonial_withdraw",
    ),
]
