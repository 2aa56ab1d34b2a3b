"""Writes for accounts: sign-up, email and password changes, addresses, mailing consent,
newsletters, the PII access audit, and anonymising an account (the last step of an erasure,
privacy.services.account_erase). Keyword-only, atomic; mail goes after commit."""

import logging
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, NamedTuple

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.module_loading import import_string

from axes.models import AccessAttempt, AccessFailureLog, AccessLog

from marketplace.mail import queue_email

from . import emails, selectors, tokens
from .models import Address, ConsentRecord, EmailRequest, PiiAccessLog, User, UserSession

if TYPE_CHECKING:
    from phonenumber_field.phonenumber import PhoneNumber

logger = logging.getLogger(__name__)

CONSENT_TOPICS = [topic.value for topic in ConsentRecord.Topic]


# --- Mail ---------------------------------------------------------------------------------------
# Every account email is queued after commit (marketplace.mail.queue_email): a queue that is
# down loses the email, not the request.


def _send_verification(*, user: User) -> None:
    queue_email(emails.send_verification_email, user_id=user.pk)


# --- Throttling account emails ------------------------------------------------------------------

# At most this many requests in EMAIL_REQUEST_WINDOW: mails to one address (reset, or sign-up
# with a taken address), and reset requests from one IP address. Past that, the same page and
# no mail. Counted in the database: it is shared by every process, and the cache may be down.
EMAIL_REQUEST_LIMITS: dict[str, int] = {
    EmailRequest.Scope.RESET_ADDRESS: 3,
    EmailRequest.Scope.RESET_IP: 10,
    EmailRequest.Scope.SIGNUP_ADDRESS: 3,
}
EMAIL_REQUEST_WINDOW = timedelta(hours=1)


@transaction.atomic
def email_request_allowed(*, scope: str, value: str) -> bool:
    """Record one request for `value` (an address or IP) and say whether it is within the
    limit. Only a keyed hash of the value is stored, and only for the window."""
    now = timezone.now()
    since = now - EMAIL_REQUEST_WINDOW
    EmailRequest.objects.filter(created_at__lt=since).delete()
    key = salted_hmac("accounts.email-request", f"{scope}|{value.strip().lower()}").hexdigest()
    earlier = EmailRequest.objects.filter(scope=scope, key=key, created_at__gte=since).count()
    EmailRequest.objects.create(scope=scope, key=key, created_at=now)
    return earlier < EMAIL_REQUEST_LIMITS[scope]


def _account_for_email(email: str) -> User | None:
    # At most one account per address in any letter case (user_email_ci_unique).
    email = email.strip()
    if not email:
        return None
    return User.objects.filter(email__iexact=email, erased_at__isnull=True).first()


def password_reset_request(*, email: str, ip: str | None) -> bool:
    """Queue a reset link for the account with this address, if any and within the limits.

    The caller shows the same page whatever happens. Known and unknown addresses do the same
    work (the throttle, one lookup, one queued task), so they also take the same time.
    Returns whether a task was queued (for tests).
    """
    ip_allowed = email_request_allowed(scope=EmailRequest.Scope.RESET_IP, value=ip or "")
    address_allowed = email_request_allowed(scope=EmailRequest.Scope.RESET_ADDRESS, value=email)
    if not (ip_allowed and address_allowed):
        return False
    user = _account_for_email(email)
    usable = user is not None and user.is_active and user.has_usable_password()
    queue_email(
        emails.send_password_reset_email,
        user_id=user.pk if user is not None and usable else None,
    )
    return True


# --- Sign-up, verification, profile -------------------------------------------------------------


@transaction.atomic
def user_signup(
    *,
    first_name: str,
    last_name: str,
    email: str,
    username: str,
    password: str,
    phone: "PhoneNumber | None" = None,
    promotional_emails: bool = False,
) -> User | None:
    """Create a shopper's account; the address is verified by an emailed link.

    Every mailing preference's starting value goes into the consent ledger (source: sign-up).
    If the address already has an account, nothing is created and its holder is emailed
    instead (returns None): the page after sign-up is the same, so it tells no one which
    addresses have accounts.
    """
    existing = _account_for_email(email)
    if existing is not None:
        make_password(password)  # the same hashing time as a new account
        if email_request_allowed(scope=EmailRequest.Scope.SIGNUP_ADDRESS, value=email):
            queue_email(emails.send_signup_attempt_email, user_id=existing.pk)
        return None
    user = User(
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        email=email.strip(),
        username=username.strip(),
        phone=phone or "",
        promotional_emails=promotional_emails,
    )
    user.set_password(password)
    user.full_clean()
    user.save()
    ConsentRecord.objects.bulk_create(
        ConsentRecord(
            user=user,
            topic=topic,
            old_value=None,
            new_value=getattr(user, topic),
            source=ConsentRecord.Source.SIGNUP,
        )
        for topic in CONSENT_TOPICS
    )
    _send_verification(user=user)
    return user


