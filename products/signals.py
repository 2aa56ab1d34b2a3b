"""Signals the catalogue sends for the layers above it to act on (it imports none of them)."""

from django.dispatch import Signal

# Sent inside the transaction that changes an item's stock (as post_save is), with `item_id`,
# `quantity` and `previous`. products.cache invalidates the cached pages and counts that show
# the piece (marketplace.page_cache): listings show which pieces are sold and which are for sale.
stock_changed = Signal()
