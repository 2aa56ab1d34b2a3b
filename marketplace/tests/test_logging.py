"""Structured logs: one JSON object per line with request id and order reference, no PII."""

import json
import logging
import re
from unittest import mock

import pytest

from marketplace.logging import JsonFormatter, request_id_var

from .helpers import SHOPPER


def test_formatter_writes_one_json_object_with_the_fixed_fields():
    record = logging.LogRecord("orders.views", logging.ERROR, __file__, 1, "order %s failed",
                               ("VT-ABC",), None)  # fmt: skip
    record.order_reference = "VT-ABC"
    record.email = "ada@example.com"  # an `extra` nobody allowed: never written
    token = request_id_var.set("req-1")
    try:
        line = JsonFormatter().format(record)
    finally:
        request_id_var.reset(token)
    assert "\n" not in line
    entry = json.loads(line)
    assert set(entry) == {"time", "level", "logger", "message", "request_id", "order_reference"}
    assert entry["level"] == "ERROR" and entry["logger"] == "orders.views"
    assert entry["message"] == "order VT-ABC failed"
    assert entry["request_id"] == "req-1" and entry["order_reference"] == "VT-ABC"
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$", entry["time"])
    assert "ada@example.com" not in line


def test_exceptions_stay_on_one_line():
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), True)
        import sys

        record.exc_info = sys.exc_info()
    line = JsonFormatter().format(record)
    assert "\n" not in line and "ValueError: boom" in json.loads(line)["exception"]


@pytest.mark.django_db
def test_an_order_log_line_has_the_reference_and_request_id_but_no_personal_data(
    client, site_tree, json_log
):
    from orders import stripe_api
    from orders.models import Order
    from products.factories import ItemPageFactory

    item = ItemPageFactory(title="Cognac tote", price="1250.00")
    client.post("/cart/add/", {"item": item.pk})
    response = client.post("/checkout/", SHOPPER)
    assert response.status_code == 302, response.content
    order = Order.objects.get()
    with mock.patch(
        "orders.services.order_pay", side_effect=stripe_api.PaymentServiceError("Stripe is down")
    ):
        response = client.post(
            f"/checkout/pay/{order.reference}/",
            {"card_token": "tok_visa"},
            headers={"X-Request-ID": "req-from-the-proxy"},
        )
    assert response.status_code == 502
    assert response["X-Request-ID"] == "req-from-the-proxy"

    entries = [entry for entry in json_log() if entry["logger"] == "orders.views"]
    assert len(entries) == 1
    entry = entries[0]
    assert entry["order_reference"] == order.reference
    assert entry["request_id"] == "req-from-the-proxy"
    assert entry["level"] == "ERROR"
    everything = json.dumps(json_log())
    for value in ("ada.lovelace", "Lovelace", "St James", "SW1Y", "7946"):
        assert value not in everything


def test_production_logging_config_uses_the_json_formatter():
    import subprocess
    import sys
    from pathlib import Path

    probe = (
        "import django, logging; django.setup(); "
        "logging.getLogger('orders.views').error('order %s', 'VT-1', "
        "extra={'order_reference': 'VT-1'})"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=Path(__file__).resolve().parents[2],
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "marketplace.settings.production",
            "SECRET_KEY": "x" * 50,
            "ALLOWED_HOSTS": "vitrine.example",
            "EMAIL_URL": "smtp://mail.example:587/?tls=1",
        },  # fmt: skip
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    entry = json.loads(result.stderr.strip().splitlines()[-1])
    assert entry["order_reference"] == "VT-1" and entry["request_id"] is None


@pytest.mark.parametrize(
    ("raw", "kept", "masked"),
    [
        (
            'duplicate key value violates unique constraint "accounts_user_email"\n'
            "DETAIL:  Key (email)=(ada.lovelace@example.com) already exists.",
            ["Key (email)=(…) already exists", "accounts_user_email"],
            ["ada.lovelace"],
        ),
        (
            "DETAIL:  Key (shipping_name, shipping_phone)=(Ada Lovelace, 020 7946 0123) is not present",
            ["Key (shipping_name, shipping_phone)=(…) is not present"],
            ["Lovelace", "7946"],
        ),
        ("could not deliver to ada@example.co.uk", ["could not deliver to [email]"], ["ada@"]),
        ("card 4242 4242 4242 4242 refused", ["card [number] refused"], ["4242"]),
        ("call +44 20 7946 0123 back", ["call [number] back"], ["7946"]),
        (
            "order VT-7K2M9Q item 123456 at 2026-11-30 line 4521, 1250.00 GBP",
            ["VT-7K2M9Q", "123456", "2026-11-30", "line 4521", "1250.00"],
            [],
        ),
    ],
)
def test_scrub_masks_personal_data_quoted_by_third_party_messages(raw, kept, masked):
    from marketplace.logging import scrub

    result = scrub(raw)
    for value in kept:
        assert value in result
    for value in masked:
        assert value not in result


def test_a_database_error_in_a_log_keeps_its_type_and_frames_but_not_the_row():
    import sys

    try:
        raise ValueError("Key (email)=(ada@example.com) already exists.")
    except ValueError:
        record = logging.LogRecord("django.request", logging.ERROR, __file__, 1,
                                   "Internal Server Error: %s", ("/checkout/",), sys.exc_info())  # fmt: skip
    entry = json.loads(JsonFormatter().format(record))
    assert "ValueError: Key (email)=(…) already exists." in entry["exception"]
    assert "test_logging.py" in entry["exception"] and "ada@" not in json.dumps(entry)
    assert entry["message"] == "Internal Server Error: /checkout/"
