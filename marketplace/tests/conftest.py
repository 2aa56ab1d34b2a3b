"""Fixtures for the project-level tests: the production JSON log, and a shopper's details."""

import io
import json
import logging

import pytest

from marketplace.logging import JsonFormatter, RequestIdFilter

SHOPPER = {
    "email": "ada.lovelace@example.com",
    "name": "Ada Lovelace",
    "line1": "12 St James's Square",
    "line2": "",
    "city": "London",
    "postcode": "SW1Y 4JH",
    "country": "GB",
    "phone": "020 7946 0123",
}


@pytest.fixture
def json_log():
    """What the `orders` and `marketplace` loggers write (INFO and up), as production would."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    loggers = [logging.getLogger(name) for name in ("orders", "marketplace")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(handler)
        logger.setLevel(level)
