"""Sign-up, verification, sign-in, sessions, passwords and email change, through the views."""

import re
import time
import types

from django.contrib.auth.hashers import make_password
from django.contrib.sessions.models import Session
from django.core import mail
from django.test import Client
from django.utils import timezone

import pytest

from accounts.factories import UserFactory
from accounts.models import ConsentRecord, User, UserSession

from .helpers import PASSWORD

pytestmark = pytest.mark.django_db

SIGNUP = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "Ada@Example.com",
    "username": "ada",
    "phone": "07911 123456",
    "password1": "analytical engine notes",
    "password2": "analytical engine notes",
}


def signup(client, **changes):
    return client.post("/account/signup/", {**SIGNUP, **changes})


def link_in(message, path_prefix: str) -> str:
    match = re.search(rf"https?://[^/\s]+({re.escape(path_prefix)}[^\s\"<]+)", message.body)
    assert match, message.body
    return match.group(1)


# --- Sign-up ----------------------------------------------------------------------------------


def test_signup_creates_account_with_e164_phone_and_default_consents(client):
    response = signup(client)
    assert response.status_code == 302 and response["Location"] == "/account/signup/sent/"
    user = User.objects.get(username="ada")
    assert user.email == "Ada@example.com" and user.first_name == "Ada"  # domain lower-cased
    assert str(user.phone) == "+447911123456"
    assert not user.email_verified
    assert (user.order_status_emails, user.promotional_emails, user.catalogue_mailings) == (
        True, False, False,
    )  # fmt: skip
    ledger = {(r.topic, r.old_value, r.new_value, r.source) for r in user.consents.all()}
    assert ledger == {
        ("order_status_emails", None, True, "signup"),
        ("promotional_emails", None, False, "signup"),
        ("catalogue_mailings", None, False, "signup"),
    }
    # Not signed in by sign-up (a taken address gets the same page); once signed in, the
    # unverified banner shows on every page.
    assert "_auth_user_id" not in client.session
    client.force_login(user)
    home = client.get("/account/")
    assert home.status_code == 200
    assert "Please confirm your email address" in home.content.decode()


def test_signup_promotional_opt_in_is_explicit_and_recorded(client):
    signup(client, promotional_emails="on")
    record = ConsentRecord.objects.get(topic="promotional_emails")
    assert record.new_value is True and record.source == "signup"
    assert User.objects.get().promotional_emails is True


def test_signup_email_is_unique_case_insensitively(client):
    UserFactory(email="ada@example.com", username="someone")
    response = signup(client, email="ADA@EXAMPLE.COM")
    # Not an error on the form (that would tell who has an account): the same next page, and
    # the holder is emailed (accounts/tests/test_reset_and_signup.py).
    assert response.status_code == 302 and response["Location"] == "/account/signup/sent/"
    assert User.objects.count() == 1


def test_email_uniqueness_is_a_database_constraint():
    from django.core.exceptions import ValidationError

    UserFactory(email="grace@example.com")
    with pytest.raises(ValidationError):
        User(username="other", email="Grace@Example.COM").full_clean()


def test_signup_username_is_unique_and_has_no_at_sign(client):
    UserFactory(username="ada")
    assert "already exists" in signup(client, username="ADA").content.decode()
    assert "without “@”" in signup(client, username="ada@home").content.decode()


@pytest.mark.parametrize(
    "password, message",
    [
        ("short1!", "too short"),
        ("password123", "too common"),
        ("lovelace.ada", "too similar"),
    ],
)
def test_signup_password_rules(client, password, message):
    response = signup(client, password1=password, password2=password)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not User.objects.exists()


def test_a_64_character_passphrase_is_accepted_without_composition_rules(client):
    passphrase = "a" * 10 + " quiet walk along the river thames at dawn in early may"
    passphrase = passphrase[:64]
    assert len(passphrase) == 64
    assert signup(client, password1=passphrase, password2=passphrase).status_code == 302
    assert User.objects.get().check_password(passphrase)


def test_bad_phone_is_refused(client):
    response = signup(client, phone="12")
    assert "valid phone number" in response.content.decode()


# --- Email verification ------------------------------------------------------------------------


