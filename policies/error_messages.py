"""What each policy or testimonial refusal (`policies.errors`) says to the shopper: the only
place these words live."""

from .errors import PolicyError, PolicyErrorCode

Code = PolicyErrorCode

ERROR_MESSAGES: dict[PolicyErrorCode, str] = {
    Code.LINK_EXPIRED: "This link has expired.",
    Code.LINK_INVALID: "This link is not valid.",
    Code.LINK_USED: "This link has already been used. Thank you!",
    Code.CONSENT_MISSING: "We can only publish your words with your consent.",
    Code.ITEM_NOT_IN_ORDER: "Choose a piece from this order.",
}


def error_message(error: PolicyError) -> str:
    return ERROR_MESSAGES[error.code].format(**error.params)
