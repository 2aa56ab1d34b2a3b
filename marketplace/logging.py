"""Structured logs: one JSON object per line, tagged with the request id.

Only a fixed set of fields is written (time, level, logger, message, request_id, and
order_reference when a call passes ``extra={"order_reference": ...}``), never arbitrary
``extra`` values: a stray ``extra={"email": ...}`` cannot leak personal data into the logs.
Messages themselves must name orders by reference only (never an email, name or address).
"""

from __future__ import annotations

import contextvars
import json
import logging
from datetime import UTC, datetime

# Set by marketplace.middleware.RequestIdMiddleware for the duration of a request.
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "vitrine_request_id", default=None
)

# Record attributes copied into the JSON object when present (values are str/int only).
EXTRA_FIELDS = ("order_reference",)


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
            "message": record.getMessage(),
            "request_id": None if request_id == "-" else request_id,
        }
        for field in EXTRA_FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                entry[field] = str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)
