"""Looking at the cart is a read: only a change (a piece sold meanwhile) writes. With several
processes on one SQLite file, a write on every GET would queue them all on its write lock."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

import pytest

from products.factories import ItemPageFactory
from products.models import ItemPage

pytestmark = pytest.mark.django_db

WRITES = ("INSERT", "UPDATE", "DELETE")


def writes(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(WRITES)]


def test_viewing_an_unchanged_cart_writes_nothing(client, site_tree):
    for title in ("Cognac tote", "Silk scarf"):
        client.post("/cart/add/", {"item": ItemPageFactory(title=title).pk})
    client.get("/cart/")  # the session's first save, if any, is not the point here
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/cart/")
    assert response.status_code == 200 and "Silk scarf" in response.content.decode()
    assert writes(queries) == []


def test_a_piece_sold_meanwhile_is_dropped_from_the_cart_with_a_notice(client, site_tree):
    kept, sold = ItemPageFactory(title="Cognac tote"), ItemPageFactory(title="Silk scarf")
    for item in (kept, sold):
        client.post("/cart/add/", {"item": item.pk})
    ItemPage.objects.filter(pk=sold.pk).update(quantity=0)  # sold elsewhere
    with CaptureQueriesContext(connection) as queries:
        html = client.get("/cart/").content.decode()
    assert "“Silk scarf” has sold and was removed from your cart." in html
    assert [sql for sql in writes(queries) if "orders_cartitem" in sql]
    assert "Silk scarf" not in client.get("/cart/").content.decode().split("</header>")[1]


def test_sqlite_waits_for_the_write_lock_instead_of_failing():
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.sqlite3":
        pytest.skip("SQLite only")
    options = database["OPTIONS"]
    assert options["transaction_mode"] == "IMMEDIATE" and options["timeout"] >= 5
    assert "journal_mode=WAL" in options["init_command"]
