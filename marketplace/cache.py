"""The Redis cache as production uses it: an accelerator, never a dependency.

``ResilientRedisCache`` is Django's RedisCache whose operations never raise a Redis error.
When Redis cannot be reached (refused, timed out, out of memory, read-only replica), the
operation answers what an empty cache would (``get`` its default, ``add`` False, ``incr`` None,
writes nothing) and the site carries on uncached: the page cache is bypassed, memoised values
are recomputed, ``cached_db`` sessions are read from and written to the database.

While Redis is down the backend does not try it again for ``RETRY_AFTER`` seconds (and a short
socket timeout bounds each try), so a dead or unreachable Redis costs a request at most one
timeout. The outage is logged once when it starts, then at most once per ``LOG_INTERVAL`` with
the number of failures since, and once when Redis answers again.

Nothing cached before an outage is trusted after it: writes and deletes skipped during the
outage (an invalidation after a sale, a session ended at sign-out) would otherwise leave
stale pages or a signed-out session in Redis. Every key carries an *epoch* kept in Redis; the
process that sees Redis come back sets a new one, and every process re-reads it at least once
per ``EPOCH_CHECK_INTERVAL`` seconds, so the old entries become unreachable (they expire by
their own timeout). The same holds when Redis restarts empty.

Every key carries the code's release too (marketplace.release): a new release starts with its
own entries, never reading what another release cached. Should an entry still not read back
(pickled by other code), it is a miss, and dropped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cached_property
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT, default_key_func
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import ImproperlyConfigured

import redis

logger = logging.getLogger(__name__)

EPOCH_KEY = "cache-epoch"
# Errors of the cache service; anything else (a value that cannot be pickled) is a bug and raises.
UNAVAILABLE = (redis.RedisError,)


class RateLimitedLog:
    """Logs the first of a run of like events at once, then at most once per `interval`
    seconds, saying how many were not logged in between."""

    def __init__(self, log: logging.Logger, *, interval: float, clock: Callable[[], float]):
        self.log = log
        self.interval = interval
        self.clock = clock
        self._next_at = float("-inf")
        self._quiet = 0

    def warning(self, message: str, *args) -> None:
        now = self.clock()
        if now < self._next_at:
            self._quiet += 1
            return
        if self._quiet:
            message += " (%d more failures since the last report)"
            args = (*args, self._quiet)
        self.log.warning(message, *args)
        self._quiet = 0
        self._next_at = now + self.interval

    def reset(self) -> None:
        self._next_at = float("-inf")
        self._quiet = 0


# --- read ahead ---------------------------------------------------------------------------------

_MISSING = object()  # read ahead, and not in the cache


class ReadAhead:
    """The entries one request is expected to read, fetched in one round trip, and the keys
    it really reads. A round trip to Redis costs a request as much CPU as rendering a small
    template; a page read in a dozen of them pays it a dozen times.

    The expected keys are a list kept in the cache under the first of `list_keys` found
    (page_cache's ReadAheadMiddleware learns them: one shopper's own for their cart, the
    page's for everyone): read with the request's first read, then its entries in one more
    round trip. A request that reads nothing from the cache reads no list either.

    Each entry read ahead is handed out once: a second read of the same key, or a read after
    the request wrote or deleted it, goes to the cache. So a check that must see the latest
    value (page_cache re-reads the versions a page was built on before storing it: their
    first read took the copy read ahead) still does."""

    def __init__(self, list_keys: list[str]):
        self.list_keys = list_keys
        self.expected: list[str] | None = None  # the list, once read
        self.found_under: str | None = None  # which of `list_keys` it was found under
        self._ahead: dict[str, Any] = {}
        self.read: dict[str, None] = {}  # every key asked for, in order

    def take(self, keys: list[str]) -> tuple[dict[str, Any], list[str]]:
        """The entries of `keys` read ahead (those found), and the keys still to read."""
        self.read.update(dict.fromkeys(keys))
        found: dict[str, Any] = {}
        rest = []
        for key in keys:
            value = self._ahead.pop(key, None)
            if value is None:
                rest.append(key)
            elif value is not _MISSING:
                found[key] = value
        return found, rest

    def keep(self, found: dict[str, Any], keys: Iterable[str]) -> None:
        self._ahead.update({key: found.get(key, _MISSING) for key in keys})

    def forget(self, keys: Iterable[str] | None = None) -> None:
        """Drop the copies of `keys` (by default all) read ahead."""
        if keys is None:
            self._ahead.clear()
        for key in keys or ():
            self._ahead.pop(key, None)


_read_ahead: ContextVar[ReadAhead | None] = ContextVar("cache_read_ahead", default=None)


_MISSING = object()
unreadable_log = RateLimitedLog(logger, interval=60, clock=time.monotonic)


class ReadAheadMixin:
    """A cache backend that serves a request's reads from what was read ahead for it
    (`read_ahead`), without changing what any operation means. Only the default key version
    is read ahead; cache.get(key, default) with a stored None behaves as without it."""

    @contextmanager
    def read_ahead(self, *list_keys: str) -> Iterator[ReadAhead]:
        """While the block runs (one request), the entries listed under the first of
        `list_keys` found are read ahead, in one round trip after its first read (ReadAhead)."""
        token = _read_ahead.set(ReadAhead(list(list_keys)))
        try:
            yield _read_ahead.get()  # type: ignore[misc]
        finally:
            _read_ahead.reset(token)

    def _read(self, ahead: ReadAhead, keys: list[str], version) -> dict[str, Any]:
        """`keys`' values, from what was read ahead, or read now (with the list, the first time)."""
        found, rest = ahead.take(keys)
        if ahead.expected is None:  # the request's first read: the list comes with it
            fetched = self._fetch([*rest, *ahead.list_keys], version)
            lists = {key: fetched.pop(key, None) for key in ahead.list_keys}
            ahead.found_under = next(
                (key for key, named in lists.items() if isinstance(named, list)), None
            )
            ahead.expected = lists[ahead.found_under] if ahead.found_under else []
            found.update(fetched)
            others = [key for key in ahead.expected if key not in ahead.read]
            if others:
                ahead.keep(self._fetch(others, version), others)
        elif rest:
            found.update(self._fetch(rest, version))
        return found

    def _fetch(self, keys: list[str], version) -> dict[str, Any]:
        # From the cache itself: a backend whose get_many calls get (locmem's) reads through.
        token = _read_ahead.set(None)
        try:
            return self._readable_many(keys, version)
        finally:
            _read_ahead.reset(token)

    # An entry pickled by other code (another release: a class since changed, moved or
    # removed) is not in the cache for this code: read as missing, and dropped.

    def _readable(self, key, default, version):
        try:
            return super().get(key, default, version)  # type: ignore[misc]
        except UNAVAILABLE:
            raise
        except Exception as error:
            unreadable_log.warning(
                "cache entry %s cannot be read, dropped: %s: %s", key, type(error).__name__, error
            )
            super().delete(key, version)  # type: ignore[misc]
            return default

    def _readable_many(self, keys: list[str], version) -> dict[str, Any]:
        try:
            return super().get_many(keys, version)  # type: ignore[misc]
        except UNAVAILABLE:
            raise
        except Exception:  # one of them: each on its own
            found = {key: self._readable(key, _MISSING, version) for key in keys}
            return {key: value for key, value in found.items() if value is not _MISSING}

    def get(self, key, default=None, version=None):
        ahead = _read_ahead.get()
        if ahead is None or version is not None:
            return self._readable(key, default, version)
        return self._read(ahead, [key], version).get(key, default)

    def get_many(self, keys, version=None):
        ahead = _read_ahead.get()
        if ahead is None or version is not None:
            return self._readable_many(list(keys), version)
        return self._read(ahead, list(keys), version)

    def _forget(self, keys: Iterable[str]) -> None:
        ahead = _read_ahead.get()
        if ahead is not None:
            ahead.forget(keys)

    def add(self, key, *args, **kwargs):
        self._forget([key])
        return super().add(key, *args, **kwargs)  # type: ignore[misc]

    def add_many(self, data: dict[str, Any], timeout=DEFAULT_TIMEOUT, version=None) -> None:
        """`add` of each entry (set where there is none); ResilientRedisCache's in one round
        trip."""
        for key, value in data.items():
            self.add(key, value, timeout, version)

    def set(self, key, *args, **kwargs):
        self._forget([key])
        return super().set(key, *args, **kwargs)  # type: ignore[misc]

    def touch(self, key, *args, **kwargs):
        self._forget([key])
        return super().touch(key, *args, **kwargs)  # type: ignore[misc]

    def delete(self, key, *args, **kwargs):
        self._forget([key])
        return super().delete(key, *args, **kwargs)  # type: ignore[misc]

    def incr(self, key, *args, **kwargs):
        self._forget([key])
        return super().incr(key, *args, **kwargs)  # type: ignore[misc]

    def set_many(self, data, *args, **kwargs):
        self._forget(data)
        return super().set_many(data, *args, **kwargs)  # type: ignore[misc]

    def delete_many(self, keys, *args, **kwargs):
        keys = list(keys)
        self._forget(keys)
        return super().delete_many(keys, *args, **kwargs)  # type: ignore[misc]

    def clear(self):
        ahead = _read_ahead.get()
        if ahead is not None:
            ahead.forget()
        return super().clear()  # type: ignore[misc]


class ReadAheadLocMemCache(ReadAheadMixin, LocMemCache):
    """Django's local-memory cache that reads ahead as production's does (the tests' cache)."""


# --- the production cache ------------------------------------------------------------------------


class PrefixedRedisCache(RedisCache):
    """Django's RedisCache whose operations on many keys build their common prefix once: a
    page reads some hundred and fifty keys, and making each one whole (its prefix, version,
    release and epoch) cost more than its share of the round trip. Keys are made by Django's
    default key function (a KEY_FUNCTION is refused), so `make_key("") + key` is `make_key(key)`.
    """

    def __init__(self, server, params):
        super().__init__(server, params)
        if self.key_func is not default_key_func:
            raise ImproperlyConfigured(f"{type(self).__name__} makes keys itself: no KEY_FUNCTION")

    def _made_keys(self, keys: Iterable[str], version) -> list[bytes]:
        """The keys made whole, as bytes (redis-py passes bytes through as they are)."""
        prefix = self.make_key("", version)
        return [(prefix + key).encode() for key in keys]

    def get_many(self, keys, version=None):
        keys = list(keys)
        if not keys:
            return {}
        values = self._cache.get_client(None).mget(self._made_keys(keys, version))
        loads = self._cache._serializer.loads
        return {
            key: loads(value) for key, value in zip(keys, values, strict=True) if value is not None
        }

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        if data:
            made = dict(zip(self._made_keys(data, version), data.values(), strict=True))
            self._cache.set_many(made, self.get_backend_timeout(timeout))
        return []

    def delete_many(self, keys, version=None):
        keys = list(keys)
        if keys:
            self._cache.delete_many(self._made_keys(keys, version))


class ResilientRedisCache(ReadAheadMixin, PrefixedRedisCache):
    """RedisCache that degrades to "no cache" instead of raising (see the module docstring).

    Own options, taken out of OPTIONS before the rest goes to redis-py: RETRY_AFTER (seconds,
    default 5), LOG_INTERVAL (60), EPOCH_CHECK_INTERVAL (1). Socket connect and read timeouts
    default to 0.5 s.
    """

    clock: Callable[[], float] = staticmethod(time.monotonic)

    def __init__(self, server, params):
        options = dict(params.get("OPTIONS") or {})
        self.retry_after = float(options.pop("RETRY_AFTER", 5))
        self.epoch_check_interval = float(options.pop("EPOCH_CHECK_INTERVAL", 1))
        log_interval = float(options.pop("LOG_INTERVAL", 60))
        options.setdefault("socket_connect_timeout", 0.5)
        options.setdefault("socket_timeout", 0.5)
        super().__init__(server, {**params, "OPTIONS": options})
        self.outage_log = RateLimitedLog(logger, interval=log_interval, clock=self._now)
        self._down_until: float | None = None  # while down: when to try Redis again
        self._epoch: str | None = None
        self._epoch_read_at = float("-inf")

    def _now(self) -> float:
        return self.clock()

    # --- availability -------------------------------------------------------------------------

    @property
    def available(self) -> bool:
        """False while this process counts Redis as down (until its next try)."""
        return self._down_until is None

    def _failed(self, error: Exception) -> None:
        if self._down_until is None:
            self.outage_log.reset()  # a new outage is always reported
        self._down_until = self._now() + self.retry_after
        self.outage_log.warning(
            "cache unavailable, serving without it: %s: %s", type(error).__name__, error
        )

    def _ready(self) -> bool:
        """Whether to talk to Redis now; after an outage, the first try starts a new epoch."""
        if self._down_until is None:
            return True
        if self._now() < self._down_until:
            return False
        try:
            self._epoch = self._start_epoch()
        except UNAVAILABLE as error:
            self._failed(error)
            return False
        self._epoch_read_at = self._now()
        self._down_until = None
        logger.warning("cache available again; entries from before the outage are dropped")
        return True

    def _guarded(self, default, operation, *args, **kwargs):
        if not self._ready():
            return default
        try:
            return operation(*args, **kwargs)
        except UNAVAILABLE as error:
            self._failed(error)
            return default

    # --- epoch ---------------------------------------------------------------------------------

    def _epoch_key(self) -> str:
        return super().make_key(EPOCH_KEY)

    def _start_epoch(self) -> str:
        # Nanoseconds since 1970: never one used before, even if Redis lost or evicted the key.
        epoch = f"{time.time_ns():x}"
        self._cache.get_client(write=True).set(self._epoch_key(), epoch)
        return epoch

    def _current_epoch(self) -> str:
        now = self._now()
        if self._epoch is None or now - self._epoch_read_at >= self.epoch_check_interval:
            client = self._cache.get_client(write=True)
            value = client.get(self._epoch_key())
            if value is None:
                # A new (or emptied) Redis: the first process to ask sets it.
                client.set(self._epoch_key(), f"{time.time_ns():x}", nx=True)
                value = client.get(self._epoch_key())
            self._epoch = value.decode() if isinstance(value, bytes) else str(value)
            self._epoch_read_at = now
        return self._epoch

    @cached_property
    def release(self) -> str:
        """This process's code (marketplace.release): each release keeps its own entries."""
        from .release import release

        return release()

    def make_key(self, key, version=None):
        return super().make_key(f"{self.release}:{self._current_epoch()}:{key}", version=version)

    def validate_key(self, key):
        # Redis takes any key. Django's check warns of memcached's limits, character by
        # character, on every key of every call: a page reads some hundred and fifty.
        pass

    # --- operations ----------------------------------------------------------------------------

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guarded(False, super().add, key, value, timeout, version)

    def get(self, key, default=None, version=None):
        return self._guarded(default, super().get, key, default, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guarded(None, super().set, key, value, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guarded(False, super().touch, key, timeout, version)

    def delete(self, key, version=None):
        return self._guarded(False, super().delete, key, version)

    def get_many(self, keys, version=None):
        return self._guarded({}, super().get_many, keys, version)

    def has_key(self, key, version=None):
        return self._guarded(False, super().has_key, key, version)

    def incr(self, key, delta=1, version=None):
        # A missing key still raises ValueError, as Django documents; an outage answers None.
        return self._guarded(None, super().incr, key, delta, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guarded(list(data), super().set_many, data, timeout, version)

    def add_many(self, data, timeout=DEFAULT_TIMEOUT, version=None) -> None:
        """`add` of each entry in one round trip (a pipeline of SET NX): a page showing
        two dozen pieces never shown before gives each its tag's first version at once."""
        self._forget(data)
        self._guarded(None, self._add_many, data, self.get_backend_timeout(timeout), version)

    def _add_many(self, data: dict[str, Any], timeout: int | None, version) -> None:
        if timeout == 0:  # an entry that would expire at once is not added (as `add`)
            return
        pipeline = self._cache.get_client(None, write=True).pipeline(transaction=False)
        for key, value in zip(self._made_keys(data, version), data.values(), strict=True):
            pipeline.set(key, self._cache._serializer.dumps(value), ex=timeout, nx=True)
        pipeline.execute()

    def delete_many(self, keys, version=None):
        return self._guarded(None, super().delete_many, keys, version)

    def clear(self):
        return self._guarded(False, super().clear)
