"""Testimonials: the index and home page show published ones; verified buyers are invited when a
delivery is recorded, submit once through a signed link into review, and may withdraw."""

import re
from datetime import timedelta
from unittest import mock

from django.core import mail, signing
from django.test import Client

from wagtail.models import WorkflowState

import pytest

from home.models import HomePage
from orders import services as order_services
from orders.models import VendorOrder
from policies import factories, models, selectors, services
from vendors.factories import ShopPageFactory

from .helpers import make_user, make_vendor_order


@pytest.mark.django_db
def test_index_lives_under_home_once_and_lists_published_testimonials(client, site_tree):
    assert models.TestimonialIndexPage.allowed_parent_page_models() == [HomePage]
    assert models.TestimonialIndexPage.allowed_subpage_models() == []
    assert models.TestimonialIndexPage.can_create_at(site_tree.home)
    factories.TestimonialIndexPageFactory()
    assert not models.TestimonialIndexPage.can_create_at(site_tree.home), "max_count 1"

    shop = ShopPageFactory(title="Maison Lune", vendor__name="Maison Lune")
    factories.TestimonialFactory(
        quote="Wrapped like a present.", display_name="Harriet M.", vendor=shop.vendor
    )
    factories.TestimonialFactory(quote="Still waiting for review.", draft=True)
    factories.TestimonialFactory(quote="<script>alert(1)</script>", display_name="<b>Eve</b>")
    html = client.get("/testimonials/").content.decode()
    assert "Wrapped like a present." in html and "Harriet M." in html
    assert 'href="/shops/maison-lune/"' in html
    assert "Still waiting for review." not in html
    assert "<script>alert(1)" not in html and "<b>Eve</b>" not in html


@pytest.mark.django_db
def test_home_shows_editors_picks_or_the_latest(client, site_tree):
    older = factories.TestimonialFactory(quote="Older words.")
    newest = [factories.TestimonialFactory(quote=f"Recent words {n}.") for n in range(3)]
    html = client.get("/").content.decode()
    assert all(t.quote in html for t in newest) and "Older words." not in html

    home = site_tree.home
    home.featured_testimonials.add(models.HomePageTestimonial(testimonial=older, sort_order=0))
    home.save_revision().publish()
    assert selectors.testimonials_for_home(home=home) == [older]
    html = client.get("/").content.decode()
    assert "Older words." in html and "Recent words 0." not in html


@pytest.mark.django_db
def test_home_testimonials_are_read_in_one_query_picked_or_not(site_tree):
    """The picks, in the editors' order, or else the latest: one query either way (a first
    view of the home page reads it)."""
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    home = site_tree.home
    newest_first = [factories.TestimonialFactory(quote=f"Words {n}.") for n in range(4)][::-1]

    def shown_in_one_query():
        cache.clear()
        with CaptureQueriesContext(connection) as queries:
            shown = selectors.testimonials_for_home(home=home, limit=3)
        assert len(queries) == 1, [q["sql"] for q in queries]
        return shown

    assert shown_in_one_query() == newest_first[:3]
    picks = [newest_first[3], newest_first[1]]  # the oldest first: the editors' order
    for n, picked in enumerate(picks):
        home.featured_testimonials.add(models.HomePageTestimonial(testimonial=picked, sort_order=n))
    home.save_revision().publish()
    assert shown_in_one_query() == picks


