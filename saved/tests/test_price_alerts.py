"""Price-drop alerts: opt-in per saved piece for verified addresses, one email per actual drop
on publish, nothing for the same or a higher price or a sold piece, unsubscribe by link."""

import re
from decimal import Decimal

from django.core import mail
from django.test import Client

import pytest

from saved import services
from saved.models import SavedItem
from saved.tokens import price_alert_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def publish_price(django_capture_on_commit_callbacks):
    """Publish a new revision of the item as a vendor would, running what waits for commit
    (the emails) as the real transaction would."""

    def publish(item, price, **changes):
        item.refresh_from_db()
        item.price = Decimal(price)
        for name, value in changes.items():
            setattr(item, name, value)
        with django_capture_on_commit_callbacks(execute=True):
            item.save_revision().publish()

    return publish


@pytest.fixture
def alert_on(signed_in, shopper, tote):
    signed_in.post("/saved/add/", {"item": tote.pk})
    response = signed_in.post("/account/saved/alerts/", {"item": tote.pk, "alert": "on"})
    assert response.status_code == 302
    row = SavedItem.objects.get(user=shopper, item=tote)
    assert row.price_alert and row.alert_price == Decimal("1250.00")
    return row


def test_the_list_offers_the_alert_switch_to_verified_shoppers(signed_in, shopper, tote):
    SavedItem.objects.create(user=shopper, item=tote)
    html = signed_in.get("/account/saved/").content.decode()
    assert "Email me if the price drops" in html and 'aria-pressed="false"' in html
    signed_in.post("/account/saved/alerts/", {"item": tote.pk, "alert": "on"})
    html = signed_in.get("/account/saved/").content.decode()
    toggle = html.split('class="price-alert__toggle"')[1][:60]
    assert 'aria-pressed="true"' in toggle


def test_no_alert_switch_without_a_verified_address(client, unverified, tote):
    client.force_login(unverified)
    client.post("/saved/add/", {"item": tote.pk})
    html = client.get("/account/saved/").content.decode()
    assert "price-alert__toggle" not in html and "Confirm your email address" in html
    client.post("/account/saved/alerts/", {"item": tote.pk, "alert": "on"})
    assert not SavedItem.objects.get(user=unverified).price_alert


def test_no_alert_switch_for_anonymous_lists(client, tote):
    client.post("/saved/add/", {"item": tote.pk})
    assert "price-alert__toggle" not in client.get("/saved/").content.decode()
    response = client.post("/account/saved/alerts/", {"item": tote.pk, "alert": "on"})
    assert response["Location"].startswith("/account/login/")


def test_alert_switch_for_an_item_not_saved_changes_nothing(signed_in, tote):
    response = signed_in.post("/account/saved/alerts/", {"item": tote.pk, "alert": "on"})
    assert response.status_code == 302 and not SavedItem.objects.exists()


def test_a_lower_price_sends_one_email_with_both_prices_and_links(
    alert_on, tote, shopper, publish_price
):
    mail.outbox.clear()
    publish_price(tote, "990.00")
    (message,) = mail.outbox
    assert message.to == ["ada@example.com"]
    assert "Cognac leather tote" in message.subject
    assert "£1,250.00" in message.body and "£990.00" in message.body
    assert f"http://testserver{tote.url}" in message.body
    html = message.alternatives[0][0]
    assert "£1,250.00" in html and "£990.00" in html
    unsubscribe = re.search(r"http://testserver(/saved/alerts/unsubscribe/[^/\s]+/)", message.body)
    assert unsubscribe and unsubscribe.group(1) in html
    assert message.extra_headers["List-Unsubscribe"] == f"<{unsubscribe.group(0)}>"
    alert_on.refresh_from_db()
    assert alert_on.alert_price == Decimal("990.00")


