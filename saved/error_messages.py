"""What each saved-list refusal (`saved.errors`) says to the shopper: the only place these
words live."""

from .errors import SavedError, SavedErrorCode

Code = SavedErrorCode

ERROR_MESSAGES: dict[SavedErrorCode, str] = {
    Code.ITEM_NOT_FOUND: "Sorry, that piece could not be found: it may have been taken off Vitrine.",
    Code.LIST_FULL: (
        "Your saved list is full ({limit} pieces). Remove a piece you no longer want to save "
        "another."
    ),
    Code.NOT_SAVED: "That piece is not in your saved list.",
    Code.EMAIL_UNVERIFIED: "Please confirm your email address first: then we can email you.",
    Code.ITEM_SOLD: "This piece has sold, so its price won't change.",
}


def error_message(error: SavedError) -> str:
    return ERROR_MESSAGES[error.code].format(**error.params)
