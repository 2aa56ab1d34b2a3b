"""Account emails, sent by the task queue (django-tasks; `db_worker` in production), along
marketplace.mail's one path: queued after commit, retried, each message sent once.

Sending from the request would make a request about an existing account take longer (SMTP)
than one about an unknown address, telling who has an account; queued, both take the same
time. Tasks take ids, so no address is stored in the queue; the one exception, the old address
of an email change, is explained at `send_email_changed_notice`.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from marketplace.mail import build_message, email_task, one_click_unsubscribe, send_email

from . import tokens
from .models import User
from .selectors import newsletter_recipients


def _reachable(user_id: int | None) -> User | None:
    if user_id is None:
        return None
    return User.objects.filter(
        pk=user_id, is_active=True, erased_at__isnull=True, email__gt=""
    ).first()


@email_task()
def send_verification_email(*, user_id: int) -> None:
    """The link confirming the account's current address (made now, from its current state)."""
    user = _reachable(user_id)
    if user is None or user.email_verified:
        return
    send_email(
        build_message(
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
    )


@email_task()
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
    send_email(
        build_message(
            to=user.email, subject=subject, template="account_password_reset", context=context
        )
    )


@email_task()
def send_signup_attempt_email(*, user_id: int) -> None:
    """Someone signed up with an address that already has an account: its holder is told
    (sign in, or reset the password), instead of the form saying the account exists."""
    user = _reachable(user_id)
    if user is None:
        return
    send_email(
        build_message(
            to=user.email,
            subject="Someone tried to sign up to Vitrine with your address",
            template="account_signup_attempt",
            context={"user": user},
        )
    )


# The notice goes to the address the account no longer has, so the task cannot read it from
# the account by id. Rather than a table of its own (a model, and a record to erase), the old
# address travels in the task's arguments as `private`: marketplace.tasks blanks it in the
# task's row as soon as the run ends (sent, or failed: a retry carries its own copy, blanked in
# turn), so the task table keeps it no longer than the email takes to leave.
@email_task(private=("old_email",))
def send_email_changed_notice(*, user_id: int, old_email: str) -> None:
    """Tell the previous address that the account's sign-in address was changed, in case
    this was not its owner. Nothing goes if the account was closed or erased since."""
    user = _reachable(user_id)
    if user is None or not old_email:
        return
    send_email(
        build_message(
            to=old_email,
            subject="Your Vitrine email address was changed",
            template="account_email_changed",
            context={"user": user, "new_email": user.email},
        )
    )


@email_task()
def send_newsletter_email(*, user_id: int, subject: str, body: str, topic: str) -> None:
    """One mailing to one account, if it still wants it (verified, opted in to `topic`) when
    the task runs: an unsubscribe between the send and the run is honoured."""
    user = newsletter_recipients(topic=topic).filter(pk=user_id).first()
    if user is None:
        return
    url = tokens.unsubscribe_url(user=user, topic=topic)
    send_email(
        build_message(
            to=user.email,
            subject=subject,
            template="account_newsletter",
            context={"user": user, "body": body, "unsubscribe_url": url, "topic": topic},
            headers=one_click_unsubscribe(url),
        )
    )
