"""A rich text field posted as something other than Draftail contentstate, through the admin.

The Draftail editor posts contentstate JSON (or `null` when empty). A hand-made POST with HTML or
JSON of another shape used to raise inside Wagtail's widget (a 500), and a page link with a
bad id was saved and then broke the page wherever it was shown. Now the field gets an error
the user can act on, the rest of the form comes back as posted, the editor shows what was sent
(as text) and nothing is saved: neither the live page nor a new revision. Script inside valid
contentstate, for vendor fields, is covered in vendors/tests/test_vendor_admin.py.
"""

import json
import re
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse

from wagtail.models import Revision
from wagtail.test.utils.form_data import (
    nested_form_data,
    querydict_from_html,
    rich_text,
    streamfield,
)

import pytest
from bs4 import BeautifulSoup

from marketplace.rich_text import UNREADABLE_MESSAGE as MESSAGE
from policies import factories as policy_factories
from policies.models import PolicyPage
from policies.models.pages import POLICY_RICH_TEXT_FEATURES
from policies.services import editors_grant_page_rights
from products.factories import CategoryFactory, DesignerFactory
from products.models import ItemPage
from vendors.models import VENDOR_RICH_TEXT_FEATURES, ShopPage
from vendors.services import vendor_onboard

# Cached fragments (footer links, site root paths) must not leak between tests.
pytestmark = pytest.mark.usefixtures("clear_cache")


def _contentstate(*, styles=(), link=None):
    """One paragraph, "See here", as Draftail would post it; `link` is a LINK entity's data."""
    block = {
        "key": "a1b2c",
        "type": "unstyled",
        "depth": 0,
        "text": "See here",
        "inlineStyleRanges": list(styles),
        "entityRanges": [],
    }
    entity_map = {}
    if link is not None:
        block["entityRanges"] = [{"offset": 0, "length": 3, "key": 0}]
        entity_map = {"0": {"type": "LINK", "mutability": "MUTABLE", "data": link}}
    return json.dumps({"blocks": [block], "entityMap": entity_map})


# What a forger (or a broken client) might post instead of contentstate.
FORGED = {
    "raw HTML": '<p>Now <b>bold</b> <script>alert(1)</script><img src=x onerror="alert(2)"></p>',
    "a JSON list": "[]",
    "blocks not a list": '{"blocks": "x"}',
    "a JSON object without blocks": "{}",
    "a JSON string": '"just words"',
    "a block that is not an object": '{"blocks": ["x"], "entityMap": {}}',
    "a range pointing at no entity": _contentstate().replace(
        '"entityRanges": []', '"entityRanges": [{"offset": 0, "length": 3, "key": 7}]'
    ),
    "a style offset that is a string": _contentstate(
        styles=[{"offset": "0", "length": 3, "style": "BOLD"}]
    ),
    # These two used to convert and save; the stored link then raised whenever the page was shown.
    "a page link whose id is not a number": _contentstate(link={"id": "x"}),
    "a page link whose id overflows the database": _contentstate(link={"id": 10**30}),
    "JSON nested too deep to parse": "[" * 50_000 + "]" * 50_000,
}


def _edit_form(client, page, **changes):
    url = reverse("wagtailadmin_pages:edit", args=[page.pk])
    response = client.get(url)
    assert response.status_code == 200, url
    data = querydict_from_html(response.content.decode(), form_id="page-edit-form")
    data.update(changes)
    return url, data


def _field_error(response, name):
    """The error shown under a field of the page form."""
    soup = BeautifulSoup(response.content.decode(), "html.parser")
    return soup.select_one(f'[data-contentpath="{name}"] .error-message').get_text(strip=True)


def _form_again(response):
    """The form as the browser shows it after the refused post."""
    return querydict_from_html(response.content.decode(), form_id="page-edit-form")


def _stream_sent_back(response, name):
    """The StreamField's children and block errors, as the page hands them to the admin's JS."""
    soup = BeautifulSoup(response.content.decode(), "html.parser")
    children, errors = json.loads(soup.find(id=name)["data-w-block-arguments-value"])
    return children, errors


def _assert_nothing_runs(html):
    """The refused markup is nowhere a live element: only text in the editor's JSON."""
    soup = BeautifulSoup(html, "html.parser")
    assert not soup.find_all(attrs={"onerror": True})
    assert not soup.find_all("img", src="x")
    assert not any("alert(1)" in script.get_text() for script in soup.find_all("script"))


def _texts(contentstate):
    return [block["text"] for block in json.loads(contentstate)["blocks"]]


