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
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache

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


class ResilientRedisCache(RedisCache):
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

    def make_key(self, key, version=None):
        return super().make_key(f"{self._current_epoch()}:{key}", version=version)

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

    def delete_many(self, keys, version=None):
        return self._guarded(None, super().delete_many, keys, version)

    def clear(self):
        return self._guarded(False, super().clear)
