"""Helpers for the project-level tests."""

import io

from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from marketplace.page_cache import PageCacheHits
from orders.tests.helpers import ADDRESS

# A shopper's details, as the checkout form takes them (the orders tests' address, with an
# email of its own).
SHOPPER = {**ADDRESS, "email": "ada.lovelace@example.com"}


class CacheReads:
    """Counts the reads of `owner`'s get and get_many (the cache, or the class of the cache
    itself under reading ahead): each a round trip to Redis in production."""

    names = ("get", "get_many")

    def __init__(self, monkeypatch, owner):
        self.reads = 0
        self._inside = False  # LocMemCache.get_many calls get for each key: one read
        for name in self.names:
            monkeypatch.setattr(owner, name, self._counted(getattr(owner, name)))

    def _counted(self, read):
        def counted(*args, **kwargs):
            if self._inside:
                return read(*args, **kwargs)
            self.reads += 1
            self._inside = True
            try:
                return read(*args, **kwargs)
            finally:
                self._inside = False

        return counted


class CacheAdds(CacheReads):
    """Counts the calls of `owner`'s add and add_many (`reads`): each a round trip."""

    names = ("add", "add_many")


class WsgiSite:
    """The site's WSGI application as marketplace.wsgi builds it, counting what reaches Django."""

    def __init__(self):
        self.django = WSGIHandler()
        self.to_django = 0
        self.application = PageCacheHits(self.counted)

    def counted(self, environ, start_response):
        self.to_django += 1
        return self.django(environ, start_response)

    def get(self, path: str, query: str = "", **environ) -> tuple[str, dict[str, str], bytes]:
        # As Django's test client does: the request signals must not close the connection,
        # which holds the test's transaction.
        for signal in (request_started, request_finished):
            signal.disconnect(close_old_connections)
        try:
            return self._get(path, query, **environ)
        finally:
            for signal in (request_started, request_finished):
                signal.connect(close_old_connections)

    def _get(self, path: str, query: str, **environ) -> tuple[str, dict[str, str], bytes]:
        started = []
        body = self.application(
            {
                "REQUEST_METHOD": "GET",
                "SCRIPT_NAME": "",
                "PATH_INFO": path,
                "QUERY_STRING": query,
                "SERVER_NAME": "testserver",
                "SERVER_PORT": "80",
                "HTTP_HOST": "testserver",
                "SERVER_PROTOCOL": "HTTP/1.1",
                "wsgi.url_scheme": "http",
                "wsgi.input": io.BytesIO(),
                "wsgi.errors": io.StringIO(),
                **environ,
            },
            lambda status, headers, exc_info=None: started.extend([status, headers]),
        )
        try:
            content = b"".join(body)
        finally:
            if hasattr(body, "close"):
                body.close()
        status, headers = started
        return status, dict(headers), content

    def answered_by_django(self, path: str, query: str = "", **environ) -> bool:
        before = self.to_django
        self.get(path, query, **environ)
        return self.to_django > before
