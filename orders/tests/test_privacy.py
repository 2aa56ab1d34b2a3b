"""Privacy at checkout: no card number or CVC anywhere we keep things, and no personal data in
any cookie."""

import json
import logging
import re

from django.apps import apps
from django.contrib.sessions.models import Session
from django.core import mail
from django.db import models

import pytest

from orders.models import Order

from .helpers import ADDRESS

pytestmark = pytest.mark.django_db

CARD = "4242424242424242"
# The number as typed or printed, and its first twelve digits (the part never shown).
CARD_FORMS = [CARD, "4242 4242 4242 4242", "4242-4242-4242-4242", CARD[:12], "4242 4242 4242"]
TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField)


def every_text_value() -> list[str]:
    """Every text, char and JSON value in every table, plus decoded sessions."""
    values = []
    for model in apps.get_models():
        fields = [
            field.attname
            for field in model._meta.concrete_fields
            if isinstance(field, TEXT_FIELDS) or field.get_internal_type() == "JSONField"
        ]
        if not fields:
            continue
        for row in model._base_manager.values_list(*fields):
            values.extend(
                json.dumps(value, default=str) if not isinstance(value, str) else value
                for value in row
                if value is not None
            )
    values.extend(json.dumps(s.get_decoded(), default=str) for s in Session.objects.all())
    return values


def every_column_name() -> set[str]:
    return {
        field.column.lower() for model in apps.get_models() for field in model._meta.concrete_fields
    }


def mail_texts() -> list[str]:
    texts = []
    for message in mail.outbox:
        texts += [message.subject, message.body, *message.to]
        texts += [content for content, _ in getattr(message, "alternatives", [])]
    return texts


def test_no_card_number_or_cvc_anywhere_after_paying(
    client, two_shops, stripe_settings, token, caplog, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.DEBUG)
    _, _, bag, watch = two_shops
    client.post("/cart/add/", {"item": bag.pk})
    client.post("/cart/add/", {"item": watch.pk})
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/checkout/", ADDRESS)
    order = Order.objects.get()
    pay_page = client.get(f"/checkout/pay/{order.reference}/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/checkout/pay/{order.reference}/", {"card_token": token(CARD)})
    assert response.status_code == 302
    done_page = client.get(f"/checkout/done/{order.reference}/").content.decode()
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert len(mail.outbox) >= 4  # placed, confirmed, one per shop

    # The pay page has no card field of its own: Stripe's iframe takes the card.
    form = re.search(r'<form[^>]*id="payment-form".*?</form>', pay_page, re.S).group(0)
    names = set(re.findall(r'<(?:input|select|textarea)[^>]*\bname="([^"]+)"', form))
    assert names == {"csrfmiddlewaretoken", "card_token"}

    stored = every_text_value()
    assert any(order.reference in value for value in stored)  # the dump does see our rows
    places = {
        "database": "\n".join(stored),
        "logs": caplog.text + "\n".join(record.getMessage() for record in caplog.records),
        "emails": "\n".join(mail_texts()),
        "pages": pay_page + done_page,
    }
    for where, text in places.items():
        for form in CARD_FORMS:
            assert form not in text, f"card number ({form}) found in {where}"
        assert not re.search(r'"(cvc|cvv|cvc2|card\[cvc\])"\s*:', text), where
        assert not re.search(r"\bcvc\b\s*[=:]\s*\d{3,4}", text, re.I), where
    assert not {c for c in every_column_name() if re.search(r"cvc|cvv|card_?number|\bpan\b", c)}


def test_cookies_carry_no_personal_data_through_cart_checkout_and_pay(
    client, two_shops, stripe_settings, token
):
    _, _, bag, watch = two_shops
    responses = [
        client.post("/cart/add/", {"item": bag.pk}),
        client.post("/cart/add/", {"item": watch.pk}),
        client.get("/cart/"),
        client.get("/checkout/"),
        client.post("/checkout/", {**ADDRESS, "postcode": "nope"}),  # form error: re-rendered
        client.post("/checkout/", ADDRESS),
    ]
    order = Order.objects.get()
    responses += [
        client.get(f"/checkout/pay/{order.reference}/"),
        client.post(f"/checkout/pay/{order.reference}/", {"card_token": token()}),
        client.get(f"/checkout/done/{order.reference}/"),
    ]
    personal = [
        ADDRESS["email"], "ada%40example.com", "Ada", "Lovelace", "St James", "James",
        "SW1Y", "4JH", "London", "7946", "020",
    ]  # fmt: skip
    opaque = {"sessionid": r"[a-z0-9]{32}", "csrftoken": r"[a-zA-Z0-9]{32}"}
    seen = {}
    for response in responses:
        for name, morsel in response.cookies.items():
            seen.setdefault(name, set()).add(morsel.value)
            # A random token may spell "ada" or "020" by chance (about one run in
            # 150 did): it is checked for its random shape, and the rest of the
            # header for personal data.
            assert name in opaque and re.fullmatch(opaque[name], morsel.value), (
                f"cookie {name} is not an opaque token: {morsel.value!r}"
            )
            header = morsel.OutputString().replace(morsel.value, "")
            for value in personal:
                assert value.lower() not in header.lower(), f"{value!r} in cookie {name}"
    assert "sessionid" in seen
    for session_key in seen["sessionid"]:
        # Opaque: a random key, not signed data; what it names stays on the server.
        session = Session.objects.get(session_key=session_key)
        assert "checkout_orders" in session.get_decoded() or "cart_id" in session.get_decoded()
