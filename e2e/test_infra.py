"""Checks that the test infrastructure itself works: localstripe, the browser and the live
server (tests/fixtures/live_server.py): they guard the fixtures every payment and journey
test uses.
"""

from __future__ import annotations

import queue
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode, urlsplit
from urllib.request import urlopen

import pytest
import stripe

TEST_KEY = "sk_test_vitrine_infra"


@pytest.fixture
def stripe_client(localstripe: str) -> stripe.StripeClient:
    return stripe.StripeClient(TEST_KEY, base_addresses={"api": localstripe}, max_network_retries=0)


def test_localstripe_is_private_and_loopback_only(localstripe: str) -> None:
    assert urlsplit(localstripe).hostname == "127.0.0.1"


def test_localstripe_payment_intent_create_and_confirm(stripe_client: stripe.StripeClient) -> None:
    ref = f"VT-{uuid.uuid4().hex[:8]}"
    intent = stripe_client.v1.payment_intents.create(
        params={
            "amount": 12_345,
            "currency": "gbp",
            "payment_method": "pm_card_visa",
            "metadata": {"order_ref": ref},
        },
        options={"idempotency_key": f"order-{ref}-intent"},
    )
    assert intent.id.startswith("pi_")
    assert intent.status == "requires_confirmation"

    confirmed = stripe_client.v1.payment_intents.confirm(intent.id)
    assert confirmed.status == "succeeded"

    fetched = stripe_client.v1.payment_intents.retrieve(intent.id)
    assert (fetched.status, fetched.amount, fetched.currency) == ("succeeded", 12_345, "gbp")
    assert fetched.metadata.to_dict() == {"order_ref": ref}


def test_localstripe_declined_card_raises_card_error(stripe_client: stripe.StripeClient) -> None:
    # In localstripe only card 4000000000000341 (pm_card_chargeCustomerFail) is declined at
    # charge time; pm_card_visa_chargeDeclined (…0002) is declined only when attached.
    intent = stripe_client.v1.payment_intents.create(
        params={"amount": 500, "currency": "gbp", "payment_method": "pm_card_chargeCustomerFail"}
    )
    with pytest.raises(stripe.CardError):
        stripe_client.v1.payment_intents.confirm(intent.id)
    assert stripe_client.v1.payment_intents.retrieve(intent.id).status == (
        "requires_payment_method"
    )


