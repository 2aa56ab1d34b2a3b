"""Whole-page cache for anonymous shoppers, and memoised values, invalidated by *tags*.

Only a first-time visitor's GET (no cookies at all) of a listed page is served from or stored in
the cache, and only a response that sets no cookie and is not private: anything personal (a
cart, messages, a CSRF form) has a cookie or sets one, so it is never cached.

**Tags.** Every cached page and memoised value records the tags it was built from, each with
the tag's version at the time: a shop page depends on `shop:<path>` (the shop itself) and
`shop-items:<path>` (what it lists), an item page on its item and its shop, every list of
cards on each card's piece. A change moves on only the versions of what it touches
(`invalidate`): a sale in one shop renews that shop's page, the piece's designer page, its own
page, the pages that show its card and the counts that include it, while every other shop,
designer and item page stays cached. Rare changes that show everywhere (the footer, a
suspended vendor, a renamed designer) move on the tag `site`, which everything depends on. The
owners of the content declare the tags: page models by `cache_tags()` (what their response
shows) and `changed_tags()` (what a publish of them changes); the catalogue's own selectors
add what their lists and counts show (docs/architecture.md lists every tag).

A version is read the first time a request meets the tag, before it reads what the tag
covers (pages declare their tags before rendering), and read again before the response is
stored: a change in between keeps the response out of the cache. `invalidate` moves versions
on once now and again when the transaction commits, so a request that read the old rows in
between does not keep them under the new version.

Only canonical URLs are stored, or anyone could fill the cache with copies of one page
(`?page=junk1`, `?page=junk2`, ...): no query string, or exactly `?page=N` where N is written
plainly, is at least 2 (page 1 is the URL without it), and is the page the view really served
(not a bad or out-of-range number it answered with the first or last page). Every other URL is
served as usual, uncached. Campaign parameters (`utm_*`, ad clicks' ids) never get here: a
middleware before takes them out of the request (marketplace.middleware).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Hashable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from http.client import responses
from typing import TYPE_CHECKING, Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.core.paginator import Page as PaginatorPage
from django.core.signals import request_finished, request_started, setting_changed
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

from .middleware import REQUEST_ID_HEADER, request_id_for

if TYPE_CHECKING:
    from .cache import ReadAhead

# Tags shared by several apps (each app names its own objects' tags in its `cache` module).
SITE = "site"  # everything depends on it: changes that show on every page
CATALOGUE = "catalogue"  # anything listed or counted across the whole catalogue
SHOPS = "shops"  # which shops are listed (and so which pieces)
VERSION_PREFIX = "pagecache:v:"
# Pages worth caching whole (items included: an item page with an add-to-cart form sets the
# CSRF cookie, so only a sold piece's or a closed shop's item page is ever stored).
CACHEABLE_PREFIXES = ("/shops/", "/designers/", "/privacy/", "/security/", "/terms/")
# A page number as the site's own links write it; page 1 is the URL without one.
PAGE_NUMBER = re.compile(r"[2-9]|[1-9][0-9]{1,5}")

T = TypeVar("T")
# Each tag's version: a random positive number, stored by the Redis cache as a plain integer
# (read back without unpickling: a page reads a hundred and more); 0 marks a failing cache.
Versions = dict[str, int]
# The tags (with the versions first read) of what the current request has shown so far.
_shown: ContextVar[Versions | None] = ContextVar("page_cache_shown", default=None)


def _versions(tags: Iterable[str]) -> Versions | None:
    """The current version of each tag; None when the cache cannot keep them (Redis down)."""
    return _versions_and(tags, ())[0]


def _versions_and(tags: Iterable[str], entries: Iterable[str]) -> tuple[Versions | None, dict]:
    """`_versions(tags)`, and the cache's values under the keys `entries`: in one round trip."""
    keys = {VERSION_PREFIX + tag: tag for tag in tags}
    entries = list(entries)
    if not keys and not entries:
        return {}, {}
    found = cache.get_many([*keys, *entries])
    values = {key: found.pop(key) for key in entries if key in found}
    if unseen := keys.keys() - found.keys():
        # Never seen, or evicted: a new version, so nothing stored under an old one is used.
        cache.add_many({key: _new_version() for key in unseen}, None)  # type: ignore[attr-defined]
    if len(found) < len(keys):
        found = cache.get_many(list(keys))
        if len(found) < len(keys):
            return None, values
    return {keys[key]: version for key, version in found.items()}, values


