"""The parts of a page that are the same for every shopper, rendered once and shared, with
*holes* for what is each shopper's own.

A page's own content (an item's gallery and details, a shop's header and grid of cards) is the
same for everyone who asks for the same URL; only a few small things in it are personal: the
CSRF token of a form, the heart of each piece (saved or not), the minutes left on a hold. The
page renders its content from a *parts template*, one `{% block %}` per part (the title, the
head, the content), in one go: each hole is drawn as a marker and its arguments are kept
beside the HTML. The rendered parts are kept in the cache under the page's URL
(`page_cache.cached`: valid while none of the tags the page read has moved on), and every
request fills the holes for its own shopper. The page's template puts the parts into the
site's layout (header, messages, footer: rendered per request).

Hole kinds are registered by the app that owns what they show (`filler`); `csrf` is built in.
The marker is an HTML comment: escaped text cannot contain one, and rich text is sanitised to
its features, so no data can forge a hole.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from functools import cache as once
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template.base import Template as DjangoTemplate
from django.template.context import make_context
from django.template.loader import get_template
from django.template.loader_tags import BlockNode
from django.test.signals import template_rendered
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from . import page_cache

HOLE = "<!--hole-->"
MAX_PARAM_LENGTH = 200  # a longer query value is served, never kept

_holes: ContextVar[list[tuple[str, dict[str, Any]]] | None] = ContextVar(
    "fragment_holes", default=None
)
_fillers: dict[str, Callable[..., str]] = {}
# While parts are rendered: the times something they show stops being true by itself.
_expiries: ContextVar[list[datetime] | None] = ContextVar("fragment_expiries", default=None)


def filler(kind: str) -> Callable[[Callable[..., str]], Callable[..., str]]:
    """Register `fill(request, **args) -> html` as what fills holes of `kind`."""

    def register(fill: Callable[..., str]) -> Callable[..., str]:
        _fillers[kind] = fill
        return fill

    return register


def hole(kind: str, **args: Any) -> SafeString | None:
    """While parts are rendered: a hole of `kind` filled per request with `args` (values the
    cache can keep); otherwise None, and the caller draws the thing itself."""
    holes = _holes.get()
    if holes is None:
        return None
    holes.append((kind, args))
    return mark_safe(HOLE)  # noqa: S308 - a constant


def csrf_token(request: HttpRequest) -> str:
    """The request's CSRF token, masked once for every form of the page (each `get_token`
    call masks it anew, which costs more than drawing the form)."""
    token = getattr(request, "_fragments_csrf_token", None)
    if token is None:
        token = request._fragments_csrf_token = get_token(request)  # type: ignore[attr-defined]
    return token


def valid_until(when: datetime) -> None:
    """While parts are rendered: what they show stops being true at `when` without any
    change to invalidate it (a hold that runs out), so they are rendered again from then."""
    expiries = _expiries.get()
    if expiries is not None:
        expiries.append(when)


@filler("csrf")
def _fill_csrf(request: HttpRequest) -> str:
    return csrf_token(request)  # letters and digits: safe in an attribute


class _CsrfTokenHole:
    """The `csrf_token` of the parts' context: `{% csrf_token %}` escapes it, which draws a
    hole, so every form keeps its usual template tag."""

    def __html__(self) -> str:
        return hole("csrf") or ""

    def __str__(self) -> str:
        return self.__html__()


@dataclass(frozen=True)
class Fragment:
    html: str
    holes: tuple[tuple[str, dict[str, Any]], ...]

    def fill(self, request: HttpRequest) -> SafeString:
        if not self.holes:
            return mark_safe(self.html)  # noqa: S308 - rendered by a template
        pieces = self.html.split(HOLE)
        out = [pieces[0]]
        for (kind, args), piece in zip(self.holes, pieces[1:], strict=True):
            out.append(_fillers[kind](request, **args))
            out.append(piece)
        return mark_safe("".join(out))  # noqa: S308 - rendered by templates and fillers


@dataclass(frozen=True)
class Parts:
    fragments: dict[str, Fragment]
    expires_at: datetime | None = None  # see valid_until

    def still_good(self) -> bool:
        return self.expires_at is None or timezone.now() < self.expires_at


def render_parts(
    template_name: str, context: Callable[[], dict[str, Any]], request: HttpRequest
) -> Parts:
    """Each top-level `{% block %}` of `template_name`, rendered with `context()` (and the
    context processors) into a Fragment with its holes."""
    expiries: list[datetime] = []
    token = _expiries.set(expiries)
    try:
        fragments = _render_blocks(template_name, context(), request)
    finally:
        _expiries.reset(token)
    return Parts(fragments, min(expiries, default=None))


def _render_blocks(template_name: str, context: dict[str, Any], request: HttpRequest) -> dict:
    template: DjangoTemplate = get_template(template_name).template  # type: ignore[attr-defined]
    render_context = make_context(context, request)
    parts = {}
    with render_context.bind_template(template):
        render_context.update({"csrf_token": _CsrfTokenHole()})
        if template_rendered.receivers:  # the test client's response.context, as for a page
            template_rendered.send(sender=template, template=template, context=render_context)
        for node in template.nodelist:
            if isinstance(node, BlockNode):
                holes: list[tuple[str, dict[str, Any]]] = []
                token = _holes.set(holes)
                try:
                    html = node.render(render_context)
                finally:
                    _holes.reset(token)
                parts[node.name] = Fragment(str(html), tuple(holes))
    return parts


@once
def _templates_digest() -> str:
    """Of every template of the project: a deploy that changes one starts afresh."""
    digest = hashlib.blake2b(digest_size=6)
    engines: list[dict[str, Any]] = settings.TEMPLATES
    for folder in engines[0]["DIRS"]:
        for path in sorted(Path(folder).rglob("*.html")):
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _key(request: HttpRequest, template_name: str, params: Iterable[str], vary: str) -> str | None:
    """The parts' cache key for this URL; None when it is not to be kept: not a plain GET, a
    preview of a draft, or a query with anything the page does not read (each such URL
    would be a copy of another page in the cache)."""
    if request.method not in ("GET", "HEAD") or getattr(request, "is_preview", False):
        return None
    query = request.GET
    if not set(query) <= set(params):
        return None
    values = []
    for name in sorted(query):
        found = query.getlist(name)
        if len(found) != 1 or len(found[0]) > MAX_PARAM_LENGTH:
            return None
        values.append(f"{name}={found[0]}")
    described = f"{template_name}:{request.get_host()}{request.path}?{'&'.join(values)}:{vary}"
    # Hashed: a query may hold spaces or run long, which cache keys should not.
    return f"parts:{_templates_digest()}:{hashlib.blake2b(described.encode()).hexdigest()}"


def page_parts(
    request: HttpRequest,
    template_name: str,
    context: Callable[[], dict[str, Any]],
    *,
    params: Iterable[str] = ("page",),
    vary: str = "",
) -> dict[str, SafeString]:
    """The parts of `template_name` for this request, each filled for its shopper. `context`
    is only called when they are rendered (not when they come from the cache); `params`: the
    query parameters the parts depend on; `vary`: whatever else they depend on that is not
    in the URL nor covered by a tag (the lines of a cart)."""
    key = _key(request, template_name, params, vary)
    kept = key is not None and settings.VITRINE_FRAGMENT_SECONDS > 0
    # What it reads next time is read ahead for everyone, or for this shopper only when its
    # parts are theirs (page_cache.ReadAheadMiddleware).
    request.parts_vary = vary  # type: ignore[attr-defined]
    # Said in the X-Shared-Parts header (marketplace.page_cache): "hit", "miss" or "off".
    request.shared_parts = "hit" if kept else "off"  # type: ignore[attr-defined]

    def render() -> Parts:
        if kept:
            request.shared_parts = "miss"  # type: ignore[attr-defined]
        return render_parts(template_name, context, request)

    if key is None or not kept:
        parts = render()
    else:
        parts = page_cache.cached(
            key, render, timeout=settings.VITRINE_FRAGMENT_SECONDS, still_good=Parts.still_good
        )
    return {name: fragment.fill(request) for name, fragment in parts.fragments.items()}
