"""Project-wide middleware: request ids, Content-Security-Policy, Permissions-Policy, campaign
parameters."""

from __future__ import annotations

import contextvars
import re
import uuid
from typing import ClassVar
from urllib.parse import unquote_plus, urlsplit

from django.conf import settings
from django.core.signals import setting_changed
from django.http import HttpRequest, HttpResponse, HttpResponseBase

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, CSPMiddleware, PolicyParts

from .logging import request_id_var

REQUEST_ID_HEADER = "X-Request-ID"
# A proxy's id is kept only when it is short and plain (it ends up in logs and headers).
VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def request_id_for(incoming: str) -> str:
    """A request's id: the proxy's (`incoming`) if sane, else a new one."""
    return incoming if VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex


class RequestIdMiddleware:
    """Give each request an id: the proxy's X-Request-ID if sane, else a new UUID.

    The id is on ``request.request_id``, in every log line written while the request runs
    (marketplace.logging) and in the response's X-Request-ID header (gunicorn's access log).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        request.request_id = request_id = request_id_for(request.headers.get(REQUEST_ID_HEADER, ""))
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

    A response that used no nonce and has no policy of its own gets the headers built once
    for its side of the site (django-csp builds them anew each time, which costs as much as
    serving a cached page otherwise does); they are built again when a setting changes.
    """

    # The headers of a plain response (above), by whether it is the admin's; None: not built
    # once (a policy excludes URL prefixes: each path is decided on its own).
    _plain: ClassVar[dict[bool, list[tuple[str, str]] | None]] = {}

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
        if getattr(request, "_csp_nonce", None) is not None or any(
            hasattr(response, own) for own in _OWN_POLICY
        ):
            return super().process_response(request, response)
        admin = request.path_info.startswith(settings.ADMIN_URL_PREFIX)
        if admin not in self._plain:
            self._plain[admin] = self._plain_headers(request)
        headers = self._plain[admin]
        if headers is None or (settings.DEBUG and response.status_code in (404, 500)):
            return super().process_response(request, response)
        for header, value in headers:
            if header not in response:
                response[header] = value
        # As django-csp does: a nonce asked for after the headers were written is an error.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)  # type: ignore[attr-defined]
        return response

    def _plain_headers(self, request: HttpRequest) -> list[tuple[str, str]] | None:
        policies = (
            getattr(settings, "CONTENT_SECURITY_POLICY", None),
            getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None),
        )
        if any((policy or {}).get("EXCLUDE_URL_PREFIXES") for policy in policies):
            return None
        blank = super().process_response(request, HttpResponse())
        return [
            (header, blank[header]) for header in (HEADER, HEADER_REPORT_ONLY) if header in blank
        ]

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


# What a view's @csp_* decorators set on its response: a policy of its own.
_OWN_POLICY = tuple(
    f"_csp_{what}{side}"
    for what in ("config", "update", "replace", "exempt")
    for side in ("", "_ro")
)


def _forget_plain_policies(**kwargs) -> None:
    ContentSecurityPolicyMiddleware._plain.clear()


setting_changed.connect(_forget_plain_policies, dispatch_uid="csp-plain-policies")


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
