"""Tasks defined at module level (tasks must be importable by the worker)."""

import logging

from django.core.mail import send_mail

from marketplace.logging import request_id_var
from marketplace.tasks import traced_task

logger = logging.getLogger(__name__)


@traced_task()
def send_probe_email(*, to: str) -> None:
    send_mail("task probe", "queued and sent by the worker", None, [to])


@traced_task()
def report_request_id(*, fail: bool = False) -> str | None:
    """Returns (and logs) the request id it runs under; raises afterwards when `fail`."""
    seen = request_id_var.get()
    logger.info("probe running under request %s", seen)
    if fail:
        raise RuntimeError("probe failed on purpose")
    return seen
