from django.core.management.base import BaseCommand

from orders.services import reservation_release_expired


class Command(BaseCommand):
    help = "Release stock holds whose time is up (run every minute or so from cron/systemd)."

    def handle(self, *args, **options):
        released = reservation_release_expired()
        self.stdout.write(f"Released {released} expired reservation(s).")
