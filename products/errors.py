"""What the catalogue's services refuse, by code (words: `products.error_messages`)."""

from __future__ import annotations

from enum import StrEnum

from marketplace.errors import CodedError


class ProductErrorCode(StrEnum):
    STOCK_OUT_OF_RANGE = "out_of_range"  # below 0 or above `maximum`
    STOCK_BELOW_HELD = "below_held"  # fewer than the `held` units checkouts in progress hold


class ProductError(CodedError):
    code: ProductErrorCode

    def __init__(self, code: ProductErrorCode, **params: object):
        super().__init__(code, **params)


class StockNotAllowed(ProductError):
    """A stock level the service refuses (`held`: what checkouts hold, for STOCK_BELOW_HELD)."""

    def __init__(self, code: ProductErrorCode, *, maximum: int, held: int = 0):
        super().__init__(code, maximum=maximum, held=held)
        self.held = held