def test_verification_link_confirms_the_address(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        signup(client)
    (message,) = mail.outbox
    assert message.to == ["Ada@example.com"]
    path = link_in(message, "/account/verify-email/")
    response = client.get(path)
    assert response.status_code == 302
    assert User.objects.get().email_verified
    assert "Please confirm your email address" not in client.get("/account/").content.decode()


def test_verification_link_expires(client, shopper, monkeypatch, settings):
    from accounts import tokens

    shopper.email_verified_at = None
    shopper.save()
    token = tokens.verification_token(user=shopper)
    later = time.time() + (settings.VITRINE_EMAIL_VERIFICATION_DAYS + 1) * 86400
    monkeypatch.setattr("django.core.signing.time", types.SimpleNamespace(time=lambda: later))
    response = client.get(f"/account/verify-email/{token}/")
    assert response.status_code == 400
    shopper.refresh_from_db()
    assert not shopper.email_verified


def test_verification_link_for_an_old_address_no_longer_works(client, shopper):
    from accounts import tokens

    shopper.email_verified_at = None
    shopper.save()
    token = tokens.verification_token(user=shopper)
    shopper.email = "new@example.com"
    shopper.save()
    assert client.get(f"/account/verify-email/{token}/").status_code == 400


def decoded_parts(token: str) -> str:
    """Everything readable in a token: each segment base64-decoded (and inflated if zipped)."""
    import base64
    import zlib

    readable = [token]
    for part in re.split(r"[:/.]", token.lstrip(".")):
        try:
            raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        except ValueError:
            continue
        readable.append(raw.decode("latin-1"))
        try:
            readable.append(zlib.decompress(raw).decode("latin-1"))
        except zlib.error:
            pass
    return " ".join(readable).lower()


def test_verification_link_carries_no_personal_data(client, django_capture_on_commit_callbacks):
    """The link is in the access log of every proxy it passes: an id and a keyed fingerprint,
    never the address."""
    with django_capture_on_commit_callbacks(execute=True):
        signup(client)
    (message,) = mail.outbox
    token = link_in(message, "/account/verify-email/").split("/")[3]
    readable = decoded_parts(token)
    for personal in ("ada@example.com", "example.com", "lovelace"):
        assert personal not in readable


def test_verification_token_changes_with_the_address_and_its_state(shopper):
    from accounts import tokens

    shopper.email_verified_at = None
    shopper.save()
    unverified = tokens.verification_token(user=shopper)
    shopper.email = "ada@elsewhere.example"
    moved = tokens.verification_token(user=shopper)
    shopper.email_verified_at = timezone.now()
    verified = tokens.verification_token(user=shopper)
    fingerprints = {tokens.read_verification_token(t)[1] for t in (unverified, moved, verified)}
    assert len(fingerprints) == 3


def test_the_same_verification_link_opened_twice_is_still_a_confirmation(
    client, shopper, django_capture_on_commit_callbacks
):
    from accounts import tokens

    shopper.email_verified_at = None
    shopper.save()
    token = tokens.verification_token(user=shopper)
    assert client.get(f"/account/verify-email/{token}/").status_code == 302
    shopper.refresh_from_db()
    confirmed_at = shopper.email_verified_at
    assert confirmed_at is not None
    assert client.get(f"/account/verify-email/{token}/").status_code == 302
    shopper.refresh_from_db()
    assert shopper.email_verified_at == confirmed_at


# --- Sign-in and sessions ----------------------------------------------------------------------


@pytest.mark.parametrize("identifier", ["ada", "ada@example.com", "ADA@Example.COM"])
def test_login_by_username_or_email(client, shopper, identifier):
    response = client.post("/account/login/", {"username": identifier, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/account/"
    assert client.get("/account/").context["user"] == shopper


def test_wrong_password_and_unknown_user_get_the_same_answer(client, shopper):
    wrong = client.post("/account/login/", {"username": "ada", "password": "not it at all"})
    unknown = client.post("/account/login/", {"username": "nobody", "password": "not it at all"})
    assert wrong.status_code == unknown.status_code == 200
    message = "That email or username and password don&#x27;t match an account."
    assert message in wrong.content.decode() and message in unknown.content.decode()


def test_argon2_is_used_and_a_pbkdf2_hash_is_upgraded_at_login(client, settings):
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]
    user = UserFactory(username="old")
    User.objects.filter(pk=user.pk).update(password=make_password(PASSWORD, hasher="pbkdf2_sha256"))
    assert User.objects.get(pk=user.pk).password.startswith("pbkdf2_sha256$")
    response = client.post("/account/login/", {"username": "old", "password": PASSWORD})
    assert response.status_code == 302
    assert User.objects.get(pk=user.pk).password.startswith("argon2")


def test_session_key_rotates_at_login(client, shopper):
    client.get("/account/login/")
    client.session.save()
    before = client.session.session_key
    assert before
    client.post("/account/login/", {"username": "ada", "password": PASSWORD})
    after = client.session.session_key
    assert after and after != before
    assert not Session.objects.filter(session_key=before).exists()


def test_logout_is_post_only_and_ends_the_session_on_the_server(client, shopper):
    client.post("/account/login/", {"username": "ada", "password": PASSWORD})
    key = client.session.session_key
    assert Session.objects.filter(session_key=key).exists()
    assert client.get("/account/logout/").status_code == 405
    response = client.post("/account/logout/")
    assert response.status_code == 302
    assert not Session.objects.filter(session_key=key).exists()
    # A stolen copy of the old cookie is worth nothing.
    thief = Client()
    thief.cookies["sessionid"] = key
    assert thief.get("/account/").status_code == 302


def test_account_pages_need_sign_in(client):
    response = client.get("/account/addresses/")
    assert response.status_code == 302
    assert response["Location"].startswith("/account/login/?next=/account/addresses/")


# --- Passwords and email --------------------------------------------------------------------------


def login(client, username="ada", password=PASSWORD):
    response = client.post("/account/login/", {"username": username, "password": password})
    assert response.status_code == 302, response.content.decode()[:500]
    return client


def test_password_change_keeps_this_session_and_ends_the_others(shopper):
    here, laptop, phone = login(Client()), login(Client()), login(Client())
    assert UserSession.objects.filter(user=shopper).count() == 3
    response = here.post(
        "/account/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "a brand new passphrase",
            "new_password2": "a brand new passphrase",
        },
    )
    assert response.status_code == 302
    assert here.get("/account/").status_code == 200
    for other in (laptop, phone):
        assert other.get("/account/").status_code == 302  # signed out
    assert Session.objects.count() == 1
    shopper.refresh_from_db()
    assert shopper.check_password("a brand new passphrase")


def test_password_change_needs_the_old_password(signed_in, shopper):
    response = signed_in.post(
        "/account/password/",
        {
            "old_password": "wrong",
            "new_password1": "another passphrase",
            "new_password2": "another passphrase",
        },
    )
    assert response.status_code == 200
    shopper.refresh_from_db()
    assert shopper.check_password(PASSWORD)


def test_password_reset_by_email_sets_a_new_password_and_ends_sessions(
    shopper, django_capture_on_commit_callbacks
):
    elsewhere = login(Client())
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/account/password-reset/", {"email": "ADA@example.com"})
    assert response.status_code == 302 and response["Location"] == "/account/password-reset/sent/"
    (message,) = mail.outbox
    assert message.subject == "Reset your Vitrine password" and message.to == ["ada@example.com"]
    assert message.alternatives  # an HTML part too
    path = link_in(message, "/account/password-reset/")
    form_page = client.get(path, follow=True)
    assert "Choose a new password" in form_page.content.decode()
    response = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "river walk at dawn", "new_password2": "river walk at dawn"},
    )
    assert (
        response.status_code == 302 and response["Location"] == "/account/password-reset/complete/"
    )
    shopper.refresh_from_db()
    assert shopper.check_password("river walk at dawn")
    assert elsewhere.get("/account/").status_code == 302
    assert not UserSession.objects.filter(user=shopper).exists()