def current_version(tag: str) -> int | None:
    """The version of `tag` now (a fragment cache's key part); None while the cache fails."""
    versions = _versions([tag])
    return versions[tag] if versions else None


def shown_versions(*tags: str) -> Versions | None:
    """The versions of `tags` now, recorded for the response being cached as `depends_on`
    records them (a fragment cache's key parts); None while the cache fails."""
    return _current_and_shown(tags)


def depends_on(*tags: str) -> None:
    """Record that the current response (if one is being cached) shows what `tags` cover.
    Call it before reading what they cover."""
    shown = _shown.get()
    if shown is not None:
        new = [tag for tag in tags if tag not in shown]
        if new:
            _record(shown, _versions(new))


def not_kept() -> None:
    """What the current request shows may have changed while it was read (a check after the
    read says so): nothing of it is kept, page or fragment."""
    shown = _shown.get()
    if shown is not None:
        _record(shown, None)


def _record(shown: Versions, versions: Versions | None) -> None:
    if versions is None:  # the cache is failing: nothing of this request is kept
        shown[SITE] = 0
    else:
        for tag, version in versions.items():
            shown.setdefault(tag, version)  # the version first read is the one it was built on


def _current_and_shown(tags: Iterable[str]) -> Versions | None:
    """The versions of `tags` now, and recorded for the response being cached: those this
    request has read already as it read them, the others read once."""
    return _current_shown_and(tags, ())[0]


def _current_shown_and(tags: Iterable[str], entries: Iterable[str]) -> tuple[Versions | None, dict]:
    """`_current_and_shown(tags)`, and the cache's values under the keys `entries`, read in
    the same round trip (the values' own versions are checked against these)."""
    tags = list(tags)
    shown = _shown.get()
    known = {tag: shown[tag] for tag in tags if shown and shown.get(tag)}
    unread = [tag for tag in tags if tag not in known]
    versions, values = _versions_and(unread, entries)
    if shown is not None:
        _record(shown, versions)
    return (None if versions is None else {**known, **versions}), values


def invalidate(*tags: str) -> None:
    """Everything cached that depends on any of `tags` is stale (now and again at commit)."""
    if not tags:
        return
    _move_on(tags)
    transaction.on_commit(lambda: _move_on(tags))


def _move_on(tags: Iterable[str]) -> None:
    cache.set_many({VERSION_PREFIX + tag: _new_version() for tag in tags}, None)


def _new_version() -> int:
    return secrets.randbits(62) + 1  # never 0; one a tag had before only by a 1 in 2**62 chance


def _still_current(versions: Mapping[str, int], known: Mapping[str, int] | None = None) -> bool:
    """Whether every tag is still at `versions`; `known`: versions this request has just read
    (only the others are read again)."""
    if not versions:
        return False
    if known:
        if any(known.get(tag, version) != version for tag, version in versions.items()):
            return False
        versions = {tag: version for tag, version in versions.items() if tag not in known}
        if not versions:
            return True
    # Read as they are: a tag the cache has lost is not at its version (it gets a new one
    # when what it covers is next read).
    keys = [VERSION_PREFIX + tag for tag in versions]
    found = cache.get_many(keys)
    return len(found) == len(keys) and all(
        found[key] == version for key, version in zip(keys, versions.values(), strict=True)
    )


