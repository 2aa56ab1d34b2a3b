"""Promotional email goes to opted-in, verified accounts only, each with a one-click
unsubscribe (RFC 8058) that works without a login or cookies and is recorded."""

import re
from io import StringIO

from django.core import mail
from django.core.management import call_command
from django.test import Client, TestCase

import pytest

from accounts import tokens
from accounts.factories import UserFactory
from accounts.models import ConsentRecord, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def audience(db):
    return {
        "in": UserFactory(username="keen", promotional_emails=True, verified=True),
        "unverified": UserFactory(username="new", promotional_emails=True),
        "out": UserFactory(username="quiet", verified=True),
        "inactive": UserFactory(
            username="gone", promotional_emails=True, verified=True, is_active=False
        ),
        "catalogue": UserFactory(username="reader", catalogue_mailings=True, verified=True),
    }


def send(tmp_path, *extra):
    body = tmp_path / "body.txt"
    body.write_text("Autumn pieces are in.\nCome and see.", encoding="utf-8")
    out, err = StringIO(), StringIO()
    # A command runs in autocommit, where each queued mail goes at once; here, at the commit.
    with TestCase.captureOnCommitCallbacks(execute=True):
        call_command(
            "send_newsletter",
            "--subject",
            "New in: autumn",
            "--body-file",
            str(body),
            *extra,
            stdout=out,
            stderr=err,
        )
    return out.getvalue() + err.getvalue()


