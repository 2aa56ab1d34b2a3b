# Orders, cart and payments arrive with the checkout issue.