def test_localstripe_webhook_signature_verifies_with_stripe_library(
    localstripe: str, stripe_client: stripe.StripeClient
) -> None:
    received: queue.Queue[tuple[bytes, str]] = queue.Queue()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.put((body, self.headers.get("Stripe-Signature", "")))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        secret = f"whsec_{uuid.uuid4().hex}"
        config = urlencode(
            {
                "url": f"http://127.0.0.1:{server.server_port}/",
                "secret": secret,
                "events[0]": "payment_intent.succeeded",
            }
        ).encode()
        name = f"infra-{uuid.uuid4().hex[:8]}"
        with urlopen(f"{localstripe}/_config/webhooks/{name}", data=config, timeout=5) as resp:
            assert resp.status == 200
        intent = stripe_client.v1.payment_intents.create(
            params={
                "amount": 2_000,
                "currency": "gbp",
                "payment_method": "pm_card_visa",
                "confirm": True,
            }
        )
        # localstripe delivers ~1 s after the event, to the endpoints registered at delivery
        # time, so events of earlier tests may arrive here too: wait for ours.
        while True:
            body, signature = received.get(timeout=10)
            event = stripe.Webhook.construct_event(body, signature, secret)
            assert event.type == "payment_intent.succeeded"
            if event.data.object.id == intent.id:
                break
        obj = event.data.object
        assert (obj.id, obj.status, obj.amount, obj.currency) == (
            intent.id,
            "succeeded",
            2_000,
            "gbp",
        )
        with pytest.raises(stripe.SignatureVerificationError):
            stripe.Webhook.construct_event(body, signature, "whsec_wrong")
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.e2e
def test_browser_runs_localstripe_stripe_js_shim(page, localstripe: str) -> None:
    page.set_content(
        f'<!doctype html><title>infra</title><script src="{localstripe}/js.stripe.com/v3/">'
        "</script><h1>Vitrine e2e</h1>"
    )
    assert page.locator("h1").inner_text() == "Vitrine e2e"
    assert page.evaluate("typeof Stripe") == "function"


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # as every journey
def test_the_live_server_serves_requests_at_once_without_mixing_their_transactions(
    live_server, site_tree
) -> None:
    """Browsers send requests at once (a page's preview beside its publish). On SQLite the
    tests' database is one in-memory connection the live server shares: requests served in
    threads of their own interleaved their transactions on it ("no such savepoint", a publish
    lost). Shoppers adding to their carts at once must all be answered, every cart right."""
    import http.cookiejar
    import re
    import urllib.request

    from products.factories import ItemPageFactory
    from vendors.factories import ShopPageFactory

    shop = ShopPageFactory()
    pieces = [ItemPageFactory(parent=shop, title=f"Scarf {n}") for n in range(6)]
    failures: list[str] = []

    def shopper(pk: int, title: str, url: str) -> None:
        """A shopper over HTTP only: a thread reading the database here would leave its
        connection open, and PostgreSQL would refuse to drop the tests' database at the end."""
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        try:
            for _ in range(4):
                page = opener.open(f"{live_server.url}{url}").read().decode()
                token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
                body = urlencode({"item": pk, "csrfmiddlewaretoken": token}).encode()
                opener.open(f"{live_server.url}/cart/add/", body).read()
                if title not in opener.open(f"{live_server.url}/cart/").read().decode():
                    failures.append(f"{title}: not in its cart")
        except Exception as error:  # a 500, a lost connection
            failures.append(f"{title}: {error}")

    threads = [
        threading.Thread(target=shopper, args=(piece.pk, piece.title, piece.url))
        for piece in pieces
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # as every journey
def test_the_live_server_answers_only_while_a_test_uses_it(live_server, site_tree) -> None:
    """A request arriving between tests (a beacon the last test's closing pages sent) would
    run beside the next test's database set-up, on SQLite on the same connection: between
    tests the live server answers 503 and reads nothing (tests.fixtures.live_server)."""
    from urllib.error import HTTPError

    from tests.fixtures.live_server import GATE

    assert urlopen(f"{live_server.url}/shops/").status == 200
    GATE.set(open=False)  # as between two tests
    try:
        with pytest.raises(HTTPError) as refused:
            urlopen(f"{live_server.url}/shops/")
        assert refused.value.code == 503
    finally:
        GATE.set(open=True)
    assert urlopen(f"{live_server.url}/shops/").status == 200


class _Item:
    """A collected test as tests.fixtures.database reads it."""

    def __init__(self, nodeid, *, marker=None, fixtures=()):
        self.nodeid, self.marker, self.fixturenames = nodeid, marker, list(fixtures)

    def get_closest_marker(self, name):
        return self.marker if name == "django_db" else None


def test_every_transactional_test_must_restore_what_the_migrations_made() -> None:
    """A transactional test without a serialized rollback flushes with post_migrate, which
    remakes the content types, and the next test with one then fails restoring them (the
    bench's test before a live-server test did): collection refuses it."""
    from tests.fixtures.database import unserialized_transactional

    serialized = pytest.mark.django_db(transaction=True, serialized_rollback=True).mark
    items = [
        _Item("plain", marker=pytest.mark.django_db.mark),
        _Item("no database"),
        _Item("journey", marker=serialized, fixtures=["live_server"]),
        _Item("flushes: marker", marker=pytest.mark.django_db(transaction=True).mark),
        _Item("flushes: fixture", fixtures=["transactional_db", "live_server"]),
        _Item("flushes: positional", marker=pytest.mark.django_db(True).mark),
    ]
    assert unserialized_transactional(items) == [
        "flushes: marker",
        "flushes: fixture",
        "flushes: positional",
    ]


@pytest.mark.django_db
def test_the_sessions_a_test_leaves_on_the_tests_database_are_named() -> None:
    """PostgreSQL drops the tests' database at the end only when no other session uses it
    (tests.fixtures.database.django_db_setup): a session a test left open (a server's, a
    thread's) is named, and one that ends within the wait is not."""
    from django.db import connection

    from tests.fixtures.database import other_sessions

    if connection.vendor != "postgresql":
        assert other_sessions(wait=1) == []
        return
    import psycopg

    settings = connection.settings_dict
    left = psycopg.connect(
        dbname=settings["NAME"], user=settings["USER"], host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432, application_name="left-by-a-test",
    )  # fmt: skip
    try:
        assert "left-by-a-test" in [session[1] for session in other_sessions()]
        threading.Timer(0.5, left.close).start()  # ends within the wait
        assert "left-by-a-test" not in [session[1] for session in other_sessions(wait=5)]
    finally:
        left.close()