def test_same_or_higher_price_sends_nothing_and_each_drop_once(alert_on, tote, publish_price):
    mail.outbox.clear()
    publish_price(tote, "1250.00")
    publish_price(tote, "1300.00")
    assert mail.outbox == []
    publish_price(tote, "1100.00")
    publish_price(tote, "1100.00")
    publish_price(tote, "1200.00")  # back up: not a drop below what they heard of
    publish_price(tote, "1150.00")
    assert len(mail.outbox) == 1
    publish_price(tote, "1000.00")
    assert len(mail.outbox) == 2 and "£1,100.00" in mail.outbox[1].body


def test_a_sold_piece_sends_nothing(alert_on, tote, publish_price):
    mail.outbox.clear()
    publish_price(tote, "900.00", quantity=0)
    assert mail.outbox == []


def test_only_opted_in_verified_savers_are_told(alert_on, tote, unverified, publish_price):
    from accounts.factories import UserFactory

    SavedItem.objects.create(user=UserFactory(verified=True), item=tote)  # saved, no alert
    SavedItem.objects.create(
        user=unverified, item=tote, price_alert=True, alert_price=Decimal("1250.00")
    )
    mail.outbox.clear()
    publish_price(tote, "1000.00")
    assert [m.to for m in mail.outbox] == [["ada@example.com"]]


def test_turning_the_alert_off_stops_emails(alert_on, signed_in, tote, publish_price):
    signed_in.post("/account/saved/alerts/", {"item": tote.pk, "alert": "off"})
    mail.outbox.clear()
    publish_price(tote, "900.00")
    assert mail.outbox == []


def test_unsubscribe_link_works_without_sign_in(alert_on, tote, publish_price):
    stranger = Client()
    url = f"/saved/alerts/unsubscribe/{price_alert_token(saved_item=alert_on)}/"
    page = stranger.get(url)
    assert page.status_code == 200 and "Stop this alert" in page.content.decode()
    alert_on.refresh_from_db()
    assert alert_on.price_alert  # GET (a mail scanner) changes nothing
    done = stranger.post(url)
    assert done.status_code == 200 and "Cognac leather tote" in done.content.decode()
    alert_on.refresh_from_db()
    assert not alert_on.price_alert
    assert stranger.post(url).status_code == 200  # twice is fine
    mail.outbox.clear()
    publish_price(tote, "900.00")
    assert mail.outbox == []


@pytest.mark.parametrize("token", ["nonsense", "eyJzIjoxfQ:forged:sig"])
def test_a_bad_unsubscribe_token_is_refused(client, site_tree, token):
    assert client.get(f"/saved/alerts/unsubscribe/{token}/").status_code == 400
    assert client.post(f"/saved/alerts/unsubscribe/{token}/").status_code == 400


def test_another_sites_token_does_not_pass(alert_on, shopper):
    from accounts.tokens import unsubscribe_token

    token = unsubscribe_token(user=shopper)
    assert Client().post(f"/saved/alerts/unsubscribe/{token}/").status_code == 400


def test_the_task_rechecks_before_sending(alert_on, tote):
    from saved.emails import send_price_drop_email

    mail.outbox.clear()
    # Queued when the price was 990, but the piece has sold by the time the worker runs.
    tote.quantity = 0
    tote.save()
    assert (
        send_price_drop_email.call(
            saved_item_id=alert_on.pk, old_price="1250.00", new_price="990.00"
        )
        is False
    )
    assert mail.outbox == []


def test_queue_is_safe_for_an_unpublished_item(alert_on, tote):
    tote.live = False
    assert services.price_drop_alerts_queue(item=tote) == 0


@pytest.mark.parametrize("value", ["", "abc", "-1"])
def test_alert_switch_with_a_forged_id_gives_a_message(signed_in, site_tree, value):
    response = signed_in.post("/account/saved/alerts/", {"item": value, "alert": "on"})
    assert response.status_code == 302 and response["Location"] == "/account/saved/"


def test_a_piece_of_a_closed_shop_sends_nothing(alert_on, tote, shop, publish_price):
    shop.unpublish()
    mail.outbox.clear()
    publish_price(tote, "900.00")
    assert mail.outbox == []
