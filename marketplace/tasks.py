"""Background tasks that carry the id of the request that queued them.

A task declared with ``@traced_task()`` instead of django-tasks' ``@task()`` is enqueued as
usual (``send_order_email.enqueue(order_id=...)``): the enqueue adds the current request id
(``marketplace.logging.request_id_var``, None outside a request) as a ``request_id`` keyword,
stored with the task's other arguments, so it survives the trip through the database to the
``db_worker`` process. The task then runs with ``request_id_var`` set to that id (reset
afterwards), so its log lines, and the line written here when it finishes or fails, carry the
id of the shopper's request that caused it. A task queued by another task inherits its id.

Why a wrapper and not django-tasks' task_started/task_finished signals: the library logs a
failure before any receiver could reset the id, its receivers are not guaranteed to run when
another receiver raises, and the immediate backend runs them inside the enqueuing request.
The wrapper keeps the function's module path and name (``functools.wraps``), so the worker
imports the task by the same path as before.
"""

from __future__ import annotations

import functools
import inspect
import logging
import time
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from django_tasks import TaskResult
from django_tasks.base import Task
from django_tasks.utils import get_module_path

from .logging import current_request_id, request_id_var

logger = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

REQUEST_ID_KWARG = "request_id"

# Default of the added keyword: the function was called directly (`task.call(...)`, or from
# another task), not run as an enqueued task, so it leaves the current id alone.
_CALLED_DIRECTLY: Any = object()


class TracedTask(Task[P, T]):
    """A django-tasks Task whose enqueue passes the current request id along."""

    __slots__ = ()

    def enqueue(self, *args: P.args, **kwargs: P.kwargs) -> TaskResult[T]:
        kwargs.setdefault(REQUEST_ID_KWARG, current_request_id())
        return super().enqueue(*args, **kwargs)

    async def aenqueue(self, *args: P.args, **kwargs: P.kwargs) -> TaskResult[T]:
        kwargs.setdefault(REQUEST_ID_KWARG, current_request_id())
        return await super().aenqueue(*args, **kwargs)


def _run_with_request_id(func: Callable[P, T]) -> Callable[P, T]:
    if inspect.iscoroutinefunction(func):
        raise TypeError(f"{func.__qualname__}: traced tasks must be plain functions")
    if REQUEST_ID_KWARG in inspect.signature(func).parameters:
        raise TypeError(f"{func.__qualname__} already has a {REQUEST_ID_KWARG!r} parameter")
    path = get_module_path(func)

    @functools.wraps(func)
    def run(*args: Any, request_id: str | None = _CALLED_DIRECTLY, **kwargs: Any) -> T:
        if request_id is _CALLED_DIRECTLY:
            return func(*args, **kwargs)
        token = request_id_var.set(request_id)
        started = time.monotonic()
        try:
            try:
                result = func(*args, **kwargs)
            except Exception:
                logger.exception("task %s failed", path)
                raise
            logger.info("task %s finished in %d ms", path, (time.monotonic() - started) * 1000)
            return result
        finally:
            request_id_var.reset(token)

    return run


def traced_task(function: Callable[P, T] | None = None, **options: Any) -> Any:
    """``@traced_task()`` / ``@traced_task``: django-tasks' ``@task()`` (same options), run
    with the enqueuing request's id; see the module docstring."""

    def decorate(func: Callable[P, T]) -> TracedTask[P, T]:
        return TracedTask(func=_run_with_request_id(func), **options)

    return decorate(function) if function is not None else decorate
