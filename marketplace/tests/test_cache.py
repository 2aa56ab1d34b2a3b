"""The production cache backend degrades to "no cache": defaults instead of errors, one log line
per interval, Redis left alone for a while after a failure (the chaos tests run it for real)."""

import logging
from unittest import mock

import pytest

from marketplace.cache import ResilientRedisCache
from tests.servers import TEST_REDIS_URL, USES_TEST_REDIS

pytestmark = USES_TEST_REDIS

UNREACHABLE = "redis://127.0.0.1:1/0"  # nothing listens on port 1: refused at once


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def unreachable(**options) -> tuple[ResilientRedisCache, Clock]:
    backend = ResilientRedisCache(UNREACHABLE, {"OPTIONS": options})
    clock = Clock()
    backend.clock = clock
    return backend, clock


def outage_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "marketplace.cache"]


def test_every_operation_answers_like_an_empty_cache_when_redis_is_unreachable():
    cache, _ = unreachable()
    assert cache.get("k") is None
    assert cache.get("k", "fallback") == "fallback"
    assert cache.add("k", 1) is False
    assert cache.set("k", 1) is None
    assert cache.incr("k") is None
    assert cache.decr("k") is None
    assert cache.has_key("k") is False
    assert "k" not in cache
    assert cache.get_many(["a", "b"]) == {}
    assert cache.set_many({"a": 1, "b": 2}) == ["a", "b"]
    assert cache.add_many({"a": 1, "b": 2}) is None
    assert cache.get_or_set("k", lambda: "computed") == "computed"
    assert cache.touch("k") is False
    assert cache.delete("k") is False
    assert cache.delete_many(["a"]) is None
    assert cache.clear() is False
    assert not cache.available


def test_an_outage_is_logged_once_per_interval_with_the_count_in_between(caplog):
    cache, clock = unreachable(RETRY_AFTER=0, LOG_INTERVAL=60)
    with caplog.at_level(logging.WARNING, logger="marketplace.cache"):
        for _ in range(50):
            assert cache.get("k", "default") == "default"  # each one tries Redis (RETRY_AFTER=0)
        assert len(outage_lines(caplog)) == 1
        assert "cache unavailable" in outage_lines(caplog)[0]
        clock.now += 61
        cache.get("k")
    lines = outage_lines(caplog)
    assert len(lines) == 2
    assert "49 more failures since the last report" in lines[1]


def test_redis_is_left_alone_for_retry_after_seconds_after_a_failure():
    cache, clock = unreachable(RETRY_AFTER=5)
    with mock.patch.object(cache._cache, "get_client", wraps=cache._cache.get_client) as calls:
        cache.get("k")
        tried = calls.call_count
        assert tried >= 1
        for _ in range(20):
            cache.get("k")
            cache.set("k", 1)
        assert calls.call_count == tried  # no connection attempt while it is counted down
        clock.now += 5
        cache.get("k")
        assert calls.call_count == tried + 1  # one try, which starts a new epoch
    assert not cache.available


@pytest.mark.parametrize("option", ["RETRY_AFTER", "LOG_INTERVAL", "EPOCH_CHECK_INTERVAL"])
def test_own_options_are_not_passed_to_redis(option):
    cache, _ = unreachable(**{option: 1})
    assert option not in cache._options
    assert cache._options["socket_connect_timeout"] == 0.5


def test_keys_are_not_checked_character_by_character_for_memcached():
    """Redis takes any key; Django's memcached check walks every key of every call (a page
    reads some hundred and fifty), so it is skipped."""
    import warnings

    backend, _ = unreachable()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # CacheKeyWarning would raise
        backend.validate_key("a key memcached would refuse: " + "x" * 250)


def test_redis_replies_are_parsed_in_c():
    """hiredis (requirements.txt): redis-py parses replies with it when it is installed, a
    page's dozen reads among them; without it, in Python."""
    from redis.connection import DefaultParser
    from redis.utils import HIREDIS_AVAILABLE

    assert HIREDIS_AVAILABLE and "Hiredis" in DefaultParser.__name__


class Kept:
    """A value as one release's code pickled it."""

    def __init__(self, name):
        self.name = name


class KeptNow(tuple):
    """The same class as the next release defines it: built from its fields, so the pickle
    above no longer reads back (TypeError)."""

    def __new__(cls, name):
        return super().__new__(cls, (name,))


def on_local_redis(prefix: str, **options) -> ResilientRedisCache:
    """The production backend on the local Redis (database 15); the test is skipped without."""
    import redis

    try:
        redis.Redis.from_url(TEST_REDIS_URL).ping()
    except redis.RedisError:
        pytest.skip("needs the local Redis")
    return ResilientRedisCache(TEST_REDIS_URL, {"KEY_PREFIX": prefix, "OPTIONS": options})


@pytest.fixture(params=["locmem", "redis"])
def backend(request, settings):
    if request.param == "locmem":
        from marketplace.cache import ReadAheadLocMemCache

        cache = ReadAheadLocMemCache("unreadable-test", {})
    else:
        cache = on_local_redis("unreadable")
    yield cache
    cache.clear()


