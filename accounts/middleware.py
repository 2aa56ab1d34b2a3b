"""The one place a POST is accepted without a CSRF cookie: RFC 8058 one-click unsubscribe.

Our rule is that only the Stripe webhook is CSRF-exempt, and these views are not exempt: nothing
here sets `csrf_exempt`. Mail providers send the one-click POST (`List-Unsubscribe=One-Click`)
from their servers, with no cookie and no CSRF token, so Django's cookie check cannot pass.

How that is reconciled: CSRF protection proves a state-changing request was meant by whoever
holds the credential it acts with. A session cookie is ambient (the browser attaches it to a
forged cross-site request), so it needs the extra CSRF token. The unsubscribe POST acts with no
cookie and no session at all; its only credential is the signed token in the URL, an HMAC with
the site's secret that a forger cannot produce for anyone. So the signed token is the
anti-forgery token: this middleware, placed just before CsrfViewMiddleware, marks CSRF
processing done only for a POST to a view marked `@signed_link(reader, ...)` whose token
verifies with that view's own reader (each kind has its own salt, so one kind never passes as
another). Each app marks its own view, so this module names none of the apps above it:

- `/email/unsubscribe/<token>/`        newsletters and other topics (accounts.tokens)
- `/saved/alerts/unsubscribe/<token>/` one saved piece's price-drop alert (saved.tokens)
- `/testimonials/unsubscribe/<token>/` testimonial invitations (policies.tokens)

A POST whose token does not verify is answered here with that link's "not valid" page (400, the
page its GET shows): it never reaches CsrfViewMiddleware or the view, so nothing changes. Each
action is harmless and idempotent (it can only turn mail off for the token's owner).
marketplace/tests/test_csrf_exempt.py checks that exactly these URLs are marked.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from django.shortcuts import render

from .tokens import InvalidToken

View = TypeVar("View", bound=Callable)


@dataclass(frozen=True)
class SignedLink:
    read_token: Callable[[str], object]  # raises InvalidToken
    invalid_template: str


def signed_link(
    read_token: Callable[[str], object], invalid_template: str
) -> Callable[[View], View]:
    """Let this view's POST skip the CSRF cookie check when its `token` verifies with
    `read_token`: only for idempotent "stop emailing me" actions that the token alone
    authorises. A token that does not verify gets `invalid_template` (400). Put it outermost,
    so the URL's callback carries the mark."""

    def mark(view: View) -> View:
        view.signed_link = SignedLink(read_token, invalid_template)  # type: ignore[attr-defined]
        return view

    return mark


class SignedUnsubscribeCsrfMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if request.method != "POST" or match is None:
            return None
        link = getattr(view_func, "signed_link", None)
        if link is None:
            return None
        try:
            link.read_token(view_kwargs.get("token", ""))
        except InvalidToken:
            # Refused before CSRF: a clear page rather than "CSRF verification failed".
            return render(request, link.invalid_template, status=400)
        request.csrf_processing_done = True
        return None
