"""Journey 5: an editor changes the privacy policy with a change note and publishes it; the
public page shows the new text and "last updated", and the history shows what changed."""

import re

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

import pytest

from policies.factories import PolicyPageFactory
from policies.forms import CHANGE_NOTE_REQUIRED
from policies.models import PolicyPage
from policies.services import editors_grant_page_rights

from .steps import PASSWORD, admin_login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def privacy(site_tree):
    page = PolicyPageFactory(
        title="Privacy policy",
        slug="privacy",
        summary="We keep what we need to send your order, and nothing else.",
    )
    editors_grant_page_rights(page=page)
    editor = get_user_model().objects.create_user("eddie", "eddie@example.com", PASSWORD)
    editor.groups.add(Group.objects.get(name="Editors"))
    return page


def test_editor_publishes_a_policy_change_that_the_public_history_shows(
    browser, live_server, privacy
):
    base = live_server.url
    context, admin = admin_login(browser, base, "eddie")
    admin.goto(f"{base}/admin/pages/{privacy.pk}/edit/")
    admin.locator("#id_summary").fill(
        "We keep what we need to send your order. Promotions only if you ask."
    )
    admin.get_by_role("button", name="More actions").click()
    admin.get_by_role("button", name="Publish").click()
    # Publishing without a change note is refused, with the reason next to the field.
    admin.get_by_text(CHANGE_NOTE_REQUIRED).first.wait_for()
    assert "Promotions only if you ask" not in PolicyPage.objects.get(pk=privacy.pk).summary
    admin.locator("#id_change_note").fill("Promotions are now opt-in only.")
    admin.get_by_role("button", name="More actions").click()
    admin.get_by_role("button", name="Publish").click()
    admin.wait_for_url(re.compile(r"/admin/pages/\d+/$"))

    visitor = browser.new_context().new_page()
    visitor.goto(base + "/privacy/")
    visitor.get_by_text("Promotions only if you ask.").first.wait_for()
    assert visitor.get_by_text(re.compile("Last updated")).first.is_visible()
    visitor.get_by_role("link", name="see what changed").click()
    visitor.wait_for_url(re.compile(r"/privacy/history/\d+/$"))
    inserted = visitor.locator("ins")
    assert inserted.count() >= 1 and "Promotions" in " ".join(inserted.all_inner_texts())
    visitor.goto(base + "/privacy/history/")
    assert visitor.get_by_text("Promotions are now opt-in only.").is_visible()
    visitor.context.close()
    context.close()
