import time

from django.core.management.base import BaseCommand, CommandError

from orders import services, stripe_api
from orders.models import Order


class Command(BaseCommand):
    help = (
        "List succeeded Stripe payments without a paid order (a lost webhook, a crash). "
        "Exits 1 when any is found; --settle runs the normal, idempotent paid-order service."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=7, help="How far back to look")
        parser.add_argument("--settle", action="store_true", help="Settle what is found")

    def handle(self, *args, days, settle, **options):
        try:
            intents = stripe_api.payment_intents_succeeded(
                since_timestamp=int(time.time()) - days * 86400
            )
        except stripe_api.PaymentServiceError as error:
            raise CommandError(f"Stripe did not answer: {error}") from error
        paid = set(
            Order.objects.filter(
                status__in=[Order.Status.PAID, Order.Status.REFUNDED],
                payment_intent_id__in=[intent.id for intent in intents],
            ).values_list("payment_intent_id", flat=True)
        )
        unmatched = [intent for intent in intents if intent.id not in paid]
        for intent in unmatched:
            self.stdout.write(
                f"{intent.id} {intent.amount} {intent.currency} "
                f"order={intent.order_reference or '(none)'}"
            )
            if settle and intent.order_reference:
                order = services.order_mark_paid(payment_intent=intent)
                self.stdout.write(f"  -> order {intent.order_reference}: {order and order.status}")
        self.stdout.write(f"{len(unmatched)} succeeded payment(s) without a paid order.")
        if unmatched and not settle:
            raise SystemExit(1)