def _shown_as_text(sent):
    """What the editor shows of a refused value: each line of it, as typed."""
    return sent.splitlines() or [""]


# --- a vendor editing their own item and shop ---------------------------------------------------


@pytest.fixture
def vendor(site_tree):
    return vendor_onboard(
        name="Maison Lune", contact_email="hello@lune.example", staff_email="staff@lune.example"
    )


@pytest.fixture
def staff(vendor):
    return vendor.group.user_set.get()


@pytest.fixture
def item(vendor, staff):
    item = ItemPage(
        title="Kelly 28",
        slug="kelly-28",
        designer=DesignerFactory(),
        category=CategoryFactory(),
        condition="excellent",
        price=Decimal("6400.00"),
        description="<p>Gold hardware, <b>barely</b> worn.</p>",
        live=False,
    )
    vendor.shop.add_child(instance=item)
    item.save_revision(user=staff).publish()
    item.refresh_from_db()
    return item


def _item_state(item):
    live = ItemPage.objects.get(pk=item.pk)
    latest = live.get_latest_revision()
    return (
        live.title,
        live.description,
        latest.pk,
        latest.content["description"],
        Revision.page_revisions.filter(object_id=str(item.pk)).count(),
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("sent", "action"),
    [pytest.param(sent, "publish", id=f"publish, {name}") for name, sent in FORGED.items()]
    + [pytest.param(FORGED["raw HTML"], None, id="save draft, raw HTML")],
)
def test_vendor_forged_item_description_is_refused_and_nothing_saved(
    client, staff, item, sent, action
):
    client.force_login(staff)
    before = _item_state(item)
    url, data = _edit_form(client, item, title="Kelly 28, retitled", description=sent)
    if action:
        data[f"action-{action}"] = "1"

    response = client.post(url, data)

    assert response.status_code == 200
    html = response.content.decode()
    assert "The page could not be saved due to validation errors" in html
    assert _field_error(response, "description") == MESSAGE
    again = _form_again(response)
    assert again["title"] == "Kelly 28, retitled", "the rest of the form comes back as posted"
    assert _texts(again["description"]) == _shown_as_text(sent), "what was sent, as text"
    assert _item_state(item) == before, "neither the live page nor a revision changed"
    _assert_nothing_runs(html)


