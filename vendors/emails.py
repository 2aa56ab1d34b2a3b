"""Emails to a shop's staff, sent by the task queue (after commit, never inside the request:
a mail server's error must not undo, or turn into a 500, the onboarding it reports on)."""

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import User
from marketplace.mail import build_message, email_task, send_email

from .models import Vendor


@email_task()
def send_invitation(*, user_id: int, vendor_id: int) -> None:
    """A new staff member of a shop chooses their password (Wagtail's reset link, made now)."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    vendor = Vendor.objects.filter(pk=vendor_id).first()
    if user is None or vendor is None or not user.email:
        return
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    site = settings.WAGTAILADMIN_BASE_URL
    path = reverse("wagtailadmin_password_reset_confirm", args=[uid, token])
    message = build_message(
        to=user.email,
        subject=f"Your shop {vendor.name} on Vitrine",
        template="vendor_invitation",
        context={
            "vendor": vendor,
            "username": user.get_username(),
            "password_url": f"{site}{path}",
            "admin_url": f"{site}{reverse('wagtailadmin_home')}",
        },
    )
    send_email(message)
