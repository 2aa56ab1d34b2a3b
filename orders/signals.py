"""Signals orders sends for the layers above it to act on (it imports none of them)."""

from django.dispatch import Signal

# Sent once a shop's part (`vendor_order`) is marked delivered, after the transaction commits.
# Policies invites the shopper to write a testimonial (policies.signals).
vendor_order_delivered = Signal()
