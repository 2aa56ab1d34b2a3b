"""Fixtures for the project-level tests: the production JSON log."""

import io
import json
import logging

import pytest

from marketplace.logging import JsonFormatter, RequestIdFilter


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
