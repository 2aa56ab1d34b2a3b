"""Transfer every payout that is due to the shops' Stripe Connect accounts.

manage.py run_payouts [--dry-run]

Due: shipped or delivered, earned and neither transferred nor refunded, for a shop with a
connected account (orders.selectors.payouts_due). Shipping already tries the transfer; this
command catches up on those that failed then (Stripe down) or shipped before the shop connected
its account. Safe to run from cron, twice, or twice at once: each payout is transferred under a
lock on its vendor order, re-checked inside the lock, with the deterministic idempotency key of
`payout_transfer`, and the ledger allows one transfer per vendor order.
"""

import logging

from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError, transaction

from home.progress import progress
from orders import selectors, services, stripe_api
from orders.models import PayoutEntry, VendorOrder

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Transfer every payout that is due (shipped or delivered, not yet transferred, shop "
        "with a Stripe Connect account). Idempotent; a failed transfer does not stop the run, "
        "it is listed at the end and the command exits 1. --dry-run lists what would be paid."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="List the payouts that are due; pay nothing."
        )

    def handle(self, *args, dry_run, **options):
        due = list(selectors.payouts_due())
        if dry_run:
            for vendor_order in due:
                self.stdout.write(_describe(vendor_order))
            total = sum(vendor_order.payout_amount for vendor_order in due)
            self.stdout.write(f"{len(due)} payout(s) due, {total} in all. Nothing was paid.")
            return

        paid, skipped, failed = [], 0, []
        # The wrapped stream: Django's OutputWrapper would end each of tqdm's redraws with "\n".
        with progress(total=len(due), desc="Payouts", stream=self.stderr._out) as bar:
            for vendor_order in due:
                try:
                    entry = _transfer_if_still_due(vendor_order.pk)
                except stripe_api.PaymentServiceError as error:
                    logger.warning(
                        "order %s: payout transfer failed: %s",
                        vendor_order.order.reference,
                        error,
                        extra={"order_reference": vendor_order.order.reference},
                    )
                    failed.append((vendor_order, str(error)))
                except Exception as error:  # one bad payout must not stop the others
                    logger.exception(
                        "order %s: payout failed",
                        vendor_order.order.reference,
                        extra={"order_reference": vendor_order.order.reference},
                    )
                    failed.append((vendor_order, f"{type(error).__name__}: {error}"))
                else:
                    if entry is None:
                        skipped += 1
                    else:
                        paid.append(entry)
                bar.update(1)

        for entry in paid:
            self.stdout.write(f"paid {_describe(entry.vendor_order)} ({entry.stripe_transfer_id})")
        total = sum(entry.amount for entry in paid)
        self.stdout.write(
            f"{len(paid)} payout(s) transferred, {total} in all; "
            f"{skipped} no longer due (paid or refunded meanwhile); {len(failed)} failed."
        )
        if failed:
            for vendor_order, reason in failed:
                self.stderr.write(f"FAILED {_describe(vendor_order)}: {reason}")
            raise CommandError(f"{len(failed)} payout(s) failed; run again to retry them.")


def _describe(vendor_order: VendorOrder) -> str:
    return (
        f"{vendor_order.order.reference} {vendor_order.vendor.name}: "
        f"{vendor_order.payout_amount} {vendor_order.order.currency} "
        f"to {vendor_order.vendor.stripe_account_id}"
    )


def _transfer_if_still_due(vendor_order_id: int) -> PayoutEntry | None:
    """Transfer one payout under a lock on its vendor order (the lock shipping takes too).

    Returns None when it is no longer due once the lock is held: another run, or shipping,
    paid it meanwhile, or it was refunded. The check is a new statement after the lock, so on
    PostgreSQL it sees what the other transaction committed while this one waited."""
    try:
        with transaction.atomic():
            locked = VendorOrder.objects.select_for_update().filter(pk=vendor_order_id)
            list(locked.order_by().values_list("pk"))
            vendor_order = selectors.payouts_due().filter(pk=vendor_order_id).first()
            if vendor_order is None:
                return None
            return services.payout_transfer(vendor_order=vendor_order)
    except IntegrityError:
        # Without row locks (SQLite) two runs can both get here: Stripe answered both with the
        # same transfer (same idempotency key) and the ledger kept the first entry only.
        return None
