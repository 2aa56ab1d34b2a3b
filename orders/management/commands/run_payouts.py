"""Transfer every payout that is due to the shops' Stripe Connect accounts.

manage.py run_payouts [--dry-run]

Due: delivered, the shopper's return window (VITRINE_RETURN_WINDOW_DAYS) over, earned and
neither paid nor reversed, not under a chargeback, for a shop with a connected account
(orders.selectors.payouts_due). What a shop owes back (a refund after its payout that could not
be clawed back) is netted off first. Run it daily from cron. Safe to run twice, or twice at
once: each payout is made under a lock on its shop, re-checked inside the lock, with the
deterministic idempotency key of `payout_settle`, and the ledger allows one transfer per part.
"""

import logging

from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError

from marketplace.progress import progress
from orders import selectors, services, stripe_api
from orders.models import PayoutEntry, VendorOrder

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Pay every payout that is due (delivered, return window over, not yet paid, no "
        "chargeback, shop with a Stripe Connect account), net of what the shop owes back. "
        "Idempotent; a failed transfer does not stop the run, it is listed at the end and the "
        "command exits 1. --dry-run lists what would be paid."
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
                    entry = _transfer_if_still_due(vendor_order)
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


def _transfer_if_still_due(vendor_order: VendorOrder) -> PayoutEntry | None:
    """Pay one part under its shop's lock (see payout_settle). None when it is no longer due.
    Without row locks (SQLite) two runs can both get here: Stripe answers both with the same
    transfer (same idempotency key) and the ledger keeps the first entry only."""
    try:
        return services.payout_settle(vendor_order=vendor_order)
    except IntegrityError:
        return None
