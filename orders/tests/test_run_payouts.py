"""`run_payouts`: every due payout transferred once, the rest left alone, failures reported at
the end, progress on a terminal and in logs. Transfers go to a minimal fake of Stripe's
/v1/transfers that records each call (test_payouts.py runs payouts, reversals and netting
against localstripe's Connect endpoints)."""

import io
import json
import threading
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

import pytest
from werkzeug import Response

from orders.factories import Piece, paid_order
from orders.models import PayoutEntry, VendorOrder
from vendors.factories import VendorFactory

S = VendorOrder.Status
K = PayoutEntry.Kind


def vendor_order(vendor, subtotal, *, status=S.DELIVERED, **fields) -> VendorOrder:
    """A shop's part of a paid order in `status` (delivered: past the return window), with the
    ledger entries the services wrote on the way."""
    order = paid_order(items=[Piece(vendor, subtotal)], vendor_status=status, **fields)
    return order.vendor_orders.get()


class FakeTransfers:
    """Stripe's POST /v1/transfers: records each call; refuses destinations in `refuse`."""

    def __init__(self, httpserver):
        self.calls: list[tuple[dict, str]] = []
        self.refuse: set[str] = set()
        self.lock = threading.Lock()
        httpserver.expect_request("/v1/transfers", method="POST").respond_with_handler(self)

    def __call__(self, request):
        form, key = dict(request.form), request.headers.get("Idempotency-Key")
        with self.lock:
            self.calls.append((form, key))
        if form["destination"] in self.refuse:
            body = {"error": {"type": "invalid_request_error", "message": "No such destination"}}
            return Response(json.dumps(body), status=400, content_type="application/json")
        body = {"id": f"tr_{key}", "object": "transfer", "amount": int(form["amount"])}
        return Response(json.dumps(body), content_type="application/json")

    def destinations(self) -> list[str]:
        return [form["destination"] for form, _key in self.calls]


@pytest.fixture
def transfers(settings, httpserver):
    settings.STRIPE_API_BASE = httpserver.url_for("").rstrip("/")
    settings.STRIPE_SECRET_KEY = "sk_test_vitrine"
    return FakeTransfers(httpserver)


class TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def run(*args, stderr=None) -> tuple[str, str, str | None]:
    """(stdout, stderr, error message or None) of one run."""
    out, err = io.StringIO(), stderr if stderr is not None else io.StringIO()
    try:
        call_command("run_payouts", *args, stdout=out, stderr=err)
    except CommandError as error:
        return out.getvalue(), err.getvalue(), str(error)
    return out.getvalue(), err.getvalue(), None


@pytest.fixture
def ledger(db):
    """Two payouts due and seven that are not, across three shops."""
    lune = VendorFactory(name="Maison Lune", stripe_account_id="acct_lune")
    salon = VendorFactory(name="Second Salon", stripe_account_id="acct_salon")
    manual = VendorFactory(name="Paid By Hand")  # no Connect account
    return {
        "shipped": vendor_order(lune, "1000.00", status=S.DELIVERED),  # 850.00 due
        "delivered": vendor_order(salon, "200.00", status=S.DELIVERED),  # 170.00 due
        "not_shipped": vendor_order(lune, "300.00", status=S.PAID),
        "on_its_way": vendor_order(lune, "310.00", status=S.SHIPPED),
        "in_return_window": vendor_order(
            salon, "320.00", delivered_at=timezone.now() - timedelta(days=13)
        ),  # fmt: skip
        "no_account": vendor_order(manual, "400.00", status=S.DELIVERED),
        "refunded": vendor_order(lune, "500.00", status=S.REFUNDED),  # earned, then reversed
        "transferred": vendor_order(salon, "600.00", status=S.DELIVERED, paid_out=True),
        "cancelled": vendor_order(lune, "700.00", status=S.CANCELLED),  # never paid
    }


def transferred(part) -> PayoutEntry | None:
    return PayoutEntry.objects.filter(vendor_order=part, kind=K.TRANSFERRED).first()


@pytest.mark.django_db
def test_pays_each_due_payout_once_and_nothing_else(ledger, transfers):
    out, err, error = run()
    assert error is None
    assert sorted(transfers.destinations()) == ["acct_lune", "acct_salon"]
    shipped, delivered = ledger["shipped"], ledger["delivered"]
    assert transferred(shipped).amount == Decimal("850.00")
    assert transferred(delivered).amount == Decimal("170.00")
    assert transferred(shipped).stripe_transfer_id == (
        f"tr_{shipped.order.reference}-transfer-{shipped.pk}"
    )
    forms = {form["destination"]: (form, key) for form, key in transfers.calls}
    assert forms["acct_lune"][0] == {
        "amount": "85000",
        "currency": "gbp",
        "destination": "acct_lune",
        "transfer_group": shipped.order.reference,
    }
    for name in ("not_shipped", "on_its_way", "in_return_window", "no_account", "refunded",
                 "cancelled"):  # fmt: skip
        assert transferred(ledger[name]) is None, name
    assert PayoutEntry.objects.filter(kind=K.TRANSFERRED).count() == 3  # 2 new + the old one
    assert f"paid {shipped.order.reference} Maison Lune: 850.00 GBP to acct_lune" in out
    assert "2 payout(s) transferred, 1020.00 in all" in out and "0 failed" in out

    # Again: nothing is due any more, nothing is sent to Stripe.
    out, err, error = run()
    assert error is None and len(transfers.calls) == 2
    assert "0 payout(s) transferred" in out
    assert PayoutEntry.objects.filter(kind=K.TRANSFERRED).count() == 3


