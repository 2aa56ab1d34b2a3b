"""Signals the catalogue sends for the layers above it to act on (it imports none of them)."""

from django.dispatch import Signal

# Sent inside the transaction that changes an item's stock (as post_save is), with `item_id`,
# `quantity` and `previous`. The page cache (home.page_cache) starts a new content generation
# on it, now and at commit: listings show which pieces are sold and which are for sale.
stock_changed = Signal()