@pytest.mark.django_db
def test_testimonial_cards_link_their_shop_and_piece_with_no_query_of_their_own(site_tree):
    """A card reads only what it shows of its shop and piece (pages of some thirty columns):
    whatever it shows comes with the testimonial, picked or latest, not one query per card."""
    from django.db import connection
    from django.template.loader import render_to_string
    from django.test import RequestFactory
    from django.test.utils import CaptureQueriesContext

    from products.factories import ItemPageFactory

    shop = ShopPageFactory(title="Maison Lune", vendor__name="Maison Lune")
    piece = ItemPageFactory(parent=shop, title="Cognac leather tote")
    home = site_tree.home
    for n in range(3):
        testimonial = factories.TestimonialFactory(vendor=shop.vendor, item=piece)
        home.featured_testimonials.add(
            models.HomePageTestimonial(testimonial=testimonial, sort_order=n)
        )
    home.save_revision().publish()
    request = RequestFactory().get("/")
    for testimonials in (
        selectors.testimonials_for_home(home=home),
        list(selectors.testimonials_published()),
    ):
        render_to_string(  # the site's root paths, read once a request
            "policies/includes/testimonial.html", {"testimonial": testimonials[0]}, request
        )
        with CaptureQueriesContext(connection) as queries:
            html = "".join(
                render_to_string("policies/includes/testimonial.html", {"testimonial": t}, request)
                for t in testimonials
            )
        assert len(testimonials) == 3 and len(queries) == 0, [q["sql"] for q in queries]
        assert html.count('<a href="/shops/maison-lune/">Maison Lune</a>') == 3
        assert (
            html.count('href="/shops/maison-lune/cognac-leather-tote/">Cognac leather tote<') == 3
        )


def _invitation_link(message) -> str:
    return re.search(r"http://testserver(/testimonials/submit/[^/\s]+/)", message.body).group(1)


@pytest.mark.django_db
def test_delivery_invites_the_shopper_and_the_submission_awaits_review(
    client, site_tree, shopper, editor, django_capture_on_commit_callbacks
):
    factories.TestimonialIndexPageFactory()
    vendor_order = make_vendor_order(
        customer=shopper, status=VendorOrder.Status.SHIPPED, testimonial_opt_in=True
    )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        order_services.vendor_order_deliver(vendor_order=vendor_order)
    invitation = next(m for m in mail.outbox if "/testimonials/submit/" in m.body)
    assert invitation.to == [shopper.email]
    link = _invitation_link(invitation)

    form = client.get(link)
    assert form.status_code == 200
    assert 'value="Ada L."' in form.content.decode(), "a suggested name, editable"
    refused = client.post(link, {"quote": "Lovely.", "display_name": "Ada L."})
    assert refused.status_code == 200 and not models.Testimonial.objects.exists(), (
        "consent required"
    )

    item = vendor_order.lines.get().item
    response = client.post(
        link,
        {
            "quote": "Exactly as described.",
            "display_name": "Ada L.",
            "location": "London",
            "item": item.pk,
            "consent": "on",
        },
    )
    assert response.status_code == 302
    testimonial = models.Testimonial.objects.get()
    assert not testimonial.live and testimonial.vendor_order_id == vendor_order.pk
    assert testimonial.vendor_id == vendor_order.vendor_id and testimonial.item_id == item.pk
    assert testimonial.consent_given_at is not None
    state = WorkflowState.objects.get(object_id=str(testimonial.pk))
    assert state.workflow.name == "Testimonial review"
    assert state.status == WorkflowState.STATUS_IN_PROGRESS
    assert "Exactly as described." not in client.get("/testimonials/").content.decode()

    # An editor approves it from the admin: it goes live.
    client.force_login(editor)
    approve = (
        f"/admin/snippets/policies/testimonial/workflow/action/{testimonial.pk}/approve/"
        f"{state.current_task_state.pk}/"
    )
    assert client.post(approve, {"comment": ""}).status_code in {200, 302}
    testimonial.refresh_from_db()
    assert testimonial.live
    assert "Exactly as described." in Client().get("/testimonials/").content.decode()

    # Reused link: refused, even after a withdrawal.
    client.logout()
    assert client.get(link).status_code == 410
    client.force_login(shopper)
    client.post(f"/testimonials/withdraw/{testimonial.pk}/")
    assert not models.Testimonial.objects.exists()
    response = client.post(link, {"quote": "Again.", "display_name": "Ada", "consent": "on"})
    assert response.status_code == 410 and not models.Testimonial.objects.exists()


