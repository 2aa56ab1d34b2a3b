"""Fixtures for cart, checkout and payment tests (`localstripe` and `stripe_settings` are
shared: tests/fixtures/localstripe.py; plain helpers are in helpers.py)."""

import pytest

from products.factories import ItemPageFactory
from tests.localstripe import card_token
from vendors.factories import ShopPageFactory

from .helpers import ADDRESS


@pytest.fixture
def token(localstripe):
    """`token(number)`: a card token from localstripe, as Stripe.js makes one in the browser."""
    return lambda number="4242424242424242": card_token(localstripe, number)


@pytest.fixture
def two_shops(site_tree):
    """Two shops with one piece each, as a cart spanning shops needs."""
    lune = ShopPageFactory(title="Maison Lune", vendor__name="Maison Lune")
    salon = ShopPageFactory(title="Second Salon", vendor__name="Second Salon")
    bag = ItemPageFactory(parent=lune, title="Cognac tote", price="1250.00", with_image=True)
    watch = ItemPageFactory(parent=salon, title="Steel watch", price="800.00")
    return lune, salon, bag, watch


@pytest.fixture
def placed_order(client, two_shops):
    """A guest's pending order for both shops' pieces (£2,050), placed through the views."""
    from orders.models import Order

    _, _, bag, watch = two_shops
    client.post("/cart/add/", {"item": bag.pk})
    client.post("/cart/add/", {"item": watch.pk})
    client.post("/checkout/", ADDRESS)
    return Order.objects.get()


@pytest.fixture
def new_client():
    """Another browser: `new_client()` is a fresh django.test.Client."""
    from django.test import Client

    return Client


@pytest.fixture
def stripe_says_processing(monkeypatch):
    """Stripe answers "processing" at confirm time; the charge completes just after, and only
    the webhook (or the done page asking Stripe) learns of it. Calls through to localstripe."""
    import dataclasses

    from orders import stripe_api

    real = stripe_api.payment_intent_confirm

    def processing(**kwargs):
        return dataclasses.replace(real(**kwargs), status="processing")

    monkeypatch.setattr(stripe_api, "payment_intent_confirm", processing)


@pytest.fixture
def answer_lost_after_charge(monkeypatch):
    """Stripe charges the card at confirm time, but its answer never reaches us (a timeout,
    the worker killed): our side sees a PaymentServiceError. Calls through to localstripe.
    `monkeypatch.undo()` in the test brings the answers back."""
    from orders import stripe_api

    real = stripe_api.payment_intent_confirm

    def charged_then_lost(**kwargs):
        real(**kwargs)
        raise stripe_api.PaymentServiceError("APIConnectionError: read timed out")

    monkeypatch.setattr(stripe_api, "payment_intent_confirm", charged_then_lost)
