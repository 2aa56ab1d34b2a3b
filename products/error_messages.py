"""What each catalogue refusal (`products.errors`) says to shop staff: the only place these
words live."""

from .errors import ProductError, ProductErrorCode

Code = ProductErrorCode

ERROR_MESSAGES: dict[ProductErrorCode, str] = {
    Code.STOCK_OUT_OF_RANGE: "Enter a number from 0 to {maximum}.",
    Code.STOCK_BELOW_HELD: (
        "{held} held by shoppers checking out right now: set at least {held}, or try again in "
        "a few minutes."
    ),
}


def error_message(error: ProductError) -> str:
    return ERROR_MESSAGES[error.code].format(**error.params)
