from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from vendors.services import vendor_onboard


def _rate(value: str) -> Decimal:
    try:
        return Decimal(value)
    except InvalidOperation as error:
        raise CommandError(f"--commission must be a decimal such as 0.15, not {value!r}") from error


class Command(BaseCommand):
    help = "Onboard a vendor: shop page, admin group, image collection and a staff login."

    def add_arguments(self, parser):
        parser.add_argument("--shop", required=True, help="Shop name, e.g. 'Maison Lune'")
        parser.add_argument("--email", required=True, help="Email of the vendor's first staff user")
        parser.add_argument("--contact-email", help="Business contact email (default: --email)")
        parser.add_argument("--username", help="Staff username (default: the email)")
        parser.add_argument("--commission", type=_rate, help="Commission rate, e.g. 0.15")
        parser.add_argument(
            "--moderated", action="store_true", help="Edits need an editor's approval"
        )

    def handle(self, *args, **options):
        try:
            vendor = vendor_onboard(
                name=options["shop"],
                contact_email=options["contact_email"] or options["email"],
                staff_email=options["email"],
                staff_username=options["username"],
                commission_rate=options["commission"],
                requires_moderation=options["moderated"],
            )
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Vendor {vendor.name} onboarded: shop at {vendor.shop.url}, "
                f"invitation emailed to {options['email']}."
            )
        )
