"""Account emails, sent by the task queue (django-tasks; `db_worker` in production).

Sending from the request would make a request about an existing account take longer (SMTP)
than one about an unknown address, telling who has an account; queued, both take the same
time. Tasks take ids only, so no address is stored in the queue.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from marketplace.mail import build_message
from marketplace.tasks import traced_task

from . import tokens
from .models import User


def send_message(
    *, to: str, subject: str, template: str, context: dict, headers: dict | None = None
) -> None:
    """emails/<template>.txt and .html (marketplace.mail), sent now: call it from a task."""
    build_message(
        to=to, subject=subject, template=template, context=context, headers=headers
    ).send()


def _reachable(user_id: int | None) -> User | None:
    if user_id is None:
        return None
    return User.objects.filter(
        pk=user_id, is_active=True, erased_at__isnull=True, email__gt=""
    ).first()


@traced_task()
def send_verification_email(*, user_id: int) -> None:
    """The link confirming the account's current address (made now, from its current state)."""
    user = _reachable(user_id)
    if user is None or user.email_verified:
        return
    send_message(
        to=user.email,
        subject="Please confirm your email address",
        template="account_verify_email",
        context={
            "user": user,
            "verify_url": settings.WAGTAILADMIN_BASE_URL
            + reverse("accounts_verify_email", args=[tokens.verification_token(user=user)]),
            "days": settings.VITRINE_EMAIL_VERIFICATION_DAYS,
        },
    )


@traced_task()
def send_password_reset_email(*, user_id: int | None) -> None:
    """Django's reset link (uid + token, valid PASSWORD_RESET_TIMEOUT, once). `None`: the
    address has no account; queued all the same so both requests take as long."""
    user = _reachable(user_id)
    if user is None or not user.has_usable_password():
        return
    site = urlsplit(settings.WAGTAILADMIN_BASE_URL)
    context = {
        "email": user.email,
        "user": user,
        "uid": urlsafe_base64_encode(force_bytes(user.pk)),
        "token": default_token_generator.make_token(user),
        "protocol": site.scheme,
        "domain": site.netloc,
        "site_name": settings.WAGTAIL_SITE_NAME,
    }
    subject = "".join(
        render_to_string("emails/account_password_reset_subject.txt", context).splitlines()
    )
    send_message(to=user.email, subject=subject, template="account_password_reset", context=context)


@traced_task()
def send_signup_attempt_email(*, user_id: int) -> None:
    """Someone signed up with an address that already has an account: its holder is told
    (sign in, or reset the password), instead of the form saying the account exists."""
    user = _reachable(user_id)
    if user is None:
        return
    send_message(
        to=user.email,
        subject="Someone tried to sign up to Vitrine with your address",
        template="account_signup_attempt",
        context={"user": user},
    )
