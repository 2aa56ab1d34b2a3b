"""Fixtures for cart, checkout and payment tests: real HTTP to a private localstripe."""

import json
import urllib.parse
import urllib.request

import pytest

from products.factories import ItemPageFactory
from vendors.factories import ShopPageFactory

WEBHOOK_SECRET = "whsec_test_vitrine"


@pytest.fixture(autouse=True)
def _fresh_cache(clear_cache):
    """Footer links and the like are cached: no test sees another's."""


@pytest.fixture
def stripe_settings(settings, localstripe):
    settings.STRIPE_API_BASE = localstripe
    settings.STRIPE_SECRET_KEY = "sk_test_vitrine"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_vitrine"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_JS_URL = f"{localstripe}/js.stripe.com/v3/"
    return settings


def card_token(base_url: str, number: str = "4242424242424242") -> str:
    """What Stripe.js does in the browser: card details to Stripe, a token back."""
    body = urllib.parse.urlencode(
        {
            "card[number]": number,
            "card[exp_month]": "12",
            "card[exp_year]": "2030",
            "card[cvc]": "123",
            "key": "pk_test_vitrine",
        }
    ).encode()
    request = urllib.request.Request(f"{base_url}/v1/tokens", data=body, method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())["id"]


@pytest.fixture
def token(localstripe):
    return lambda number="4242424242424242": card_token(localstripe, number)


@pytest.fixture
def two_shops(site_tree):
    """Two shops with one piece each, as a cart spanning shops needs."""
    lune = ShopPageFactory(title="Maison Lune", vendor__name="Maison Lune")
    salon = ShopPageFactory(title="Second Salon", vendor__name="Second Salon")
    bag = ItemPageFactory(parent=lune, title="Cognac tote", price="1250.00", with_image=True)
    watch = ItemPageFactory(parent=salon, title="Steel watch", price="800.00")
    return lune, salon, bag, watch


ADDRESS = {
    "email": "ada@example.com",
    "name": "Ada Lovelace",
    "line1": "12 St James's Square",
    "line2": "",
    "city": "London",
    "postcode": "SW1Y 4JH",
    "country": "GB",
    "phone": "020 7946 0123",
}
