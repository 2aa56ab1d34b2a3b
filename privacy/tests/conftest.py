"""The account fixtures (shoppers signed in or not, a private localstripe), shared with accounts'
tests: export, erasure and guest orders are about the same shoppers."""

from accounts.tests.conftest import (  # noqa: F401
    _fresh_state,
    other,
    shopper,
    signed_in,
    stripe_settings,
)
