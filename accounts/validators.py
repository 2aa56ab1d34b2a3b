"""The postcode and phone number of a postal address, read in the address's country.

Shared by the address book (accounts.forms) and checkout (orders.forms): one rule for both.
"""

import re

from phonenumber_field.phonenumber import PhoneNumber, to_python

POSTCODE_PATTERNS = {
    "GB": (r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$", "a UK postcode such as SW1A 1AA"),
    "US": (r"^[0-9]{5}(-[0-9]{4})?$", "a ZIP code such as 10001"),
    "IE": (r"^[A-Z0-9]{3} ?[A-Z0-9]{4}$", "an Eircode such as D02 X285"),
    "FR": (r"^[0-9]{5}$", "a five-digit code postal"),
    "DE": (r"^[0-9]{5}$", "a five-digit Postleitzahl"),
    "IT": (r"^[0-9]{5}$", "a five-digit CAP"),
    "ES": (r"^[0-9]{5}$", "a five-digit código postal"),
    "NL": (r"^[0-9]{4} ?[A-Z]{2}$", "a postcode such as 1012 AB"),
    "BE": (r"^[0-9]{4}$", "a four-digit postcode"),
}


def clean_postcode(*, country: str, postcode: str) -> tuple[str, str | None]:
    """The postcode normalised for the country, and an error message if it is not valid there."""
    postcode = (postcode or "").strip().upper()
    pattern, example = POSTCODE_PATTERNS.get(country, (r"^[A-Z0-9 -]{2,12}$", "a postcode"))
    if not re.match(pattern, postcode):
        return postcode, f"Please enter {example}."
    return postcode, None


def clean_phone(*, country: str, raw: str) -> tuple[PhoneNumber | None, str | None]:
    """A phone number read in the country's format (or international), or an error message."""
    raw = (raw or "").strip()
    if not raw:
        return None, None
    # A local number ("020 7946 0958") is read in the delivery country's format.
    number = to_python(raw, region=country)
    if number is None or not number.is_valid():
        return None, "Please enter a valid phone number, or leave it empty."
    return number, None
