"""The base of every app's service errors (the manner of Saleor's `error_codes.py`).

A service raises an error naming what went wrong with a code from its app's `errors.py` (a str
Enum) and the facts the words need (`params`: a limit, the titles of the pieces). It carries no
sentence for a person: each app's `error_messages.py` turns a code into words, for the views,
admin views, API endpoints and commands that show it."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class CodedError(Exception):
    """A refusal by a service: `code` says which, `params` hold what its words need."""

    def __init__(self, code: StrEnum, **params: Any):
        self.code = code
        self.params = params
        facts = ", ".join(f"{name}={value!r}" for name, value in params.items())
        super().__init__(f"{code.value} ({facts})" if facts else code.value)
