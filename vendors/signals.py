"""Signals vendors sends for the layers above it to answer (it imports none of them)."""

from django.dispatch import Signal

# Sent by the shop index and by each shop's page (the sender is the page's class) while they
# build their context, with `page` and `request`. Each receiver returns a dict that is added to
# the context. The pieces are the catalogue's (products.receivers): it adds the listed shops
# with how many pieces each has for sale, or a page of the shop's own pieces.
page_context = Signal()
