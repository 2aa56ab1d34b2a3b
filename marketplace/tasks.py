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

A worker killed mid-task (deploy, OOM, kill -9) leaves its task RUNNING for ever: django-tasks-db
does not run it again. ``manage.py tasks_requeue_stale`` puts such tasks back in the queue; so
that running one twice repeats nothing, a side effect inside a traced task goes through
``once(step, action)``, which records it (``TaskStepDone``, by task id) after doing it and skips
it when the same task runs again. The task id reaches the run through django-tasks'
``task_started`` signal, sent by the worker just before it calls the task; the immediate
backend (tasks run inside the request, never re-run) records nothing.

A task declared with ``retry=Retry(...)`` (every email task is: ``marketplace.mail``) that
raises is logged and queued again, ``run_after`` a delay that grows with each attempt, up to a
bounded number of attempts; the last failure is logged as given up. Each retry is a new task
row (django-tasks-db marks the failed one FAILED, with its traceback) carrying ``attempt`` and
the first attempt's id (``first_task_id``), and ``once`` records steps under that first id: a
retry does only what the failed attempts had not done. A backend that cannot defer (the
immediate backend of development and tests) retries nothing.

Keyword arguments named in ``private=(...)`` (an address the task needs and no table may keep)
are blanked in the task's row once the run ends, succeeded or failed; the retry carries its own
copy, blanked when it runs.
"""

from __future__ import annotations

import functools
import inspect
import logging
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ParamSpec, TypeVar

from django.db import IntegrityError, transaction
from django.dispatch import receiver
from django.utils import timezone

from django_tasks import TaskResult
from django_tasks.backends.immediate import ImmediateBackend
from django_tasks.base import Task
from django_tasks.signals import task_started
from django_tasks.utils import get_module_path
from django_tasks_db.models import DBTaskResult

from .logging import current_request_id, request_id_var
from .models import TaskStepDone

logger = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

REQUEST_ID_KWARG = "request_id"
# Added to a retry's arguments: which attempt it is (the first is 1), and the first's task id.
ATTEMPT_KWARG = "attempt"
FIRST_TASK_KWARG = "first_task_id"
RESERVED_KWARGS = (REQUEST_ID_KWARG, ATTEMPT_KWARG, FIRST_TASK_KWARG)


@dataclass(frozen=True)
class Retry:
    """How a failing task is tried again: `attempts` in all (the first included), the n-th
    retry `first_delay * factor**(n-1)` after the failure."""

    attempts: int = 5
    first_delay: timedelta = timedelta(minutes=1)
    factor: int = 4  # 1, 4, 16 and 64 minutes: a mail server down for an hour loses nothing

    def delay(self, attempt: int) -> timedelta:
        """How long after the failure of attempt number `attempt` the next one runs."""
        return self.first_delay * self.factor ** (attempt - 1)


# The id of the task a worker is about to run (set by task_started, taken by the run), and of
# the task running now: None outside tasks and under the immediate backend.
_starting_task_id: ContextVar[str | None] = ContextVar("starting_task_id", default=None)
task_id_var: ContextVar[str | None] = ContextVar("task_id", default=None)
# Whether the running task, should it fail, is not tried again (see `last_attempt`).
_last_attempt_var: ContextVar[bool] = ContextVar("last_attempt", default=True)


def last_attempt() -> bool:
    """Whether the running task is its last attempt: a failure now is not tried again. True
    outside tasks, for tasks without `retry`, and under a backend that cannot defer."""
    return _last_attempt_var.get()


@receiver(task_started, dispatch_uid="marketplace-task-id")
def _task_starting(sender, task_result, **kwargs) -> None:
    # The immediate backend sends its class, db_worker the backend instance.
    backend = sender if isinstance(sender, type) else type(sender)
    if not issubclass(backend, ImmediateBackend):
        _starting_task_id.set(str(task_result.id))


def once(step: str, action: Callable[[], Any]) -> bool:
    """Run `action` unless the running task already did `step` (it is being run again after
    its worker died); record it once done. Outside a worker-run task, just run it. A crash
    between the action and the record can still repeat it: at least once, never lost."""
    task_id = task_id_var.get()
    if task_id is None:
        action()
        return True
    if TaskStepDone.objects.filter(task_id=task_id, step=step).exists():
        logger.warning("task %s: %s already done by an earlier run, skipped", task_id, step)
        return False
    action()
    try:
        with transaction.atomic():
            TaskStepDone.objects.create(task_id=task_id, step=step)
    except IntegrityError:
        pass  # two runs at once: recorded by the other
    return True


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


def _erase_private(task_id: str | None, names: tuple[str, ...]) -> None:
    """Blank the `names` arguments in the task's row (django-tasks-db's; other backends keep
    no row). The worker then records the outcome with `update_fields` that leave them so."""
    if task_id is None or not names:
        return
    row = DBTaskResult.objects.filter(pk=task_id).values_list("args_kwargs", flat=True).first()
    if row is None:
        return
    kwargs = {**row["kwargs"], **{name: "" for name in names if name in row["kwargs"]}}
    DBTaskResult.objects.filter(pk=task_id).update(args_kwargs={**row, "kwargs": kwargs})


def _run_with_request_id(
    func: Callable[P, T],
    *,
    task: Callable[[], TracedTask[P, T]],
    retry: Retry | None,
    private: tuple[str, ...],
) -> Callable[P, T]:
    if inspect.iscoroutinefunction(func):
        raise TypeError(f"{func.__qualname__}: traced tasks must be plain functions")
    parameters = inspect.signature(func).parameters
    for reserved in RESERVED_KWARGS:
        if reserved in parameters:
            raise TypeError(f"{func.__qualname__} already has a {reserved!r} parameter")
    path = get_module_path(func)

    def queue_retry(
        args: Any, kwargs: Any, *, request_id: str | None, attempt: int, first_task_id: str | None
    ) -> None:
        if retry is None:
            return
        if attempt >= retry.attempts:
            logger.error("task %s gave up after %d attempts", path, attempt)
            return
        if not task().get_backend().supports_defer:
            logger.error("task %s not retried: its backend cannot defer a task", path)
            return
        delay = retry.delay(attempt)
        retry_kwargs: dict[str, Any] = {
            **kwargs,
            REQUEST_ID_KWARG: request_id,
            ATTEMPT_KWARG: attempt + 1,
            FIRST_TASK_KWARG: first_task_id,
        }
        try:
            task().using(run_after=timezone.now() + delay).enqueue(*args, **retry_kwargs)
        except Exception:
            logger.exception("task %s: could not queue attempt %d", path, attempt + 1)
        else:
            logger.warning(
                "task %s: attempt %d of %d queued to run in %s",
                path, attempt + 1, retry.attempts, delay,
            )  # fmt: skip

    @functools.wraps(func)
    def run(
        *args: Any,
        request_id: str | None = _CALLED_DIRECTLY,
        attempt: int = 1,
        first_task_id: str | None = None,
        **kwargs: Any,
    ) -> T:
        if request_id is _CALLED_DIRECTLY:
            return func(*args, **kwargs)
        own_id = _starting_task_id.get()
        _starting_task_id.set(None)
        first_task_id = first_task_id or own_id
        token = request_id_var.set(request_id)
        # A retry shares its first attempt's record of the steps done (`once`).
        task_token = task_id_var.set(first_task_id)
        last_token = _last_attempt_var.set(
            retry is None or attempt >= retry.attempts or not task().get_backend().supports_defer
        )
        started = time.monotonic()
        try:
            try:
                result = func(*args, **kwargs)
            except Exception:
                logger.exception("task %s failed (attempt %d)", path, attempt)
                queue_retry(
                    args,
                    kwargs,
                    request_id=request_id,
                    attempt=attempt,
                    first_task_id=first_task_id,
                )
                raise
            logger.info("task %s finished in %d ms", path, (time.monotonic() - started) * 1000)
            return result
        finally:
            _erase_private(own_id, private)
            _last_attempt_var.reset(last_token)
            task_id_var.reset(task_token)
            request_id_var.reset(token)

    return run


def traced_task(
    function: Callable[P, T] | None = None,
    *,
    retry: Retry | None = None,
    private: tuple[str, ...] = (),
    **options: Any,
) -> Any:
    """``@traced_task()`` / ``@traced_task``: django-tasks' ``@task()`` (same options), run
    with the enqueuing request's id, tried again as `retry` says, its `private` arguments
    blanked after each run; see the module docstring."""

    def decorate(func: Callable[P, T]) -> TracedTask[P, T]:
        # The run queues its own retry: it reaches the task made here once it exists.
        made: TracedTask[P, T] = TracedTask(
            func=_run_with_request_id(func, task=lambda: made, retry=retry, private=private),
            **options,
        )
        return made

    return decorate(function) if function is not None else decorate


def enqueue_after_commit(task: Task[..., Any], /, **kwargs: Any) -> None:
    """Queue `task` once the current transaction commits, never raising: a queue that fails
    is logged, and the action that was saved stands (an email is never worth a 500 after the
    write it reports on)."""

    def enqueue() -> None:
        try:
            task.enqueue(**kwargs)
        except Exception:
            logger.exception("could not queue task %s", task.module_path)

    transaction.on_commit(enqueue)