def memoised(
    name: str,
    compute: Callable[[], T],
    *,
    tags: Iterable[str] = (),
    timeout: int = 3600,
    still_good: Callable[[T], bool] | None = None,
    catch_up: Callable[[T], T | None] | None = None,
    catch_up_on: Iterable[str] = (),
    in_process: bool = False,
) -> T:
    """A value computed once and shared by workers until one of its `tags` changes (or
    `timeout` passes: it bounds staleness where a change does not invalidate, such as the
    search index updated by a background task), or `still_good(value)` says a change no tag
    covers has made it wrong. When only tags among `catch_up_on` changed, `catch_up(value)`
    gives the value now (None: compute it), for a value cheaper to bring up to date than to
    compute. A page showing it depends on its tags too.

    `in_process`: a large value (megabytes) is kept in each worker, and read from the cache
    only by a worker that has none of it (or an older one it cannot catch up). Each worker
    catches its own up; the cache gets a caught-up value at most every RESTORE_SECONDS, as the
    one newcomers start from: never megabytes written and read again after every change."""
    tags = (SITE, *tags)
    # The versions before computing (a change meanwhile leaves it stale), with the entry.
    current, found = _current_shown_and(tags, [f"memo:{name}"])
    if current is None:  # the cache is failing: nothing can say when the value changes
        return _computed_in_this_request(name, compute)
    entry = found.get(f"memo:{name}")
    if in_process:
        return _memoised_in_process(
            name, compute, entry, current, timeout, still_good, catch_up, set(catch_up_on)
        )
    value: T | None = None
    if entry is not None:
        if entry[0] == current and (still_good is None or still_good(entry[1])):
            return entry[1]
        value = _caught_up(entry, current, catch_up, set(catch_up_on))
    if value is None:
        value = compute()
    cache.set(f"memo:{name}", (current, value), timeout)
    return value


# While the cache fails, each value `memoised` computes is kept for the rest of the request
# (one used twice, such as every shop, is read once, as a first view reads it) and no longer:
# no version can say when it changes. A request's own, set as it starts (`connect`).
_computed: ContextVar[dict[str, Any] | None] = ContextVar("memo_computed", default=None)


def _computed_in_this_request(name: str, compute: Callable[[], T]) -> T:
    computed = _computed.get()
    if computed is None:  # outside a request (a task, a command): each use computes it
        return compute()
    if name not in computed:
        computed[name] = compute()
    return computed[name]


def _request_started(**kwargs: Any) -> None:
    _computed.set({})


def _request_finished(**kwargs: Any) -> None:
    _computed.set(None)


def _memoised_in_process(
    name: str,
    compute: Callable[[], T],
    entry: tuple[Versions, str, float] | None,  # the cache's: versions, token, stored at
    current: Versions,
    timeout: int,
    still_good: Callable[[T], bool] | None,
    catch_up: Callable[[T], T | None] | None,
    catch_up_on: set[str],
) -> T:
    now = time.time()
    own = _IN_PROCESS.get(name, now)

    def usable(versions: Versions, value: Any) -> bool:
        return versions == current and (still_good is None or still_good(value))

    if own is not None and usable(own.versions, own.value):
        return own.value
    # The cache's value, read when it is another one than this worker's and either current
    # or all there is to start from.
    shared = None
    if entry is not None and (own is None or entry[1] != own.token):
        if own is None or entry[0] == current:
            value = cache.get(f"memo-value:{entry[1]}", _MISSING)
            if value is not _MISSING:
                if usable(entry[0], value):
                    _IN_PROCESS.keep(name, _Own(entry[0], value, entry[1], entry[2] + timeout))
                    return value
                shared = (entry[0], value)
    start = (own.versions, own.value) if own is not None else shared
    value = None if start is None else _caught_up(start, current, catch_up, catch_up_on)
    caught_up = value is not None
    if value is None:
        value = compute()
    # A caught-up value goes to the cache only when the one there is older than
    # RESTORE_SECONDS (or gone): other workers catch their own up meanwhile.
    token = ""
    if not caught_up or entry is None or now - entry[2] >= RESTORE_SECONDS:
        token = uuid.uuid4().hex
        cache.set_many(
            {f"memo:{name}": (current, token, now), f"memo-value:{token}": value}, timeout
        )
    _IN_PROCESS.keep(name, _Own(current, value, token, now + timeout))
    return value


def kept_behind(
    name: str, *, tags: Iterable[str], behind_on: Iterable[str]
) -> tuple[Any, bool] | None:
    """This worker's own value memoised `in_process` as `name` (under `tags`) and whether it is
    current, as it is: when only tags among `behind_on` moved on since, the caller brings
    what it makes of it up to date itself (several such values, once); the value stays as it
    is, here and in the cache. None: it has none, or one only computing it again would do."""
    own = _IN_PROCESS.get(name, time.time())
    if own is None:
        return None
    current, _ = _current_shown_and((SITE, *tags), [])
    if current is None:  # the cache is failing: nothing can say what moved
        return None
    moved = {tag for tag, version in current.items() if own.versions.get(tag) != version}
    return (own.value, not moved) if moved <= set(behind_on) else None