def verification_resend(*, user: User) -> None:
    if user.email and not user.email_verified:
        _send_verification(user=user)


class EmailVerification(NamedTuple):
    user: User
    # The address was confirmed now, not by opening the link again (privacy.views then offers
    # the guest orders placed with it).
    first_time: bool


@transaction.atomic
def email_verify(*, token: str) -> EmailVerification:
    """Mark the address in the token verified. Raises tokens.InvalidToken. Opening the link
    again changes nothing already done."""
    user_id, fingerprint = tokens.read_verification_token(token)
    user = User.objects.select_for_update().filter(pk=user_id, is_active=True).first()
    if (
        user is None
        or not user.email
        or not tokens.verification_matches(user=user, fingerprint=fingerprint)
    ):
        raise tokens.InvalidToken("the account or its address changed")
    first_time = user.email_verified_at is None
    if first_time:
        user.email_verified_at = timezone.now()
        user.save(update_fields=["email_verified_at"])
    return EmailVerification(user=user, first_time=first_time)


@transaction.atomic
def profile_update(
    *, user: User, first_name: str, last_name: str, phone: "PhoneNumber | None" = None
) -> User:
    user.first_name = first_name.strip()
    user.last_name = last_name.strip()
    user.phone = phone or ""
    user.full_clean()
    user.save(update_fields=["first_name", "last_name", "phone"])
    return user


@transaction.atomic
def email_change(*, user: User, new_email: str) -> User:
    """Change the sign-in address (the view has checked the password); it must be verified
    again, and the old address is told, in case this was not its owner."""
    old_email = user.email
    user.email = new_email.strip()
    user.email_verified_at = None
    user.full_clean()
    user.save(update_fields=["email", "email_verified_at"])
    if old_email:
        queue_email(emails.send_email_changed_notice, user_id=user.pk, old_email=old_email)
    _send_verification(user=user)
    return user


# --- Sessions and passwords ---------------------------------------------------------------------


def _session_store() -> type[SessionBase]:
    return import_string(f"{settings.SESSION_ENGINE}.SessionStore")


@transaction.atomic
def session_record_login(*, user: User, session_key: str | None) -> None:
    """Remember which session is this user's, so it can be ended from elsewhere later."""
    if not session_key or user.pk is None:
        return
    UserSession.objects.update_or_create(session_key=session_key, defaults={"user": user})
    cutoff = timezone.now() - timedelta(seconds=settings.SESSION_COOKIE_AGE)
    UserSession.objects.filter(user=user, created_at__lt=cutoff).delete()


def session_forget(*, session_key: str) -> None:
    UserSession.objects.filter(session_key=session_key).delete()


@transaction.atomic
def sessions_end(*, user: User, keep_session_key: str | None = None) -> int:
    """Delete the user's sessions from the server (all, or all but the current one)."""
    store = _session_store()
    rows = UserSession.objects.filter(user=user)
    if keep_session_key:
        rows = rows.exclude(session_key=keep_session_key)
    keys = list(rows.values_list("session_key", flat=True))
    for key in keys:
        store(session_key=key).delete()
    rows.delete()
    return len(keys)


@transaction.atomic
def password_change(*, user: User, new_password: str, keep_session_key: str | None) -> User:
    """Set a new password and end every other session (their auth hash no longer matches
    either; deleting them also frees the server-side data at once)."""
    user.set_password(new_password)
    user.save(update_fields=["password"])
    sessions_end(user=user, keep_session_key=keep_session_key)
    return user


# --- Address book -------------------------------------------------------------------------------


def _clear_other_defaults(*, address: Address) -> None:
    others = Address.objects.filter(user_id=address.user_id).exclude(pk=address.pk)
    if address.is_default_shipping:
        others.filter(is_default_shipping=True).update(is_default_shipping=False)
    if address.is_default_billing:
        others.filter(is_default_billing=True).update(is_default_billing=False)


@transaction.atomic
def address_save(*, user: User, address: Address) -> Address:
    """Save a new or edited address of `user`'s. The first address becomes both defaults;
    choosing a default takes it from the address that had it (one of each per user)."""
    if address.pk is not None and address.user_id != user.pk:
        raise Address.DoesNotExist("not this user's address")
    address.user = user
    list(User.objects.select_for_update().filter(pk=user.pk))  # one writer per address book
    if not Address.objects.filter(user=user).exclude(pk=address.pk).exists():
        address.is_default_shipping = address.is_default_billing = True
    _clear_other_defaults(address=address)
    address.full_clean()
    address.save()
    return address