def unsubscribe_path(message) -> str:
    match = re.search(r"https?://[^/\s]+(/email/unsubscribe/[^/\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def test_newsletter_goes_only_to_opted_in_verified_accounts(audience, tmp_path):
    output = send(tmp_path)
    assert [m.to for m in mail.outbox] == [["keen@example.com"]]
    assert (
        "1 opted-in recipients" in output
        and "Queueing: 100% (1/1)" in output  # progress, as plain lines when not on a terminal
        and "Done: 1 of 1 queued." in output
    )


def test_each_message_has_a_visible_link_and_one_click_headers(audience, tmp_path):
    send(tmp_path)
    (message,) = mail.outbox
    path = unsubscribe_path(message)
    assert message.extra_headers["List-Unsubscribe"] == f"<http://testserver{path}>"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html, _ = message.alternatives[0]
    assert f'href="http://testserver{path}"' in html and ">Unsubscribe</a>" in html
    assert "Autumn pieces are in." in message.body
    # Real headers on the wire, not only attributes.
    raw = message.message().as_string()
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in raw


def test_catalogue_mailing_uses_its_own_audience(audience, tmp_path):
    send(tmp_path, "--topic", "catalogue_mailings")
    assert [m.to for m in mail.outbox] == [["reader@example.com"]]


def test_dry_run_sends_nothing(audience, tmp_path):
    assert "1 opted-in recipients" in send(tmp_path, "--dry-run")
    assert mail.outbox == []


def test_get_shows_a_confirm_page_and_changes_nothing(audience):
    user = audience["in"]
    client = Client()
    response = client.get(f"/email/unsubscribe/{tokens.unsubscribe_token(user=user)}/")
    assert response.status_code == 200 and "Unsubscribe" in response.content.decode()
    assert not response.cookies  # no cookie at all, not even CSRF
    user.refresh_from_db()
    assert user.promotional_emails and not ConsentRecord.objects.exists()


def test_one_click_post_works_without_cookies_or_csrf_and_is_recorded(audience):
    user = audience["in"]
    mail_client = Client(enforce_csrf_checks=True)  # what a mail provider's server sends
    response = mail_client.post(
        f"/email/unsubscribe/{tokens.unsubscribe_token(user=user)}/",
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert "You're unsubscribed" in response.content.decode()
    user.refresh_from_db()
    assert user.promotional_emails is False
    record = ConsentRecord.objects.get(user=user)
    assert (record.topic, record.old_value, record.new_value, record.source) == (
        "promotional_emails", True, False, "unsubscribe",
    )  # fmt: skip
    assert record.get_source_display() == "Unsubscribe link"


def test_unsubscribe_is_idempotent(audience):
    user = audience["in"]
    path = f"/email/unsubscribe/{tokens.unsubscribe_token(user=user)}/"
    client = Client(enforce_csrf_checks=True)
    assert client.post(path).status_code == 200
    assert client.post(path).status_code == 200
    assert ConsentRecord.objects.filter(user=user).count() == 1


def test_a_tampered_token_is_refused_and_changes_nothing(audience):
    victim = audience["in"]
    token = tokens.unsubscribe_token(user=audience["out"])
    payload, rest = token.split(":", 1)
    # Swap in the victim's id: the signature no longer matches.
    import base64
    import json

    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data["u"] = victim.pk
    forged = (
        base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode())
        .decode()
        .rstrip("=")
    )
    client = Client(enforce_csrf_checks=True)
    for bad in [f"{forged}:{rest}", token[:-2] + "xx", "nonsense"]:
        # No valid token: refused before CSRF (accounts.middleware) with the same clear page
        # as the GET, and the view never runs.
        response = client.post(f"/email/unsubscribe/{bad}/")
        assert response.status_code == 400
        assert "This unsubscribe link is not valid" in response.content.decode()
        assert Client().get(f"/email/unsubscribe/{bad}/").status_code == 400
    victim.refresh_from_db()
    assert victim.promotional_emails and not ConsentRecord.objects.exists()


def test_a_token_made_for_something_else_is_refused(audience):
    from django.core import signing

    user = audience["in"]
    foreign = signing.dumps({"u": user.pk, "t": "promotional_emails"}, salt="orders.pay-link")
    assert (
        Client(enforce_csrf_checks=True).post(f"/email/unsubscribe/{foreign}/").status_code == 400
    )
    verify = tokens.verification_token(user=user)
    assert Client().get(f"/email/unsubscribe/{verify}/").status_code == 400
    user.refresh_from_db()
    assert user.promotional_emails


def test_a_token_only_ever_unsubscribes_its_owner(audience):
    owner, signed_in_user = audience["in"], audience["catalogue"]
    signed_in_user.promotional_emails = True
    signed_in_user.save()
    client = Client()
    client.force_login(signed_in_user)
    client.post(f"/email/unsubscribe/{tokens.unsubscribe_token(user=owner)}/")
    owner.refresh_from_db()
    signed_in_user.refresh_from_db()
    assert owner.promotional_emails is False and signed_in_user.promotional_emails is True


def test_other_posts_without_csrf_are_still_refused(signed_in):
    signed_in.handler.enforce_csrf_checks = True
    assert signed_in.post("/account/preferences/", {"promotional_emails": "on"}).status_code == 403


def test_staff_send_from_the_admin_only_with_the_permission(client, audience):
    from django.contrib.auth.models import Permission

    staff = UserFactory(username="marketing", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="access_admin"))
    client.force_login(staff)
    # Wagtail turns PermissionDenied into a redirect to the dashboard with an error message.
    assert client.get("/admin/newsletter/")["Location"] == "/admin/"
    refused = client.post(
        "/admin/newsletter/", {"subject": "Hi", "body": "x", "topic": "promotional_emails"}
    )
    assert refused["Location"] == "/admin/" and mail.outbox == []
    staff.user_permissions.add(Permission.objects.get(codename="send_newsletter"))
    staff = User.objects.get(pk=staff.pk)
    client.force_login(staff)
    assert "1 for offers" in client.get("/admin/newsletter/").content.decode()
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(
            "/admin/newsletter/",
            {"subject": "Hello", "body": "News", "topic": "promotional_emails"},
        )
    assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [["keen@example.com"]]
    assert "List-Unsubscribe" in mail.outbox[0].extra_headers