@pytest.mark.parametrize("read_ahead", [False, True])
def test_an_entry_the_code_can_no_longer_read_is_a_miss_not_an_error(
    backend, monkeypatch, caplog, read_ahead
):
    """What another release pickled (a class since changed, moved or removed) is not in the
    cache: every read answers as if it were missing, the other entries are read, and it is
    logged; never an error on the page."""
    import contextlib

    from marketplace.cache import unreadable_log

    unreadable_log.reset()  # at most one line a minute: the test's own is the first
    backend.set("changed", Kept("old"))
    backend.set("fine", 1)
    monkeypatch.setattr(__import__(__name__, fromlist=["x"]), "Kept", KeptNow)
    reading = backend.read_ahead("list") if read_ahead else contextlib.nullcontext()
    with reading:
        assert backend.get("changed") is None
        assert backend.get("changed", "default") == "default"
        assert backend.get_many(["changed", "fine"]) == {"fine": 1}
    assert backend.get("fine") == 1
    assert any("cannot be read" in line for line in outage_lines(caplog))


def test_add_many_adds_what_is_not_there_and_keeps_what_is(backend):
    """`add_many` is `add` of each entry: set where there is none, an entry already there
    kept; a copy read ahead is not served after it."""
    backend.set("there", "old")
    backend.set("list", ["there", "new"])  # what a request reads ahead
    with backend.read_ahead("list"):
        assert backend.get("there") == "old"  # and "new" read ahead: not there
        backend.add_many({"there": "other", "new": "first", "newer": 2}, None)
        assert backend.get_many(["there", "new", "newer"]) == {
            "there": "old",
            "new": "first",
            "newer": 2,
        }
    backend.add_many({"gone": 1}, 0)  # expires at once: never there
    assert backend.get("gone") is None


def test_redis_adds_many_in_one_round_trip():
    """Two dozen tags never seen before (a page of pieces no page showed yet) get their first
    versions in one pipeline, not a round trip each."""
    import redis

    backend = on_local_redis("add-many", EPOCH_CHECK_INTERVAL=3600)
    backend.get("epoch read")  # the epoch, read once
    sent = mock.patch.object(redis.Redis, "execute_command", autospec=True)
    piped = mock.patch.object(
        redis.client.Pipeline, "execute", autospec=True, side_effect=redis.client.Pipeline.execute
    )
    with sent as single, piped as pipelines:
        backend.add_many({f"tag:{n}": n for n in range(24)}, None)
    assert single.call_count == 0 and pipelines.call_count == 1
    assert backend.get_many([f"tag:{n}" for n in range(24)]) == {f"tag:{n}": n for n in range(24)}
    backend.clear()


def test_a_tags_version_is_kept_as_a_plain_number_read_back_without_unpickling(settings):
    """A page reads a hundred and more versions: Redis keeps each as digits, which Django's
    serializer reads back as an int at once (a pickle: a failed int() first, then loads)."""
    from django.core.cache import caches

    import redis

    from marketplace import page_cache

    client = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("needs the local Redis")
    settings.CACHES = {
        "default": {
            "BACKEND": "marketplace.cache.ResilientRedisCache",
            "LOCATION": TEST_REDIS_URL,
            "KEY_PREFIX": "versions",
        }
    }
    try:
        before = page_cache.current_version("shop:0001")
        page_cache._move_on(["shop:0001"])
        now = page_cache.current_version("shop:0001")
        raw = client.get(caches["default"].make_key(page_cache.VERSION_PREFIX + "shop:0001"))
        assert raw is not None and raw.isdigit(), raw
        assert isinstance(now, int) and now > 0 and now != before
    finally:
        caches["default"].clear()
        caches["default"].close()


@pytest.fixture
def local_redis():
    backend = on_local_redis("many")
    yield backend
    backend.clear()


def test_many_keys_are_made_from_one_prefix_and_are_the_keys_of_one(local_redis, monkeypatch):
    """A page reads some hundred and fifty keys: the part they share (prefix, version,
    release, epoch) is made once a call, and each key is the one `get` and `set` use."""
    keys = [f"pagecache:v:item:{n}" for n in range(50)]
    made = mock.Mock(side_effect=local_redis.make_key)
    monkeypatch.setattr(local_redis, "make_key", made)

    local_redis.set_many({key: n for n, key in enumerate(keys)}, 60)
    assert made.call_count == 1
    assert [local_redis.get(key) for key in keys[:3]] == [0, 1, 2]

    local_redis.set("pagecache:v:item:1", "one")
    made.reset_mock()
    assert local_redis.get_many([*keys, "absent"]) == {
        **{key: n for n, key in enumerate(keys)},
        "pagecache:v:item:1": "one",
    }
    assert made.call_count == 1

    made.reset_mock()
    local_redis.delete_many(keys[1:])
    assert made.call_count == 1
    assert local_redis.get_many(keys) == {keys[0]: 0}


def test_a_key_function_of_its_own_is_refused():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="KEY_FUNCTION"):
        ResilientRedisCache(UNREACHABLE, {"KEY_FUNCTION": lambda key, prefix, version: key})
