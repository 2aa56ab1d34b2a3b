"""Testimonial invitations go only to shoppers who ticked the box at checkout, and each carries
a one-click unsubscribe (RFC 8058, the signed-link scheme of accounts.middleware) that stops
them for that shopper's address and account."""

import re

from django.core import mail
from django.test import Client

import pytest

from accounts.tokens import unsubscribe_token
from orders import services as order_services
from orders.models import Order, VendorOrder
from policies import emails as policy_emails
from policies import models
from policies import tokens as policy_tokens

from .helpers import make_user, make_vendor_order

pytestmark = pytest.mark.django_db


def deliver(vendor_order, capture):
    mail.outbox.clear()
    with capture(execute=True):
        order_services.vendor_order_deliver(vendor_order=vendor_order)
    return [m for m in mail.outbox if "/testimonials/submit/" in m.body]


def shipped(**fields):
    return make_vendor_order(status=VendorOrder.Status.SHIPPED, **fields)


def test_no_invitation_without_the_shoppers_consent(
    site_tree, shopper, django_capture_on_commit_callbacks
):
    vendor_order = shipped(customer=shopper)
    assert vendor_order.order.testimonial_opt_in is False, "never ticked by default"
    assert deliver(vendor_order, django_capture_on_commit_callbacks) == []
    assert not models.TestimonialInvitation.objects.exists()
    # The delivery email itself still goes.
    assert any("delivered" in m.subject for m in mail.outbox)


def test_an_invitation_carries_a_one_click_unsubscribe(
    site_tree, shopper, django_capture_on_commit_callbacks
):
    vendor_order = shipped(customer=shopper, testimonial_opt_in=True)
    (invitation,) = deliver(vendor_order, django_capture_on_commit_callbacks)
    url = re.search(r"http://testserver(/testimonials/unsubscribe/[^/\s]+/)", invitation.body)
    assert url is not None
    path = url.group(1)
    assert invitation.extra_headers["List-Unsubscribe"] == f"<http://testserver{path}>"
    assert invitation.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert path in invitation.alternatives[0][0]
    assert "@" not in path, "no address in the link"


def test_the_consent_is_in_the_data_export(client, site_tree, shopper):
    agreed = make_vendor_order(customer=shopper, testimonial_opt_in=True).order
    declined = make_vendor_order(customer=shopper).order
    client.force_login(shopper)
    orders = {o["reference"]: o for o in client.get("/account/export/").json()["orders"]}
    assert orders[agreed.reference]["testimonial_invitation_agreed"] is True
    assert orders[declined.reference]["testimonial_invitation_agreed"] is False


def test_after_unsubscribing_no_more_invitations_for_that_address_or_account(
    site_tree, shopper, django_capture_on_commit_callbacks
):
    first = shipped(customer=shopper, testimonial_opt_in=True)
    (invitation,) = deliver(first, django_capture_on_commit_callbacks)
    path = re.search(r"http://testserver(/testimonials/unsubscribe/[^/\s]+/)", invitation.body)[1]
    # Orders already placed with consent: a guest one with the same address in other letters,
    # another of the account's. Someone else's stays as it is.
    as_guest = shipped(email="ADA@example.com", testimonial_opt_in=True)
    same_account = shipped(customer=shopper, email="old@example.com", testimonial_opt_in=True)
    someone_else = shipped(email="grace@example.com", testimonial_opt_in=True)

    mail_client = Client(enforce_csrf_checks=True)  # no cookies, no CSRF token: a mail provider
    page = mail_client.get(path)
    assert page.status_code == 200 and "Stop testimonial invitations?" in page.content.decode()
    assert Order.objects.get(pk=as_guest.order_id).testimonial_opt_in, "a GET changes nothing"
    response = mail_client.post(path, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and "Invitations stopped" in response.content.decode()
    assert mail_client.post(path, {"List-Unsubscribe": "One-Click"}).status_code == 200

    for vendor_order in (as_guest, same_account):
        assert deliver(vendor_order, django_capture_on_commit_callbacks) == []
    assert len(deliver(someone_else, django_capture_on_commit_callbacks)) == 1


def test_an_invitation_queued_before_the_unsubscribe_is_not_sent(site_tree, shopper):
    """The check is made when the task runs, not when the delivery is recorded."""
    vendor_order = make_vendor_order(customer=shopper, testimonial_opt_in=True)
    Client().post(
        policy_tokens.testimonial_unsubscribe_url(order=vendor_order.order),
        {"List-Unsubscribe": "One-Click"},
    )
    mail.outbox.clear()
    policy_emails.send_testimonial_invitation_task.call(vendor_order_id=vendor_order.pk)
    assert mail.outbox == []


@pytest.mark.parametrize("token", ["nonsense", "x" * 10_000])
def test_bad_or_foreign_tokens_change_nothing(site_tree, shopper, token):
    vendor_order = make_vendor_order(customer=shopper, testimonial_opt_in=True)
    client = Client(enforce_csrf_checks=True)
    newsletter_token = unsubscribe_token(user=make_user("grace"))
    for bad in (token, newsletter_token):
        assert client.get(f"/testimonials/unsubscribe/{bad}/").status_code == 400
        assert client.post(f"/testimonials/unsubscribe/{bad}/").status_code == 400
    assert Order.objects.get(pk=vendor_order.order_id).testimonial_opt_in