@pytest.mark.django_db
def test_dry_run_lists_what_is_due_and_pays_nothing(ledger, transfers):
    out, err, error = run("--dry-run")
    assert error is None and transfers.calls == []
    assert f"{ledger['shipped'].order.reference} Maison Lune: 850.00 GBP to acct_lune" in out
    assert f"{ledger['delivered'].order.reference} Second Salon: 170.00 GBP" in out
    assert ledger["not_shipped"].order.reference not in out
    assert "2 payout(s) due, 1020.00 in all. Nothing was paid." in out
    assert (
        not PayoutEntry.objects.filter(kind=K.TRANSFERRED)
        .exclude(vendor_order=ledger["transferred"])
        .exists()
    )


@pytest.mark.django_db
def test_a_failed_transfer_is_reported_at_the_end_and_the_others_are_paid(db, transfers):
    first = vendor_order(VendorFactory(stripe_account_id="acct_one"), "100.00")
    broken = vendor_order(VendorFactory(name="Broken", stripe_account_id="acct_gone"), "200.00")
    last = vendor_order(VendorFactory(stripe_account_id="acct_three"), "300.00")
    transfers.refuse = {"acct_gone"}

    out, err, error = run()
    assert error == "1 payout(s) failed; run again to retry them."  # exit status 1
    assert transferred(first) and transferred(last) and transferred(broken) is None
    assert f"FAILED {broken.order.reference} Broken: 170.00 GBP to acct_gone" in err
    assert "No such destination" in err
    assert "2 payout(s) transferred" in out and "1 failed" in out

    transfers.refuse = set()  # the shop fixed its account: the next run pays only that one
    out, err, error = run()
    assert error is None and transferred(broken).amount == Decimal("170.00")
    assert transfers.destinations().count("acct_one") == 1
    assert "1 payout(s) transferred" in out


@pytest.mark.django_db
def test_a_payout_paid_meanwhile_is_not_paid_again(ledger, transfers, monkeypatch):
    """Another run pays between this run's listing and its lock on the shop."""
    from orders.management.commands import run_payouts

    real_progress = run_payouts.progress

    @contextmanager
    def progress_after_the_other_run_paid(**kwargs):
        PayoutEntry.objects.create(
            vendor_order=ledger["shipped"], kind=K.TRANSFERRED, amount=Decimal("850.00"),
            stripe_transfer_id="tr_by_the_other_run",
        )  # fmt: skip
        with real_progress(**kwargs) as bar:
            yield bar

    monkeypatch.setattr(run_payouts, "progress", progress_after_the_other_run_paid)
    out, err, error = run()
    assert error is None
    assert transfers.destinations() == ["acct_salon"]
    assert transferred(ledger["shipped"]).stripe_transfer_id == "tr_by_the_other_run"
    assert "1 payout(s) transferred" in out and "1 no longer due" in out


@pytest.mark.django_db
def test_progress_is_plain_lines_when_not_on_a_terminal(ledger, transfers):
    out, err, error = run()
    assert "Payouts: 50% (1/2)\n" in err and "Payouts: 100% (2/2)\n" in err
    assert "\r" not in err and "|" not in err


@pytest.mark.django_db
def test_progress_is_a_bar_on_a_terminal(ledger, transfers):
    out, err, error = run(stderr=TTY())
    assert error is None
    assert "\r" in err and "Payouts: 100%|" in err and "2/2" in err
    assert "Payouts: 100% (2/2)" not in err


# --- Two runs at once, on PostgreSQL (SQLite has no row locks to test) --------------------------


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="row-lock races need PostgreSQL: set DATABASE_URL=postgres://... to run them",
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_runs_at_once_pay_each_payout_once(transfers):
    from django.db import connections

    parts = [vendor_order(VendorFactory(stripe_account_id=f"acct_{n}"), "100.00") for n in range(5)]
    barrier, results = threading.Barrier(2), []

    def one_run():
        try:
            barrier.wait(timeout=10)
            results.append(run())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=one_run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(results) == 2 and all(error is None for _out, _err, error in results)
    for part in parts:
        assert PayoutEntry.objects.filter(vendor_order=part, kind=K.TRANSFERRED).count() == 1
    # Each payout reached Stripe once (a second call would carry the same idempotency key).
    assert sorted(transfers.destinations()) == sorted(f"acct_{n}" for n in range(5))
    paid = sum(int(out.split(" payout(s) transferred")[0].rsplit("\n", 1)[-1])
               for out, _err, _error in results)  # fmt: skip
    assert paid == 5
