"""Project-wide middleware: request ids, Content-Security-Policy, Permissions-Policy, campaign
parameters."""

from __future__ import annotations

import contextvars
import re
import uuid
from urllib.parse import unquote_plus, urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

from csp.middleware import CSPMiddleware, PolicyParts

from .logging import request_id_var

REQUEST_ID_HEADER = "X-Request-ID"
# A proxy's id is kept only when it is short and plain (it ends up in logs and headers).
VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestIdMiddleware:
    """Give each request an id: the proxy's X-Request-ID if sane, else a new UUID.

    The id is on ``request.request_id``, in every log line written while the request runs
    (marketplace.logging) and in the response's X-Request-ID header (gunicorn's access log).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response


# The request being served, for template code that has no `request` (form widgets' scripts).
_csp_request: contextvars.ContextVar[HttpRequest | None] = contextvars.ContextVar(
    "vitrine_csp_request", default=None
)


def current_csp_nonce() -> str:
    """This request's CSP nonce (and the policy will name it), or "" outside a request."""
    request = _csp_request.get()
    nonce = getattr(request, "csp_nonce", None) if request is not None else None
    return str(nonce) if nonce is not None else ""


def _origin(url: str) -> str | None:
    parts = urlsplit(url or "")
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return None


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, choosing the policy by path.

    - public site: settings.CONTENT_SECURITY_POLICY, plus the origin of a non-default Stripe
      (STRIPE_API_BASE / STRIPE_JS_URL, i.e. localstripe in development and tests) in
      script-src and connect-src, read per request so test overrides apply;
    - /admin/: ADMIN_CSP_REPLACE (inline styles allowed for the Wagtail admin, scripts still
      'self' + nonce, framing by itself only for previews);
    (Wagtail's document serve view sends its own ``default-src 'none'``, which is kept.)
    A view's own @csp_update/@csp_replace still wins.
    """

    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)
        request._vitrine_csp_token = _csp_request.set(request)

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        token = getattr(request, "_vitrine_csp_token", None)
        if token is not None:
            request._vitrine_csp_token = None
            try:
                _csp_request.reset(token)
            except ValueError:  # under ASGI the response may run in another context
                _csp_request.set(None)
        return super().process_response(request, response)

    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if report_only:
            return parts
        path = request.path_info
        if path.startswith(settings.ADMIN_URL_PREFIX):
            parts.replace = {**settings.ADMIN_CSP_REPLACE, **(parts.replace or {})}
        else:
            extra = {
                origin
                for origin in (_origin(settings.STRIPE_API_BASE), _origin(settings.STRIPE_JS_URL))
                if origin and origin != settings.STRIPE_JS_ORIGIN
            }
            if extra:
                update = dict(parts.update or {})
                for directive in ("script-src", "connect-src"):
                    update[directive] = [*update.get(directive, []), *sorted(extra)]
                parts.update = update
        return parts


def permissions_policy_header(policy: dict[str, list[str]]) -> str:
    return ", ".join(f"{feature}=({' '.join(allow)})" for feature, allow in policy.items())


class PermissionsPolicyMiddleware:
    """Sends settings.PERMISSIONS_POLICY as the Permissions-Policy header."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.header = permissions_policy_header(settings.PERMISSIONS_POLICY)

    def __call__(self, request: HttpRequest):
        response = self.get_response(request)
        if self.header and "Permissions-Policy" not in response:
            response["Permissions-Policy"] = self.header
        return response


# Campaign and ad-click parameters: analytics in the browser reads them from the address bar;
# no page of the site does.
TRACKING_PARAMETER = re.compile(
    r"utm_[a-z_]+|gclid|gbraid|wbraid|dclid|fbclid|msclkid|yclid|ttclid|twclid|igshid|li_fat_id"
    r"|mc_cid|mc_eid|_ga|_gl"
)


class TrackingParametersMiddleware:
    """Take campaign and ad-click parameters out of the request the site sees (the address bar
    keeps them, for analytics): a campaign's visitors are served the cached page and its shared
    parts (marketplace.page_cache and fragments key on the query, and keep only queries a page
    reads), and the page's own links (pagination, a form's `next`) do not carry them on. The
    other parameters are kept as they were written. Before the page cache."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        query = request.META.get("QUERY_STRING", "")
        if query:
            pieces = query.split("&")
            kept = [
                piece for piece in pieces
                if not TRACKING_PARAMETER.fullmatch(unquote_plus(piece.partition("=")[0]))
            ]  # fmt: skip
            if len(kept) < len(pieces):
                request.META["QUERY_STRING"] = "&".join(kept)
                request.__dict__.pop("GET", None)  # read again from it, if read already
        return self.get_response(request)
