"""Talking to localstripe as Stripe.js and our server would, for tests (the `localstripe`
fixture in `tests.fixtures.localstripe` serves it, and `stripe_settings` points our client at it)."""

import base64
import json
import urllib.error
import urllib.parse
import urllib.request

SECRET_KEY = "sk_test_vitrine"
PUBLISHABLE_KEY = "pk_test_vitrine"
WEBHOOK_SECRET = "whsec_test_vitrine"


def card_token(base_url: str, number: str = "4242424242424242") -> str:
    """What Stripe.js does in the browser: card details to Stripe, a token back."""
    body = urllib.parse.urlencode(
        {
            "card[number]": number,
            "card[exp_month]": "12",
            "card[exp_year]": "2030",
            "card[cvc]": "123",
            "key": PUBLISHABLE_KEY,
        }
    ).encode()
    request = urllib.request.Request(f"{base_url}/v1/tokens", data=body, method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())["id"]


def stripe_get(base_url: str, path: str) -> dict:
    """GET from localstripe's API with the secret key, as our server would."""
    request = urllib.request.Request(
        f"{base_url}{path}", headers={"Authorization": f"Bearer {SECRET_KEY}"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def intents_for(base_url: str, reference: str) -> list[dict]:
    """Every PaymentIntent localstripe holds for an order (by its metadata)."""
    listed = stripe_get(base_url, "/v1/payment_intents?limit=1000")["data"]
    return [pi for pi in listed if pi["metadata"].get("order_reference") == reference]


def customer_exists(base_url: str, customer_id: str) -> bool:
    """Whether Stripe still holds that Customer (erasure deletes them)."""
    request = urllib.request.Request(f"{base_url}/v1/customers/{customer_id}")
    request.add_header(
        "Authorization", "Basic " + base64.b64encode(f"{SECRET_KEY}:".encode()).decode()
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return not json.loads(response.read()).get("deleted", False)
    except urllib.error.HTTPError as error:
        assert error.code == 404
        return False
