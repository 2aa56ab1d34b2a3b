from django.core.management.base import BaseCommand

from home.demo import load_demo


class Command(BaseCommand):
    help = "Load the demo marketplace (shops, designers, items, policies, logins). Idempotent."

    def handle(self, *args, **options):
        logins = load_demo()
        self.stdout.write(self.style.SUCCESS("Demo content ready. Logins for /admin/:"))
        for login in logins:
            self.stdout.write(f"  {login.role:<28} {login.username:<10} {login.password}")
