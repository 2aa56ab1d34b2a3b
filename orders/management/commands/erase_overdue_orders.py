"""Erase the delivery details still kept on orders whose shopper erased their account.

manage.py erase_overdue_orders [--days N] [--dry-run]

An order on its way when its shopper erased their account keeps its delivery name, address,
phone and email until its last shop's part is delivered, refunded or cancelled; the last
status email then erases them (orders.services.order_erase_if_fulfilled). This job is the
safety net: it erases orders whose parts still open all shipped more than N days ago
(VITRINE_ERASE_SHIPPED_ORDERS_AFTER_DAYS, 60 by default: the shop never marked the delivery),
and closed ones whose erasure never ran. Safe to run twice or twice at once (row locks, and an
erased order is no longer marked). A daily timer suits it.
"""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from orders import services


class Command(BaseCommand):
    help = (
        "Erase the delivery details kept on orders of erased accounts once they are closed, or "
        "when what is left of them shipped more than --days ago. --dry-run lists them only."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="Days after shipping (default: VITRINE_ERASE_SHIPPED_ORDERS_AFTER_DAYS).",
        )
        parser.add_argument("--dry-run", action="store_true", help="List them; erase nothing.")

    def handle(self, *args, days, dry_run, **options):
        if days is None:
            days = settings.VITRINE_ERASE_SHIPPED_ORDERS_AFTER_DAYS
        if days < 0:
            raise CommandError("--days cannot be negative.")
        references = services.orders_erase_overdue(
            shipped_before=timezone.now() - timedelta(days=days), dry_run=dry_run
        )
        for reference in references:
            self.stdout.write(reference)
        verb = "would be erased (dry run)" if dry_run else "erased"
        self.stdout.write(f"{len(references)} order(s) {verb}.")
