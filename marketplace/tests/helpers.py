"""Helpers for the project-level tests."""

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