@pytest.mark.django_db
def test_misused_links_are_refused(client, site_tree):
    vendor_order = make_vendor_order()
    token = services.testimonial_link_token(vendor_order=vendor_order)
    assert client.get(f"/testimonials/submit/{token}/").status_code == 200

    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert client.get(f"/testimonials/submit/{tampered}/").status_code == 410

    later = signing.time.time() + timedelta(days=61).total_seconds()
    with mock.patch("django.core.signing.time.time", return_value=later):
        response = client.get(f"/testimonials/submit/{token}/")
    assert response.status_code == 410 and "expired" in response.content.decode()

    # A token for another purpose, or naming another order than its reference says: refused.
    other = make_vendor_order(shop=ShopPageFactory())
    forged = signing.dumps(
        {"vo": other.pk, "ref": vendor_order.order.reference},
        salt=services.TESTIMONIAL_LINK_SALT,
        compress=True,
    )
    pay_link = order_services.pay_link_token(order=vendor_order.order)
    for bad in (forged, pay_link):
        assert client.get(f"/testimonials/submit/{bad}/").status_code == 410

    not_delivered = make_vendor_order(status=VendorOrder.Status.SHIPPED)
    token = services.testimonial_link_token(vendor_order=not_delivered)
    assert client.get(f"/testimonials/submit/{token}/").status_code == 410

    # A piece from another order cannot be named.
    token = services.testimonial_link_token(vendor_order=vendor_order)
    foreign_item = other.lines.get().item
    client.post(
        f"/testimonials/submit/{token}/",
        {"quote": "Hi", "display_name": "A", "item": foreign_item.pk, "consent": "on"},
    )
    assert not models.Testimonial.objects.exists()


@pytest.mark.django_db
def test_withdrawal_is_for_the_owner_only(site_tree, shopper):
    vendor_order = make_vendor_order(customer=shopper)
    token = services.testimonial_link_token(vendor_order=vendor_order)
    mine = services.testimonial_submit(token=token, quote="Mine.", display_name="Ada", consent=True)
    assert list(selectors.testimonials_for_user(user=shopper)) == [mine]

    for intruder in (Client(), None):
        client = intruder or Client()
        if intruder is None:
            client.force_login(make_user("mallory"))
        response = client.post(f"/testimonials/withdraw/{mine.pk}/")
        assert response.status_code in {403, 404}
        assert models.Testimonial.objects.filter(pk=mine.pk).exists()

    owner = Client()
    owner.force_login(shopper)
    assert owner.get(f"/testimonials/withdraw/{mine.pk}/").status_code == 405
    response = owner.post(f"/testimonials/withdraw/{mine.pk}/", {"next": "/account/"})
    assert response.status_code == 302 and response["Location"] == "/account/"
    assert not models.Testimonial.objects.filter(pk=mine.pk).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "next_url", ["abc", "//evil.com", "https://evil.com/x", "/" + "a" * 9_999, "/shops/"]
)
def test_withdrawal_goes_back_only_to_a_path_on_this_site(site_tree, shopper, next_url):
    vendor_order = make_vendor_order(customer=shopper)
    token = services.testimonial_link_token(vendor_order=vendor_order)
    mine = services.testimonial_submit(token=token, quote="Mine.", display_name="Ada", consent=True)
    owner = Client()
    owner.force_login(shopper)
    response = owner.post(f"/testimonials/withdraw/{mine.pk}/", {"next": next_url})
    expected = "/shops/" if next_url == "/shops/" else "/testimonials/"
    assert response.status_code == 302 and response["Location"] == expected


@pytest.mark.django_db
def test_erasure_removes_the_users_testimonials_only(site_tree, shopper):
    mine = services.testimonial_submit(
        token=services.testimonial_link_token(vendor_order=make_vendor_order(customer=shopper)),
        quote="Mine.",
        display_name="Ada",
        consent=True,
    )
    mine.save_revision().publish()
    other = factories.TestimonialFactory(quote="Someone else's.")
    assert services.testimonials_erase_for_user(user=shopper) == 1
    assert list(models.Testimonial.objects.all()) == [other]
    assert not WorkflowState.objects.filter(
        object_id=str(mine.pk), base_content_type__model="testimonial"
    ).exists()
    from wagtail.models import ModelLogEntry, Revision

    assert not Revision.objects.filter(
        object_id=str(mine.pk), base_content_type__model="testimonial"
    ).exists()
    assert not ModelLogEntry.objects.filter(
        object_id=str(mine.pk), content_type__model="testimonial"
    ).exists()