def kept_in_process(name: str) -> bool:
    """Whether this worker keeps a value of its own memoised `in_process` as `name` (current,
    or one memoised would catch up or compute again)."""
    return _IN_PROCESS.get(name, time.time()) is not None


def _caught_up(
    kept: tuple[Versions, T],
    current: Versions,
    catch_up: Callable[[T], T | None] | None,
    catch_up_on: set[str],
) -> T | None:
    """A value kept under versions, `kept` (versions, value), brought up to `current` by
    `catch_up` when only tags among `catch_up_on` moved; None: compute it again."""
    versions, value = kept
    moved = {tag for tag, version in current.items() if versions.get(tag) != version}
    return catch_up(value) if catch_up is not None and moved <= catch_up_on else None


# A value memoised in_process and caught up is written to the cache at most this often.
RESTORE_SECONDS = 60


@dataclass
class _Own:
    """A worker's own copy of a memoised value or a stored page: its versions, the cache's
    token for it ("" when the cache holds another, or keys it otherwise), and when it expires
    (as the cache entry would)."""

    versions: Versions
    value: Any
    token: str
    expires: float


class _Values:
    """The values of its own this worker used last (large memoised ones, stored pages), by
    name: at most `size` of them, and `max_bytes` of those that say their size (`nbytes`)."""

    def __init__(self, size: int, max_bytes: int = 256 * 2**20):
        self.size, self.max_bytes, self.values = size, max_bytes, dict[Hashable, _Own]()
        self.sizes: dict[Hashable, int] = {}  # each value's bytes, as told when last kept or used
        self.lock = threading.Lock()  # a threaded server's requests share them

    def get(self, name: Hashable, now: float) -> _Own | None:
        with self.lock:
            own = self.values.pop(name, None)
            if own is None or own.expires <= now:
                self.sizes.pop(name, None)
                return None
            self.values[name] = own  # the most recently used last
            # Told again: a value may grow as it is used (a look-up table worked out once).
            self.sizes[name] = getattr(own.value, "nbytes", 0)
            return own

    def clear(self) -> None:
        with self.lock:
            self.values.clear()
            self.sizes.clear()

    def keep(self, name: Hashable, own: _Own) -> None:
        size = getattr(own.value, "nbytes", 0)
        with self.lock:
            self.values.pop(name, None)
            self.values[name] = own
            self.sizes[name] = size
            total = sum(self.sizes.values())
            while len(self.values) > 1 and (len(self.values) > self.size or total > self.max_bytes):
                del self.values[oldest := next(iter(self.values))]
                total -= self.sizes.pop(oldest)


_MISSING = object()
# Dozens: a search for several words keeps each word's matches besides its own (the bytes
# bound them: a common word's are megabytes at a million pieces).
_IN_PROCESS = _Values(size=64)
# The stored pages this worker served last (a copy of each, checked as the cache's is).
_PAGES = _Values(size=512, max_bytes=32 * 2**20)


def memoised_each(
    prefix: str,
    ids: Iterable[Any],
    compute: Callable[[list[Any]], Mapping[Any, T]],
    *,
    tags_of: Callable[[Any], Iterable[str]],
    default: T,
    timeout: int = 3600,
) -> dict[Any, T]:
    """`memoised` for one value per object (a count per designer, per shop): after a change,
    only the objects whose tags moved on are computed again, all of them in one call of
    `compute(missing ids)`; an id it leaves out gets `default`."""
    ids = list(dict.fromkeys(ids))
    tags_by_id = {pk: (SITE, *tags_of(pk)) for pk in ids}
    all_tags = {tag for tags in tags_by_id.values() for tag in tags}
    current, entries = _current_shown_and(all_tags, [memo_key(prefix, pk) for pk in ids])
    current = current or {}
    values: dict[Any, T] = {}
    missing = []
    for pk in ids:
        entry = entries.get(memo_key(prefix, pk))
        if entry is not None and all(current.get(tag) == v for tag, v in entry[0].items()):
            values[pk] = entry[1]
        else:
            missing.append(pk)
    if missing:
        computed = compute(missing)
        fresh = {}
        for pk in missing:
            values[pk] = computed.get(pk, default)
            versions = {tag: current[tag] for tag in tags_by_id[pk] if tag in current}
            if len(versions) == len(tags_by_id[pk]):
                fresh[memo_key(prefix, pk)] = (versions, values[pk])
        if fresh:
            cache.set_many(fresh, timeout)
    return values


