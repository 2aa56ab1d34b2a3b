"""Structured logs: one JSON object per line, tagged with the request id.

Only a fixed set of fields is written (time, level, logger, message, request_id, and
order_reference when a call passes ``extra={"order_reference": ...}``), never arbitrary
``extra`` values: a stray ``extra={"email": ...}`` cannot leak personal data into the logs.
Messages themselves must name orders by reference only (never an email, name or address).
Exception text is not ours to write: a database error quotes the offending row ("Key
(email)=(ada@example.com) already exists"), a library may echo its input. So exception and
message text pass through ``scrub()``, which masks quoted key values, email addresses and long
runs of digits (phone and card numbers) while keeping the exception type and traceback.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
from datetime import UTC, datetime

# Set by marketplace.middleware.RequestIdMiddleware for the duration of a request.
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "vitrine_request_id", default=None
)

# Record attributes copied into the JSON object when present (values are str/int only).
EXTRA_FIELDS = ("order_reference",)


# PostgreSQL's "DETAIL:  Key (email)=(ada@example.com) already exists." (and the composite
# "Key (a, b)=(x, y)"): keep the column names, mask the values.
_KEY_VALUES = re.compile(r"(Key \([^)]*\)=\()(.*?)(\)(?: already exists| is not present|$))", re.M)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Seven or more digits, optionally split by spaces, dots or dashes: phone and card numbers.
# Order references, ids and line numbers in tracebacks are shorter or contain letters;
# ISO dates are left alone.
_LONG_NUMBER = re.compile(r"(?<![\w.])(?!\d{4}-\d\d-\d\d\b)\+?\d(?:[ .-]?\d){6,}(?![\w.])")


def scrub(text: str) -> str:
    """Mask personal data a third-party message might quote (see the module docstring)."""
    text = _KEY_VALUES.sub(r"\1…\3", text)
    text = _EMAIL.sub("[email]", text)
    return _LONG_NUMBER.sub("[number]", text)


def current_request_id() -> str | None:
    return request_id_var.get()


class RequestIdFilter(logging.Filter):
    """Puts ``record.request_id`` on every record ("-" outside a request) for any formatter."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = request_id_var.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage()),
            "request_id": None if request_id == "-" else request_id,
        }
        for field in EXTRA_FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                entry[field] = str(value)
        if record.exc_info:
            entry["exception"] = scrub(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exception"] = scrub(record.exc_text)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)
