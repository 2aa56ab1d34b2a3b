"""Helpers for the project-level tests."""

from orders.tests.helpers import ADDRESS

# A shopper's details, as the checkout form takes them (the orders tests' address, with an
# email of its own).
SHOPPER = {**ADDRESS, "email": "ada.lovelace@example.com"}
