"""Send a promotional email to every customer who opted in (and confirmed their address).

manage.py send_newsletter --subject "New in: autumn" --body-file autumn.txt [--topic catalogue_mailings] [--dry-run]
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts import selectors, services
from marketplace.progress import progress


class Command(BaseCommand):
    help = "Queue an email to each opted-in customer, with a one-click unsubscribe link."

    def add_arguments(self, parser):
        parser.add_argument("--subject", required=True)
        parser.add_argument("--body-file", required=True, type=Path, help="Plain-text body.")
        parser.add_argument(
            "--topic",
            default="promotional_emails",
            choices=["promotional_emails", "catalogue_mailings"],
        )
        parser.add_argument("--dry-run", action="store_true", help="Count recipients only.")

    def handle(self, *args, subject, body_file, topic, dry_run, **options):
        try:
            body = body_file.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise CommandError(f"Cannot read {body_file}: {error}") from error
        if not body:
            raise CommandError(f"{body_file} is empty.")
        total = selectors.newsletter_recipients(topic=topic).count()
        self.stdout.write(f"{total} opted-in recipients for {topic}.")
        if dry_run:
            return

        # A bar on a terminal, periodic plain lines in logs (marketplace.progress), on stderr.
        with progress(total=total, desc="Queueing", stream=self.stderr._out) as bar:
            sent = services.newsletter_send(
                subject=subject, body=body, topic=topic, progress=lambda *_: bar.update(1)
            )
        self.stdout.write(self.style.SUCCESS(f"Done: {sent} of {total} queued."))