def test_password_reset_for_an_unknown_address_looks_the_same(client):
    response = client.post("/account/password-reset/", {"email": "nobody@example.com"})
    assert response.status_code == 302 and response["Location"] == "/account/password-reset/sent/"
    assert mail.outbox == []


def test_email_change_needs_the_current_password(
    signed_in, shopper, django_capture_on_commit_callbacks
):
    refused = signed_in.post(
        "/account/email/", {"email": "ada@new.example", "current_password": "nope"}
    )
    assert refused.status_code == 200 and "not your current password" in refused.content.decode()
    shopper.refresh_from_db()
    assert shopper.email == "ada@example.com"

    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post(
            "/account/email/", {"email": "ada@new.example", "current_password": PASSWORD}
        )
    assert response.status_code == 302
    shopper.refresh_from_db()
    assert shopper.email == "ada@new.example" and not shopper.email_verified
    assert sorted(m.to[0] for m in mail.outbox) == ["ada@example.com", "ada@new.example"]


def test_email_change_refuses_an_address_in_use(signed_in, other):
    response = signed_in.post(
        "/account/email/", {"email": "GRACE@example.com", "current_password": PASSWORD}
    )
    assert "Another account already uses" in response.content.decode()


def test_header_says_sign_in_or_account(client, shopper, site_tree):
    assert ">Sign in</span>" in client.get("/cart/").content.decode()
    client.force_login(shopper)
    assert ">Account</span>" in client.get("/cart/").content.decode()
