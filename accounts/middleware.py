"""The one place a POST is accepted without a CSRF cookie: RFC 8058 one-click unsubscribe.

Our rule is that only the Stripe webhook is CSRF-exempt, and this view is not exempt: nothing
here sets `csrf_exempt`. Mail providers send the one-click POST (`List-Unsubscribe=One-Click`)
from their servers, with no cookie and no CSRF token, so Django's cookie check cannot pass.

How that is reconciled: CSRF protection proves a state-changing request was meant by whoever
holds the credential it acts with. A session cookie is ambient (the browser attaches it to a
forged cross-site request), so it needs the extra CSRF token. The unsubscribe POST acts with no
cookie and no session at all; its only credential is the signed token in the URL, an HMAC over
(user, topic) with the site's secret that a forger cannot produce for anyone. So the signed
token is the anti-forgery token: this middleware, placed just before CsrfViewMiddleware, marks
CSRF processing done only for a POST to the unsubscribe URL whose token verifies. A POST with a
missing, tampered or foreign token falls through to the normal CSRF check and is refused (403).
The action is also harmless and idempotent (it can only turn mail off for the token's owner).
"""

from .tokens import InvalidToken, read_unsubscribe_token

UNSUBSCRIBE_VIEW = "accounts_unsubscribe"


class SignedUnsubscribeCsrfMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if request.method != "POST" or match is None or match.url_name != UNSUBSCRIBE_VIEW:
            return None
        try:
            read_unsubscribe_token(view_kwargs.get("token", ""))
        except InvalidToken:
            return None  # CsrfViewMiddleware decides, as for any other POST
        request.csrf_processing_done = True
        return None