def memo_key(prefix: str, pk: Any) -> str:
    """Where memoised_each keeps the value of object `pk`."""
    return f"memo:{prefix}:{pk}"


def cached(
    key: str,
    compute: Callable[[], T],
    *,
    timeout: int,
    still_good: Callable[[T], bool] | None = None,
) -> T:
    """A value (a rendered fragment) shared by every request until a tag it was built from
    moves on (or `still_good(value)` says it has expired). Its tags are those the request has
    shown so far (the page's own, recorded before it reads anything) and those read while
    computing it; a hit records them for the response too, as if it had been computed."""
    outer = _shown.get()
    entry = cache.get(key)
    if (
        entry is not None
        and _still_current(entry[0], known=outer)
        and (still_good is None or still_good(entry[1]))
    ):
        if outer is not None:
            _record(outer, entry[0])
        return entry[1]
    token = _shown.set(dict(outer or {}))
    try:
        depends_on(SITE)
        value = compute()
        shown = _shown.get() or {}
    finally:
        _shown.reset(token)
    if outer is not None:
        _record(outer, shown)
    if shown.get(SITE) and _still_current(shown):
        cache.set(key, (shown, value), timeout)
    return value


def _key(request: HttpRequest, query: str) -> str:
    return f"pagecache:{request.get_host()}:{request.path}?{query}"


def _canonical_query(request: HttpRequest) -> str | None:
    """The query string of a cacheable request, normalised ("" or "page=N"); None when the
    request may not be cached at all."""
    if settings.VITRINE_PAGE_CACHE_SECONDS <= 0 or request.method not in ("GET", "HEAD"):
        return None
    if request.COOKIES or request.META.get("HTTP_AUTHORIZATION"):
        return None
    path = request.path
    if path != "/" and not path.startswith(CACHEABLE_PREFIXES):
        return None
    if not request.GET:
        return ""
    pages = request.GET.getlist("page")
    if set(request.GET) != {"page"} or len(pages) != 1 or not PAGE_NUMBER.fullmatch(pages[0]):
        return None
    return f"page={pages[0]}"


def _served_as_asked(query: str, response: HttpResponse) -> bool:
    """A `?page=N` response is cacheable only if the view paginated and showed page N itself
    (Paginator.get_page answers an out-of-range number with the last page)."""
    if not query:
        return True
    number = int(query.removeprefix("page="))
    context = getattr(response, "context_data", None) or {}
    shown = [value.number for value in context.values() if isinstance(value, PaginatorPage)]
    # A page rendered from shared parts (marketplace.fragments) names its number in them.
    parts = context.get("parts") or {}
    if "page_number" in parts:
        shown.append(int(parts["page_number"]))
    return bool(shown) and all(shown_number == number for shown_number in shown)


def _storable(query: str, response: HttpResponse) -> bool:
    cache_control = response.get("Cache-Control", "")
    return (
        response.status_code == 200
        and not response.cookies
        and not response.streaming
        and "private" not in cache_control
        and "no-store" not in cache_control
        and _served_as_asked(query, response)
    )


