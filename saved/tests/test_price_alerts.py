"""Price-drop alerts: opt-in per saved piece for verified addresses, one email per actual drop
on publish, nothing for the same or a higher price or a sold piece; unsubscribe by link, one-click
(RFC 8058) without cookies, while a GET only asks to confirm."""

import base64
import json
import re
from decimal import Decimal

from django.core import mail
from django.test import Client, override_settings

import pytest

from products.models import ItemPage
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
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
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
    ItemPage.objects.filter(pk=tote.pk).update(quantity=0)  # sold (stock is not in revisions)
    publish_price(tote, "900.00")
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


def one_click(client, url):
    """What a mail provider's server sends for RFC 8058: a bare form POST, no cookies."""
    return client.post(
        url, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )


def forge(token: str, **changes) -> str:
    """The token with its payload rewritten and the original signature kept."""
    payload, rest = token.split(":", 1)
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data.update(changes)
    encoded = json.dumps(data, separators=(",", ":")).encode()
    return f"{base64.urlsafe_b64encode(encoded).decode().rstrip('=')}:{rest}"


@override_settings(WAGTAILADMIN_BASE_URL="https://vitrine.example")
def test_the_email_carries_one_click_headers_with_the_https_link(alert_on, tote, publish_price):
    mail.outbox.clear()
    publish_price(tote, "990.00")
    (message,) = mail.outbox
    url = re.search(r"https://vitrine\.example/saved/alerts/unsubscribe/[^/\s]+/", message.body)
    assert url, message.body
    # On the wire, as a mail client reads them (RFC 2369 angle brackets, RFC 8058 POST).
    raw = message.message()
    assert raw["List-Unsubscribe"] == f"<{url.group(0)}>"
    assert raw["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f'href="{url.group(0)}"' in message.alternatives[0][0]


def test_one_click_from_the_emailed_header_stops_the_alert_without_cookies(
    alert_on, tote, publish_price
):
    mail.outbox.clear()
    publish_price(tote, "990.00")
    header = mail.outbox[0].extra_headers["List-Unsubscribe"]
    path = re.fullmatch(r"<http://testserver(/saved/alerts/unsubscribe/[^/]+/)>", header).group(1)
    mail_server = Client(enforce_csrf_checks=True)  # no session, no CSRF cookie or token
    response = one_click(mail_server, path)
    assert response.status_code == 200
    assert "Price alert stopped" in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    alert_on.refresh_from_db()
    assert not alert_on.price_alert
    mail.outbox.clear()
    publish_price(tote, "900.00")
    assert mail.outbox == []


def test_get_shows_a_confirm_page_and_changes_nothing(alert_on):
    url = f"/saved/alerts/unsubscribe/{price_alert_token(saved_item=alert_on)}/"
    scanner = Client(enforce_csrf_checks=True)
    for _ in range(3):  # link scanners may fetch a URL several times
        page = scanner.get(url)
        assert page.status_code == 200 and "Stop this price alert?" in page.content.decode()
        assert not page.cookies  # no cookie at all, not even CSRF: the token authorises the POST
    alert_on.refresh_from_db()
    assert alert_on.price_alert
    assert scanner.head(url).status_code == 405  # nor does any other method


def test_the_confirm_pages_button_stops_the_alert_in_a_cookieless_browser(alert_on):
    browser = Client(enforce_csrf_checks=True)
    html = browser.get(f"/saved/alerts/unsubscribe/{price_alert_token(saved_item=alert_on)}/")
    form = re.search(
        r'<form method="post" action="([^"]+)"(.*?)</form>', html.content.decode(), re.S
    )
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form.group(2)))
    done = browser.post(form.group(1), fields)
    assert done.status_code == 200 and "Cognac leather tote" in done.content.decode()
    alert_on.refresh_from_db()
    assert not alert_on.price_alert


def test_one_click_is_idempotent_and_touches_only_that_alert(alert_on, shopper, clutch):
    other = SavedItem.objects.create(
        user=shopper, item=clutch, price_alert=True, alert_price=Decimal("640.00")
    )
    url = f"/saved/alerts/unsubscribe/{price_alert_token(saved_item=alert_on)}/"
    mail_server = Client(enforce_csrf_checks=True)
    assert one_click(mail_server, url).status_code == 200
    again = one_click(mail_server, url)
    assert again.status_code == 200 and "Price alert stopped" in again.content.decode()
    alert_on.refresh_from_db()
    other.refresh_from_db()
    assert not alert_on.price_alert and other.price_alert
    assert SavedItem.objects.filter(user=shopper).count() == 2  # still saved, only quieter
    # The piece removed from the list since: still a calm 200, nothing left to stop.
    alert_on.delete()
    gone = one_click(mail_server, url)
    assert gone.status_code == 200 and "no longer exists" in gone.content.decode()


def test_a_token_only_ever_stops_its_owners_alert(alert_on, tote):
    from accounts.factories import UserFactory

    someone = UserFactory(username="linus", verified=True)
    theirs = SavedItem.objects.create(
        user=someone, item=tote, price_alert=True, alert_price=Decimal("1250.00")
    )
    client = Client()
    client.force_login(someone)  # signed in as another shopper: the session plays no part
    client.post(f"/saved/alerts/unsubscribe/{price_alert_token(saved_item=alert_on)}/")
    alert_on.refresh_from_db()
    theirs.refresh_from_db()
    assert not alert_on.price_alert and theirs.price_alert


def test_tampered_and_foreign_tokens_get_the_invalid_page_and_change_nothing(
    alert_on, shopper, tote
):
    from django.core import signing

    from accounts.factories import UserFactory
    from accounts.tokens import unsubscribe_token, verification_token

    victim = SavedItem.objects.create(
        user=UserFactory(username="victim", verified=True),
        item=tote,
        price_alert=True,
        alert_price=Decimal("1250.00"),
    )
    token = price_alert_token(saved_item=alert_on)
    bad_tokens = [
        forge(token, s=victim.pk, u=victim.user_id),  # someone else's alert, old signature
        forge(token, s=victim.pk),
        token[:-2] + ("xx" if not token.endswith("xx") else "yy"),  # signature altered
        token.split(":", 1)[0],  # signature missing
        "nonsense",
        unsubscribe_token(user=shopper),  # a newsletter link is not an alert link
        verification_token(user=shopper),
        signing.dumps({"s": victim.pk, "u": victim.user_id}, salt="orders.pay-link"),
    ]
    mail_server = Client(enforce_csrf_checks=True)
    for bad in bad_tokens:
        url = f"/saved/alerts/unsubscribe/{bad}/"
        for response in (mail_server.get(url), one_click(mail_server, url)):
            assert response.status_code == 400, bad
            assert "This link is not valid" in response.content.decode()
    # Nor does an alert link pass as a newsletter link.
    newsletter = one_click(mail_server, f"/email/unsubscribe/{token}/")
    assert newsletter.status_code == 400
    for row in (alert_on, victim):
        row.refresh_from_db()
        assert row.price_alert


def test_other_posts_without_csrf_are_still_refused(signed_in, alert_on, tote):
    signed_in.handler.enforce_csrf_checks = True
    response = signed_in.post("/account/saved/alerts/", {"item": tote.pk, "alert": "off"})
    assert response.status_code == 403
    alert_on.refresh_from_db()
    assert alert_on.price_alert


def test_the_task_rechecks_before_sending(alert_on, tote):
    from saved.emails import send_price_drop_email

    mail.outbox.clear()
    # Queued when the price was 990, but the piece has sold by the time the worker runs.
    ItemPage.objects.filter(pk=tote.pk).update(quantity=0)
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
