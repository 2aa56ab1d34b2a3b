"""Policy history: a change note is required to publish; every published version is listed
and diffed against the one before; drafts and other pages' revisions are never shown."""

from django.urls import reverse
from django.utils.html import escape

from wagtail.rich_text import RichText
from wagtail.test.utils.form_data import (
    nested_form_data,
    querydict_from_html,
    rich_text,
    streamfield,
)

import pytest

from policies import diff
from policies.factories import PolicyPageFactory, policy_publish
from policies.forms import CHANGE_NOTE_REQUIRED
from policies.models import PolicyChange, PolicyPage


def _edit_form(client, page):
    """The edit form's fields; the body (a StreamField, drawn by JavaScript) as the browser
    would post it."""
    url = reverse("wagtailadmin_pages:edit", args=[page.pk])
    response = client.get(url)
    assert response.status_code == 200
    data = querydict_from_html(response.content.decode(), form_id="page-edit-form")
    body = nested_form_data(
        {"body": streamfield([("heading", "Cookies"), ("paragraph", rich_text("<p>None.</p>"))])}
    )
    data.update(body)
    return url, data


@pytest.mark.django_db
def test_publishing_a_policy_needs_a_change_note(client, site_tree, superuser):
    policy = PolicyPageFactory(title="Privacy policy", slug="privacy")
    client.force_login(superuser)
    url, data = _edit_form(client, policy)
    assert data["change_note"] == "", "a new edit starts without the last version's note"
    data["summary"] = "A new summary."
    data["action-publish"] = "1"
    response = client.post(url, data)
    assert response.status_code == 200
    assert escape(CHANGE_NOTE_REQUIRED) in response.content.decode()
    assert PolicyChange.objects.filter(page=policy).count() == 1

    # A draft may be saved without a note, and is not part of the history.
    del data["action-publish"]
    assert client.post(url, data).status_code == 302
    assert PolicyChange.objects.filter(page=policy).count() == 1

    url, data = _edit_form(client, policy)
    data["change_note"] = "Shorter summary."
    data["action-publish"] = "1"
    assert client.post(url, data).status_code == 302
    policy.refresh_from_db()
    latest = PolicyChange.objects.filter(page=policy).order_by("-revision_id").first()
    assert latest.revision_id == policy.live_revision_id
    assert latest.change_note == "Shorter summary."
    assert latest.summary == "A new summary."
    assert policy.change_note == "", "the note belongs to that version only"


@pytest.mark.django_db
def test_history_lists_published_versions_only(client, site_tree):
    policy = PolicyPageFactory(title="Privacy policy", slug="privacy")
    policy_publish(policy, note="Explained the session cookie.", summary="Second summary.")
    draft = PolicyPage.objects.get(pk=policy.pk)
    draft.summary = "Secret draft summary"
    draft.save_revision()  # saved, never published

    html = client.get("/privacy/history/").content.decode()
    assert "Explained the session cookie." in html
    assert "First published version." in html
    assert html.count('class="policy-history__entry"') == 2
    assert "Secret draft" not in html
    draft_revision = PolicyPage.objects.get(pk=policy.pk).latest_revision_id
    assert client.get(f"/privacy/history/{draft_revision}/").status_code == 404
    assert "Secret draft" not in client.get("/privacy/").content.decode()


@pytest.mark.django_db
def test_version_page_shows_the_diff_against_the_previous_version(client, site_tree):
    policy = PolicyPageFactory(title="Privacy policy", slug="privacy")
    change = policy_publish(
        policy,
        note="Cookies explained; deletion reworded.",
        body=[
            ("heading", "Cookies"),
            ("paragraph", RichText("<p>Our cookies hold no personal data at all.</p>")),
            ("list", ["You can download your data.", "You can erase your account."]),
            ("heading", "Phone orders"),
        ],
    )
    response = client.get(f"/privacy/history/{change.revision_id}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Cookies explained; deletion reworded." in html
    assert "<ins> at all</ins>" in html
    assert "<del>delete</del><ins>erase</ins>" in html
    assert "<ins>Phone orders</ins>" in html
    assert "Our cookies hold no personal data at all." in html, "the version in full"

    first = PolicyChange.objects.filter(page=policy).order_by("revision_id").first()
    html = client.get(f"/privacy/history/{first.revision_id}/").content.decode()
    assert "This is the first published version." in html
    assert "<ins>" not in html


@pytest.mark.django_db
def test_policy_page_links_to_what_changed(client, site_tree):
    policy = PolicyPageFactory(title="Privacy policy", slug="privacy")
    change = policy_publish(policy, note="Clearer wording.")
    html = client.get("/privacy/").content.decode()
    assert "Last updated" in html
    assert f'href="/privacy/history/{change.revision_id}/">see what changed</a>' in html
    assert 'href="/privacy/history/"' in html


@pytest.mark.django_db
def test_another_pages_revision_is_not_found(client, site_tree):
    PolicyPageFactory(title="Privacy policy", slug="privacy")
    terms = PolicyPageFactory(title="Terms", slug="terms")
    other = PolicyChange.objects.get(page=terms)
    assert client.get(f"/terms/history/{other.revision_id}/").status_code == 200
    assert client.get(f"/privacy/history/{other.revision_id}/").status_code == 404
    assert client.get("/privacy/history/999999/").status_code == 404
    assert client.get("/privacy/history/not-a-number/").status_code == 404
    assert client.get("/security/history/").status_code == 404


@pytest.mark.django_db
def test_history_and_diff_escape_script_in_a_policy_body(client, site_tree):
    policy = PolicyPageFactory(title="Security", slug="security")
    change = policy_publish(
        policy,
        note="<script>alert('note')</script>",
        title="Security <b>now</b>",
        body=[
            ("heading", "<script>alert(1)</script>"),
            # What the rich text editor stores when someone types markup: escaped text.
            ("paragraph", RichText("<p>Safe &lt;script&gt;alert(3)&lt;/script&gt; text</p>")),
            ("list", ["<img src=x onerror=alert(2)>"]),
        ],
    )
    for url in ("/security/history/", f"/security/history/{change.revision_id}/"):
        html = client.get(url).content.decode()
        assert "<script>alert" not in html, url
        assert "<img src=x" not in html, url
        assert "<b>now</b>" not in html, url
    html = client.get(f"/security/history/{change.revision_id}/").content.decode()
    assert "<ins>&lt;script&gt;alert(1)&lt;/script&gt;</ins>" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in html


def test_rich_text_is_diffed_as_text_blocks():
    blocks = diff.rich_text_blocks(
        "<p>One <b>bold</b> line.</p><ul><li>First</li><li>Second</li></ul>"
        "<h3>Title</h3><script>nope()</script>"
    )
    assert blocks == [
        diff.TextBlock("paragraph", "One bold line."),
        diff.TextBlock("item", "First"),
        diff.TextBlock("item", "Second"),
        diff.TextBlock("heading", "Title"),
    ]
    assert diff.word_diff("keep it short", "keep it very short") == [
        ("equal", "keep it "),
        ("insert", "very "),
        ("equal", "short"),
    ]
