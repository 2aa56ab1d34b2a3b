"""The URLs whose path carries a secret token, and the log filter that hides it.

Emailed links (pay, unsubscribe, testimonial, password reset, email verification, price-alert
unsubscribe) work by the token in their path. Whoever reads a log line with that path can use
the link, so the access log (gunicorn.conf.py) and the application log (the `console` handler in
marketplace.settings.base, e.g. django.request's "Not Found: /pay/…/") show each token as "…"
and no query string. marketplace/tests/test_access_log.py checks that every URL pattern with a
token in its path is listed here.

Imported by gunicorn.conf.py before Django is set up: no Django imports here.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

MASK = "…"
_SEGMENT = r"[^/?#\s\"]+"

# URL name (as Django's resolver names it) -> the path, with each token a named group.
TOKENISED_URLS: dict[str, str] = {
    "orders:pay_link": rf"/pay/(?P<token>{_SEGMENT})",
    "accounts_unsubscribe": rf"/email/unsubscribe/(?P<token>{_SEGMENT})",
    "accounts_verify_email": rf"/account/verify-email/(?!resend/)(?P<token>{_SEGMENT})",
    # Also Django's own redirect to …/<uidb64>/set-password/.
    "accounts_password_reset_confirm": (
        rf"/account/password-reset/(?!sent/|complete/)(?P<uidb64>{_SEGMENT})/(?P<token>{_SEGMENT})"
    ),
    # The Wagtail admin's own password reset (for staff).
    "wagtailadmin_password_reset_confirm": (
        rf"/admin/password_reset/confirm/(?P<uidb64>{_SEGMENT})/(?P<token>{_SEGMENT})"
    ),
    "policies:testimonial_submit": rf"/testimonials/submit/(?P<token>{_SEGMENT})",
    "saved_alert_unsubscribe": rf"/saved/alerts/unsubscribe/(?P<token>{_SEGMENT})",
    "policies:testimonial_unsubscribe": rf"/testimonials/unsubscribe/(?P<token>{_SEGMENT})",
    "accounts_guest_order_claim": rf"/account/guest-orders/(?P<token>{_SEGMENT})",
}
_PATTERNS = [re.compile(pattern) for pattern in TOKENISED_URLS.values()]
# A query string after a path or URL (a request line, a Referer): up to whitespace or a quote.
_QUERY = re.compile(r"(/[^\s?\"]*)\?[^\s\"]*")

# gunicorn's access-log atoms that hold a path, a request line or a URL; and the query alone.
_PATH_ATOMS = {
    "r", "U", "f", "{raw_uri}e", "{path_info}e", "{request_uri}e", "{referer}i",
    "{http_referer}e",
}  # fmt: skip
_QUERY_ATOMS = {"q", "{query_string}e"}


def _mask_groups(match: re.Match) -> str:
    text, start = match.group(0), match.start()
    pieces, last = [], 0
    for name in match.re.groupindex:
        begin, end = match.span(name)
        pieces += [text[last : begin - start], MASK]
        last = end - start
    return "".join(pieces) + text[last:]


def scrub_path(text: str) -> str:
    """`text` (a path, request line or URL) without its query string and with every token in
    a tokenised URL replaced by "…"."""
    text = _QUERY.sub(r"\1", text)
    for pattern in _PATTERNS:
        text = pattern.sub(_mask_groups, text)
    return text


class TokenisedPathFilter(logging.Filter):
    """Rewrites a record's arguments: gunicorn's access-log atoms (a mapping) or the string
    arguments of an application log call (e.g. django.request's path). The message format
    itself is ours and holds no path."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, Mapping):
            # gunicorn's SafeAtoms (a dict answering "-" for unknown keys): changed in place.
            for key in list(args):
                value = args[key]
                if key in _QUERY_ATOMS:
                    args[key] = ""
                elif key in _PATH_ATOMS and isinstance(value, str):
                    args[key] = scrub_path(value)
        elif isinstance(args, tuple) and args:
            record.args = tuple(scrub_path(arg) if isinstance(arg, str) else arg for arg in args)
        return True
