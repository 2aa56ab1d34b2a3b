"""What the saved-list services refuse, by code (words: `saved.error_messages`)."""

from __future__ import annotations

from enum import StrEnum

from marketplace.errors import CodedError


class SavedErrorCode(StrEnum):
    ITEM_NOT_FOUND = "item_not_found"  # not a live, public piece of a live shop
    LIST_FULL = "list_full"  # `limit` pieces saved already
    NOT_SAVED = "not_saved"  # a price alert for a piece not on the list
    EMAIL_UNVERIFIED = "email_unverified"  # price alerts go to confirmed addresses only
    ITEM_SOLD = "item_sold"  # a sold piece's price will not drop


class SavedError(CodedError):
    code: SavedErrorCode

    def __init__(self, code: SavedErrorCode, **params: object):
        super().__init__(code, **params)
