# The attempt counter is now the PaymentAttempt rows (0005 copied what it knew).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0005_payment_attempts_payout_ledger"),
    ]

    operations = [
        migrations.RemoveField(
            model_name="order",
            name="payment_attempts",
        ),
    ]