@transaction.atomic
def address_set_default(*, user: User, address: Address, kind: str) -> Address:
    if address.user_id != user.pk or kind not in {"shipping", "billing"}:
        raise Address.DoesNotExist("not this user's address")
    list(User.objects.select_for_update().filter(pk=user.pk))
    setattr(address, f"is_default_{kind}", True)
    _clear_other_defaults(address=address)
    address.save(update_fields=[f"is_default_{kind}", "updated_at"])
    return address


@transaction.atomic
def address_delete(*, user: User, address: Address) -> None:
    if address.user_id != user.pk:
        raise Address.DoesNotExist("not this user's address")
    address.delete()


# --- Mailing preferences and the consent ledger -------------------------------------------------


@transaction.atomic
def preferences_update(
    *, user: User, changes: dict[str, bool], source: str, changed_by: User | None = None
) -> list[ConsentRecord]:
    """Apply preference changes and record each actual change in the consent ledger."""
    unknown = set(changes) - set(CONSENT_TOPICS)
    if unknown:
        raise ValueError(f"unknown preferences: {sorted(unknown)}")
    user = User.objects.select_for_update().get(pk=user.pk)
    records = []
    for topic, new_value in changes.items():
        old_value = getattr(user, topic)
        if old_value == bool(new_value):
            continue
        setattr(user, topic, bool(new_value))
        records.append(
            ConsentRecord(
                user=user,
                topic=topic,
                old_value=old_value,
                new_value=bool(new_value),
                source=source,
                changed_by=changed_by,
            )
        )
    if records:
        user.save(update_fields=[record.topic for record in records])
        ConsentRecord.objects.bulk_create(records)
    return records


def unsubscribe(*, token: str) -> tuple[User | None, str]:
    """One-click unsubscribe from the token's topic, at once. Idempotent; raises InvalidToken.

    Returns the user (None if the account no longer exists) and the topic.
    """
    user_id, topic = tokens.read_unsubscribe_token(token)
    user = User.objects.filter(pk=user_id).first()
    if user is not None:
        preferences_update(
            user=user, changes={topic: False}, source=ConsentRecord.Source.UNSUBSCRIBE
        )
    return user, topic


def newsletter_send(
    *,
    subject: str,
    body: str,
    topic: str = "promotional_emails",
    progress: Callable[[int, int, User], None] | None = None,
) -> int:
    """Queue a mailing to every verified, opted-in account, one task each (retried on its
    own if the mail server refuses it); returns how many were queued.

    Each message carries its own unsubscribe link (visible, and in List-Unsubscribe with
    List-Unsubscribe-Post for one-click, RFC 8058).
    """
    recipients = list(selectors.newsletter_recipients(topic=topic))
    for index, user in enumerate(recipients, start=1):
        queue_email(
            emails.send_newsletter_email, user_id=user.pk, subject=subject, body=body, topic=topic
        )
        if progress is not None:
            progress(index, len(recipients), user)
    return len(recipients)


# --- PII access audit ---------------------------------------------------------------------------


@transaction.atomic
def pii_access_record(*, customer: User, viewer: User, what: str, path: str) -> PiiAccessLog:
    return PiiAccessLog.objects.create(
        customer=customer,
        viewer=viewer,
        viewer_name=viewer.get_full_name() or viewer.get_username(),
        what=what[:100],
        path=path[:255],
    )


# --- Erasure: the account's own part ------------------------------------------------------------


@transaction.atomic
def account_anonymise(*, user: User) -> User:
    """The account's own part of an erasure (privacy.services.account_erase runs the others
    first); safe to run again.

    Addresses, sessions and sign-in records are deleted and every mailing turned off in the
    consent ledger. The account is kept as an anonymous, inactive row: name, email, username,
    phone and password replaced. Its consent ledger stays attached to it as anonymous evidence of
    what consent existed when, and the PII access log stays too (it names staff, not the
    customer).
    """
    user = User.objects.select_for_update().get(pk=user.pk)
    Address.objects.filter(user=user).delete()
    sessions_end(user=user)
    preferences_update(
        user=user,
        changes={topic: False for topic in CONSENT_TOPICS},
        source=ConsentRecord.Source.ERASURE,
    )
    for model in (AccessAttempt, AccessFailureLog, AccessLog):
        model.objects.filter(username__in={user.username, user.username.lower()}).delete()
    if user.erased_at is None:
        user.username = f"erased-{secrets.token_hex(8)}"
        user.erased_at = timezone.now()
    user.refresh_from_db(fields=["order_status_emails", "promotional_emails", "catalogue_mailings"])
    user.first_name = user.last_name = user.email = user.stripe_customer_id = ""
    user.phone = ""
    user.email_verified_at = None
    user.is_active = False
    user.set_unusable_password()
    user.save()
    user.groups.clear()
    user.user_permissions.clear()
    return user
