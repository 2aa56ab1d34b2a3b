from django.core.management.base import BaseCommand

from demo.catalogue import load_catalogue
from demo.content import load_demo


class Command(BaseCommand):
    help = (
        "Load the demo marketplace (shops, designers, items, policies, logins). Idempotent. "
        "With --items N, also generate a large catalogue in bulk for benchmarks."
    )

    def add_arguments(self, parser):
        parser.add_argument("--items", type=int, default=0, help="Generated pieces, e.g. 100000")
        parser.add_argument(
            "--shops", type=int, default=0, help="Generated shops (default N/200, ≤500)"
        )

    def handle(self, *args, items, shops, **options):
        logins = load_demo()
        if items:
            shops = shops or min(max(items // 200, 1), 500)
            created = load_catalogue(items=items, shops=shops)
            self.stdout.write(f"Generated {created} pieces over {shops} shops.")
        self.stdout.write(self.style.SUCCESS("Demo content ready. Logins for /admin/:"))
        for login in logins:
            self.stdout.write(f"  {login.role:<28} {login.username:<10} {login.password}")
