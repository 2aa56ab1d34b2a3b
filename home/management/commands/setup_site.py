from django.core.management.base import BaseCommand

from home.services import site_ensure_structure


class Command(BaseCommand):
    help = "Create the fixed page tree (home, /shops/, /designers/) on a new database. Idempotent."

    def handle(self, *args, **options):
        site_ensure_structure()
        self.stdout.write(self.style.SUCCESS("Site structure ready."))