@pytest.mark.django_db
def test_vendor_forged_description_in_autosave_and_preview_is_refused(client, staff, item):
    """The edit view's JSON answer (autosave) and the live preview post the same form."""
    client.force_login(staff)
    before = _item_state(item)
    url, data = _edit_form(client, item, description=FORGED["raw HTML"])

    response = client.post(url, data, HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert response.json()["error_code"] == "validation_error"

    preview = reverse("wagtailadmin_pages:preview_on_edit", args=[item.pk])
    response = client.post(preview, data)
    assert response.status_code == 200
    assert response.json()["is_valid"] is False
    assert _item_state(item) == before


@pytest.mark.django_db
def test_vendor_forged_shop_story_is_refused(client, staff, vendor):
    client.force_login(staff)
    shop = vendor.shop
    shop.story = "<p>Three generations of collectors.</p>"
    shop.save_revision(user=staff).publish()
    revisions = Revision.page_revisions.filter(object_id=str(shop.pk)).count()
    url, data = _edit_form(
        client, shop, intro="A new intro.", story=FORGED["raw HTML"], **{"action-publish": "1"}
    )

    response = client.post(url, data)

    assert response.status_code == 200
    assert _field_error(response, "story") == MESSAGE
    assert _form_again(response)["intro"].strip() == "A new intro."
    shop = ShopPage.objects.get(pk=shop.pk)
    assert shop.story == "<p>Three generations of collectors.</p>"
    assert shop.intro != "A new intro."
    assert Revision.page_revisions.filter(object_id=str(shop.pk)).count() == revisions


@pytest.mark.django_db
def test_vendor_resending_the_refused_form_saves_the_text(client, staff, item):
    """After the error the editor holds valid contentstate: sending it again saves, as text."""
    client.force_login(staff)
    url, data = _edit_form(client, item, description=FORGED["raw HTML"])
    data["action-publish"] = "1"
    again = _form_again(client.post(url, data))
    again["action-publish"] = "1"

    assert client.post(url, again).status_code == 302
    description = ItemPage.objects.get(pk=item.pk).description
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in description
    assert "<script" not in description and "<b>" not in description


@pytest.mark.django_db
def test_vendor_valid_contentstate_and_an_emptied_editor_still_save(client, staff, item):
    client.force_login(staff)
    url, data = _edit_form(
        client,
        item,
        description=rich_text("<p>Now <b>bold</b>.</p>", features=VENDOR_RICH_TEXT_FEATURES),
    )
    data["action-publish"] = "1"
    assert client.post(url, data).status_code == 302
    description = ItemPage.objects.get(pk=item.pk).description
    assert re.fullmatch(r'<p data-block-key="\w+">Now <b>bold</b>\.</p>', description)

    # A link to a page, as the page chooser makes it.
    shop = item.get_parent()
    url, data = _edit_form(client, item, description=_contentstate(link={"id": shop.pk}))
    data["action-publish"] = "1"
    assert client.post(url, data).status_code == 302
    description = ItemPage.objects.get(pk=item.pk).description
    assert f'<a linktype="page" id="{shop.pk}">See</a> here' in description
    assert f'<a href="{shop.url}">See</a> here' in client.get(item.url).content.decode()
    # The same with the id as a string of digits (how Wagtail writes some entities' ids itself).
    url, data = _edit_form(client, item, description=_contentstate(link={"id": str(shop.pk)}))
    data["action-publish"] = "1"
    assert client.post(url, data).status_code == 302
    assert f'id="{shop.pk}">See</a>' in ItemPage.objects.get(pk=item.pk).description

    # Draftail posts `null` for an editor with nothing in it.
    url, data = _edit_form(client, item, description="null")
    data["action-publish"] = "1"
    assert client.post(url, data).status_code == 302
    assert ItemPage.objects.get(pk=item.pk).description == ""


# --- an editor editing a policy page (rich text inside a StreamField) ----------------------------


@pytest.fixture
def editor(db):
    user = get_user_model().objects.create_user("eddie", "eddie@vitrine.example")
    user.groups.add(Group.objects.get(name="Editors"))
    return user


@pytest.fixture
def policy(site_tree):
    page = policy_factories.PolicyPageFactory(title="Privacy policy", slug="privacy")
    editors_grant_page_rights(page=page)
    return page


def _policy_state(policy):
    live = PolicyPage.objects.get(pk=policy.pk)
    latest = live.get_latest_revision()
    return (
        live.summary,
        live.body.get_prep_value(),
        latest.pk,
        latest.content["body"],
        Revision.page_revisions.filter(object_id=str(policy.pk)).count(),
    )


def _policy_post(client, policy, paragraph, **changes):
    url, data = _edit_form(client, policy, **changes)
    data.update(
        nested_form_data(
            {"body": streamfield([("heading", "What we keep"), ("paragraph", paragraph)])}
        )
    )
    data["change_note"] = "Plainer words."
    data["action-publish"] = "1"
    return client.post(url, data)


@pytest.mark.django_db
@pytest.mark.parametrize("sent", FORGED.values(), ids=FORGED.keys())
def test_editor_forged_policy_paragraph_is_refused_and_nothing_saved(client, editor, policy, sent):
    client.force_login(editor)
    before = _policy_state(policy)

    response = _policy_post(client, policy, sent, summary="A new summary.")

    assert response.status_code == 200
    html = response.content.decode()
    assert "The page could not be saved due to validation errors" in html
    assert _form_again(response)["summary"].strip() == "A new summary."
    children, errors = _stream_sent_back(response, "body")
    assert errors == {"blockErrors": {"1": {"messages": [MESSAGE]}}}, "on the paragraph"
    heading, paragraph = children
    assert heading["value"] == "What we keep", "the other block comes back as posted"
    assert _texts(paragraph["value"]) == _shown_as_text(sent), "what was sent, as text"
    assert _policy_state(policy) == before, "neither the live page nor a revision changed"
    _assert_nothing_runs(html)


@pytest.mark.django_db
def test_editor_valid_contentstate_saves_with_script_as_text(client, editor, policy):
    client.force_login(editor)
    paragraph = rich_text(
        "<p>We never run &lt;script&gt;alert(1)&lt;/script&gt; on your device.</p>",
        features=POLICY_RICH_TEXT_FEATURES,
    )

    response = _policy_post(client, policy, paragraph, summary="A new summary.")

    assert response.status_code == 302, response.content.decode()[:2000]
    policy = PolicyPage.objects.get(pk=policy.pk)
    assert policy.summary == "A new summary."
    stored = policy.body.get_prep_value()[1]["value"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in stored and "<script" not in stored
    html = client.get(policy.url).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
