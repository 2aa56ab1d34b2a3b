import time

from django.core.management.base import BaseCommand, CommandError

from orders import services, stripe_api
from orders.models import Order, PaymentAttempt


class Command(BaseCommand):
    help = (
        "List succeeded Stripe payments that neither paid their order nor were refunded (a lost "
        "webhook, a crash, a late 3-D Secure success, a duplicate). Exits 1 when any is found; "
        "--settle runs the normal, idempotent settling service: it pays a pending order, and "
        "refunds (and records) a payment that cannot pay its order."
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
        ids = [intent.id for intent in intents]
        # Settled: it paid its order, or it did not and we gave it back.
        settled = set(
            Order.objects.filter(
                status__in=[Order.Status.PAID, Order.Status.REFUNDED], payment_intent_id__in=ids
            ).values_list("payment_intent_id", flat=True)
        ) | set(
            PaymentAttempt.objects.filter(
                status=PaymentAttempt.Status.REFUNDED, payment_intent_id__in=ids
            ).values_list("payment_intent_id", flat=True)
        )
        unmatched = [intent for intent in intents if intent.id not in settled]
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
