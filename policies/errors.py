"""What the policy and testimonial services refuse, by code (words:
`policies.error_messages`)."""

from __future__ import annotations

from enum import StrEnum

from marketplace.errors import CodedError


class PolicyErrorCode(StrEnum):
    # A testimonial link (TestimonialLinkInvalid).
    LINK_EXPIRED = "link_expired"
    LINK_INVALID = "link_invalid"  # tampered with, or names no delivered part
    LINK_USED = "link_used"  # a testimonial was already written from it
    # A testimonial the service refuses (TestimonialRefused; `field` is the form's field).
    CONSENT_MISSING = "consent_missing"
    ITEM_NOT_IN_ORDER = "item_not_in_order"


class PolicyError(CodedError):
    code: PolicyErrorCode

    def __init__(self, code: PolicyErrorCode, **params: object):
        super().__init__(code, **params)


class TestimonialLinkInvalid(PolicyError):
    """A testimonial link that is tampered with, expired, already used or names no delivery."""


class TestimonialRefused(PolicyError):
    """A testimonial that cannot be taken as written: `field` names the form field at fault."""

    def __init__(self, code: PolicyErrorCode, *, field: str):
        super().__init__(code, field=field)
        self.field = field
