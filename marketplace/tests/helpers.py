"""Helpers for the project-level tests."""

# A shopper's details, as the checkout form takes them.
SHOPPER = {
    "email": "ada.lovelace@example.com",
    "name": "Ada Lovelace",
    "line1": "12 St James's Square",
    "line2": "",
    "city": "London",
    "postcode": "SW1Y 4JH",
    "country": "GB",
    "phone": "020 7946 0123",
}