def _said_shared_parts(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """X-Shared-Parts: whether the page's own parts came from the cache (marketplace.fragments)."""
    shared_parts = getattr(request, "shared_parts", None)
    if shared_parts is not None:
        response["X-Shared-Parts"] = shared_parts
    return response


class AnonymousPageCacheMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = _canonical_query(request)
        if query is None:
            if request.method not in ("GET", "HEAD"):
                return self.get_response(request)
            # Not cached whole, but its fragments are (`cached`): they need its tags too.
            token = _shown.set({})
            try:
                return _said_shared_parts(request, self.get_response(request))
            finally:
                _shown.reset(token)
        key = _key(request, query)
        if (stored := _stored_page(key)) is not None:
            response = stored.value.response()
            response["X-Page-Cache"] = "hit"
            request.environ[_HIT] = stored  # for PageCacheHits, in front of Django
            return response
        token = _shown.set({})
        try:
            depends_on(SITE)
            response = self.get_response(request)
            shown = _shown.get() or {}
        finally:
            _shown.reset(token)
        if _storable(query, response) and shown.get(SITE) and _still_current(shown):
            # Stored before the (outer) CSP middleware adds its header: every hit gets a fresh
            # policy without a nonce, so no nonce is reused; scripts load as 'self' files.
            patch_vary_headers(response, ["Cookie"])
            response["X-Page-Cache"] = "miss"
            _store_page(key, shown, _Page.of(response))
        return _said_shared_parts(request, response)  # this response's, not the stored copy's


@dataclass(frozen=True)
class _Page:
    """A stored page: what a hit answers, each time in a response of its own. And, kept by
    PageCacheHits, a hit's whole answer as Django's handler gave it (but its request id)."""

    status: int
    headers: tuple[tuple[str, str], ...]
    content: bytes

    @classmethod
    def of(cls, response: HttpResponse) -> _Page:
        return cls(response.status_code, tuple(response.headers.items()), response.content)

    @property
    def nbytes(self) -> int:  # _Values bounds the bytes a worker keeps
        return len(self.content)

    @property
    def status_line(self) -> str:
        """As Django's handler writes it: a stored page has no reason phrase of its own."""
        return f"{self.status} {responses.get(self.status, 'Unknown Status Code')}"

    def response(self) -> HttpResponse:
        return HttpResponse(self.content, status=self.status, headers=dict(self.headers))


def _stored_page(key: str) -> _Own | None:
    """The page stored under `key` (this worker's copy of it: versions, page, expiry) if
    every tag it was built from is still at the version it was built on. This worker's own
    copy is tried first: checking it costs one round trip to the cache, reading the cache's
    two (the page, then its tags' versions)."""
    own = _PAGES.get(key, time.time())
    if own is not None and _still_current(own.versions):
        return own
    entry = cache.get(key)  # (versions, page, stored at)
    if entry is None:
        return None
    versions, page, stored_at = entry
    if not _still_current(versions):
        return None
    return _keep_own_copy(key, versions, page, stored_at)


def _store_page(key: str, versions: Versions, page: _Page) -> None:
    now = time.time()
    cache.set(key, (versions, page, now), settings.VITRINE_PAGE_CACHE_SECONDS)
    _keep_own_copy(key, versions, page, now)


def _keep_own_copy(key: str, versions: Versions, page: _Page, stored_at: float) -> _Own:
    """This worker's copy of a stored page, expiring when the cache's does."""
    own = _Own(versions, page, "", stored_at + settings.VITRINE_PAGE_CACHE_SECONDS)
    _PAGES.keep(key, own)
    return own


# Set in the WSGI environ by AnonymousPageCacheMiddleware when it answered a hit: the page's
# `_Own` (its versions and expiry), for PageCacheHits.
_HIT = "vitrine.page_cache.hit"
# What the middleware above the page cache (settings.MIDDLEWARE) reads of a request: requests
# that agree on all of it, and have no cookie and no Authorization, get the same answer from
# it around the same hit (but their request ids). Django's handler reads SCRIPT_NAME and
# PATH_INFO; the host, scheme and proxy headers decide the host check, the HTTPS redirect and
# HSTS (SecurityMiddleware); the path the policy (ContentSecurityPolicyMiddleware); the query
# string what TrackingParametersMiddleware takes out; and the header that says a proxy was
# asked over HTTPS (settings.SECURE_PROXY_SSL_HEADER).
_ALIKE = (
    "SCRIPT_NAME",
    "PATH_INFO",
    "QUERY_STRING",
    "wsgi.url_scheme",
    "HTTP_HOST",
    "SERVER_NAME",
    "SERVER_PORT",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_FORWARDED_PROTO",
)


class PageCacheHits:
    """A WSGI layer in front of Django's handler: a page-cache hit answered again without it.

    Once Django has answered a request with a hit (AnonymousPageCacheMiddleware marks it in
    the environ), this worker keeps its whole answer, as the middleware around the page cache
    made it: status, headers (the security headers and the policy) and page. A later request
    alike (a cookie-less GET that agrees on `_ALIKE`) is answered from it, with a request id
    of its own, while the page's tags are still at the versions it was built on: one round
    trip to the cache, and no request object, signals or middleware (through Django, they
    were about a third of what a hit cost). It expires with the cache's copy. Anything else, and a
    request whose check fails (a tag moved on, the cache down), goes to Django."""

    def __init__(self, application: Callable[..., Iterable[bytes]]):
        self.application = application

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        alike = _alike(environ)
        if alike is None:
            return self.application(environ, start_response)
        own = _ANSWERS.get(alike, time.time())
        if own is not None and _still_current(own.versions):
            answer = own.value
            request_id = request_id_for(environ.get("HTTP_X_REQUEST_ID", ""))
            start_response(answer.status_line, [*answer.headers, (REQUEST_ID_HEADER, request_id)])
            return [answer.content]
        started: list = []

        def start(status: str, headers: list, exc_info: Any = None) -> Callable:
            started[:] = [status, headers]
            return start_response(status, headers, exc_info)

        body = self.application(environ, start)
        hit = environ.get(_HIT)
        # Kept only for the request as it came: not one the middleware rewrote (a campaign
        # link's query, which would key a copy per campaign).
        if hit is None or not started or _alike(environ) != alike:
            return body
        try:
            content = b"".join(body)
        finally:
            if hasattr(body, "close"):
                body.close()  # request_finished, as the server would send it
        status, headers = started
        kept = tuple((name, value) for name, value in headers if name != REQUEST_ID_HEADER)
        answer = _Page(int(status.partition(" ")[0]), kept, content)
        # Its status line as given, and no cookie set.
        if answer.status_line == status and not any(n.lower() == "set-cookie" for n, _ in kept):
            _ANSWERS.keep(alike, _Own(hit.versions, answer, "", hit.expires))
        return [content]


def _alike(environ: Mapping[str, Any]) -> tuple | None:
    """What makes requests alike (`_ALIKE`), for a cookie-less GET; None for any other."""
    if (
        environ.get("REQUEST_METHOD") != "GET"
        or "HTTP_COOKIE" in environ
        or "HTTP_AUTHORIZATION" in environ
    ):
        return None
    proxy_https = settings.SECURE_PROXY_SSL_HEADER
    return (
        *(environ.get(name) for name in _ALIKE),
        environ.get(proxy_https[0]) if proxy_https else None,
    )


# The hits this worker answered last, by what makes requests alike; made under the settings
# of the time (a test's override changes what the middleware adds).
_ANSWERS = _Values(size=512, max_bytes=32 * 2**20)
setting_changed.connect(lambda **kwargs: _ANSWERS.clear(), weak=False, dispatch_uid="page-answers")


# Keys of what every shopper of a page reads alike: tag versions, memoised values, shared
# parts and cards (home.templatetags.cards), routes (home.models).
SHARED_KEY_PREFIXES = (VERSION_PREFIX, "memo:", "parts:", "card:", "route:")
# And on a shopper's own page (their cart), their session too.
OWN_KEY_PREFIXES = (*SHARED_KEY_PREFIXES, "django.contrib.sessions.cached_db")
READ_AHEAD_KEYS = 400  # at most, per URL
READ_AHEAD_SECONDS = 600


def _read_ahead_keys(request: HttpRequest) -> tuple[str, str | None, str | None]:
    """Where the lists of what a GET reads are kept: everyone's for this URL; everyone's for
    its path, when the URL has a query string (None without: the same list); and this
    shopper's own (by their session: None without one)."""
    host = request.get_host()
    described = f"{host}{request.get_full_path()}"
    session = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    own = f"{described} {session}" if session else None
    return (
        _hashed(described),
        _hashed(f"{host}{request.path} ?") if request.META.get("QUERY_STRING") else None,
        _hashed(own) if own else None,
    )


def _hashed(described: str) -> str:
    return f"read-ahead:{hashlib.blake2b(described.encode(), digest_size=16).hexdigest()}"


class ReadAheadMiddleware:
    """A page's cache reads in two round trips instead of one per thing it shows (a dozen on
    a listing: the site, the route, versions, kept rows, shops, pictures, cards, the footer).

    Each GET of a URL notes which entries it read, and the next GET of that URL reads them
    all ahead, at once (marketplace.cache.ReadAhead: each copy is handed out once, so a check
    that must see the latest value still does). The list is what the last GET read, no more:
    a page whose parts are kept reads only them, not the cards they were made of (each entry
    read costs its unpickling, used or not). A page whose parts are the same for every
    shopper (marketplace.fragments sets `request.parts_vary` to "") keeps one list for
    everyone, of the shared entries (SHARED_KEY_PREFIXES); a page whose parts are a
    shopper's own (their cart) keeps a list for that shopper only, by their session, which
    may name their session too; other pages learn nothing. A URL with a query string that
    no list names yet (a search never asked before) reads ahead its path's list for everyone:
    what every view of the path read that it found there (the site, the filters' names, the
    footer), not one search's own matches or counts. A list lasts READ_AHEAD_SECONDS from
    when it was last learned, so a URL no one asks for leaves nothing behind (and a path's
    list, only ever narrowed, is learned whole again). After SiteMiddleware's host check,
    before it reads the site."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        read_ahead = getattr(cache, "read_ahead", None)
        if read_ahead is None or request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        everyones, paths, own = _read_ahead_keys(request)
        with read_ahead(*filter(None, [own, everyones, paths])) as ahead:
            response = self.get_response(request)
        vary = getattr(request, "parts_vary", None)
        if vary is None:
            return response
        if vary != "":
            if own is not None:
                _learn(own, ahead, OWN_KEY_PREFIXES)
            return response
        _learn(everyones, ahead, SHARED_KEY_PREFIXES)
        if paths is not None and ahead.found_under in (paths, None):
            # A URL new to the lists: its path's keeps what every view of the path reads, so
            # the list it found is narrowed to what this view read too.
            seen = ahead.expected if ahead.found_under == paths else None
            shared = [key for key in seen if key in ahead.read] if seen else None
            _learn(paths, ahead, SHARED_KEY_PREFIXES, shared)
        return response


def _learn(
    key: str, ahead: ReadAhead, prefixes: tuple[str, ...], read: list[str] | None = None
) -> None:
    """Keep under `key` the list of what `read` (by default all the request read) names of
    `prefixes`, when it is not the list the request found there."""
    listed = [k for k in (ahead.read if read is None else read) if k.startswith(prefixes)]
    if ahead.found_under != key or set(listed) != set(ahead.expected or ()):
        cache.set(key, listed[:READ_AHEAD_KEYS], READ_AHEAD_SECONDS)


def depend_on_page(page: Any) -> None:
    """What the `before_serve_page` hook records for a Wagtail page: its own `cache_tags()`."""
    cache_tags = getattr(page, "cache_tags", None)
    if cache_tags is not None:
        depends_on(*cache_tags())


def page_changed(page: Any) -> None:
    """A page was published, unpublished, moved or deleted: invalidate what it declares it
    changes (`changed_tags()`), or everything for a page that declares nothing."""
    changed_tags = getattr(page, "changed_tags", None)
    invalidate(*(changed_tags() if changed_tags is not None else (SITE,)))


def _page_changed(*, instance: Any, **kwargs: Any) -> None:
    page_changed(instance.specific_deferred)


def _everything_changed(**kwargs: Any) -> None:
    invalidate(SITE)


def connect() -> None:
    """Wagtail's page signals; each app connects what its own models change (their `cache`)."""
    from wagtail.models import Page, PageViewRestriction
    from wagtail.signals import page_published, page_slug_changed, page_unpublished, post_page_move

    request_started.connect(_request_started, dispatch_uid="pagecache-request-started")
    request_finished.connect(_request_finished, dispatch_uid="pagecache-request-finished")

    for signal in (page_published, page_unpublished):
        signal.connect(_page_changed, dispatch_uid=f"pagecache-{signal}")
    # A page's URL changed: the old one (cached by path) must not be served again.
    page_slug_changed.connect(_everything_changed, dispatch_uid="pagecache-slug")
    post_page_move.connect(_everything_changed, dispatch_uid="pagecache-move")
    # A new or lifted view restriction changes what anonymous shoppers and the API may see.
    for signal in (post_save, post_delete):
        signal.connect(
            _everything_changed, sender=PageViewRestriction, dispatch_uid=f"pagecache-pvr-{signal}"
        )
    # A live page deleted (its subtree with it): rare, and it may show anywhere.
    post_delete.connect(_everything_changed, sender=Page, dispatch_uid="pagecache-page-deleted")
