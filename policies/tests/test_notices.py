"""Changed-policy notice for signed-in users, dismissal ledger, and material-change emails."""

from datetime import timedelta

from django.core import mail
from django.test import Client
from django.utils import timezone

import pytest

from policies import selectors, services
from policies.factories import PolicyPageFactory, policy_publish
from policies.models import PolicyAcknowledgement

from .helpers import make_user


def _joined_long_ago(user):
    user.date_joined = timezone.now() - timedelta(days=365)
    user.save(update_fields=["date_joined"])
    return user


@pytest.fixture
def changed_privacy(site_tree):
    policy = PolicyPageFactory(title="Privacy policy", slug="privacy")
    change = policy_publish(policy, note="Explained testimonials.")
    return policy, change


@pytest.mark.django_db
def test_signed_in_shopper_sees_the_notice_and_dismisses_it(client, changed_privacy, shopper):
    policy, change = changed_privacy
    _joined_long_ago(shopper)
    client.force_login(shopper)
    html = client.get("/shops/").content.decode()
    assert "We updated our <strong>privacy policy</strong>" in html
    assert f'href="/privacy/history/{change.revision_id}/">See what changed</a>' in html
    assert f'name="revision" value="{change.revision_id}"' in html
    assert "<script" not in html.split('class="policy-notices')[1].split("</div>")[0]

    response = client.post(
        "/policies/acknowledge/", {"revision": change.revision_id, "next": "/shops/"}
    )
    assert response.status_code == 302 and response["Location"] == "/shops/"
    ack = PolicyAcknowledgement.objects.get(user=shopper)
    assert (ack.page_id, ack.revision_id) == (policy.pk, change.revision_id)
    assert "We updated our" not in client.get("/shops/").content.decode()

    # A newer version brings the notice back.
    newer = policy_publish(policy, note="Another change.")
    notices = selectors.policy_notices_for_user(user=shopper)
    assert [n["revision_id"] for n in notices] == [newer.revision_id]


@pytest.mark.django_db
def test_no_notice_for_anonymous_new_accounts_or_first_versions(client, changed_privacy):
    PolicyPageFactory(title="Terms", slug="terms")  # one version only: nothing "changed"
    assert "We updated our" not in client.get("/shops/").content.decode()
    newcomer = make_user("newcomer")  # joined after the change: has seen the current text
    assert selectors.policy_notices_for_user(user=newcomer) == []
    old_timer = _joined_long_ago(make_user("old-timer"))
    assert [n["title"] for n in selectors.policy_notices_for_user(user=old_timer)] == [
        "Privacy policy"
    ]


@pytest.mark.django_db
def test_dismissing_needs_csrf_a_post_and_a_sign_in(changed_privacy, shopper):
    _, change = changed_privacy
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(shopper)
    assert (
        csrf_client.post("/policies/acknowledge/", {"revision": change.revision_id}).status_code
        == 403
    )
    assert not PolicyAcknowledgement.objects.exists()

    anonymous = Client()
    assert (
        anonymous.post("/policies/acknowledge/", {"revision": change.revision_id}).status_code
        == 403
    )
    client = Client()
    client.force_login(shopper)
    assert client.get("/policies/acknowledge/").status_code == 405
    assert client.post("/policies/acknowledge/", {"revision": "999999"}).status_code == 404
    response = client.post(
        "/policies/acknowledge/", {"revision": change.revision_id, "next": "https://evil.example/"}
    )
    assert response["Location"] == "/privacy/", "no open redirect"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "next_url", ["abc", "//evil.com", "https://evil.com/x", "/" + "a" * 9_999, "/shops/"]
)
def test_dismissing_goes_back_only_to_a_path_on_this_site(
    client, changed_privacy, shopper, next_url
):
    _, change = changed_privacy
    client.force_login(shopper)
    response = client.post(
        "/policies/acknowledge/", {"revision": change.revision_id, "next": next_url}
    )
    expected = "/shops/" if next_url == "/shops/" else "/privacy/"
    assert response.status_code == 302 and response["Location"] == expected


@pytest.mark.django_db
def test_material_change_emails_every_account_holder(
    site_tree, shopper, django_capture_on_commit_callbacks
):
    other = make_user("grace", first_name="Grace")
    make_user("no-email", email="")
    make_user("gone", is_active=False)
    policy = PolicyPageFactory(title="Privacy policy", slug="privacy")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        policy_publish(policy, note="Minor wording.")
    assert mail.outbox == [], "only material changes are emailed"

    with django_capture_on_commit_callbacks(execute=True):
        change = policy_publish(
            policy, note="We now keep order records for 7 years.", material=True
        )
    recipients = sorted(message.to[0] for message in mail.outbox)
    assert recipients == sorted([shopper.email, other.email])
    message = mail.outbox[0]
    assert all(len(m.to) == 1 and not m.bcc and not m.cc for m in mail.outbox)
    assert message.subject == "We have updated our privacy policy"
    assert "We now keep order records for 7 years." in message.body
    assert f"http://testserver/privacy/history/{change.revision_id}/" in message.body

    # Publishing the page again from code does not repeat the note or the email.
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        policy.refresh_from_db()
        assert policy.material_change is False and policy.change_note == ""
        policy.save_revision().publish()
    assert mail.outbox == []


@pytest.mark.django_db
def test_acknowledgements_erase_for_user(changed_privacy, shopper):
    _, change = changed_privacy
    services.policy_acknowledge(user=shopper, change=change)
    services.policy_acknowledge(user=shopper, change=change)  # once per version
    other = make_user("grace")
    services.policy_acknowledge(user=other, change=change)
    assert list(selectors.policy_acknowledgements_for_user(user=shopper)) == list(
        PolicyAcknowledgement.objects.filter(user=shopper)
    )
    assert services.policy_acknowledgements_erase_for_user(user=shopper) == 1
    assert not PolicyAcknowledgement.objects.filter(user=shopper).exists()
    assert PolicyAcknowledgement.objects.filter(user=other).exists()
