"""The reconciliation command finds succeeded payments whose order was never marked paid."""

from io import StringIO

from django.core.management import call_command

import pytest

from orders.models import Order

from .helpers import ADDRESS

pytestmark = pytest.mark.django_db


def test_reconcile_lists_and_settles_a_payment_the_webhook_never_delivered(
    client, two_shops, stripe_settings, token, localstripe, monkeypatch
):
    client.post("/cart/add/", {"item": two_shops[2].pk})
    client.post("/checkout/", ADDRESS)
    order = Order.objects.get()
    # The payment succeeds at Stripe, but our side crashes before recording it.
    monkeypatch.setattr("orders.services.payments.order_mark_paid", lambda **kwargs: None)
    client.post(f"/checkout/pay/{order.reference}/", {"card_token": token()})
    monkeypatch.undo()
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING and order.payment_intent_id

    listed, code = reconcile()
    assert code == 1  # found something: a cron job alerts
    assert f"{order.payment_intent_id} 1250.00 GBP order={order.reference}" in listed

    reconcile("--settle")
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    # Settled orders drop off the list (other tests' payments may remain: shared localstripe).
    assert order.payment_intent_id not in reconcile()[0]


def reconcile(*args) -> tuple[str, int]:
    out = StringIO()
    try:
        call_command("reconcile_payments", *args, stdout=out)
    except SystemExit as exit_info:
        return out.getvalue(), exit_info.code
    return out.getvalue(), 0
